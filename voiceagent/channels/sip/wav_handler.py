"""A call handler that needs no models: it answers each caller turn with a fixed recording.

Used to check a SIP installation end to end (``voiceagent`` answers, the caller hears the
reply, DTMF and transfers arrive) and by the SIP tests. It records what the caller said.
A caller turn ends after ``end_silence_ms`` of quiet following speech (a plain energy test:
good enough for a line check, not for a real conversation).
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable
from pathlib import Path

from voiceagent.channels.sip.handler import CallControl, CallInfo, TransferOutcome
from voiceagent.channels.sip.media_port import VOICED_RMS, frame_rms
from voiceagent.channels.sip.pump import split_frames
from voiceagent.speech.events import DtmfDigit


class WavReplyHandler:
    """Speaks ``greeting`` at once, then ``reply`` after each caller turn.

    ``actions`` maps a DTMF digit to what to do (``"hangup"``, ``"transfer:<target>"``,
    ``"blind:<target>"``); ``first_turn_action`` does the same after the caller's first turn
    instead of the reply; ``after_transfer_failed`` is spoken when a transfer comes back
    (the agent taking a message).
    """

    def __init__(
        self,
        info: CallInfo,
        control: CallControl,
        greeting: bytes,
        reply: bytes,
        record_path: Path | None = None,
        actions: dict[str, str] | None = None,
        after_transfer_failed: bytes = b"",
        transfer_summary: bytes = b"",
        end_silence_ms: int = 400,
        first_turn_action: str | None = None,
        on_close: Callable[[WavReplyHandler], None] | None = None,
    ) -> None:
        self.info = info
        self.control = control
        self.reply_frames = split_frames(reply, info.frame_bytes)
        self.after_failed_frames = split_frames(after_transfer_failed, info.frame_bytes)
        self.summary = transfer_summary
        self.actions = actions or {}
        self.end_silence_frames = max(1, end_silence_ms // info.frame_ms)
        self.on_close = on_close
        self._queue: list[bytes] = split_frames(greeting, info.frame_bytes)
        self._voiced_run = 0
        self._quiet_run = 0
        self._in_turn = False
        self.turns = 0
        self.dtmf = ""
        self.transfer_outcomes: list[TransferOutcome] = []
        self.closed_reason: str | None = None
        self.closed = threading.Event()
        self.first_turn_action = first_turn_action
        self.message_frames_sent = 0  # frames of after_transfer_failed played so far
        self._message_left = 0
        self._wav: wave.Wave_write | None = None
        self.record_path = record_path
        if record_path is not None:
            self._wav = wave.open(str(record_path), "wb")
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(info.sample_rate)

    def push_frame(self, pcm: bytes) -> None:
        if self._wav is not None:
            self._wav.writeframes(pcm)
        if frame_rms(pcm) > VOICED_RMS:
            self._voiced_run += 1
            self._quiet_run = 0
            if self._voiced_run >= 3:
                self._in_turn = True
        else:
            self._voiced_run = 0
            self._quiet_run += 1
            if self._in_turn and self._quiet_run >= self.end_silence_frames:
                self._in_turn = False
                self.turns += 1
                if self.turns == 1 and self.first_turn_action:
                    self._act(self.first_turn_action)
                elif not self._queue:
                    self._queue = list(self.reply_frames)

    def pull_frame(self) -> bytes | None:
        if not self._queue:
            return None
        if self._message_left:
            self._message_left -= 1
            self.message_frames_sent += 1
        return self._queue.pop(0)

    def on_dtmf(self, key: DtmfDigit) -> None:
        self.dtmf += key.digit
        self._act(self.actions.get(key.digit, ""))

    def _act(self, action: str) -> None:
        if action == "hangup":
            self.control.hangup("caller_asked")
        elif action.startswith("transfer:"):
            self.control.transfer(action.split(":", 1)[1], self.summary, warm=True)
        elif action.startswith("blind:"):
            self.control.transfer(action.split(":", 1)[1], warm=False)

    def on_transfer(self, outcome: TransferOutcome) -> None:
        self.transfer_outcomes.append(outcome)
        if outcome is not TransferOutcome.CONNECTED:
            self._queue = list(self.after_failed_frames)
            self._message_left = len(self._queue)

    def close(self, reason: str) -> None:
        self.closed_reason = reason
        if self._wav is not None:
            self._wav.close()
            self._wav = None
        self.closed.set()
        if self.on_close is not None:
            self.on_close(self)
