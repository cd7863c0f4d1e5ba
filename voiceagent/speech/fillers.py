"""Fillers: "Got it." said at once when the answer's audio is late.

``filler_after_ms`` after the endpoint, a reply with no audio yet gets a short cached phrase
(taken in turn from ``SessionOptions.fillers``), so the caller is not left in silence. If the
answer's first clause is already in the TTS then, its audio is a synthesis away and a filler
would hold it back for the filler's whole length: the check waits once more first.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.audio.frames import split_frames, trim_silence
from voiceagent.speech.playback import Clause, Reply
from voiceagent.speech.tts import PhraseCache


@dataclass(frozen=True)
class _Due:
    reply: Reply
    at_ms: float
    postponed: bool


class Fillers:
    """Schedules and adds fillers on the media thread (it never synthesizes there)."""

    def __init__(self, phrases: PhraseCache, texts: tuple[str, ...], after_ms: int, rate: int,
                 frame_ms: int) -> None:
        self.phrases = phrases
        self.texts = texts
        self.after_ms = after_ms
        self.rate = rate
        self.frame_ms = frame_ms
        self._due: _Due | None = None
        self._next = 0

    def schedule(self, reply: Reply, now_ms: float) -> None:
        """``reply`` is the answer to a turn that just ended."""
        self._due = _Due(reply, now_ms + self.after_ms, False)

    def check(self, now_ms: float) -> bool:
        """Add a filler to the scheduled reply if it is due and still silent; True if added."""
        due = self._due
        if due is None or now_ms < due.at_ms:
            return False
        self._due = None
        reply = due.reply
        if reply.clauses or reply.cancelled or not self.texts:
            return False  # the answer is ready (or gone): no filler
        if reply.synthesizing and not due.postponed:
            self._due = _Due(reply, now_ms + self.after_ms, True)
            return False
        text = self.texts[self._next % len(self.texts)]
        audio = self.phrases.get(text, self.rate)
        if audio is None:
            return False
        audio = trim_silence(audio, self.rate)  # the answer follows without a gap
        self._next += 1
        frames = list(split_frames(audio.astype("<i2").tobytes(), self.rate, self.frame_ms))
        reply.clauses.append(Clause(text=text, content=False, frames=frames, from_dialog=False))
        return True
