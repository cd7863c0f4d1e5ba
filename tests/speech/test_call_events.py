"""A call as a stream of typed events: what a listener hears, in order, and the call record
written from them by its one writer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.session import RATE, run_fake_call
from tests.fakes.speech import speech
from voiceagent.channels.file import FileChannel
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.dialog.protocol import DialogEvent, ReplyText, Transfer, UserTurn
from voiceagent.speech.events import (
    AgentSaid,
    CallEnded,
    CallerSaid,
    CallEvent,
    EndOfTurn,
    Interrupted,
    SpeechStarted,
    TransferRequested,
)

pytestmark = pytest.mark.unit

LONG_REPLY = (
    "Our clinic has a large parking lot behind the building, and street parking is "
    "free after six in the evening. There is also a bus stop right at the front door."
)


def test_a_turn_is_heard_as_speech_then_the_committed_turn_then_the_reply_then_the_end():
    heard: list[CallEvent] = []
    call = run_fake_call(MinimalDialog(FakeLLM()), [speech("what are your hours", RATE)],
                         listener=heard.append)
    kinds = [type(e) for e in heard]
    assert kinds.index(SpeechStarted) < kinds.index(EndOfTurn) < kinds.index(CallerSaid)
    said = [e for e in heard if isinstance(e, CallerSaid)]
    replies = [e for e in heard if isinstance(e, AgentSaid)]
    assert [e.text for e in said] == ["what are your hours"]
    assert "Monday to Friday" in replies[0].text and replies[0].latency
    assert heard[-1] == CallEnded(call.session.outcome)
    # the record is written from the same events, by the recorder alone
    assert call.texts("caller") == ["what are your hours"]
    assert call.record.outcome == call.session.outcome


def test_a_barge_in_is_heard_with_what_the_caller_had_heard_of_the_reply():
    heard: list[CallEvent] = []
    run_fake_call(
        MinimalDialog(FakeLLM([LONG_REPLY, "Sure."])),
        [speech("tell me about parking", RATE), speech("wait please stop", RATE)],
        barge_in_ms=1500, listener=heard.append,
    )
    [cut] = [e for e in heard if isinstance(e, Interrupted)]
    assert cut.spoken and LONG_REPLY.startswith(cut.spoken) and not cut.by_keys


def test_a_listener_that_fails_does_not_stop_the_call_or_its_record():
    def broken(event: CallEvent) -> None:
        raise RuntimeError("listener bug")

    call = run_fake_call(MinimalDialog(FakeLLM()), [speech("what are your hours", RATE)],
                         listener=broken)
    assert call.texts("caller") == ["what are your hours"]
    assert call.record.outcome is not None


def test_the_record_keeps_the_id_the_channel_gave_the_call():
    call = run_fake_call(MinimalDialog(FakeLLM()), [speech("what are your hours", RATE)],
                         channel=FileChannel(rate=RATE, call_id="sip-call-42"))
    assert call.session.call_id == "sip-call-42"
    assert list(call.log.calls) == ["sip-call-42"]


class BlindTransferDialog(MinimalDialog):
    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        yield ReplyText("I'll send you to billing.")
        yield Transfer("billing", warm=False)


def test_a_blind_transfer_reaches_the_channel_as_blind():
    heard: list[CallEvent] = []
    channel = FileChannel(rate=RATE)
    call = run_fake_call(BlindTransferDialog(FakeLLM()), [speech("tell me please", RATE)],
                         channel=channel, listener=heard.append)
    assert channel.transfers == [("billing", "")] and channel.blind_transfers == 1
    assert TransferRequested("billing", warm=False) in heard
    assert call.record.outcome == "transferred"
