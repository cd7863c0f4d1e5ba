from datetime import date, datetime, time

import pytest

from voiceagent.intake import IntakeError, parse_appointment_request, parse_date_of_birth

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 10, 0)  # a Sunday
TODAY = NOW.date()


@pytest.mark.parametrize(
    "spoken",
    [
        "March third, nineteen eighty-two",
        "March 3rd, 1982",
        "3/3/1982",
        "It's March 3, 1982.",
        "the third of March, 1982",
        "oh three, oh three, nineteen eighty two",
    ],
)
def test_date_of_birth_forms(spoken):
    result = parse_date_of_birth(spoken, TODAY)
    assert result.value == date(1982, 3, 3)
    assert result.readback == "March 3, 1982"


def test_date_of_birth_year_two_thousand_and_five():
    assert parse_date_of_birth("January 2nd, two thousand five", TODAY).value == date(2005, 1, 2)


def test_date_of_birth_nineteen_oh_five():
    assert parse_date_of_birth("July 4th nineteen oh five", date(2000, 1, 1)).value == date(
        1905, 7, 4
    )


def test_date_of_birth_without_year_asks_for_the_year():
    with pytest.raises(IntakeError) as err:
        parse_date_of_birth("March third", TODAY)
    assert "year" in err.value.reason


def test_date_of_birth_in_the_future_is_refused():
    with pytest.raises(IntakeError) as err:
        parse_date_of_birth("December 1st 2030", TODAY)
    assert "future" in err.value.reason


def test_next_tuesday_morning_is_the_coming_tuesday_with_a_morning_window():
    result = parse_appointment_request("next Tuesday morning", NOW)
    assert result.value.day == date(2026, 11, 24)
    assert (result.value.earliest, result.value.latest) == (time(8), time(12))
    assert result.readback == "Tuesday, November 24 in the morning"


def test_three_fifteen_in_the_afternoon_is_15_15():
    result = parse_appointment_request("tomorrow at three fifteen in the afternoon", NOW)
    assert result.value.day == date(2026, 11, 23)
    assert result.value.at == time(15, 15)


def test_time_inside_a_sentence():
    result = parse_appointment_request("Can I come in on Friday at 10:30?", NOW)
    assert (result.value.day, result.value.at) == (date(2026, 11, 27), time(10, 30))


def test_bare_hour_guesses_clinic_hours():
    assert parse_appointment_request("December 3rd at 2", NOW).value.at == time(14, 0)
    assert parse_appointment_request("Tuesday at 9 a.m.", NOW).value.at == time(9, 0)


def test_after_three_is_a_lower_bound():
    result = parse_appointment_request("after 3 on Thursday", NOW)
    assert result.value.day == date(2026, 11, 26)
    assert result.value.earliest == time(15) and result.value.at is None


def test_weekday_with_ordinal_finds_the_matching_date():
    assert parse_appointment_request("Wednesday the 2nd", NOW).value.day == date(2026, 12, 2)


def test_as_soon_as_possible():
    result = parse_appointment_request("as soon as possible please", NOW)
    assert result.value.asap and result.value.day is None


def test_quarter_past_ten_tomorrow():
    result = parse_appointment_request("quarter past ten tomorrow", NOW)
    assert result.value.at == time(10, 15)


def test_no_day_or_time_asks_which_day():
    with pytest.raises(IntakeError) as err:
        parse_appointment_request("hello there", NOW)
    assert "which day" in err.value.reason


def test_hour_with_a_part_of_day_is_a_time():
    result = parse_appointment_request("two in the afternoon on Wednesday", NOW)
    assert (result.value.day, result.value.at) == (date(2026, 11, 25), time(14, 0))


@pytest.mark.parametrize(("spoken", "born"), [
    ("January sixth, nineteen fifty one. Oh, no, wait, that's my wife's. Mine's October "
     "fourteenth, forty nine.", date(1949, 10, 14)),
    ("June third, nineteen ninety. Sorry, I gave you the wrong year. It's nineteen ninety one. "
     "June third, ninety one.", date(1991, 6, 3)),
    ("Three, three, seventy six.", date(1976, 3, 3)),
])
def test_a_corrected_date_of_birth_is_the_correction(spoken, born):
    assert parse_date_of_birth(spoken, TODAY).value == born


def test_a_day_ruled_out_is_not_the_day_asked_for():
    said = ("Actually Tuesday's no good, I've got a job site all day. Can we do Wednesday "
            "instead? Same kind of time, late morning.")
    request = parse_appointment_request(said, NOW).value
    assert request.day == date(2026, 11, 25) and request.earliest == time(10, 0)


@pytest.mark.parametrize("spoken", ["so like ten o'clock-ish", "around ten", "ten or so"])
def test_an_approximate_time_is_a_window_from_then(spoken):
    request = parse_appointment_request(spoken, NOW).value
    assert request.at is None and request.earliest == time(10, 0)


def test_a_greeting_is_no_time_and_as_early_as_you_can_is_the_earliest():
    with pytest.raises(IntakeError):
        parse_appointment_request("Hello, good morning.", NOW)
    assert parse_appointment_request("Friday then, as early as you can.", NOW).value.asap


@pytest.mark.parametrize(("said", "hour"), [
    ("Seven's good.", 7), ("Nine is great.", 9), ("Ten, if you have it.", 10),
    ("Nine o'clock would be lovely", 9), ("Okay, nine works", 9),
    ("Nine thirty works", None), ("The first one.", None),
])
def test_an_hour_said_on_its_own_as_a_pick(said, hour):
    from voiceagent.intake.dates import bare_hour
    assert bare_hour(said) == hour


@pytest.mark.parametrize(("said", "day"), [
    ("next Thursday afternoon", date(2026, 12, 3)),  # said on Monday: Thursday of next week
    ("this Thursday afternoon", date(2026, 11, 26)),
    ("Thursday afternoons are best. So next Thursday afternoon.", date(2026, 12, 3)),
])
def test_next_weekday_is_in_next_week_and_this_weekday_is_the_nearest(said, day):
    assert parse_appointment_request(said, datetime(2026, 11, 23, 9)).value.day == day


@pytest.mark.parametrize(("said", "born"), [
    ("June fourth, seventy-nine. Oh, no wait, sorry, it's the fourteenth. June fourteenth.",
     date(1979, 6, 14)),
    ("March third, nineteen eighty-two. No wait, the fifth.", date(1982, 3, 5)),
])
def test_a_date_of_birth_whose_day_is_corrected_keeps_its_year(said, born):
    assert parse_date_of_birth(said, date(2026, 11, 23)).value == born


def test_after_a_time_with_minutes_said_as_words_keeps_the_minutes():
    req = parse_appointment_request("after three thirty is best", datetime(2026, 11, 23, 9)).value
    assert req.earliest == time(15, 30)


def test_picking_the_first_one_is_no_date():
    with pytest.raises(IntakeError):
        parse_date_of_birth("The first one's good.", date(2026, 11, 23))


def test_a_phone_number_said_in_groups_is_no_time_of_day():
    with pytest.raises(IntakeError):
        parse_appointment_request("to six oh eight, five five five, zero one four three, is "
                                  "that right?", datetime(2026, 11, 23, 9))
