"""One call's audio between pjsua2's conference bridge and the handler's pump thread.

pjsua2 calls :class:`PcmPort`'s callbacks on its media clock thread, holding the GIL, every
20 ms. They only move bytes between two deques (atomic in CPython) and never wait; an empty
outgoing deque sends silence. The pump thread (see ``call.py``) does the real work.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections import deque

import numpy as np
import pjsua2 as pj

from voiceagent.channels.sip.pjthreads import register_this_thread
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

VOICED_RMS = 300.0  # about -40 dBFS: above line noise, below any speech or TTS
REPLY_GAP_S = 0.25  # agent silence that ends one reply (so the next voiced frame starts one)
MIN_TURN_GAP_S = 0.1  # agent audio closer than this to caller speech overlaps it: not a reply


def frame_rms(pcm: bytes) -> float:
    """Root mean square of a PCM16 frame."""
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32)
    if not samples.size:
        return 0.0
    return float(np.sqrt(np.mean(samples * samples)))


class ReplyLatencyMeter:
    """End of caller speech to first agent audio, as seen at the media port.

    Fed by the media thread with one flag per frame each way; a reply counts when the agent
    starts sounding after a gap, following caller speech that came after the previous reply.
    """

    def __init__(self) -> None:
        self.latencies_s: list[float] = []
        self._caller_voice_end: float | None = None
        self._caller_spoke_since_reply = False
        self._agent_last_voice: float = 0.0

    def caller_frame(self, voiced: bool, now: float) -> None:
        if voiced:
            self._caller_voice_end = now
            self._caller_spoke_since_reply = True

    def agent_frame(self, voiced: bool, now: float) -> None:
        if not voiced:
            return
        starts_reply = now - self._agent_last_voice > REPLY_GAP_S
        self._agent_last_voice = now
        if not (starts_reply and self._caller_spoke_since_reply):
            return
        assert self._caller_voice_end is not None
        gap = now - self._caller_voice_end
        self._caller_spoke_since_reply = False
        if gap >= MIN_TURN_GAP_S:
            self.latencies_s.append(round(gap, 3))


class FrameExchange:
    """Two bounded deques and a tick: the only state shared by the media and pump threads."""

    def __init__(self, frame_bytes: int, max_inbound: int = 50, max_outbound: int = 2) -> None:
        self.frame_bytes = frame_bytes
        self.silence = bytes(frame_bytes)
        self._inbound: deque[bytes] = deque(maxlen=max_inbound)  # a stalled pump drops oldest
        self._outbound: deque[bytes] = deque()
        self._max_outbound = max_outbound
        self._tick = threading.Event()
        self.meter = ReplyLatencyMeter()
        self.frames_in = 0
        self.frames_out_voiced = 0

    # media clock thread: no waiting, no allocation beyond the frame
    def received(self, pcm: bytes) -> None:
        self.frames_in += 1
        self.meter.caller_frame(frame_rms(pcm) > VOICED_RMS, time.monotonic())
        self._inbound.append(pcm)
        self._tick.set()

    def next_outgoing(self) -> bytes:
        try:
            pcm = self._outbound.popleft()
        except IndexError:
            self._tick.set()
            return self.silence
        voiced = frame_rms(pcm) > VOICED_RMS
        if voiced:
            self.frames_out_voiced += 1
        self.meter.agent_frame(voiced, time.monotonic())
        self._tick.set()
        return pcm

    # pump thread
    def wait_tick(self, timeout: float) -> None:
        self._tick.wait(timeout)
        self._tick.clear()

    def take_inbound(self) -> list[bytes]:
        frames = []
        while True:
            try:
                frames.append(self._inbound.popleft())
            except IndexError:
                return frames

    def outbound_room(self) -> int:
        return self._max_outbound - len(self._outbound)

    def outbound_pending(self) -> int:
        return len(self._outbound)

    def put_outbound(self, pcm: bytes) -> None:
        """Queue one frame, cut or padded to the frame size."""
        if len(pcm) != self.frame_bytes:
            pcm = pcm[: self.frame_bytes].ljust(self.frame_bytes, b"\0")
        self._outbound.append(pcm)

    def clear_outbound(self) -> None:
        self._outbound.clear()


def _vector_bytes_fast(vec: pj.ByteVector) -> bytes:
    # A std::vector<unsigned char> starts with its begin and end pointers (libstdc++);
    # reading them beats SWIG's per-element iteration (1.1 ms per frame) by 150 times.
    begin, end = ctypes.cast(int(vec.this), ctypes.POINTER(ctypes.c_void_p * 2)).contents
    if not begin or not end or end < begin:
        return b""
    return ctypes.string_at(begin, end - begin)


def _vector_bytes_slow(vec: pj.ByteVector) -> bytes:
    return bytes(vec)


def _pick_vector_reader() -> object:
    probe = bytes(range(200))
    frame = pj.MediaFrame()
    frame.buf = pj.ByteVector(probe)
    try:
        if _vector_bytes_fast(frame.buf) == probe:
            return _vector_bytes_fast
    except (ValueError, OSError):
        pass
    log_event(log, "sip.media.slow_frame_copy", logging.WARNING)
    return _vector_bytes_slow


_vector_bytes = _pick_vector_reader()


class PcmPort(pj.AudioMediaPort):
    """A conference-bridge port that carries PCM16 frames to and from a FrameExchange.

    Ports are pooled (:class:`PortPool`), never destroyed while the library runs: pjsua 2.14+
    removes a conference port asynchronously on the clock thread, and a port freed before
    that ran was still called there (heap corruption, then a SIGSEGV in an unrelated frame
    allocation, seen in the soak test)."""

    def __init__(self, exchange: FrameExchange, call_id: str) -> None:
        super().__init__()
        self.exchange = exchange
        self.call_id = call_id
        self._errors = 0

    def __del__(self) -> None:
        register_this_thread()

    def create(self, sample_rate: int, frame_ms: int, name: str | None = None) -> None:
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, sample_rate, 1, frame_ms * 1000, 16)
        self.createPort(name or f"va-{self.call_id[:8]}", fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 name)
        try:
            if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
                self.exchange.received(_vector_bytes(frame.buf))  # type: ignore[operator]
        except Exception:  # an exception must never reach the media thread
            self._note_error()

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 name)
        try:
            pcm = self.exchange.next_outgoing()
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(pcm)
            frame.size = len(pcm)
        except Exception:
            self._note_error()

    def _note_error(self) -> None:
        self._errors += 1
        if self._errors in (1, 100, 10000):
            log_event(log, "sip.media.callback_error", logging.ERROR, call_id=self.call_id,
                      count=self._errors)


class PortPool:
    """Conference ports for calls: taken for a call, given back after it (and a cool-down, so
    no frame of the old call reaches the next), created only when none is free."""

    def __init__(self, sample_rate: int, frame_ms: int, cool_down_s: float = 2.0) -> None:
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.cool_down_s = cool_down_s
        self.idle = FrameExchange(sample_rate * frame_ms // 1000 * 2)  # a parked port's
        self._free: list[PcmPort] = []
        self._cooling: list[tuple[float, PcmPort]] = []
        self.created = 0

    def take(self, exchange: FrameExchange, call_id: str) -> PcmPort:
        self._cool(time.monotonic())
        if self._free:
            port = self._free.pop()
            port.exchange, port.call_id = exchange, call_id
            return port
        port = PcmPort(exchange, call_id)
        self.created += 1
        port.create(self.sample_rate, self.frame_ms, name=f"va-port-{self.created}")
        return port

    def give_back(self, port: PcmPort | None) -> None:
        """Park a port whose connections have been stopped (idempotent)."""
        if port is None or port.exchange is self.idle:
            return
        port.exchange = self.idle
        self._cooling.append((time.monotonic() + self.cool_down_s, port))

    def _cool(self, now: float) -> None:
        ready = [p for due, p in self._cooling if due <= now]
        self._cooling = [(due, p) for due, p in self._cooling if due > now]
        self._free.extend(ready)

    def drain(self) -> list[PcmPort]:
        """Every port (at shutdown, to be freed with the library)."""
        ports = self._free + [p for _due, p in self._cooling]
        self._free, self._cooling = [], []
        return ports
