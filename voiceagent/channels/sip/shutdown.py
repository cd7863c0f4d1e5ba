"""Stopping the endpoint: no new calls, callers put through to the front desk (when asked),
the live calls given a grace to finish, the rest hung up (SIP thread)."""

from __future__ import annotations

import logging
import threading
import time

from voiceagent.channels.sip.calls import LiveCalls
from voiceagent.channels.sip.transfer import Transfers
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

HANGUP_WAIT_S = 5.0  # after the grace and the hang-ups: the SIP thread leaves regardless


class Shutdown:
    """Whether the endpoint still accepts calls, and the steps of its stop."""

    def __init__(self, calls: LiveCalls, transfers: Transfers, transfer_live_calls: bool) -> None:
        self.calls = calls
        self.transfers = transfers
        self.transfer_live_calls = transfer_live_calls
        self.accepting = True
        self.requested = threading.Event()
        self._deadline = 0.0
        self._hangup_sent = False

    def begin(self, grace_s: float) -> None:
        """Stop accepting calls; transfer the live ones to the front desk when configured."""
        self.accepting = False
        self._deadline = time.monotonic() + grace_s
        self._hangup_sent = False
        log_event(log, "sip.stopping", active_calls=len(self.calls), grace_s=grace_s)
        if self.transfer_live_calls:
            for session in list(self.calls.sessions.values()):
                self.transfers.to_front_desk(session)
        self.requested.set()

    def step(self) -> bool:
        """True once every call is gone (or the grace and the hang-up wait are over)."""
        now = time.monotonic()
        if self.calls.all_gone():
            return True
        if now > self._deadline and not self._hangup_sent:
            self._hangup_sent = True
            self.calls.hang_up_all("shutdown")
        return now > self._deadline + HANGUP_WAIT_S
