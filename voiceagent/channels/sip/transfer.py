"""Transfers to staff: blind (REFER) and warm (ring staff, speak the summary, connect).

The agent's only outgoing calls are made here, and only to a :class:`TransferTargets` URI.
A warm transfer connects the caller to staff in the agent's conference bridge (the agent
stays in the media path until either side hangs up), which works with every phone; a blind
transfer sends the caller a REFER and hangs up when the NOTIFY reports 200.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum

from voiceagent.channels.sip.call import Leg
from voiceagent.channels.sip.handler import TransferOutcome
from voiceagent.channels.sip.media_port import FrameExchange, PcmPort

# Final responses that mean "nobody picked up" rather than "this will never work".
NO_ANSWER_STATUSES = frozenset({408, 480, 486, 487, 600, 603})
SUMMARY_TAIL_S = 0.3  # pause after the summary before the caller is put through


class Phase(Enum):
    REFERRING = "referring"  # blind: REFER sent, waiting for the NOTIFY
    RINGING = "ringing"  # warm: staff leg ringing
    SUMMARY = "summary"  # warm: staff answered, hearing the summary
    BRIDGED = "bridged"  # warm: caller and staff talk through the bridge
    DONE = "done"


@dataclass
class TransferState:
    """One transfer in progress; owned by the caller's session, touched on the SIP thread."""

    target: str
    uri: str
    warm: bool
    summary_pcm: bytes
    deadline: float
    phase: Phase
    staff: Leg | None = None
    staff_exchange: FrameExchange | None = None
    staff_port: PcmPort | None = None
    summary_started: bool = False
    started: float = field(default_factory=time.monotonic)

    def expired(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.phase in (Phase.REFERRING, Phase.RINGING) and now > self.deadline


def outcome_for_status(status: int) -> TransferOutcome:
    """How a failed leg's final status reads to the handler."""
    if status in NO_ANSWER_STATUSES or status == 0:
        return TransferOutcome.NO_ANSWER
    return TransferOutcome.FAILED
