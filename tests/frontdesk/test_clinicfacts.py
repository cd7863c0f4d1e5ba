"""Questions answered from the bundled clinic's config, as callers ask them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voiceagent.clinic.config import load_clinic
from voiceagent.frontdesk.clinicfacts import answer_all
from voiceagent.frontdesk.tools import choose_appointment_type

pytestmark = pytest.mark.unit

CLINIC = load_clinic(Path(__file__).parents[2] / "configs" / "clinic.yaml")
MONDAY = date(2026, 11, 23)  # Thanksgiving is Thursday the 26th


def ask(question: str, previous: str = "") -> str:
    return answer_all(CLINIC, question, MONDAY, previous=previous) or ""


def test_every_question_in_a_turn_is_answered():
    said = ask("Do I need a referral from my doctor? I have Quartz, if that matters.")
    assert "referral" in said.lower() and "Quartz" in said
    doors = ask("Okay, and if we come on a Saturday, where do I park, and which door do we use?")
    assert "rear entrance" in doors and "parking" in doors.lower()


def test_hours_on_the_days_named():
    said = ask("Hi, are you guys open this Thursday and Friday?")
    assert "closed on Thursday, November 26" in said and "Friday, November 27" in said
    assert "8" in ask("¿Y a qué hora abren los sábados?")


def test_a_follow_up_is_read_with_the_question_before_it():
    before = "Hi, are you open on Thanksgiving?"
    assert "Friday, November 27" in ask("What about the Friday after?", previous=before)
    day_after = "Are you open the day after Thanksgiving? The Friday?"
    assert "12" in ask("What time do you close that day?", previous=day_after)
    assert "wear" in ask("And what should I wear?", previous="And where do I park?").lower()


def test_what_to_bring_comes_from_the_first_visits_type():
    said = ask("Do I need to bring the paper from Dr. Takahashi?")
    assert "referral or prescription" in said


@pytest.mark.parametrize(("reason", "kind"), [
    ("still leaking a little when I sneeze, I had a baby in September", "pelvic-evaluation"),
    ("my ENT says I have that B P P V, the room spins", "vestibular-evaluation"),
    ("my knee hurts going down stairs", "evaluation"),
])
def test_a_specialtys_own_evaluation_for_the_problems_it_treats(reason, kind):
    assert choose_appointment_type(CLINIC, new_patient=True, text=reason) == kind


def test_a_misheard_follow_up_that_names_a_day_after_an_hours_question():
    before = "Hi, are you open on Thanksgiving?"
    assert "Friday, November 27" in ask("Welcome out from the Friday after.", previous=before)


def test_contact_facts_and_the_door_for_the_visit_in_hand():
    assert "555-0143" in ask("And what's your fax number? My doctor wants to send something.")
    saturday = answer_all(CLINIC, "And which door do I use?", MONDAY,
                          visit_day=date(2026, 11, 28))
    assert saturday is not None and "rear entrance" in saturday


@pytest.mark.parametrize("question", [
    "Hi, quick question before I try to book anything. I still have Kaiser through my old job. "
    "Do you take Kaiser?",
    "Hi, I was wondering, before I book anything, how much is it if you don't have insurance?",
])
def test_an_answer_sharing_only_a_word_like_before_or_book_is_not_given(question):
    assert "intake forms" not in ask(question)
