"""What a pjsua2 call leg reports, as typed events (queued to the SIP thread).

A key press is the call vocabulary's :class:`~voiceagent.speech.events.DtmfDigit`, the same
type the speech session takes, whichever way the phone sent it.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.speech.events import DtmfDigit


@dataclass(frozen=True)
class LegConfirmed:
    """The INVITE was answered and acknowledged."""

    status: int


@dataclass(frozen=True)
class LegMedia:
    """The leg's audio is up (the first time only)."""

    index: int


@dataclass(frozen=True)
class LegDisconnected:
    """The leg is gone; ``status`` is its last SIP status (0 if none)."""

    status: int


@dataclass(frozen=True)
class ReferStatus:
    """A NOTIFY about the REFER of a blind transfer."""

    status: int
    final: bool


LegEvent = LegConfirmed | LegMedia | LegDisconnected | ReferStatus | DtmfDigit
