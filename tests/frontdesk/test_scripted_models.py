"""Scripted conversations on the bundled SmolLM2-135M (real llama.cpp), small mode.

The router and templates decide; the model is asked only when the router is unsure (the
refusal script has such a line). Each conversation must end in the right stored state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.frontdesk.conftest import MONDAY_10AM
from voiceagent.channels.text import read_script, run_script
from voiceagent.frontdesk.runtime import FrontDesk

pytestmark = [pytest.mark.models, pytest.mark.slow]

SCRIPTS = Path(__file__).with_name("scripts")


@pytest.fixture(scope="module")
def llm():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from voiceagent.config.pipeline import LLMConfig
    from voiceagent.llm.llama import LlamaLLM

    model = LlamaLLM(LLMConfig(n_threads=2))
    yield model
    model.close()


@pytest.fixture
def frontdesk(store, clinic, llm):
    return FrontDesk(store, clinic, llm=llm, capability="small", clock=lambda: MONDAY_10AM)


def run(frontdesk, name):
    return run_script(frontdesk, read_script(SCRIPTS / f"{name}.txt"))


def test_booking_on_the_bundled_model_stores_the_intake_fields(frontdesk):
    final = run(frontdesk, "booking")["final"]
    assert final["state"]["outcome"] == "booked"
    assert final["stored"]["appointments"][0]["status"] == "booked"
    assert final["stored"]["patient"]["coverages"][0]["member_id"] == "XYZ1234567"
    assert final["stored"]["lead"]["stage"] == "scheduled"


def test_message_on_the_bundled_model_is_stored(frontdesk):
    final = run(frontdesk, "message")["final"]
    [message] = final["stored"]["messages"]
    assert message["callback_phone"] == "+12125550142" and "knee" in message["body"]


def test_transfer_on_the_bundled_model(frontdesk):
    result = run(frontdesk, "transfer")
    assert result["final"]["state"]["outcome"] == "transferred"
    assert result["turns"][-1]["events"][-1]["type"] == "transfer"


def test_refusal_on_the_bundled_model_changes_nothing(frontdesk):
    result = run(frontdesk, "refusal")
    said = " ".join(e["text"] for t in result["turns"] for e in t["events"]
                    if e["type"] == "reply")
    assert "not able to give medical advice" in said
    assert result["final"]["stored"]["appointments"] == []
    tools = {e["name"] for t in result["turns"] for e in t["events"] if e["type"] == "tool_call"}
    assert not tools & {"cancel_appointment", "reschedule_appointment", "book_appointment"}


class CountingLLM:
    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def stream(self, messages, **kwargs):
        self.calls += 1
        yield from self.inner.stream(messages, **kwargs)


def test_an_unclear_opener_asks_the_model_and_the_dialog_carries_on(store, clinic, llm):
    from voiceagent.dialog.protocol import ReplyText, UserTurn

    counting = CountingLLM(llm)
    frontdesk = FrontDesk(store, clinic, llm=counting, capability="small",
                          clock=lambda: MONDAY_10AM)
    dialog = frontdesk.dialog(channel="chat")
    list(dialog.greeting())
    events = list(dialog.respond(UserTurn("hmm I was wondering about something")))
    assert counting.calls == 1
    said = " ".join(e.text for e in events if isinstance(e, ReplyText))
    # a schema-valid guess is confirmed with the caller; "unclear" gets the menu
    assert "would you like to" in said or "What would you like to do?" in said
    assert dialog.state.step == "intent" and dialog.state.intent is None
