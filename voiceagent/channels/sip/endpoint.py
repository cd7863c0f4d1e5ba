"""The SIP endpoint: one pjsua2 library instance, one SIP thread, many calls.

Only the SIP thread calls pjsua2 (it runs ``libHandleEvents`` and a command queue that the
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
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

import pjsua2 as pj

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.control import SipCallControl
from voiceagent.channels.sip.gate import RequestGate
from voiceagent.channels.sip.handler import (
    CallInfo,
    CallRecord,
    HandlerFactory,
)
from voiceagent.channels.sip.leg_events import LegDisconnected, LegEvent, LegMedia, ReferStatus
from voiceagent.channels.sip.library import (
    SipStartError,
    check_gate,
    create_account,
    install_gate,
    pjsua_call_limit,
    start_library,
)
from voiceagent.channels.sip.media_port import PortPool
from voiceagent.channels.sip.options import SipOptions
from voiceagent.channels.sip.pjthreads import set_library_alive
from voiceagent.channels.sip.pump import CallPump, split_frames
from voiceagent.channels.sip.records import CallRecords
from voiceagent.channels.sip.screen import Capacity, Screen
from voiceagent.channels.sip.security import (
    Allowlist,
    DigestAuthenticator,
    InviteRateLimiter,
    TransferTargets,
)
from voiceagent.channels.sip.transfer import Transfers
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit

log = logging.getLogger(__name__)

# pjsua objects dropped by a call are freed this long after it ends. Since 2.14 the
# conference bridge removes ports asynchronously on its clock thread (kept running, see
# sndAutoCloseTime below); a port freed 0.5 s after its call once crashed that thread on a
# loaded box. Upstream fixed related races after our wheel (pjproject PRs 4200, 5057).
RELEASE_DELAY_S = 2.0
# The call's handler keeps endpointing.max_call_s (the speech session says goodbye then, see
# speech/limits.py); a call still up this much later (a handler that keeps no limit, a wedged
# one) is hung up here, so no call outlives its limit by more than this.
CALL_LIMIT_BACKSTOP_S = 15.0
# the SIP thread runs the cyclic collector (see _run): young generations every 0.5 s, all
# generations every FULL_GC_EVERY rounds (60 s), as automatic collection would
FULL_GC_EVERY = 120


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
        self.transfers = Transfers(self.targets, self.ports, self.sample_rate,
                                   self.options.ring_timeout_s, self.options.refer_timeout_s,
                                   dial=self._dial_staff, hangup=self._hangup,
                                   forget_leg=self._forget_leg)
        self.authenticator = (
            DigestAuthenticator(self.options.inbound_credentials, self.options.auth_realm)
            if self.options.inbound_credentials else None
        )
        self.call_records = CallRecords(self.options.call_log, self.options.kept_records,
                                        self.options.on_call_ended, self.options.on_call_refused)
        self.registered = threading.Event()
        self.registration_status = 0
        # by a key of their own: pjsua reuses a call slot (leg id) as soon as a call is
        # disconnected, possibly before the SIP thread has handled that leg's events
        self._sessions: dict[int, CallerSession] = {}
        self._legs: dict[int, Leg] = {}  # every live leg (callers, staff), by the same keys
        self._keys = itertools.count(1)
        self.screen = Screen(
            self.allowlist, self.limiter,
            Capacity(active_calls=lambda: len(self._sessions), pjsua_calls=self._pjsua_calls,
                     accepting=lambda: self._accepting,
                     store_writable=self.options.store_writable,
                     box_admits=self.options.box_admits),
            max_calls=self.sip.max_calls, call_slots=pjsua_call_limit(),
            overflow_target=self.sip.overflow_target, authenticator=self.authenticator,
            on_refused=self.call_records.refused,
        )
        self._gate: RequestGate | None = None
        self._last_gc = 0.0
        self._gc_rounds = 0
        self.loop_at = time.monotonic()  # when the SIP loop last went round (the watchdog)
        # pjsua objects whose last reference goes after RELEASE_DELAY_S: since pjsua 2.14 the
        # conference bridge disconnects and removes ports asynchronously on its clock thread,
        # so a port freed right after stopTransmit can still be called (a crash)
        self._released: list[tuple[float, object]] = []
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._leg_events: queue.SimpleQueue[tuple[Leg, LegEvent]] = queue.SimpleQueue()
        self._accepting = True
        self._stop_requested = threading.Event()
        self._stopped = threading.Event()
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
        self._post(lambda: self._begin_shutdown(grace))
        self._thread.join(grace + 15)
        self._thread = None

    @property
    def records(self) -> deque[CallRecord]:
        """The last ``kept_records`` calls, answered and refused (oldest first)."""
        return self.call_records.kept

    def active_calls(self) -> int:
        return len(self._sessions)

    def status(self) -> dict[str, int]:
        """Counts for operators and the soak test (read from any thread)."""
        gate = self._gate
        return {
            "sessions": len(self._sessions),
            "legs": len(self._legs),
            "pjsua_calls": self._pjsua_calls() if gate is not None else 0,
            "records": len(self.call_records.kept),
            "gate_passed": gate.stats.passed if gate else 0,
            "gate_refused": (gate.stats.dropped + gate.stats.responded) if gate else 0,
            "gate_errors": gate.stats.errors if gate else 0,
        }

    def responsive(self, within_s: float = 5.0) -> bool:
        """The SIP thread is alive and its loop went round in the last ``within_s``."""
        thread = self._thread
        return (thread is not None and thread.is_alive()
                and time.monotonic() - self.loop_at < within_s)

    def wait_registered(self, timeout: float) -> bool:
        return self.registered.wait(timeout)

    # ---------------------------------------------------------------- SIP thread
    def _post(self, command: Callable[[], None]) -> None:
        self._commands.put(command)

    def _run(self) -> None:
        # Only this thread may run a pjsua2 destructor: the cyclic collector would run one
        # wherever an allocation triggers it (a pump or model thread, while this thread is
        # inside pjsip: lock-owner assertions), so it runs here, from the loop, instead.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._init_library()
        except Exception as exc:  # reported to start()'s caller
            # only the message: the traceback's frames hold the pjsua2 Endpoint, a singleton
            # that must be gone before the next one is made (the next start aborted)
            self._start_error = SipStartError(str(exc))
            del exc
            self._destroy_library()
            self._ready.set()
            if gc_was_enabled:
                gc.enable()
            return
        self._ready.set()
        self.call_records.start()
        try:
            while True:
                assert self._ep is not None
                self._ep.libHandleEvents(10)
                self._drain()
                if self._stop_requested.is_set() and self._shutdown_step():
                    break
                self._housekeeping()
                self._collect_garbage()
                self.loop_at = time.monotonic()
        except Exception:
            log_event(log, "sip.loop_error", logging.ERROR, exc_info=True)
        finally:
            self._release_all()
            self._destroy_library()
            self.call_records.stop()
            if gc_was_enabled:
                gc.enable()
            self._stopped.set()

    def _collect_garbage(self) -> None:
        now = time.monotonic()
        if now - self._last_gc >= 0.5:
            self._last_gc = now
            self._gc_rounds += 1
            gc.collect(2 if self._gc_rounds % FULL_GC_EVERY == 0 else 1)

    def _pjsua_calls(self) -> int:
        return self._gate.pjsua_calls() if self._gate is not None else len(self._legs)

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

    def _drain(self) -> None:
        while True:
            try:
                leg, event = self._leg_events.get_nowait()
            except queue.Empty:
                break
            try:
                self._on_leg_event(leg, event)
            except Exception as exc:
                # one call's event failing (pjsua refuses to connect the media of a call
                # the caller already hung up: PJ_EINVAL) must not stop the SIP thread for
                # every other call; the call's own disconnect event cleans it up
                log_event(log, "sip.leg_event_failed", logging.WARNING,
                          leg_event=type(event).__name__,
                          error=type(exc).__name__)
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            try:
                command()
            except Exception as exc:
                log_event(log, "sip.command_failed", logging.WARNING, error=type(exc).__name__)
        if self._released and self._released[0][0] <= time.monotonic():
            now = time.monotonic()
            self._released = [(t, o) for t, o in self._released if t > now]
            gc.collect()

    def _release(self, *objects: object) -> None:
        due = time.monotonic() + RELEASE_DELAY_S
        self._released.extend((due, o) for o in objects if o is not None)

    def _queue_leg_event(self, leg: Leg, event: LegEvent) -> None:
        # may run on the media thread (DTMF): defer everything to the SIP thread
        self._leg_events.put((leg, event))

    # ------------------------------------------------------------ incoming calls
    def _incoming(self, account: _Account, pj_call_id: int, src: str, message: str) -> None:
        """An INVITE the gate let through (allowed source, rate, capacity): answer it."""
        leg = Leg(account, pj_call_id, on_event=self._queue_leg_event)
        key = next(self._keys)
        self._legs[key] = leg
        source = _host_of(src)
        if len(self._sessions) >= self.sip.max_calls or not self._accepting:
            # the gate checked this a moment ago; two INVITEs in one poll can still race it
            log_event(log, "sip.invite_rejected", logging.WARNING, source=source, status=486,
                      reason="busy")
            leg.hangup_quietly(486)
            return
        info = leg.getInfo()
        record = self.call_records.open(info.remoteUri, source)
        call_id = record.call_id
        record_path = None
        if self.sip.record_calls:
            record_dir = self.options.recordings_dir or (self.config.data_dir / "recordings")
            record_dir.mkdir(parents=True, exist_ok=True)
            record_path = str(record_dir / f"{call_id}.wav")
        call_info = CallInfo(
            call_id=call_id, sip_call_id=info.callIdString, caller_id=info.remoteUri,
            remote_address=source, dialed=info.localUri, sample_rate=self.sample_rate,
            frame_ms=self.frame_ms, started_at=record.started_at, recording_path=record_path,
        )
        session = CallerSession(leg, key, call_info, record, self.ports)
        self._sessions[key] = session
        try:
            control = SipCallControl(session, self._post, self.transfers.start, self._hangup,
                                     self._send_dtmf)
            handler = self.factory(call_info, control)
            prelude = b""
            if self.sip.record_calls and self.options.render_speech is not None:
                prelude = self.options.render_speech(self.options.recording_notice,
                                                     self.sample_rate)
            session.pump = CallPump(
                call_id, session.exchange, handler,
                on_drained_hangup=self._hangup_later(session),
                prelude_pcm=prelude,
            )
            op = pj.CallOpParam(True)
            op.statusCode = 200
            leg.answer(op)
        except Exception:
            log_event(log, "sip.answer_failed", logging.ERROR, call_id=call_id, exc_info=True)
            record.outcome = "error"
            leg.hangup_quietly(500)
            return
        session.note("sip.call_answered", source=source)

    def _hangup_later(self, session: CallerSession) -> Callable[[str], None]:
        ref = weakref.ref(session)  # the pump must not keep the session (and its Call) alive

        def hangup(reason: str) -> None:
            def command() -> None:
                target = ref()
                if target is not None:
                    self._hangup(target, reason)

            self._post(command)

        return hangup

    # ------------------------------------------------------------ leg events
    def _on_leg_event(self, leg: Leg, event: LegEvent) -> None:
        session = self._session_of(leg)
        if session is None:
            staff_of = self._staff_session_of(leg)
            if staff_of is not None:
                self.transfers.on_staff_event(staff_of, leg, event)
            elif isinstance(event, LegDisconnected):
                self._forget_leg(leg)
            return
        if isinstance(event, LegMedia) and not session.media_connected:
            session.connect_media(session.info.recording_path)
            if session.pump is not None:
                session.pump.start()
        elif isinstance(event, DtmfDigit):
            session.on_dtmf(event)
            log_event(log, "sip.dtmf", call_id=session.info.call_id, method=event.method.value)
            if event.digit == self.options.front_desk_digit and not self._dialog_takes_keys(
                    session):
                if self.targets.resolve(self.options.front_desk_target):  # one at a time
                    self.transfers.start(session, self.options.front_desk_target, b"", False)
        elif isinstance(event, ReferStatus):
            self.transfers.on_refer_status(session, event.status)
        elif isinstance(event, LegDisconnected):
            self._end_session(session, "caller_hung_up" if session.hangup_requested is None
                              else session.hangup_requested)

    @staticmethod
    def _dialog_takes_keys(session: CallerSession) -> bool:
        """A handler whose dialog reads the keypad decides what 0 means itself (in a member
        ID it is a digit, not the front desk)."""
        handler = session.pump.handler if session.pump is not None else None
        return bool(getattr(handler, "keys_reach_dialog", False))

    def _session_of(self, leg: Leg) -> CallerSession | None:
        for session in self._sessions.values():
            if session.leg is leg:
                return session
        return None

    def _staff_session_of(self, leg: Leg) -> CallerSession | None:
        for session in self._sessions.values():
            if session.transfer is not None and session.transfer.staff is leg:
                return session
        return None

    def _forget_leg(self, leg: Leg) -> None:
        for key, value in list(self._legs.items()):
            if value is leg:
                del self._legs[key]
        self._release(leg)

    def _hangup(self, session: CallerSession, reason: str) -> None:
        if session.ended:
            return
        session.hangup_requested = reason
        session.leg.hangup_quietly()
        transfer = session.transfer
        if transfer is not None and transfer.staff is not None:
            transfer.staff.hangup_quietly()

    def _dial_staff(self, uri: str) -> Leg:
        """Call staff for a warm transfer (the leg's events come back like a caller's)."""
        staff = Leg(self._account, on_event=self._queue_leg_event)  # type: ignore[arg-type]
        try:
            staff.makeCall(uri, pj.CallOpParam(True))
        except pj.Error:
            self._release(staff)  # freed later, like every pjsua2 object
            raise
        self._legs[next(self._keys)] = staff
        return staff

    def _send_dtmf(self, session: CallerSession, digits: str) -> None:
        if session.ended:
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        try:
            session.leg.sendDtmf(prm)
        except pj.Error:
            log_event(log, "sip.dtmf_send_failed", logging.WARNING, call_id=session.info.call_id)

    def _end_session(self, session: CallerSession, outcome: str) -> None:
        if session.ended:
            return
        session.ended = True
        record = session.record
        if record.outcome == "in_progress":
            record.outcome = outcome
        record.reply_latency_s = list(session.exchange.meter.latencies_s)
        self._release(self.transfers.end(session))
        session.disconnect_media()
        if session.pump is not None:
            session.pump.stop(record.outcome, timeout=0)  # it closes the handler on its own
        self._sessions.pop(session.key, None)
        self.screen.forget_dialog(session.info.sip_call_id)
        self._forget_leg(session.leg)
        self.ports.give_back(session.port)
        self._release(session.recorder)
        session.note("sip.call_ended", outcome=record.outcome,
                     duration_s=round(time.monotonic() - session.answered_at, 1),
                     reply_latency_s=record.reply_latency_s)
        session.drop_pjsua_objects()
        self.call_records.close(record, record.outcome)

    # ------------------------------------------------------------ housekeeping, shutdown
    def _housekeeping(self) -> None:
        now = time.monotonic()
        backstop_s = self.config.endpointing.max_call_s + CALL_LIMIT_BACKSTOP_S
        for session in list(self._sessions.values()):
            if session.ended:
                continue
            if now - session.answered_at > backstop_s and session.hangup_requested is None:
                session.note("sip.max_duration_reached", level=logging.WARNING)
                session.record.outcome = "max_duration"
                self._hangup(session, "max_duration")
                continue
            self.transfers.tick(session, now)

    def _begin_shutdown(self, grace_s: float) -> None:
        self._accepting = False
        self._shutdown_deadline = time.monotonic() + grace_s
        self._hangup_sent = False
        log_event(log, "sip.stopping", active_calls=len(self._sessions), grace_s=grace_s)
        if self.options.transfer_on_shutdown and self.targets.resolve(
                self.options.front_desk_target):
            for session in list(self._sessions.values()):
                self.transfers.start(session, self.options.front_desk_target, b"", False)
        self._stop_requested.set()

    def _shutdown_step(self) -> bool:
        """True once every call is gone (or the grace and the hang-up wait are over)."""
        now = time.monotonic()
        if not self._sessions and all(leg.disconnected for leg in self._legs.values()):
            return True
        if now > self._shutdown_deadline and not self._hangup_sent:
            self._hangup_sent = True
            for session in list(self._sessions.values()):
                self._hangup(session, "shutdown")
            for leg in list(self._legs.values()):
                leg.hangup_quietly()
        return now > self._shutdown_deadline + 5

    def _release_all(self) -> None:
        for session in list(self._sessions.values()):
            self._end_session(session, "shutdown")
        self._legs.clear()
        self._sessions.clear()
        self._release(*self.ports.drain())
        if self._account is not None:
            try:
                self._account.shutdown()
            except pj.Error:
                pass
        self._account = None
        deadline = time.monotonic() + RELEASE_DELAY_S
        while time.monotonic() < deadline and self._ep is not None:
            self._ep.libHandleEvents(20)
        self._released.clear()
        gc.collect()
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
