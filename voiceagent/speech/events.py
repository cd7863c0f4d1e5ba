"""Typed events of a call that every channel and the speech path share.

Every channel and every part of the speech path speaks these types: the SIP leg reports a
key as a :class:`DtmfDigit` whether it came as RFC 2833 telephone-events or as SIP INFO,
and the session hands the dialog the keys of one entry as a caller turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

KEYS = frozenset("0123456789*#ABCD")  # A-D: the fourth column of a DTMF pad


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
