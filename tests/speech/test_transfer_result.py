"""A transfer the channel reports on: nobody picking up brings the caller back to the
dialog (to leave a message); a connected transfer ends the agent's part of the call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.session import RATE, run_fake_call
from tests.fakes.speech import speech
from voiceagent.channels.file import FileChannel
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.dialog.protocol import DialogEvent, ReplyText, Transfer, UserTurn
from voiceagent.speech.session import CallSession

pytestmark = pytest.mark.unit


class TransferringDialog(MinimalDialog):
    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        if "tell me" in turn.text:
            yield ReplyText("Transferring you now.")
            yield Transfer("front_desk", "Caller wants a person.")
            return
        yield from super().respond(turn)


@dataclass
class PhoneLine(FileChannel):
    """A channel that, like SIP, learns whether the staff phone was answered."""

    answered: bool = False
    session: CallSession | None = None
    reports_transfer_result = True

    def attach(self, session: CallSession) -> None:
        self.session = session

    def transfer(self, request: Transfer) -> None:
        super().transfer(request)
        assert self.session is not None
        self.session.transfer_result(connected=self.answered)


def test_transfer_nobody_answers_brings_the_caller_back_to_leave_a_message() -> None:
    line = PhoneLine(rate=RATE, answered=False)
    call = run_fake_call(
        TransferringDialog(FakeLLM()),
        [speech("tell me please", RATE), speech("goodbye", RATE)],
        channel=line,
    )
    assert line.transfers == [("front_desk", "Caller wants a person.")]
    assert any("nobody could pick up" in text for text in call.tts.spoken)
    assert call.record.outcome == "completed"  # the caller stayed and said goodbye


def test_answered_transfer_ends_the_agents_part_of_the_call() -> None:
    line = PhoneLine(rate=RATE, answered=True)
    call = run_fake_call(
        TransferringDialog(FakeLLM()), [speech("tell me please", RATE)], channel=line
    )
    assert call.record.outcome == "transferred"
    assert not any("nobody could pick up" in text for text in call.tts.spoken)
