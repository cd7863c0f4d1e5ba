"""Barge-in: caller speech during the agent's reply that may take the floor.

Speech that starts while the agent talks is a candidate. It interrupts once it has lasted
``barge_in_min_ms`` and at least half of that was loud enough (``barge_in_min_dbfs``): line
noise and a distant voice never interrupt. Whether the words mean it (a backchannel like
"mm-hm" lets the reply resume) is decided once they are transcribed
(:func:`voiceagent.speech.backchannel.is_backchannel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from voiceagent.audio.frames import rms_dbfs


class Verdict(Enum):
    WAIT = "wait"  # not long enough yet
    QUIET = "quiet"  # long enough, but too quiet to be the caller talking over us
    INTERRUPT = "interrupt"


@dataclass
class BargeInCandidate:
    """Caller speech during playback, with the frames kept for the STT if it interrupts."""

    frame_ms: int
    min_dbfs: float
    frames: list[bytes] = field(default_factory=list)
    speech_ms: float = 0.0
    loud_ms: float = 0.0

    @classmethod
    def starting(cls, preroll: list[bytes], speech_ms: float, frame_ms: int,
                 min_dbfs: float) -> BargeInCandidate:
        """Speech just started (``speech_ms`` of it, inside ``preroll``)."""
        loud = sum(frame_ms for f in preroll if rms_dbfs(f) >= min_dbfs)
        return cls(frame_ms, min_dbfs, list(preroll), speech_ms, loud)

    def add(self, frame: bytes, speech: bool) -> None:
        self.frames.append(frame)
        if speech:
            self.speech_ms += self.frame_ms
            if rms_dbfs(frame) >= self.min_dbfs:
                self.loud_ms += self.frame_ms

    def verdict(self, min_ms: float) -> Verdict:
        if self.speech_ms < min_ms:
            return Verdict.WAIT
        if self.loud_ms < min_ms / 2:
            return Verdict.QUIET
        return Verdict.INTERRUPT
