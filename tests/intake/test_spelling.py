import pytest

from voiceagent.intake import IntakeError, parse_spelled_name

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "spoken",
    [
        "S as in Sam, M, I, T, H",
        "S-M-I-T-H",
        "S, M, I, T, H.",
        "Smith, S-M-I-T-H.",
        "ess em eye tee aitch",
        "Sierra Mike India Tango Hotel",
        "It's spelled S for Sam M I T H",
    ],
)
def test_spelled_forms_give_the_name(spoken):
    result = parse_spelled_name(spoken)
    assert result.value == "Smith"
    assert result.readback == "S, M, I, T, H"


def test_example_word_wins_over_a_misheard_letter():
    assert parse_spelled_name("S as in Frank, O, X").value == "Fox"


def test_double_letter_and_double_u():
    assert parse_spelled_name("double-u, A, double L").value == "Wall"
    assert parse_spelled_name("P, O, double L, A, R, D").value == "Pollard"


def test_letters_glued_into_one_word_are_taken_as_the_spelling():
    assert parse_spelled_name("Garcia.").value == "Garcia"


def test_nothing_spelled_asks_to_spell_letter_by_letter():
    with pytest.raises(IntakeError) as err:
        parse_spelled_name("I am not sure how it goes")
    assert "letter at a time" in err.value.reason
