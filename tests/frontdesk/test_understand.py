"""What one caller turn says, read the way callers really talk (the bundled clinic)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from voiceagent.clinic.config import load_clinic
from voiceagent.frontdesk.router import RESCHEDULE, IntentRouter, is_affirmative
from voiceagent.frontdesk.understand import (
    Shape,
    Social,
    answer_shape,
    extract,
    is_question,
    letter_run,
    social_turn,
    spelled_names,
)

pytestmark = pytest.mark.unit

CLINIC = load_clinic(Path(__file__).parents[2] / "configs" / "clinic.yaml")
NOW = datetime(2026, 11, 23, 9, 0)


def values(text: str, **kw: object) -> dict[str, str]:
    return {k: v.value for k, v in extract(text, CLINIC, NOW, **kw).items()}  # type: ignore[arg-type]


@pytest.mark.parametrize(("said", "letters"), [
    ("B R E N N A N, two Ns in the middle there.", "B R E N N A N"),
    ("A M U N D S E N. S E N, not S O N.", "A M U N D S E N"),
    ("V I L L A N U E V A.", "V I L L A N U E V A"),
])
def test_a_spelling_is_the_letters_not_the_commentary(said, letters):
    assert letter_run(said) == letters


def test_the_first_name_spelled_too_is_not_the_last_names_spelling():
    said = ("K A T H E R I N E, and Schaefer is S C H A E, sorry, let me start over, "
            "S C H A E F E R.")
    assert letter_run(said, "Katherine") == "S C H A E F E R"
    assert letter_run("G R A C I E L A, E S T R A D A.", "Graciela", "Estrada") == \
        "E S T R A D A"
    assert spelled_names("Patricia, P A T R I C I A, Dunleavy, D U N L E A V Y.") == \
        ["Patricia", "Dunleavy"]


def test_a_name_volunteered_with_its_spelling_and_birthday():
    got = values("Yeah, it's Deshawn Pettiford, birthday's oh three, fourteen, ninety seven.")
    assert (got["first_name"], got["last_name"], got["dob"]) == ("Deshawn", "Pettiford",
                                                                  "1997-03-14")
    assert values("My name is Priya Raman, last name R A M A N.")["last_name_spelled"] == "Raman"
    assert values("Yeah, hello, this is Oscar Halvorsen.")["full_name"] == "Oscar Halvorsen"


def test_the_member_id_read_off_the_card_in_the_insurance_turn():
    got = values("I'm on my dad's plan, it's Cigna. Hold on, he just texted it. U eight two two "
                 "nine zero four one one.", pending="payer")
    assert (got["payer_named"], got["member_id"], got["subscriber_relationship"]) == (
        "Cigna", "U82290411", "parent")
    mbi = values("She has Medicare. The number's eight R nine six K four one T U zero six.")
    assert mbi["member_id"] == "8R96K41TU06"


def test_a_subscribers_birthday_is_not_the_patients():
    got = values("Her name's Olivia Ashby, and her birthday is March thirtieth, eighty eight.",
                 known={"subscriber_relationship": "spouse"})
    assert got["subscriber_name"] == "Olivia Ashby" and got["subscriber_dob"] == "1988-03-30"
    assert "dob" not in got


def test_the_job_a_caller_works_at_is_the_employer():
    got = values("It's through my job at Badger State Logistics. It happened November tenth.")
    assert got["employer"] == "Badger State Logistics" and got["date_of_injury"] == "2026-11-10"


@pytest.mark.parametrize("said", [
    "Hi, this is Kristen from human resources at Northgate. One of our employees, Stephanie "
    "Marsh, says she has physical therapy with you this afternoon. I just need to verify that.",
    "Hi, my son Tyler goes there. I just want to know if he's actually been showing up, and "
    "when his next one is.",
])
def test_asking_about_someone_else_is_refused(said):
    assert social_turn(said) is Social.THIRD_PARTY


@pytest.mark.parametrize("said", [
    "Hi, this is Becky calling from Dr. Gunderson's office. I'm calling to refer a patient to "
    "you for physical therapy.",
    "Use my cell, it's six oh eight, five five five, seven three zero one. I'm his mom, Jennifer.",
    "I hurt my back at work, my supervisor said to call and confirm if you take workers comp.",
])
def test_giving_details_for_someone_is_not_a_privacy_matter(said):
    assert social_turn(said) is None


@pytest.mark.parametrize(("said", "question"), [
    ("Oh, quick question before I forget, do I need a referral from my doctor for this?", True),
    ("I was wondering, before I book anything, how much is it if you don't have insurance?",
     True),
    ("Okay, and Thanksgiving itself you're closed, right?", True),
    ("Hey, how's it going, I need to get my ankle looked at.", False),
    ("The other guy's insurance is paying for it, I think?", False),
])
def test_questions_by_their_form(said, question):
    assert is_question(said) is question


@pytest.mark.parametrize(("said", "yes"), [
    ("That's all correct, young lady. Or young man, I suppose.", True),
    ("Okay, that's more than I can swing right now. I'll see if Oscar has someone.", False),
    ("Yes, but can we change the time?", False),
])
def test_a_yes_is_the_first_sentence_and_no_change(said, yes):
    assert is_affirmative(said) is yes


def test_a_restarted_phone_number_and_a_grouped_birthday_have_their_shapes():
    today = NOW.date()
    assert answer_shape("Six oh eight... five five five... four nine, uh, no, sorry, three nine "
                        "two zero.", CLINIC, today) is Shape.PHONE
    assert answer_shape("Three, three, seventy six.", CLINIC, today) is Shape.DATE


def test_a_caller_with_a_visit_who_wants_another_time_is_rescheduling():
    router = IntentRouter.from_clinic(CLINIC)
    scores = router.scores("Hi, it's Patty, I have therapy tomorrow morning at eight and my "
                           "car's in the shop. Can I come later in the day?")
    assert max(scores, key=lambda k: scores[k]) == RESCHEDULE


def test_claim_details_said_in_passing():
    got = values("The adjuster lady is Monica Strand, her number's eight hundred, five five five, "
                 "nine one nine one, extension two one four.")
    assert (got["adjuster_name"], got["adjuster_extension"]) == ("Monica Strand", "214")
    lawyer = values("Yeah, my attorney is Michael Feeney, at Feeney and Okoro. Six oh eight, five "
                    "five five, zero one eight eight.")
    assert lawyer["attorney_name"] == "Michael Feeney"
    assert lawyer["attorney_phone"] == "+16085550188" and "phone" not in lawyer
    assert values("I work housekeeping at the Lakeshore Suites hotel on John Nolen.")[
        "employer"].startswith("the Lakeshore Suites")


def test_a_name_with_its_first_name_spelled_in_between():
    from voiceagent.frontdesk.understand import name_in, without_spellings
    said = "His name is Tyler, T Y L E R, Kaczmarek."
    assert name_in(without_spellings(said), CLINIC) == "Tyler Kaczmarek"
    assert name_in("It's Mariah Betts. M, A, R, I, A, H. Betts, B, E, T, T, S.", CLINIC) == \
        "Mariah Betts"


def test_an_id_in_three_groups_is_no_date_and_a_records_request_is_a_message():
    assert answer_shape("Four four seven, two nine one, oh three.", CLINIC,
                        NOW.date()) is Shape.IDENTIFIER
    router = IntentRouter.from_clinic(CLINIC)
    scores = router.scores("My surgeon's office needs my therapy notes before my follow-up.")
    assert max(scores, key=lambda k: scores[k]) == "leave_message"


@pytest.mark.parametrize(("said", "name"), [
    ("Hi, I need to move my appointment today, the three o'clock. Nadia Petrov.", "Nadia Petrov"),
    ("Nadia Petrov. I need to move my appointment.", "Nadia Petrov"),
])
def test_a_name_said_as_a_sentence_of_its_own_is_the_callers_name(said, name):
    assert values(said)["full_name"] == name


@pytest.mark.parametrize("said", [
    "I have Blue Cross. Dean Health.",
    "My knee hurts. Next Tuesday.",
    "It's for my back. Thank You.",
    "The referral came from the hospital. Mercy Hospital.",
])
def test_a_plan_a_day_or_a_place_said_alone_is_not_a_name(said):
    assert "full_name" not in values(said)


def test_a_doctor_named_later_in_a_referral_call_is_the_referring_doctor():
    got = values("The doctor is Rebecca Lund, at the UW East Clinic. Lund, L U N D.",
                 known={"referred": "yes"})
    assert got["referring_provider"] == "Dr. Rebecca Lund"
    assert "full_name" not in got


def test_the_date_a_work_injury_happened_is_read_from_the_story():
    got = values("Yeah, it's my right shoulder. I was pulling totes off the top rack and felt it "
                 "go. That was November tenth.", known={"coverage_kind": "workers_comp"})
    assert (got["body_part"], got["date_of_injury"]) == ("shoulder", "2026-11-10")


def test_a_caller_who_is_the_subscriber_gives_the_subscribers_birthday():
    got = values("The subscriber's me, Rachel Lindgren, and my birthday is October nineteenth, "
                 "eighty-three.")
    assert got["subscriber_name"] == "Rachel Lindgren"
    assert got["subscriber_dob"] == "1983-10-19" and "dob" not in got


def test_a_doctors_office_calling_to_refer_names_the_doctor_and_its_fax():
    got = values("Hi, this is Kayla calling from Doctor Feldman's office. I'm calling to refer a "
                 "patient for physical therapy.")
    assert got["referring_provider"] == "Dr. Feldman"
    fax = values("Our fax is six oh eight, five five five, three three one nine, and our callback "
                 "number is six oh eight, five five five, three three one eight.")
    assert fax["referring_fax"] == "+16085553319"
