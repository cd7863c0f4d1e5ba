"""Frame exchange between the media clock and the pump, the reply-latency meter, the pump."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voiceagent.channels.sip.handler import TransferOutcome
from voiceagent.channels.sip.media_port import FrameExchange, ReplyLatencyMeter
from voiceagent.channels.sip.pump import CallPump, TransferEvent, split_frames
from voiceagent.speech.events import DtmfDigit

pytestmark = pytest.mark.unit

FRAME = 640  # 20 ms at 16 kHz


def tone(amplitude: int = 3000) -> bytes:
    t = np.arange(FRAME // 2)
    return (amplitude * np.sin(t / 5)).astype("<i2").tobytes()


def test_empty_outgoing_queue_sends_silence_of_one_frame() -> None:
    exchange = FrameExchange(FRAME)
    assert exchange.next_outgoing() == bytes(FRAME)


def test_outgoing_frames_are_cut_or_padded_to_the_frame_size() -> None:
    exchange = FrameExchange(FRAME)
    exchange.put_outbound(b"\x01" * 10)
    exchange.put_outbound(b"\x02" * 2000)
    first, second = exchange.next_outgoing(), exchange.next_outgoing()
    assert first == b"\x01" * 10 + bytes(FRAME - 10)
    assert second == b"\x02" * FRAME


def test_a_stalled_pump_loses_the_oldest_caller_frames_not_the_media_thread() -> None:
    exchange = FrameExchange(FRAME, max_inbound=3)
    for i in range(5):
        exchange.received(bytes([i]) * FRAME)
    assert [f[0] for f in exchange.take_inbound()] == [2, 3, 4]


def test_split_frames_pads_the_last_frame() -> None:
    frames = split_frames(b"\x01" * (FRAME + 4), FRAME)
    assert [len(f) for f in frames] == [FRAME, FRAME]
    assert frames[1] == b"\x01" * 4 + bytes(FRAME - 4)


def test_latency_meter_measures_caller_silence_to_agent_sound() -> None:
    meter = ReplyLatencyMeter()
    meter.caller_frame(True, 1.00)
    meter.caller_frame(True, 1.02)
    meter.caller_frame(False, 1.04)
    meter.agent_frame(False, 1.30)
    meter.agent_frame(True, 1.72)  # first reply audio 0.70 s after the caller stopped
    meter.agent_frame(True, 1.74)  # same reply, not a new one
    assert meter.latencies_s == [0.7]


def test_latency_meter_ignores_agent_audio_overlapping_the_caller() -> None:
    meter = ReplyLatencyMeter()
    meter.caller_frame(True, 1.00)
    meter.agent_frame(True, 1.02)  # greeting still playing while the caller talks
    assert meter.latencies_s == []


class RecordingHandler:
    def __init__(self, replies: list[bytes]) -> None:
        self.heard: list[bytes] = []
        self.replies = replies
        self.events: list[object] = []
        self.closed = threading.Event()

    def push_frame(self, pcm: bytes) -> None:
        self.heard.append(pcm)

    def pull_frame(self) -> bytes | None:
        return self.replies.pop(0) if self.replies else None

    def on_dtmf(self, key: DtmfDigit) -> None:
        self.events.append(key.digit)

    def on_transfer(self, outcome: TransferOutcome) -> None:
        self.events.append(outcome)

    def close(self, reason: str) -> None:
        self.events.append(f"closed:{reason}")
        self.closed.set()


def drive(exchange: FrameExchange, frames: int) -> list[bytes]:
    """Play the media clock: one frame in, one out, every 2 ms (faster than real time)."""
    out = []
    for _ in range(frames):
        exchange.received(tone())
        out.append(exchange.next_outgoing())
        time.sleep(0.002)
    return out


def test_pump_plays_the_prelude_then_the_handler_and_hangs_up_when_drained() -> None:
    exchange = FrameExchange(FRAME)
    handler = RecordingHandler([b"\x05" * FRAME] * 2)
    hangups: list[str] = []
    pump = CallPump("c1", exchange, handler, hangups.append, prelude_pcm=b"\x07" * FRAME)
    pump.start()
    pump.post(DtmfDigit("0"))
    pump.post(TransferEvent(TransferOutcome.NO_ANSWER))
    pump.hangup_when_drained("completed")
    sent = [f[0] for f in drive(exchange, 40) if f != bytes(FRAME)]
    pump.stop("ended")
    assert handler.closed.wait(2)
    assert sent == [7, 5, 5], "notice first, then the handler's audio, in order"
    assert len(handler.heard) >= 30
    assert handler.events[:2] == ["0", TransferOutcome.NO_ANSWER]
    assert handler.events[-1] == "closed:ended"
    assert hangups == ["completed"]


def test_muted_pump_stops_asking_the_handler_for_audio() -> None:
    exchange = FrameExchange(FRAME)
    handler = RecordingHandler([b"\x05" * FRAME] * 100)
    pump = CallPump("c2", exchange, handler, lambda reason: None)
    pump.mute()
    pump.start()
    sent = drive(exchange, 20)
    pump.stop("ended", timeout=2)
    assert all(f == bytes(FRAME) for f in sent)
    assert len(handler.replies) == 100


class SilencePaddingHandler(RecordingHandler):
    """Like the speech session: silence frames, never None, once it has nothing to say."""

    def pull_frame(self) -> bytes | None:
        return self.replies.pop(0) if self.replies else bytes(FRAME)


def test_pump_hangs_up_after_the_goodbye_although_the_handler_keeps_sending_silence() -> None:
    exchange = FrameExchange(FRAME)
    goodbye = [tone()] * 20
    handler = SilencePaddingHandler(list(goodbye))
    hangups: list[str] = []
    pump = CallPump("c1", exchange, handler, hangups.append)
    pump.start()
    pump.hangup_when_drained("completed")
    sent = drive(exchange, 60)
    pump.stop("ended")
    voiced = [f for f in sent if f != bytes(FRAME)]
    assert len(voiced) == 20, "the whole goodbye is played before the hang-up"
    assert hangups == ["completed"]
