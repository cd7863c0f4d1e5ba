"""The typed events of a call: one vocabulary for every channel and every part of the speech path.

A call is a stream of these. The endpointer turns VAD decisions into the caller's speech
events; the SIP leg reports a key as a :class:`DtmfDigit` whether it came as RFC 2833
telephone-events or as SIP INFO; the session turns speech and keys into caller turns and the
dialog's replies, and publishes what happened on the call's :class:`CallEvents` bus, where
the call record (:mod:`voiceagent.speech.callrecord`) and the statistics read it::

    VAD ─> Endpointer ─ SpeechStarted/Paused/Resumed/EndOfTurn ─┐
    SIP leg ─ DtmfDigit ─────────────────────────────────────────┼─> CallSession
                                                                 │     │ (turns, replies)
    CallEvents <─ CallerSaid, AgentSaid, ToolCalled, Interrupted, ┘     │
                  ReplyResumed, TransferRequested, CallEnded <──────────┘
       └─> CallRecorder (the call's record), SessionStats, your own listener

Media times (``*_ms``) are milliseconds since the call started, on the call's media clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

log = logging.getLogger(__name__)

KEYS = frozenset("0123456789*#ABCD")  # A-D: the fourth column of a DTMF pad


# --------------------------------------------------------------------- the caller's input

@dataclass(frozen=True)
class SpeechStarted:
    """Enough speech in a row to be the caller talking (a click does not count)."""

    at_ms: float
    speech_start_ms: float


@dataclass(frozen=True)
class SpeechPaused:
    """The caller has been silent for the speculation delay: prepare the reply now."""

    at_ms: float
    speech_end_ms: float


@dataclass(frozen=True)
class SpeechResumed:
    """The caller spoke again after a pause: what was prepared is thrown away."""

    at_ms: float


@dataclass(frozen=True)
class EndOfTurn:
    """The silence that ends a turn has passed (or the turn ran too long)."""

    at_ms: float
    speech_start_ms: float
    speech_end_ms: float


SpeechEvent = SpeechStarted | SpeechPaused | SpeechResumed | EndOfTurn


class DtmfMethod(Enum):
    """How a key press reached us."""

    RFC2833 = "rfc2833"  # telephone-event packets in the RTP stream
    SIP_INFO = "sip_info"  # an INFO request (application/dtmf-relay)
    OTHER = "other"  # a channel without a signalling method of its own (tests, local)


@dataclass(frozen=True)
class DtmfDigit:
    """One key the caller pressed."""

    digit: str
    method: DtmfMethod = DtmfMethod.OTHER

    def __post_init__(self) -> None:
        if self.digit not in KEYS:
            raise ValueError(f"{self.digit!r} is not a phone key (0-9, *, # or A-D)")


# --------------------------------------------------------------------- what happened on the call

@dataclass(frozen=True)
class CallerSaid:
    """A caller turn the dialog answered: the final transcript, or the keys of one entry."""

    text: str
    keys: str = ""


@dataclass(frozen=True)
class AgentSaid:
    """The agent's reply to a turn (what it wrote; ``latency``: the turn's trace, if timed)."""

    text: str
    latency: dict[str, float] | None = None


@dataclass(frozen=True)
class ToolCalled:
    """A tool the dialog ran for a turn that was confirmed (never a thrown-away speculation)."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class Interrupted:
    """The caller cut the agent off (speech or a key); ``spoken``: what they had heard."""

    spoken: str
    by_keys: bool = False


@dataclass(frozen=True)
class ReplyResumed:
    """What took the floor was only a cough or an "mm-hm": the reply plays on."""


@dataclass(frozen=True)
class TransferRequested:
    """The dialog hands the caller to a person."""

    target: str
    warm: bool


@dataclass(frozen=True)
class CallEnded:
    """The call is over (``outcome``: caller_hangup, transferred, max_call_length, ...)."""

    outcome: str


CallEvent = (SpeechEvent | DtmfDigit | CallerSaid | AgentSaid | ToolCalled | Interrupted
             | ReplyResumed | TransferRequested | CallEnded)

Listener = Callable[[CallEvent], None]


class CallEvents:
    """One call's event bus: every listener hears every event, in the order emitted.

    Listeners run on the thread that emits (the media thread for speech and keys, a worker
    for the rest), so they must be quick. A listener that raises is logged and skipped; the
    call goes on.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: CallEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception as exc:  # the type only: a store error's text can quote the call
                log.error("event=listener_failed event_type=%s error=%s",
                          type(event).__name__, type(exc).__name__)
