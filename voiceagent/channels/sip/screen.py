"""What the request gate does with each SIP request: the agent's own admission policy.

Only what a trunk needs is taken, and only from allowed sources: new INVITEs (within the rate,
the capacity and while the store can be written), OPTIONS keep-alives, and the requests of a
dialog the agent accepted (ACK, BYE, CANCEL, re-INVITE, INFO, UPDATE, PRACK, NOTIFY, REFER).
A refused source gets a 403 to an INVITE (rate limited, else nothing) and nothing at all to
any other method, so a spoofed SUBSCRIBE or MESSAGE cannot reflect traffic anywhere.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from voiceagent.channels.sip.gate import SipRequest, Verdict
from voiceagent.channels.sip.security import Allowlist, DigestAuthenticator, InviteRateLimiter
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

DIALOG_METHODS = frozenset({"ACK", "BYE", "CANCEL", "INVITE", "INFO", "UPDATE", "PRACK",
                            "NOTIFY", "REFER", "OPTIONS"})
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, NOTIFY, REFER"
KNOWN_CALL_TTL_S = 64.0  # 64*T1: a transaction's retransmissions are over by then
STORE_RETRY_AFTER_S = 30
SHUTDOWN_RETRY_AFTER_S = 30
RATE_RETRY_AFTER_S = 60
UNRECORDED_WORKER_FULL = "worker_full"  # another worker of the box takes the call


@dataclass(frozen=True)
class Refusal:
    """A new call the agent turned away itself (it gets a call record with this outcome)."""

    call_id: str
    caller_id: str
    source: str
    outcome: str  # busy, overflow, store_unavailable, shutting_down, rate_limited
    status: int


@dataclass
class Capacity:
    """Callables the screen asks about the endpoint's state (all cheap, SIP thread)."""

    active_calls: Callable[[], int]  # callers with a session
    pjsua_calls: Callable[[], int]  # pjsua call slots in use (any leg)
    accepting: Callable[[], bool]
    store_writable: Callable[[], bool]
    # a worker of several on one box (``box/admission.py``): the box decides busy, and a full
    # worker only passes the call to the dispatcher's next one (486, no record of its own)
    box_admits: Callable[[], bool] | None = None


class _Seen:
    """Call-IDs with the source they came from and when, forgotten after a TTL."""

    def __init__(self, ttl_s: float, size: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def add(self, call_id: str, source: str, now: float) -> None:
        self._items[call_id] = (source, now)
        self._items.move_to_end(call_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def source_of(self, call_id: str, now: float) -> str | None:
        item = self._items.get(call_id)
        if item is None:
            return None
        if now - item[1] > self.ttl_s:
            del self._items[call_id]
            return None
        return item[0]

    def touch(self, call_id: str, now: float) -> None:
        if call_id in self._items:
            self._items[call_id] = (self._items[call_id][0], now)


class Screen:
    """Decides on every request; see the module docstring."""

    def __init__(
        self,
        allowlist: Allowlist,
        limiter: InviteRateLimiter,
        capacity: Capacity,
        max_calls: int,
        call_slots: int,
        overflow_target: str | None,
        authenticator: DigestAuthenticator | None = None,
        on_refused: Callable[[Refusal], None] | None = None,
    ) -> None:
        self.allowlist = allowlist
        self.limiter = limiter
        self.refusals = InviteRateLimiter(limiter.per_minute)  # 403s to one refused source
        self.capacity = capacity
        self.max_calls = max_calls
        self.call_slots = call_slots
        self.overflow_target = overflow_target
        self.authenticator = authenticator
        self.on_refused = on_refused
        self._dialogs = _Seen(KNOWN_CALL_TTL_S)  # INVITEs passed to pjsua
        self._refused = _Seen(KNOWN_CALL_TTL_S)  # INVITEs turned away (retransmissions)
        self._logged: dict[str, int] = {}

    def forget_dialog(self, call_id: str) -> None:
        """Called when a call has ended (its dialog's requests are no longer expected)."""
        self._dialogs.touch(call_id, time.monotonic() - KNOWN_CALL_TTL_S + 5)

    def keep_dialog(self, call_id: str) -> None:
        """Called while a call lasts, so its in-dialog requests keep passing."""
        self._dialogs.touch(call_id, time.monotonic())

    def __call__(self, request: SipRequest) -> Verdict:
        now = time.monotonic()
        source = request.source
        allowed = self.allowlist.allows(source)
        dialog_source = self._dialogs.source_of(request.call_id, now) if request.call_id else None
        if request.method == "INVITE" and not request.to_tag:
            if dialog_source == source:
                return Verdict.passed()  # a retransmission of an INVITE already passed
            if allowed:
                return self._new_call(request, now)
            return self._outsider_invite(request, now)
        if not (allowed or dialog_source == source):
            return self._note(Verdict.drop("source_not_allowed"), request)
        if request.to_tag or request.method in ("ACK", "CANCEL", "BYE"):
            if request.method in DIALOG_METHODS:
                return Verdict.passed()
            return Verdict.respond(405, "method_not_allowed", ("Allow", ALLOW))
        if request.method == "OPTIONS":
            return Verdict.passed()  # a trunk's keep-alive
        return self._note(Verdict.respond(405, "method_not_allowed", ("Allow", ALLOW)), request)

    # ------------------------------------------------------------------ INVITE
    def _outsider_invite(self, request: SipRequest, now: float) -> Verdict:
        source = request.source
        if self.authenticator is not None:
            authorization = request.header("authorization")
            if authorization is None:
                if not self.refusals.allow(source, now):
                    return self._note(Verdict.drop("rate_limited"), request)
                return Verdict.respond(401, "challenge",
                                       ("WWW-Authenticate", self.authenticator.challenge()))
            if self.authenticator.verify("INVITE", authorization) is not None:
                return self._new_call(request, now)
            return self._note(Verdict.respond(403, "bad_credentials"), request)
        if not self.refusals.allow(source, now):
            return self._note(Verdict.drop("rate_limited"), request)
        return self._note(Verdict.respond(403, "source_not_allowed"), request)

    def _new_call(self, request: SipRequest, now: float) -> Verdict:
        previous = self._refused.source_of(request.call_id, now)
        verdict = self._admit(request, now, first=previous is None)
        if verdict.action.value == "pass":
            self._dialogs.add(request.call_id, request.source, now)
            return verdict
        if previous is None:
            self._refused.add(request.call_id, request.source, now)
            self._note(verdict, request)
            if self.on_refused is not None and verdict.reason not in (
                    "rate_limited", UNRECORDED_WORKER_FULL):
                self.on_refused(Refusal(request.call_id, request.header("from") or "",
                                        request.source, verdict.reason, verdict.status))
        return verdict

    def _admit(self, request: SipRequest, now: float, first: bool) -> Verdict:
        if first and not self.limiter.allow(request.source, now):
            return Verdict.respond(503, "rate_limited", ("Retry-After", str(RATE_RETRY_AFTER_S)))
        if not self.capacity.accepting():
            return Verdict.respond(503, "shutting_down",
                                   ("Retry-After", str(SHUTDOWN_RETRY_AFTER_S)))
        if not self.capacity.store_writable():
            return Verdict.respond(503, "store_unavailable",
                                   ("Retry-After", str(STORE_RETRY_AFTER_S)))
        worker_full = (self.capacity.active_calls() >= self.max_calls
                       or self.capacity.pjsua_calls() >= self.call_slots)
        box_admits = self.capacity.box_admits
        if box_admits is not None:
            if worker_full:
                return Verdict.respond(486, UNRECORDED_WORKER_FULL)
            if box_admits():
                return Verdict.passed()
            if self.overflow_target:
                return Verdict.respond(302, "overflow", ("Contact", f"<{self.overflow_target}>"))
            return Verdict.respond(600, "busy")  # Busy Everywhere: the dispatcher stops here
        if worker_full:
            if self.overflow_target:
                return Verdict.respond(302, "overflow", ("Contact", f"<{self.overflow_target}>"))
            return Verdict.respond(486, "busy")
        return Verdict.passed()

    def _note(self, verdict: Verdict, request: SipRequest) -> Verdict:
        """Log a refusal: the first of each reason, then every 100th (a flood stays cheap)."""
        key = f"{request.method}:{verdict.reason}"
        count = self._logged.get(key, 0) + 1
        self._logged[key] = count
        if count == 1 or count % 100 == 0:
            log_event(log, "sip.request_refused", logging.WARNING, method=request.method,
                      source=request.source, status=verdict.status or None,
                      reason=verdict.reason, count=count)
        return verdict
