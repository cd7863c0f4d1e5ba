"""The stand-in dialog the pipeline tests use, and the LLM first-token stamp."""

from __future__ import annotations

import pytest

from tests.fakes.llm import FakeLLM
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.dialog.protocol import EndCall, ExpectedInput, ReplyText, ToolCall, UserTurn
from voiceagent.llm.timing import TimedLLM
from voiceagent.speech.latency import TraceClock, TurnLatency, set_current_trace

pytestmark = pytest.mark.unit


def texts(events):
    return [e.text for e in events if isinstance(e, ReplyText)]


def test_greeting_starts_with_the_recording_notice():
    first, second = list(MinimalDialog(None).greeting())
    assert "recorded" in first.text and not first.content
    assert second.content


def test_booking_asks_for_digits_and_reads_the_number_back():
    dialog = MinimalDialog(FakeLLM())
    list(dialog.respond(UserTurn("I want to book an appointment")))
    assert dialog.expected_input() is ExpectedInput.DIGITS
    events = list(dialog.respond(UserTurn("five five five, one two three, four five six seven")))
    assert any(isinstance(e, ToolCall) for e in events)
    assert "5 5 5 1 2 3 4 5 6 7" in texts(events)[-1]
    assert dialog.expected_input() is ExpectedInput.FREE


def test_unsure_transcript_is_asked_again_and_kept_out_of_history():
    dialog = MinimalDialog(FakeLLM())
    events = list(dialog.respond(UserTurn("book a thing", confidence=0.1)))
    assert "didn't catch" in texts(events)[0]
    assert all(m.role != "user" for m in dialog.state.history)


def test_other_questions_are_phrased_by_the_llm_clause_by_clause():
    llm = FakeLLM(["Yes, we have a ramp at the side entrance. It is open all day."])
    events = list(MinimalDialog(llm).respond(UserTurn("Is the clinic wheelchair accessible?")))
    # a short first clause (cut before "at"), then whole sentences
    assert texts(events) == ["Yes, we have a ramp", "at the side entrance.", "It is open all day."]
    assert llm.calls[0][0].role == "system"


def test_interrupted_reply_is_trimmed_to_what_was_heard():
    dialog = MinimalDialog(FakeLLM(["We have a large lot. Parking is free after six."]))
    list(dialog.respond(UserTurn("Where do I park?")))
    dialog.interrupted("We have a large")
    assert dialog.state.history[-1].content == "We have a large"


def test_restore_undoes_a_turn():
    dialog = MinimalDialog(FakeLLM())
    checkpoint = dialog.checkpoint()
    list(dialog.respond(UserTurn("I want to book an appointment")))
    dialog.restore(checkpoint)
    assert dialog.expected_input() is ExpectedInput.FREE
    assert len(dialog.state.history) == 0


def test_goodbye_ends_the_call():
    events = list(MinimalDialog(None).respond(UserTurn("ok thanks, goodbye")))
    assert isinstance(events[-1], EndCall)


def test_first_llm_token_is_stamped_on_the_current_turn():
    now = [1000.0]
    trace = TurnLatency()
    clock = TraceClock(trace, speech_end_ms=900.0, now_ms=lambda: now[0])
    set_current_trace(clock)
    try:
        stream = TimedLLM(FakeLLM(["one two three"])).stream([])
        next(stream)
        now[0] = 2000.0
        list(stream)
    finally:
        set_current_trace(None)
    assert trace.llm_first_token == 100.0
    assert trace.llm_used


def test_trace_lists_only_the_stages_that_happened():
    trace = TurnLatency(endpoint=300.04)
    assert trace.as_dict()["endpoint"] == 300.0
    assert "stt_final" not in trace.as_dict()
    assert not trace.complete()
