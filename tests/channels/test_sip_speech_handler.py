"""The speech pipeline behind the SIP call seam: what it asks of the call's control when the
dialog hands the caller to a person (no SIP stack: the control is a recorder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.speech import FakeSTT, FakeTTS, FakeVAD
from voiceagent.channels.sip.handler import CallInfo
from voiceagent.channels.sip.speech_handler import SpeechCallHandler
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.dialog.protocol import Transfer
from voiceagent.speech.memory_log import MemoryCallLog
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.tts import PhraseCache

pytestmark = pytest.mark.unit


@dataclass
class RecordingControl:
    transfers: list[tuple[str, int, bool]] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)

    def transfer(self, target: str, summary_pcm: bytes = b"", warm: bool = True) -> None:
        self.transfers.append((target, len(summary_pcm), warm))

    def hangup(self, reason: str = "completed") -> None:
        self.hangups.append(reason)

    def send_dtmf(self, digits: str) -> None:
        pass


@pytest.fixture
def handler():
    tts = FakeTTS()
    resources = PipelineResources(stt=FakeSTT(), tts=tts, phrases=PhraseCache(tts),
                                  vad_factory=FakeVAD)
    info = CallInfo(call_id="c0ffee", sip_call_id="abc@host", caller_id="sip:100@pbx",
                    remote_address="10.0.0.5", dialed="sip:agent@clinic", sample_rate=8000,
                    frame_ms=20, started_at=datetime.now(UTC))
    call_log = MemoryCallLog()
    control = RecordingControl()
    handler = SpeechCallHandler(info, control, resources, MinimalDialog(FakeLLM()), call_log,
                                PipelineConfig())
    yield handler, control, call_log, tts
    handler.close("test over")


def test_a_warm_transfer_rings_staff_with_the_spoken_summary(handler):
    handler, control, _, tts = handler
    handler.transfer(Transfer("front_desk", "Maria wants to reschedule."))
    [(target, summary_bytes, warm)] = control.transfers
    assert (target, warm) == ("front_desk", True)
    assert summary_bytes > 0 and "Maria wants to reschedule." in tts.spoken


def test_a_blind_transfer_sends_the_caller_on_without_a_summary(handler):
    handler, control, _, tts = handler
    handler.transfer(Transfer("billing", "Billing question.", warm=False))
    assert control.transfers == [("billing", 0, False)]
    assert "Billing question." not in tts.spoken


def test_the_call_record_takes_the_id_the_endpoint_gave_the_call(handler):
    handler, _, call_log, _ = handler
    assert handler.session.call_id == "c0ffee"
    assert list(call_log.calls) == ["c0ffee"]
