"""Tool validation and authorization: refusals carry a reason, never an exception."""

from __future__ import annotations

import pytest

from tests.frontdesk.conftest import add_patient
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.frontdesk.tools import SPECS, ToolBox

pytestmark = pytest.mark.unit


def box(backend, step=Step.COLLECT):
    state = ConversationState(step=step)
    return ToolBox(backend, state), state


def test_every_tool_publishes_a_json_schema():
    for spec in SPECS.values():
        schema = spec.schema()
        assert schema["name"] == spec.name and schema["parameters"]["type"] == "object"


def test_bad_argument_is_refused_with_the_field_named(backend):
    tools, _ = box(backend)
    result = tools.call("verify_identity", {"first_name": "Jane", "last_name": "Smith",
                                            "date_of_birth": "not a date",
                                            "phone": "5551234567"})
    assert not result.ok and "date_of_birth" in result.reason


def test_unknown_argument_is_refused(backend):
    tools, _ = box(backend, Step.CONFIRM)
    result = tools.call("cancel_appointment", {"appointment_id": 1, "all": True})
    assert not result.ok and "all" in result.reason


def test_unknown_tool_is_refused(backend):
    tools, _ = box(backend)
    assert not tools.call("drop_database", {}).ok


def test_tool_outside_its_step_is_refused(backend):
    tools, _ = box(backend, Step.INTENT)
    result = tools.call("book_appointment", {})
    assert not result.ok and "not available" in result.reason


def test_reschedule_without_identity_asks_for_date_of_birth(backend):
    tools, _ = box(backend, Step.CONFIRM)
    result = tools.call("reschedule_appointment", {"appointment_id": 1})
    assert not result.ok
    assert result.reason.startswith("date of birth needed before rescheduling")


def test_cancel_of_an_appointment_not_listed_for_the_caller_is_refused(backend):
    add_patient(backend)
    tools, state = box(backend)
    assert tools.call("verify_identity", {"first_name": "jane", "last_name": "SMITH",
                                          "date_of_birth": "1982-03-03",
                                          "phone": "555-123-4567"}).ok
    state.step = Step.CONFIRM
    state.caller_confirmed = True
    result = tools.call("cancel_appointment", {"appointment_id": 999})
    assert not result.ok and "not one of the caller's" in result.reason


def test_verify_identity_with_a_wrong_date_of_birth_fails(backend):
    add_patient(backend)
    tools, state = box(backend)
    result = tools.call("verify_identity", {"first_name": "Jane", "last_name": "Smith",
                                            "date_of_birth": "1982-03-04",
                                            "phone": "+15551234567"})
    assert not result.ok and state.patient_id is None


def test_book_without_a_confirmed_read_back_is_refused(backend):
    tools, state = box(backend, Step.OFFER)
    assert tools.call("find_slots", {"day": "2026-11-24"}).ok
    assert tools.call("hold_slot", {"option": 1}).ok
    state.step = Step.CONFIRM
    state.fields.update(first_name="Jane", last_name="Smith", dob="1982-03-03",
                        phone="+15551234567")
    result = tools.call("book_appointment", {})
    assert not result.ok and "not confirmed" in result.reason


def test_hold_of_an_option_never_offered_is_refused(backend):
    tools, _ = box(backend, Step.OFFER)
    result = tools.call("hold_slot", {"option": 2})
    assert not result.ok and "offered" in result.reason


def test_find_slots_on_a_closed_day_reports_the_closure_and_nearby_times(backend):
    tools, _ = box(backend, Step.OFFER)
    result = tools.call("find_slots", {"day": "2026-11-26"})
    assert result.ok and result.data["closed"] == "Thanksgiving" and result.data["slots"]


def test_answer_faq_never_invents_an_answer(backend):
    tools, _ = box(backend, Step.INTENT)
    assert tools.call("answer_faq", {"question": "Is there parking?"}).data["answer"] == (
        "Free parking is behind the building.")
    assert "Aetna" in tools.call("answer_faq", {"question": "Do you take Aetna?"}).data["answer"]
    assert not tools.call("answer_faq", {"question": "What is the meaning of life?"}).ok


def test_a_store_failure_becomes_a_reason_not_a_crash(backend, store):
    tools, _ = box(backend, Step.OFFER)
    store.engine.dispose()
    backend.store = type(store)(store.engine, None)  # sessions() now fails
    result = tools.call("find_slots", {})
    assert not result.ok and "take a message" in result.reason


@pytest.mark.parametrize(("text", "category"), [
    ("I'm calling from Dr. Lee's office with a referral", "referral"),
    ("I have a question about my bill", "billing"),
    ("my knee pain got worse after the exercises", "clinical"),
    ("please call me back", "callback"),
])
def test_message_category_follows_what_it_is_about(clinic, text, category):
    from voiceagent.frontdesk.tools import choose_category

    full = clinic.model_copy(update={"message_categories": [
        type(clinic.message_categories[0])(id=c, name=c, owner_role="front_desk")
        for c in ("callback", "billing", "clinical", "referral")]})
    assert choose_category(full, text) == category
