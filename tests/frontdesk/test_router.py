"""The deterministic intent router, on the example clinic's own phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.clinic.config import load_clinic
from voiceagent.frontdesk import router as r
from voiceagent.frontdesk.router import IntentRouter, RedFlagRule, is_affirmative, is_negative

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"


@pytest.fixture(scope="module")
def router():
    return IntentRouter.from_clinic(load_clinic(EXAMPLE))


@pytest.mark.parametrize(("text", "intent"), [
    ("Hi, I want to make an appointment for my knee", r.BOOK),
    ("my doctor referred me for physical therapy", r.BOOK),
    ("do you have any openings this week", r.BOOK),
    ("my back hurts, can I get in this week", r.BOOK),
    ("I need to cancel tomorrow", r.CANCEL),
    ("I won't make it on Friday, please cancel", r.CANCEL),
    ("can I move my appointment to Friday", r.RESCHEDULE),
    ("I'd like to reschedule", r.RESCHEDULE),
    ("when is my next appointment", r.MY_APPOINTMENTS),
    ("do you take Aetna", r.QUESTION),
    ("what time do you open on Saturday", r.QUESTION),
    ("where do I park", r.QUESTION),
    ("let me talk to a real person", r.HUMAN),
    ("front desk please", r.HUMAN),
    ("can you have my therapist call me back", r.MESSAGE),
    ("thanks, bye", r.GOODBYE),
])
def test_utterances_route_to_their_intent(router, text, intent):
    assert router.route(text).intent == intent


def test_transcription_slips_still_route(router):
    assert router.route("I need to reskedule my apointment").intent == r.RESCHEDULE
    assert router.route("I'd like to cancell").intent == r.CANCEL


@pytest.mark.parametrize("text", ["yes", "March third 1982", "five five five", "um"])
def test_answers_are_not_intents(router, text):
    assert router.route(text).intent is None


@pytest.mark.parametrize(("text", "flag"), [
    ("I want to book but I have chest pain", "cardiac"),
    ("I have numbness in both my legs", "cauda-equina"),
    ("I fell and hit my head yesterday", "head-injury"),
    ("I'm short of breath", "cardiac"),
])
def test_red_flags_win_over_everything(router, text, flag):
    route = router.route(text)
    assert route.red_flag is not None and route.red_flag.id == flag and route.intent is None


def test_config_examples_extend_the_builtin_intents():
    custom = IntentRouter({"book": ["ahoy I seek an audience with the healer"]})
    assert custom.route("ahoy, I seek an audience with the healer").intent == r.BOOK
    assert IntentRouter().route("ahoy, I seek an audience with the healer").intent is None


def test_unknown_config_intent_is_routed_by_its_examples():
    custom = IntentRouter({"records_request": ["I need a copy of my medical records"]})
    assert custom.route("I need a copy of my medical records please").intent == "records_request"


def test_red_flag_rules_can_be_given_directly():
    router = IntentRouter(red_flags=[RedFlagRule("x", "see a doctor",
                                                 phrases=("sudden swelling",))])
    assert router.red_flag("there's some sudden swelling in my calf").id == "x"
    assert router.red_flag("no swelling at all") is None


@pytest.mark.parametrize(("text", "yes", "no"), [
    ("yes", True, False), ("yeah that's right", True, False), ("sure", True, False),
    ("that works", True, False), ("no", False, True), ("no that's wrong", False, True),
    ("I don't know", False, False),
])
def test_yes_and_no(text, yes, no):
    assert (is_affirmative(text), is_negative(text)) == (yes, no)
