"""The seam between the SIP endpoint and whatever talks on a call (the speech pipeline, a test).

The endpoint answers a call, builds a :class:`CallInfo`, and asks the handler factory for a
:class:`CallHandler`. From then on a pump thread (never the media clock thread) hands it the
caller's audio as 20 ms PCM16 frames and asks it for the agent's next frame. The handler
steers the call through the :class:`CallControl` it was given (transfer, hang up, DTMF).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

from voiceagent.speech.events import DtmfDigit


@dataclass(frozen=True)
class CallInfo:
    """What is known about a call when it is answered."""

    call_id: str  # the call record's id (from the CallLog) or a generated one
    sip_call_id: str
    caller_id: str  # the remote party's URI, as the trunk gave it
    remote_address: str  # IP address the INVITE came from
    dialed: str  # the local URI the caller reached
    sample_rate: int  # of every frame, in and out
    frame_ms: int
    started_at: datetime
    recording_path: str | None = None  # both directions, when the clinic records calls

    @property
    def frame_bytes(self) -> int:
        return self.sample_rate * self.frame_ms // 1000 * 2


class TransferOutcome(Enum):
    """How a transfer ended, as the handler hears about it."""

    CONNECTED = "connected"  # staff answered; the caller is with them, the agent leaves
    NO_ANSWER = "no_answer"  # nobody picked up in time: the agent is back with the caller
    FAILED = "failed"  # refused or unreachable: the agent is back with the caller
    REFUSED = "refused"  # the target is not a configured transfer target (toll-fraud guard)


class CallControl(Protocol):
    """What a handler may ask of its call. Every method is thread-safe and returns at once;
    the SIP thread carries the request out."""

    def transfer(self, target: str, summary_pcm: bytes = b"", warm: bool = True) -> None:
        """Transfer to a configured target (a name like ``front_desk`` or its SIP URI).

        A warm transfer rings the target, plays ``summary_pcm`` to the person who answers,
        then connects the caller; a blind one sends the caller a REFER at once. The handler
        hears the result through :meth:`CallHandler.on_transfer`.
        """
        ...

    def hangup(self, reason: str = "completed") -> None:
        """End the call once the agent's queued audio has been played."""
        ...

    def send_dtmf(self, digits: str) -> None:
        """Send RFC 2833 digits to the caller."""
        ...


class CallHandler(Protocol):
    """One call's audio and events. Methods run on the call's pump thread, one at a time, and
    must return quickly (they pace the call's audio: a slow one delays frames)."""

    def push_frame(self, pcm: bytes) -> None:
        """One frame of the caller's audio (PCM16 mono, ``CallInfo.frame_bytes`` long)."""
        ...

    def pull_frame(self) -> bytes | None:
        """The agent's next frame, or None when it has nothing to say (silence is sent)."""
        ...

    def on_dtmf(self, key: DtmfDigit) -> None:
        """A key the caller pressed (RFC 2833 or SIP INFO)."""
        ...

    def on_transfer(self, outcome: TransferOutcome) -> None:
        """A transfer this handler asked for has ended."""
        ...

    def close(self, reason: str) -> None:
        """The call is over (hung up by either side, transferred, or the endpoint stops)."""
        ...


HandlerFactory = Callable[[CallInfo, CallControl], CallHandler]


@dataclass
class CallRecord:
    """What the endpoint keeps about each call on the wire (handed to ``on_call_ended``; the
    store's call record is written by the speech session's CallRecorder)."""

    call_id: str
    caller_id: str
    remote_address: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "in_progress"
    recording_path: str | None = None
    dtmf: str = ""
    transfer_target: str | None = None
    transfer_outcome: str | None = None
    # seconds from the end of caller speech to the first agent audio sent, per turn,
    # measured at the media port (i.e. on the wire, give or take the 20 ms frame)
    reply_latency_s: list[float] = field(default_factory=list)
