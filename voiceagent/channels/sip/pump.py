"""A call's pump thread: moves frames between the media port's deques and the handler.

It wakes on every media tick (20 ms), hands the handler the caller's frames and its events
(DTMF, transfer results), and keeps the outgoing deque a few frames deep from, in order,
the recording notice and then the handler. It never touches pjsua2: requests for the SIP
thread go through ``post``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voiceagent.channels.sip.handler import CallHandler, TransferOutcome
from voiceagent.channels.sip.media_port import VOICED_RMS, FrameExchange, frame_rms
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferEvent:
    outcome: TransferOutcome


PumpEvent = DtmfDigit | TransferEvent

# After a hang-up request the agent's last words have been queued; the call ends once the
# handler has been quiet this long (its silence frames are not sent on) and the port drained,
# or HANGUP_LIMIT_S after the request whatever the handler still says.
HANGUP_QUIET_FRAMES = 10
HANGUP_LIMIT_S = 5.0


def split_frames(pcm: bytes, frame_bytes: int) -> list[bytes]:
    """Cut PCM into whole frames, padding the last with silence."""
    frames = [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]
    if frames and len(frames[-1]) < frame_bytes:
        frames[-1] = frames[-1].ljust(frame_bytes, b"\0")
    return frames


class CallPump:
    """Runs one handler against one FrameExchange on its own thread."""

    def __init__(
        self,
        call_id: str,
        exchange: FrameExchange,
        handler: CallHandler,
        on_drained_hangup: Callable[[str], None],
        prelude_pcm: bytes = b"",
    ) -> None:
        self.call_id = call_id
        self.exchange = exchange
        self.handler = handler
        self._on_drained_hangup = on_drained_hangup
        self._prelude = split_frames(prelude_pcm, exchange.frame_bytes)
        self._events: queue.SimpleQueue[PumpEvent] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._speaking = True  # False once the caller is connected elsewhere (transfer)
        self._hangup_reason: str | None = None
        self._hangup_at = 0.0
        self._quiet_frames = 0
        self._side_feeds: list[tuple[FrameExchange, list[bytes]]] = []
        self._side_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"sip-pump-{call_id[:8]}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, event: PumpEvent) -> None:
        self._events.put(event)

    def hangup_when_drained(self, reason: str) -> None:
        """Hang up once what the agent still says has been played (see HANGUP_QUIET_FRAMES)."""
        if self._hangup_reason is None:
            self._hangup_at = time.monotonic()
            self._quiet_frames = 0
        self._hangup_reason = reason

    def mute(self) -> None:
        """Stop asking the handler for audio (the caller is being connected elsewhere)."""
        self._speaking = False
        self.exchange.clear_outbound()

    def unmute(self) -> None:
        self._speaking = True

    def feed(self, target: FrameExchange, pcm: bytes) -> None:
        """Play ``pcm`` into another exchange (the staff leg of a warm transfer)."""
        with self._side_lock:
            self._side_feeds.append((target, split_frames(pcm, target.frame_bytes)))

    def feed_pending(self, target: FrameExchange) -> bool:
        with self._side_lock:
            queued = any(t is target and frames for t, frames in self._side_feeds)
        return queued or target.outbound_pending() > 0

    def stop(self, reason: str, timeout: float = 2.0) -> None:
        """End the pump and close the handler (idempotent)."""
        self._stop_reason = reason
        self._stop.set()
        if timeout and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.exchange.wait_tick(0.1)
                self._step()
        except Exception:
            log_event(log, "sip.pump.handler_error", logging.ERROR, call_id=self.call_id,
                      exc_info=True)
            self._on_drained_hangup("handler_error")
        finally:
            try:
                self.handler.close(getattr(self, "_stop_reason", "ended"))
            except Exception:
                log_event(log, "sip.pump.close_error", logging.ERROR, call_id=self.call_id)

    def _step(self) -> None:
        for pcm in self.exchange.take_inbound():
            self.handler.push_frame(pcm)
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, DtmfDigit):
                self.handler.on_dtmf(event)
            else:
                self.handler.on_transfer(event.outcome)
        self._feed_side()
        if not self._speaking:
            return
        exchange = self.exchange
        ending = self._hangup_reason is not None
        while exchange.outbound_room() > 0:
            if self._prelude:
                exchange.put_outbound(self._prelude.pop(0))
                continue
            if ending and self._quiet_frames >= HANGUP_QUIET_FRAMES:
                break  # the agent has finished: let the port drain
            frame = self.handler.pull_frame()
            if ending:
                if not frame or frame_rms(frame) <= VOICED_RMS:
                    self._quiet_frames += 1
                    if self._quiet_frames >= HANGUP_QUIET_FRAMES:
                        break
                else:
                    self._quiet_frames = 0
            if not frame:
                break
            exchange.put_outbound(frame)
        if ending and not self._prelude and (
            (self._quiet_frames >= HANGUP_QUIET_FRAMES and exchange.outbound_pending() == 0)
            or time.monotonic() - self._hangup_at > HANGUP_LIMIT_S
        ):
            reason, self._hangup_reason = self._hangup_reason, None
            assert reason is not None
            self._on_drained_hangup(reason)

    def _feed_side(self) -> None:
        with self._side_lock:
            for target, frames in self._side_feeds:
                while frames and target.outbound_room() > 0:
                    target.put_outbound(frames.pop(0))
            self._side_feeds = [(t, f) for t, f in self._side_feeds if f]
