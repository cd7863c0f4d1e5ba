"""The agent's outgoing audio: replies made of clauses, played frame by frame.

The media thread pulls one frame at a time (:meth:`Player.read`); workers append clauses
as they are synthesized. A reply plays only once released (a speculative reply is prepared
during the caller's pause and released at the endpoint). Barge-in pauses playback at once
(the next frame pulled is silence); the player knows how much of each clause was heard,
so the dialog can drop the unspoken rest from its history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from voiceagent.audio.frames import silence


@dataclass
class Clause:
    text: str
    content: bool
    frames: list[bytes]
    played: int = 0
    from_dialog: bool = True  # False for the session's own fillers and acknowledgements


@dataclass
class Reply:
    """One agent reply (or greeting, or reprompt) as it is generated and played."""

    speculative: bool = False
    clauses: list[Clause] = field(default_factory=list)
    position: int = 0  # index of the clause playing now
    generated: bool = False  # no more clauses will come
    cancelled: bool = False
    truncated: bool = False  # barge-in: stop generating, keep what is ready (it may resume)
    discarded: bool = False  # a speculative reply the caller talked over: roll the dialog back
    synthesizing: bool = False  # a clause's text is in the TTS now: its audio is close
    released: threading.Event = field(default_factory=threading.Event)
    played_out: threading.Event = field(default_factory=threading.Event)  # set by the player
    # called (on the media thread) with content=True/False the first time audio of a kind plays
    on_audio_out: Callable[[bool], None] | None = None
    # run in order, once, on the worker, when the reply is released (the caller's turn and
    # the turn's tool calls go to the call record then, never for a discarded speculation)
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    _seen_any: bool = False
    _seen_content: bool = False

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

    def pause(self) -> None:
        with self._lock:
            self.paused = True

    def resume(self) -> None:
        with self._lock:
            self.paused = False

    def stop(self) -> Reply | None:
        """Cancel the current reply; returns it (to read what was spoken)."""
        with self._lock:
            reply = self.current
            if reply is not None:
                reply.cancelled = True
                reply.played_out.set()
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
        notify: Callable[[bool], None] | None = None
        content = False
        with self._lock:
            reply = self.current
            if reply is None or self.paused or reply.cancelled or not reply.released.is_set():
                return self.silence
            while reply.position < len(reply.clauses):
                clause = reply.clauses[reply.position]
                if clause.played < len(clause.frames):
                    frame = clause.frames[clause.played]
                    clause.played += 1
                    if not reply._seen_any or (clause.content and not reply._seen_content):
                        notify = reply.on_audio_out
                        content = clause.content
                    reply._seen_any = True
                    reply._seen_content = reply._seen_content or clause.content
                    break
                if reply.position + 1 < len(reply.clauses):
                    reply.position += 1
                else:
                    if reply.generated:
                        reply.played_out.set()
                    return self.silence
            else:
                if reply.generated:
                    reply.played_out.set()
                return self.silence
        if notify is not None:
            notify(content)
        return frame
