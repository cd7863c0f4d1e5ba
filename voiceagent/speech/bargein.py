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
from voiceagent.dialog.protocol import Dialog
from voiceagent.speech.backchannel import is_backchannel
from voiceagent.speech.events import CallEvents, Interrupted, ReplyResumed
from voiceagent.speech.playback import Player, Reply
from voiceagent.speech.session_options import SessionStats
from voiceagent.speech.stt import Transcript


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


@dataclass(frozen=True)
class FloorTaken:
    """Caller speech that becomes a turn: its audio so far and the reply it talked over."""

    frames: list[bytes]
    barge_in: bool  # False: the reply had ended by then, this is an ordinary turn
    interrupted: Reply | None = None
    speech_ms: float = 0.0


class BargeIn:
    """Follows one candidate at a time, on the media thread (see module doc).

    :meth:`begin` when speech starts while the agent talks, :meth:`add` every frame, then
    :meth:`check` says whether the caller took the floor. An interruption holds the reply at
    once (the player goes silent); :meth:`decide` settles it once the words are transcribed.
    """

    def __init__(self, player: Player, events: CallEvents, stats: SessionStats,
                 speech_start_ms: float, min_ms: float, min_dbfs: float, frame_ms: int) -> None:
        self.player = player
        self.events = events
        self.stats = stats
        self.speech_start_ms = speech_start_ms
        self.min_ms = min_ms
        self.min_dbfs = min_dbfs
        self.frame_ms = frame_ms
        self.candidate: BargeInCandidate | None = None

    def begin(self, preroll: list[bytes]) -> None:
        self.candidate = BargeInCandidate.starting(preroll, self.speech_start_ms, self.frame_ms,
                                                   self.min_dbfs)

    def add(self, frame: bytes, speech: bool) -> None:
        if self.candidate is not None:
            self.candidate.add(frame, speech)

    def ended_as_noise(self) -> None:
        """The caller's turn ended before it could interrupt: it was noise."""
        if self.candidate is not None:
            self.candidate = None
            self.stats.ignored_noises += 1

    def check(self) -> FloorTaken | None:
        """Whether the candidate takes the floor now."""
        cand = self.candidate
        if cand is None:
            return None
        if not self.player.active():
            # the reply ended while the caller was talking: their speech is an ordinary turn
            self.candidate = None
            return FloorTaken(cand.frames, False)
        if cand.verdict(self.min_ms) is not Verdict.INTERRUPT:
            return None
        self.candidate = None
        reply = self.player.hold()  # frees the reply worker for the caller's turn
        self.stats.barge_ins += 1
        return FloorTaken(cand.frames, True, reply, cand.speech_ms)

    def decide(self, old: Reply | None, new: Reply | None, transcript: Transcript,
               dialog: Dialog) -> None:
        """The interrupting words are known: a cough or "mm-hm" lets ``old`` play on (and
        ``new``, the reply to them, is dropped); anything else ends ``old`` for good and the
        dialog forgets what the caller did not hear."""
        if transcript.no_speech or is_backchannel(transcript.text):
            self.stats.false_barge_ins += 1
            if new is not None:
                new.cancel()
            if old is not None and not old.cancelled and self.player.current is old:
                self.player.resume()  # from the frame where it paused
            self.events.emit(ReplyResumed())
            return
        cut_off(old, self.player, dialog, self.events)


def cut_off(reply: Reply | None, player: Player, dialog: Dialog, events: CallEvents,
            by_keys: bool = False) -> None:
    """The caller took the floor over ``reply`` for good: it stops, and the dialog keeps only
    what was heard of it."""
    spoken = reply.spoken_text() if reply is not None else ""
    player.stop()
    if reply is not None:
        reply.cancel()
    dialog.interrupted(spoken)
    events.emit(Interrupted(spoken, by_keys=by_keys))
