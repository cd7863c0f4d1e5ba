"""Reply generation: a dialog's event stream turned into a reply's clauses of audio.

Runs on the session's reply worker. Text is split into clauses (the first one short, so
speech starts early) and synthesized one by one; a tool that takes longer than
``ack_after_ms`` gets a short acknowledgement; tool records wait until the reply is released
(never for a speculation that was thrown away); a transfer or a hang-up waits for the
endpoint and for the caller to have heard the reply, then goes back to the session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from voiceagent.audio.frames import split_frames
from voiceagent.dialog.protocol import (
    DialogEvent,
    EndCall,
    ReplyText,
    ToolCall,
    ToolResult,
    Transfer,
)
from voiceagent.speech.clauses import split_clauses
from voiceagent.speech.latency import TraceClock, set_current_trace
from voiceagent.speech.playback import Clause, Player, Reply
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.tts import synthesize_at
from voiceagent.speech.workers import Workers

ERROR_PHRASE = "Sorry, I had a problem there. Could you say that again?"


@dataclass(frozen=True)
class ReplySettings:
    rate: int
    frame_ms: int
    first_clause_max_words: int
    ack_after_ms: int
    ack_phrase: str


class ReplyWriter:
    """Writes replies for one call (see module doc).

    ``record_tool(name, arguments, result)`` keeps a tool call in the call record;
    ``hand_over(event, reply)`` ends or transfers the call (once the caller has heard
    ``reply``: :meth:`wait_played`); ``after_reply()`` runs once a reply
    was written in full (the dialog's next expectation is read there);
    ``acknowledged()`` counts an acknowledgement.
    """

    def __init__(self, resources: PipelineResources, settings: ReplySettings, player: Player,
                 workers: Workers, ended: threading.Event,
                 record_tool: Callable[[str, dict[str, object], dict[str, object]], None],
                 hand_over: Callable[[Transfer | EndCall, Reply], None],
                 after_reply: Callable[[], None], acknowledged: Callable[[], None]) -> None:
        self.res = resources
        self.settings = settings
        self.player = player
        self.workers = workers
        self.ended = ended
        self._record_tool = record_tool
        self._hand_over = hand_over
        self._after_reply = after_reply
        self._acknowledged = acknowledged

    def speak(self, reply: Reply, make_events: Callable[[], Iterator[DialogEvent]],
              cache_all: bool, clock: TraceClock | None = None) -> bool:
        """Run a dialog event stream into ``reply``; returns False if it was cancelled."""
        events = make_events()
        pending_call: ToolCall | None = None
        ack_timer: threading.Timer | None = None
        first_clause = True
        try:
            for event in events:
                if reply.cancelled:
                    return False
                if reply.truncated:
                    break
                if isinstance(event, ReplyText):
                    if ack_timer is not None:
                        ack_timer.cancel()
                    if clock is not None and clock.trace.llm_first_token is None:
                        clock.mark("llm_first_token")
                    for text in (
                        split_clauses(event.text, self.settings.first_clause_max_words)
                        if first_clause
                        else [event.text]
                    ):
                        if reply.cancelled:
                            return False
                        if reply.truncated:
                            break
                        if clock is not None:
                            clock.mark("first_clause_ready")
                        self.add_clause(reply, text, event.content, cache=cache_all, clock=clock)
                    first_clause = False
                    continue
                if isinstance(event, ToolCall):
                    # a record of the dialog's work: its effects wait in before_effect(), and
                    # only a dialog that can roll back (SpeculativeDialog) runs unconfirmed
                    pending_call = event
                    ack_timer = threading.Timer(
                        self.settings.ack_after_ms / 1000.0, self._acknowledge, args=(reply,)
                    )
                    ack_timer.daemon = True
                    ack_timer.start()
                    continue
                if isinstance(event, ToolResult):
                    if ack_timer is not None:
                        ack_timer.cancel()
                        ack_timer = None
                    arguments: dict[str, object] = pending_call.arguments if pending_call else {}
                    result: dict[str, object] = {"ok": event.ok, "data": event.data,
                                                 "reason": event.reason}
                    self.when_released(reply, partial(self._record_tool, event.name, arguments,
                                                      result))
                    pending_call = None
                    continue
                # ending or handing over the call: never before the endpoint
                if not self.wait_release(reply):
                    return False
                reply.generated = True
                self._hand_over(event, reply)
                return True
            if not self.wait_release(reply):
                return False
            self._after_reply()
            return not reply.cancelled
        finally:
            if ack_timer is not None:
                ack_timer.cancel()
                ack_timer.join()  # a timer firing now finishes before the reply is done
            close = getattr(events, "close", None)
            if close is not None:
                close()
            reply.generated = True
            if clock is not None:
                set_current_trace(None)

    def say(self, make_events: Callable[[], Iterator[DialogEvent]], cache_all: bool) -> None:
        """Play what the dialog says unprompted (the greeting, a reprompt) from now on."""
        self.workers.submit(self.speak, self.player.play_new(), make_events, cache_all)

    def say_and_end(self, text: str, outcome: str) -> None:
        """Stop whatever plays, say ``text`` (a cached phrase), then end the call."""
        self.player.stop()

        def events() -> Iterator[DialogEvent]:
            yield ReplyText(text, content=False)
            yield EndCall(outcome)

        self.say(events, True)

    def apologize(self) -> None:
        """A crash inside the dialog or a model must not leave the caller in silence."""
        reply = Reply.live()
        self.add_clause(reply, ERROR_PHRASE, False)
        reply.generated = True
        self.player.play(reply)

    def wait_release(self, reply: Reply) -> bool:
        """Wait for the endpoint; then run what waited for it. False: it was cancelled."""
        if not reply.released.is_set():
            with self.workers.waiting():
                reply.released.wait()
        if reply.cancelled:
            return False
        commits, reply.on_commit = reply.on_commit, []
        for commit in commits:
            commit()
        return True

    def when_released(self, reply: Reply, record: Callable[[], None]) -> None:
        """Run ``record`` now if the reply is released, else once it is (in order)."""
        reply.on_commit.append(record)
        if reply.released.is_set():
            self.wait_release(reply)

    def wait_played(self, reply: Reply, limit_s: float = 120.0) -> None:
        """Wait until the caller has heard all of ``reply`` (or it was cut, or the call ended)."""
        with self.workers.waiting():
            deadline = time.monotonic() + limit_s
            while not reply.played_out.wait(0.05):
                if self.ended.is_set() or reply.cancelled or time.monotonic() > deadline:
                    return

    def wait_first_audio(self, reply: Reply, limit_s: float = 10.0) -> None:
        """Wait until the first content clause has played: the media thread stamps the
        latency trace's last fields as the audio goes out."""

        def heard() -> bool:
            if not any(c.played for c in reply.clauses):
                return not reply.clauses
            content = [c for c in reply.clauses if c.content]
            return not content or any(c.played for c in content)

        with self.workers.waiting():
            deadline = time.monotonic() + limit_s
            while not heard() and not reply.cancelled and not self.ended.is_set():
                if reply.truncated or time.monotonic() >= deadline:
                    return
                time.sleep(self.settings.frame_ms / 1000.0)

    def add_clause(self, reply: Reply, text: str, content: bool, cache: bool = False,
                   clock: TraceClock | None = None, from_dialog: bool = True) -> None:
        """Synthesize ``text`` (fixed phrases from the cache) and append it to ``reply``."""
        rate = self.settings.rate
        reply.synthesizing = True
        try:
            if cache or not content:
                audio = self.res.phrases.synthesize(text, rate)
            else:
                audio = synthesize_at(self.res.tts, text, rate)
        finally:
            reply.synthesizing = False
        if clock is not None:
            clock.mark("tts_first_audio")
        frames = list(split_frames(audio.astype("<i2").tobytes(), rate, self.settings.frame_ms))
        reply.clauses.append(Clause(text, content, frames, from_dialog=from_dialog))

    def _acknowledge(self, reply: Reply) -> None:
        if reply.cancelled or self.player.audible():
            return
        self._acknowledged()
        self.add_clause(reply, self.settings.ack_phrase, content=False, cache=True,
                        from_dialog=False)
