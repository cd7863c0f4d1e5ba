import pytest

from voiceagent.intake import IntakeError, parse_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "spoken",
    [
        "five five five, one two three, four five six seven",
        "5-5-5, 1-2-3, 4-5-6-7.",
        "555-123-4567",
        "It's 555 123 4567",
        "five five five one two three four five six seven",
        "one, five five five, one two three, four five six seven",
    ],
)
def test_phone_read_in_groups_or_digits_gives_e164(spoken):
    result = parse_phone(spoken)
    assert result.value == "+15551234567"
    assert result.readback == "five five five, one two three, four five six seven"


def test_oh_is_zero_and_double_repeats_the_digit():
    result = parse_phone("two one two, double five oh, oh one four two")
    assert result.value == "+12125500142"


def test_tens_read_as_pairs_still_give_the_digits():
    assert parse_phone("two one two, five five five, twelve thirty four").value == "+12125551234"


def test_too_few_digits_asks_for_all_ten():
    with pytest.raises(IntakeError) as err:
        parse_phone("five five five, one two three")
    assert "ten" in err.value.reason


def test_no_digits_asks_to_say_it_digit_by_digit():
    with pytest.raises(IntakeError) as err:
        parse_phone("I don't know it")
    assert "one digit at a time" in err.value.reason


def test_too_many_digits_is_refused():
    with pytest.raises(IntakeError):
        parse_phone("5 5 5 1 2 3 4 5 6 7 8 9")


@pytest.mark.parametrize(("spoken", "number"), [
    ("Six oh eight... five five five... four nine, uh, no, sorry, three nine two zero.",
     "+16085553920"),
    ("Six oh eight, five five five, zero seven... sorry, she's fussing. Zero seven seven six.",
     "+16085550776"),
    ("Six oh eight, five five five, four four two zero... oh, no, wait, that's the house phone. "
     "Six oh eight, five five five, zero one nine three.", "+16085550193"),
])
def test_a_number_said_with_a_restart_keeps_what_followed_it(spoken, number):
    assert parse_phone(spoken).value == number


def test_too_many_digits_without_a_restart_is_still_an_error():
    with pytest.raises(IntakeError):
        parse_phone("six oh eight five five five one two three four five six")


def test_a_date_said_in_number_groups_is_not_a_phone_number():
    # no North American area code starts with 0 or 1
    with pytest.raises(IntakeError):
        parse_phone("oh three, twelve, eighty, twenty-one, eighty-two")  # ten digits
