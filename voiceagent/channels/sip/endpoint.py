"""The SIP endpoint: one pjsua2 library instance, one SIP thread, many calls.

The endpoint owns pjsua's lifecycle (the library, the account, registration, teardown) and
admits calls; the parts it wires together each hold one concept:

- ``screen.py``/``gate.py``: which SIP requests reach pjsua at all (source, rate, capacity);
- ``answer.py``: an admitted call answered, with its handler and pump (``pump.py``);
- ``loop.py``: the SIP thread's queues, the delayed release of pjsua objects, the collector;
- ``calls.py``: the table of live calls and legs, and how a call ends;
- ``dispatch.py``: what each leg event (``leg_events.py``) does to its call;
- ``transfer.py``: blind and warm transfers; ``shutdown.py``: stopping with calls up;
- ``records.py``: the wire records (the store's record of a call is its handler's).

Only the SIP thread calls pjsua2 (it runs ``libHandleEvents`` and the loop's queues that the
other threads post to); media callbacks run on pjsua2's media clock thread and only move
bytes (see ``media_port.py``); each call's handler runs on that call's pump thread.

Usage::

    endpoint = SipEndpoint(config, handler_factory, SipOptions(transfer_targets=...))
    endpoint.start()      # raises SipStartError with the fix if the port is taken, etc.
    ...
    endpoint.stop()       # stop accepting, let calls finish (grace), hang up the rest
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque

import pjsua2 as pj

from voiceagent.channels.sip.answer import Answerer
from voiceagent.channels.sip.call import Leg
from voiceagent.channels.sip.calls import LiveCalls
from voiceagent.channels.sip.dispatch import LegDispatch
from voiceagent.channels.sip.gate import RequestGate
from voiceagent.channels.sip.handler import CallRecord, HandlerFactory
from voiceagent.channels.sip.library import (
    SipStartError,
    check_gate,
    create_account,
    install_gate,
    pjsua_call_limit,
    start_library,
)
from voiceagent.channels.sip.loop import RELEASE_DELAY_S, SipLoop
from voiceagent.channels.sip.media_port import PortPool
from voiceagent.channels.sip.options import SipOptions
from voiceagent.channels.sip.pjthreads import set_library_alive
from voiceagent.channels.sip.pump import split_frames
from voiceagent.channels.sip.records import CallRecords
from voiceagent.channels.sip.screen import Capacity, Screen
from voiceagent.channels.sip.security import (
    Allowlist,
    DigestAuthenticator,
    InviteRateLimiter,
    TransferTargets,
)
from voiceagent.channels.sip.shutdown import Shutdown
from voiceagent.channels.sip.transfer import Transfers
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.logs import log_event

log = logging.getLogger(__name__)


class _Account(pj.Account):
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self.endpoint._incoming(self, prm.callId, prm.rdata.srcAddress, prm.rdata.wholeMsg)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        self.endpoint._registration_changed(prm.code, prm.expiration)


def _host_of(address: str) -> str:
    """'1.2.3.4:5060' or '[::1]:5060' -> the IP."""
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


class SipEndpoint:
    """Answers SIP calls and runs one handler per call. See the module docstring."""

    def __init__(
        self,
        config: PipelineConfig,
        handler_factory: HandlerFactory,
        options: SipOptions | None = None,
    ) -> None:
        self.config = config
        self.sip = config.sip
        self.factory = handler_factory
        self.options = options or SipOptions()
        self.sample_rate = config.audio.channel_rate
        self.frame_ms = 20  # RTP ptime; the pipeline re-frames if it wants 10 or 30 ms
        self.allowlist = Allowlist(self.sip.allowlist)
        self.limiter = InviteRateLimiter(self.sip.invites_per_minute_per_source)
        self.targets = TransferTargets(self.options.transfer_targets)
        self.ports = PortPool(self.sample_rate, self.frame_ms, RELEASE_DELAY_S)
        self.loop = SipLoop()
        self.transfers = Transfers(self.targets, self.ports, self.sample_rate,
                                   self.options.ring_timeout_s, self.options.refer_timeout_s,
                                   self.options.front_desk_target, self.options.front_desk_digit,
                                   dial=self._dial_staff)
        self.authenticator = (
            DigestAuthenticator(self.options.inbound_credentials, self.options.auth_realm)
            if self.options.inbound_credentials else None
        )
        self.call_records = CallRecords(self.options.kept_records, self.options.on_call_ended,
                                        self.options.on_call_refused)
        self.registered = threading.Event()
        self.registration_status = 0
        self.screen = Screen(
            self.allowlist, self.limiter,
            Capacity(active_calls=lambda: len(self.calls), pjsua_calls=self._pjsua_calls,
                     accepting=lambda: self.shutdown.accepting,
                     store_writable=self.options.store_writable,
                     box_admits=self.options.box_admits),
            max_calls=self.sip.max_calls, call_slots=pjsua_call_limit(),
            overflow_target=self.sip.overflow_target, authenticator=self.authenticator,
            on_refused=self.call_records.refused,
        )
        self.calls = LiveCalls(self.transfers, self.ports, self.call_records, self.loop.release,
                               self.screen.forget_dialog, self.config.endpointing.max_call_s)
        self.dispatch = LegDispatch(self.calls, self.transfers)
        self.shutdown = Shutdown(self.calls, self.transfers, self.options.transfer_on_shutdown)
        self.answerer = Answerer(config, self.options, handler_factory, self.calls, self.transfers,
                                 self.loop, self.sample_rate, self.frame_ms)
        self._gate: RequestGate | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ep: pj.Endpoint | None = None
        self._account: _Account | None = None
        limit = pjsua_call_limit()
        if self.sip.max_calls > limit:
            raise SipStartError(
                f"sip.max_calls is {self.sip.max_calls} but this pjsua2 build handles at most "
                f"{limit} calls per process (PJSUA_MAX_CALLS): run several agent processes "
                "behind the Kamailio dispatcher (sip/kamailio/), or install a pjsua2 built "
                "with a larger PJSUA_MAX_CALLS and set VOICEAGENT_PJSUA_MAX_CALLS"
            )
        if self.sip.record_calls and self.options.render_speech is None:
            raise SipStartError(
                "sip.record_calls is on but no speech renderer was given for the recording "
                "notice: pass SipOptions(render_speech=...) (the TTS) or turn recording off"
            )

    # ---------------------------------------------------------------- public, any thread
    def start(self, timeout: float = 15.0) -> None:
        """Start the SIP thread; return once it listens, raise SipStartError if it cannot."""
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipStartError("the SIP thread did not start in time; see the log for pjsua")
        if self._start_error is not None:
            raise SipStartError(str(self._start_error)) from self._start_error

    def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting calls, let live ones finish for ``grace_s``, hang up the rest, exit."""
        if self._thread is None:
            return
        grace = self.options.shutdown_grace_s if grace_s is None else grace_s
        self.loop.post(lambda: self.shutdown.begin(grace))
        self._thread.join(grace + 15)
        self._thread = None

    @property
    def records(self) -> deque[CallRecord]:
        """The last ``kept_records`` calls, answered and refused (oldest first)."""
        return self.call_records.kept

    def active_calls(self) -> int:
        return len(self.calls)

    def status(self) -> dict[str, int]:
        """Counts for operators and the soak test (read from any thread)."""
        gate = self._gate
        return {
            "sessions": len(self.calls.sessions),
            "legs": len(self.calls.legs),
            "pjsua_calls": self._pjsua_calls() if gate is not None else 0,
            "records": len(self.call_records.kept),
            "gate_passed": gate.stats.passed if gate else 0,
            "gate_refused": (gate.stats.dropped + gate.stats.responded) if gate else 0,
            "gate_errors": gate.stats.errors if gate else 0,
        }

    def responsive(self, within_s: float = 5.0) -> bool:
        """The SIP thread is alive and its loop went round in the last ``within_s``."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self.loop.went_round_within(within_s)

    def wait_registered(self, timeout: float) -> bool:
        return self.registered.wait(timeout)

    # ---------------------------------------------------------------- SIP thread
    def _run(self) -> None:
        with self.loop.owning_the_collector():
            try:
                self._init_library()
            except Exception as exc:  # reported to start()'s caller
                # only the message: the traceback's frames hold the pjsua2 Endpoint, a
                # singleton that must be gone before the next one is made (it aborted)
                self._start_error = SipStartError(str(exc))
                del exc
                self._destroy_library()
                self._ready.set()
                return
            self._ready.set()
            self.call_records.start()
            try:
                while True:
                    assert self._ep is not None
                    self._ep.libHandleEvents(10)
                    self.loop.run_queued(self.dispatch)
                    if self.shutdown.requested.is_set() and self.shutdown.step():
                        break
                    self.calls.tick(time.monotonic())
                    self.loop.collect_garbage()
                    self.loop.went_round()
            except Exception:
                log_event(log, "sip.loop_error", logging.ERROR, exc_info=True)
            finally:
                self._release_all()
                self._destroy_library()
                self.call_records.stop()

    def _pjsua_calls(self) -> int:
        return self._gate.pjsua_calls() if self._gate is not None else len(self.calls.legs)

    def _init_library(self) -> None:
        ep = pj.Endpoint()
        self._ep = ep  # destroyed by _run's clean-up if anything below fails
        start_library(ep, self.sip, self.options.user_agent, self.sample_rate, self.frame_ms)
        self._gate = install_gate(self.screen)
        check_gate(ep, self._gate, self.screen, self.sip)
        account = _Account(self)
        create_account(account, self.sip, self.allowlist, self.options.register_timeout_s,
                       self.options.rtp_port, self.options.rtp_port_range)
        self._account = account
        log_event(log, "sip.listening", bind=self.sip.bind, port=self.sip.port, mode=self.sip.mode)

    def _registration_changed(self, code: int, expiration: int) -> None:
        self.registration_status = code
        if code // 100 == 2 and expiration > 0:
            self.registered.set()
            log_event(log, "sip.registered", status=code, expires_s=expiration)
        else:
            self.registered.clear()
            log_event(log, "sip.registration_failed", logging.WARNING, status=code)

    # ------------------------------------------------------------ admission
    def _incoming(self, account: _Account, pj_call_id: int, src: str, message: str) -> None:
        """An INVITE the gate let through (allowed source, rate, capacity): answer it, unless
        another INVITE took the last place since (or the endpoint began stopping)."""
        leg = Leg(account, pj_call_id, on_event=self.loop.queue_leg_event)
        key = self.calls.add_leg(leg)
        source = _host_of(src)
        if len(self.calls) >= self.sip.max_calls or not self.shutdown.accepting:
            # the gate checked this a moment ago; two INVITEs in one poll can still race it
            log_event(log, "sip.invite_rejected", logging.WARNING, source=source, status=486,
                      reason="busy")
            leg.hangup_quietly(486)
            return
        self.answerer.answer(leg, key, source)

    def _dial_staff(self, uri: str) -> Leg:
        """Call staff for a warm transfer (the leg's events come back like a caller's)."""
        staff = Leg(self._account, on_event=self.loop.queue_leg_event)  # type: ignore[arg-type]
        try:
            staff.makeCall(uri, pj.CallOpParam(True))
        except pj.Error:
            self.loop.release(staff)  # freed later, like every pjsua2 object
            raise
        self.calls.add_leg(staff)
        return staff

    # ------------------------------------------------------------ teardown
    def _release_all(self) -> None:
        self.calls.end_all("shutdown")
        self.loop.release(*self.ports.drain())
        if self._account is not None:
            try:
                self._account.shutdown()
            except pj.Error:
                pass
        self._account = None
        deadline = time.monotonic() + RELEASE_DELAY_S
        while time.monotonic() < deadline and self._ep is not None:
            self._ep.libHandleEvents(20)
        self.loop.release_now()
        if self._ep is not None:
            self._ep.libHandleEvents(50)

    def _destroy_library(self) -> None:
        if self._ep is None:
            return
        set_library_alive(False)
        try:
            self._ep.libDestroy()
        except pj.Error:
            log_event(log, "sip.destroy_failed", logging.WARNING)
        self._ep = None
        self._gate = None  # pjsip unloaded the module in libDestroy
        gc.collect()
        log_event(log, "sip.stopped")


def run_sip(
    config: PipelineConfig,
    handler_factory: HandlerFactory,
    stop_event: threading.Event,
    options: SipOptions | None = None,
) -> None:
    """Run the endpoint until ``stop_event`` is set (e.g. by SIGTERM), then stop gracefully."""
    endpoint = SipEndpoint(config, handler_factory, options)
    endpoint.start()
    try:
        stop_event.wait()
    finally:
        endpoint.stop()


__all__ = ["SipEndpoint", "SipOptions", "SipStartError", "run_sip", "split_frames"]
