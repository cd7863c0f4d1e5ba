"""The agent's outgoing audio: replies made of clauses, played frame by frame.

The media thread pulls one frame at a time (:meth:`Player.read`); workers append clauses
as they are synthesized. A reply is a handle with explicit states (:class:`ReplyState`): it
plays only once released (a speculative reply is prepared during the caller's pause and
released at the endpoint); barge-in holds it (the next frame pulled is silence, generation
stops, what is ready may still play if the caller was only saying "mm-hm"); a reply is
cancelled for good or, if it was a speculation the caller talked over, discarded. The
reply knows how much of each clause was heard, so the dialog can drop the unspoken rest
from its history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from voiceagent.audio.frames import silence


@dataclass
class Clause:
    text: str
    content: bool
    frames: list[bytes]
    played: int = 0
    from_dialog: bool = True  # False for the session's own fillers and acknowledgements


class ReplyState(Enum):
    """Where a reply is in its life. Moves only forward, through :class:`Reply`'s methods::

        PENDING --release--> LIVE --hold--> HELD
           |                  |              |
           +--discard--> DISCARDED           |
           +------------------+---cancel-----+--> CANCELLED
    """

    PENDING = "pending"  # prepared in the caller's pause, waiting for the endpoint
    LIVE = "live"  # released: generating and playing
    HELD = "held"  # the caller cut in: generation stops, what is ready may still play
    CANCELLED = "cancelled"  # stopped for good: nothing more is generated or played
    DISCARDED = "discarded"  # a speculation the caller talked over: roll the dialog back

    @property
    def final(self) -> bool:
        return self in (ReplyState.CANCELLED, ReplyState.DISCARDED)


@dataclass
class Reply:
    """One agent reply (or greeting, or reprompt) as it is generated and played."""

    speculative: bool = False
    clauses: list[Clause] = field(default_factory=list)
    position: int = 0  # index of the clause playing now
    generated: bool = False  # the writer is done: no more clauses will come
    synthesizing: bool = False  # a clause's text is in the TTS now: its audio is close
    # set once the reply leaves PENDING (released, or dropped): what a held job waits on
    released: threading.Event = field(default_factory=threading.Event)
    played_out: threading.Event = field(default_factory=threading.Event)  # heard, or stopped
    # called (on the media thread) with content=True/False the first time audio of a kind plays
    on_audio_out: Callable[[bool], None] | None = None
    # run in order, once, on the worker, when the reply is released (the caller's turn and
    # the turn's tool calls go to the call record then, never for a discarded speculation)
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    _state: ReplyState = ReplyState.PENDING
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _seen_any: bool = False
    _seen_content: bool = False

    @classmethod
    def live(cls) -> Reply:
        """A reply that plays as soon as it has audio (a greeting, a reprompt, a keyed turn)."""
        reply = cls()
        reply.release()
        return reply

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> ReplyState:
        return self._state

    @property
    def cancelled(self) -> bool:
        """Stopped for good (cancelled or discarded)."""
        return self._state.final

    @property
    def truncated(self) -> bool:
        """Held by a barge-in: stop generating, keep what is ready."""
        return self._state is ReplyState.HELD

    @property
    def discarded(self) -> bool:
        return self._state is ReplyState.DISCARDED

    def release(self) -> None:
        """The endpoint came: a pending reply may play (and its effects happen)."""
        self._move({ReplyState.PENDING}, ReplyState.LIVE)
        self.released.set()

    def hold(self) -> None:
        """The caller cut in: stop generating; what is ready stays, to resume or drop."""
        self._move({ReplyState.LIVE}, ReplyState.HELD)

    def discard(self) -> None:
        """The caller went on talking over a speculation: wake its job to roll back."""
        self._move({ReplyState.PENDING}, ReplyState.DISCARDED)
        self.released.set()
        self.played_out.set()

    def cancel(self) -> None:
        """Stop for good; a job waiting for the endpoint wakes and gives up."""
        self._move({ReplyState.PENDING, ReplyState.LIVE, ReplyState.HELD},
                   ReplyState.CANCELLED)
        self.released.set()
        self.played_out.set()

    def _move(self, sources: set[ReplyState], target: ReplyState) -> None:
        with self._lock:
            if self._state in sources:
                self._state = target

    # ------------------------------------------------------------------ audio
    def next_frame(self) -> tuple[bytes | None, bool | None]:
        """The next frame to play (None: nothing ready) and, the first time audio of a kind
        plays, its kind (content or not) for ``on_audio_out``. Called by the player only."""
        while self.position < len(self.clauses):
            clause = self.clauses[self.position]
            if clause.played < len(clause.frames):
                frame = clause.frames[clause.played]
                clause.played += 1
                first: bool | None = None
                if not self._seen_any or (clause.content and not self._seen_content):
                    first = clause.content
                self._seen_any = True
                self._seen_content = self._seen_content or clause.content
                return frame, first
            if self.position + 1 >= len(self.clauses):
                break
            self.position += 1
        if self.generated:
            self.played_out.set()
        return None, None

    def spoken_text(self) -> str:
        """What the caller heard: whole clauses played, plus the played share of the current."""
        words: list[str] = []
        for clause in self.clauses:
            if not clause.from_dialog:
                continue
            if clause.played >= len(clause.frames):
                words.extend(clause.text.split())
            elif clause.played > 0:
                share = clause.played / max(len(clause.frames), 1)
                parts = clause.text.split()
                words.extend(parts[: int(len(parts) * share)])
                break
            else:
                break
        return " ".join(words)

    def full_text(self) -> str:
        return " ".join(c.text for c in self.clauses if c.from_dialog)

    def finished(self) -> bool:
        """Generated and every clause played (or cancelled)."""
        if self.cancelled:
            return True
        return self.generated and all(c.played >= len(c.frames) for c in self.clauses)


class Player:
    """Hands the media thread one frame per call; never blocks on a worker."""

    def __init__(self, rate: int, frame_ms: int) -> None:
        self.silence = silence(rate, frame_ms)
        self._lock = threading.Lock()
        self.current: Reply | None = None
        self.paused = False

    def play(self, reply: Reply) -> None:
        """Make ``reply`` the one to play (replacing a finished or cancelled one)."""
        with self._lock:
            self.current = reply
            self.paused = False

    def play_new(self) -> Reply:
        """A new live reply, playing from now on (see :meth:`Reply.live`)."""
        reply = Reply.live()
        self.play(reply)
        return reply

    def pause(self) -> None:
        with self._lock:
            self.paused = True

    def hold(self) -> Reply | None:
        """The caller cut in (speech or a key): silent at once, and the current reply is held
        (generation stops; it may resume or be dropped). Returns it."""
        self.pause()
        reply = self.current
        if reply is not None:
            reply.hold()
        return reply

    def resume(self) -> None:
        with self._lock:
            self.paused = False

    def stop(self) -> Reply | None:
        """Cancel the current reply; returns it (to read what was spoken)."""
        with self._lock:
            reply = self.current
            if reply is not None:
                reply.cancel()
            self.current = None
            self.paused = False
            return reply

    def active(self) -> bool:
        """The agent holds the floor: a released reply is still being generated or played."""
        reply = self.current
        return reply is not None and reply.released.is_set() and not reply.finished()

    def audible(self) -> bool:
        """Agent audio is coming out right now (or is queued to come out next)."""
        reply = self.current
        if reply is None or self.paused or not reply.released.is_set() or reply.cancelled:
            return False
        return any(c.played < len(c.frames) for c in reply.clauses[reply.position :])

    def read(self) -> bytes:
        """The next frame to send: agent audio, or silence."""
        with self._lock:
            reply = self.current
            if reply is None or self.paused or reply.cancelled or not reply.released.is_set():
                return self.silence
            frame, first = reply.next_frame()
        if frame is None:
            return self.silence
        if first is not None and reply.on_audio_out is not None:
            reply.on_audio_out(first)
        return frame
