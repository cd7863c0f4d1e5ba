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
import os
import queue
import socket
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pjsua2 as pj

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.gate import GateError, RequestGate
from voiceagent.channels.sip.handler import (
    CallInfo,
    CallRecord,
    HandlerFactory,
    TransferOutcome,
)
from voiceagent.channels.sip.leg_events import LegDisconnected, LegEvent, LegMedia, ReferStatus
from voiceagent.channels.sip.media_port import FrameExchange, PortPool
from voiceagent.channels.sip.pjthreads import set_library_alive
from voiceagent.channels.sip.pump import CallPump, TransferEvent, split_frames
from voiceagent.channels.sip.screen import Capacity, Refusal, Screen
from voiceagent.channels.sip.security import (
    Allowlist,
    DigestAuthenticator,
    InviteRateLimiter,
    TransferTargets,
    sip_password,
)
from voiceagent.channels.sip.transfer import (
    SUMMARY_TAIL_S,
    Phase,
    TransferState,
    outcome_for_status,
)
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit

log = logging.getLogger(__name__)

# pjsua objects dropped by a call are freed this long after it ends. Since 2.14 the
# conference bridge removes ports asynchronously on its clock thread (kept running, see
# sndAutoCloseTime below); a port freed 0.5 s after its call once crashed that thread on a
# loaded box. Upstream fixed related races after our wheel (pjproject PRs 4200, 5057).
RELEASE_DELAY_S = 2.0
# pjsua clamps maxCalls to its compile-time PJSUA_MAX_CALLS; the pjsua2-python 2.15.1 wheel
# was built with the default, 4 (measured: maxCalls=32 still refuses the 5th call)
WHEEL_MAX_CALLS = 4
# the SIP thread runs the cyclic collector (see _run): young generations every 0.5 s, all
# generations every FULL_GC_EVERY rounds (60 s), as automatic collection would
FULL_GC_EVERY = 120
PJSUA_MAX_CALLS_ENV = "VOICEAGENT_PJSUA_MAX_CALLS"


def pjsua_call_limit() -> int:
    """Calls one process can hold: the wheel's limit unless a custom build says otherwise."""
    return int(os.environ.get(PJSUA_MAX_CALLS_ENV, WHEEL_MAX_CALLS))
CODEC_IDS = {"PCMU": "PCMU/8000", "PCMA": "PCMA/8000", "G722": "G722/16000"}


class SipStartError(RuntimeError):
    """The endpoint could not start; the message says what to change."""


@dataclass
class SipOptions:
    """Runtime settings that are not (yet) in ``pipeline.yaml``'s ``sip`` section."""

    transfer_targets: Mapping[str, str] = field(default_factory=dict)
    front_desk_target: str = "front_desk"
    front_desk_digit: str | None = "0"  # pressed at any time: blind transfer to the front desk
    ring_timeout_s: float = 25.0  # a warm transfer nobody answers comes back after this
    refer_timeout_s: float = 40.0  # a blind transfer with no final NOTIFY by then failed
    rtp_port: int = 0  # first RTP port; 0 keeps pjsua's default (4000)
    rtp_port_range: int = 0
    shutdown_grace_s: float = 30.0
    transfer_on_shutdown: bool = False  # blind-transfer live calls to the front desk on stop
    recording_notice: str = "This call is recorded for quality and training."
    render_speech: Callable[[str, int], bytes] | None = None  # text, rate -> PCM16 mono
    recordings_dir: Path | None = None  # default: <data_dir>/recordings
    call_log: CallLog | None = None
    # digest users allowed to call from outside the allowlist (a PBX known by credentials,
    # not by address); empty: such INVITEs get 403 at once
    inbound_credentials: Mapping[str, str] = field(default_factory=dict)
    auth_realm: str = "voiceagent"
    on_call_ended: Callable[[CallRecord], None] | None = None  # runs on the SIP thread
    # a call the agent turned away itself (busy, overflow, store down, stopping); runs on a
    # background thread, so a slow store never holds up SIP
    on_call_refused: Callable[[CallRecord], None] | None = None
    # False while the store cannot be written: new calls get 503 with Retry-After
    store_writable: Callable[[], bool] = lambda: True
    register_timeout_s: int = 300
    user_agent: str = "voiceagent"
    kept_records: int = 1000


class _Control:
    """The CallControl a handler gets: every request becomes a command on the SIP thread."""

    def __init__(self, endpoint: SipEndpoint, session: CallerSession) -> None:
        self._endpoint = endpoint
        # weak: a handler kept by its owner after the call must not keep the pjsua2 Call
        # alive past libDestroy (its destructor would then abort the process)
        self._session = weakref.ref(session)

    def _run(self, action: Callable[[CallerSession], None]) -> None:
        def command() -> None:
            session = self._session()
            if session is not None and not session.ended:
                action(session)

        self._endpoint._post(command)

    def transfer(self, target: str, summary_pcm: bytes = b"", warm: bool = True) -> None:
        self._run(lambda s: self._endpoint._start_transfer(s, target, summary_pcm, warm))

    def hangup(self, reason: str = "completed") -> None:
        session = self._session()
        if session is not None and session.pump is not None:
            session.pump.hangup_when_drained(reason)
        else:
            self._run(lambda s: self._endpoint._hangup(s, reason))

    def send_dtmf(self, digits: str) -> None:
        self._run(lambda s: self._endpoint._send_dtmf(s, digits))


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
        self.authenticator = (
            DigestAuthenticator(self.options.inbound_credentials, self.options.auth_realm)
            if self.options.inbound_credentials else None
        )
        self.records: deque[CallRecord] = deque(maxlen=self.options.kept_records)
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
                     store_writable=self.options.store_writable),
            max_calls=self.sip.max_calls, call_slots=pjsua_call_limit(),
            overflow_target=self.sip.overflow_target, authenticator=self.authenticator,
            on_refused=self._refused,
        )
        self._gate: RequestGate | None = None
        self._refusals: queue.Queue[CallRecord | None] = queue.Queue(maxsize=1000)
        self._last_gc = 0.0
        self.ports = PortPool(self.sample_rate, self.frame_ms, RELEASE_DELAY_S)
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

    def active_calls(self) -> int:
        return len(self._sessions)

    def status(self) -> dict[str, int]:
        """Counts for operators and the soak test (read from any thread)."""
        gate = self._gate
        return {
            "sessions": len(self._sessions),
            "legs": len(self._legs),
            "pjsua_calls": self._pjsua_calls() if gate is not None else 0,
            "records": len(self.records),
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
        threading.Thread(target=self._write_refusals, name="sip-refusals", daemon=True).start()
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
            self._refusals.put_nowait(None)
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

    def _refused(self, refusal: Refusal) -> None:
        """A new call the gate turned away: keep a record (written off the SIP thread)."""
        now = datetime.now(UTC)
        record = CallRecord(call_id=str(uuid.uuid4()), caller_id=refusal.caller_id,
                            remote_address=refusal.source, started_at=now, ended_at=now,
                            outcome=refusal.outcome)
        self.records.append(record)
        try:
            self._refusals.put_nowait(record)
        except queue.Full:
            log_event(log, "sip.refusal_not_recorded", logging.WARNING, reason="queue_full")

    def _write_refusals(self) -> None:
        while True:
            record = self._refusals.get()
            if record is None:
                return
            try:
                if self.options.on_call_refused is not None:
                    self.options.on_call_refused(record)
                elif self.options.call_log is not None:
                    call_id = self.options.call_log.open_call("sip", record.caller_id)
                    self.options.call_log.close_call(call_id, record.outcome)
            except Exception:
                log_event(log, "sip.refusal_not_recorded", logging.ERROR, exc_info=True)

    def _init_library(self) -> None:
        ep = pj.Endpoint()
        self._ep = ep
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # events are handled on this thread by libHandleEvents
        cfg.uaConfig.mainThreadOnly = False
        # pjsua call slots: callers, plus staff legs of warm transfers and INVITEs being refused
        cfg.uaConfig.maxCalls = pjsua_call_limit()
        cfg.uaConfig.userAgent = self.options.user_agent
        # pjsua's own log (stderr); raise it to 4-5 to debug, it may show SIP addresses
        pj_level = int(os.environ.get("VOICEAGENT_PJSUA_LOG_LEVEL", "1"))
        cfg.logConfig.level = pj_level
        cfg.logConfig.consoleLevel = pj_level
        cfg.logConfig.msgLogging = 0  # SIP messages carry caller IDs: never log them
        med = cfg.medConfig
        med.clockRate = self.sample_rate
        med.sndClockRate = self.sample_rate
        med.channelCount = 1
        med.audioFramePtime = self.frame_ms
        med.ptime = self.frame_ms
        med.noVad = True
        med.ecTailLen = 0
        # Keep the (null) sound device, and with it the conference bridge's clock, running
        # when no call is up: since 2.14 ports are removed asynchronously on that clock, so
        # with pjsua's default auto-close (1 s) a port released later was never removed (a
        # recording never got its WAV header) and one released around the close crashed.
        med.sndAutoCloseTime = -1
        ep.libInit(cfg)
        set_library_alive(True)
        tcfg = pj.TransportConfig()
        tcfg.port = self.sip.port
        tcfg.boundAddress = self.sip.bind
        try:
            ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        except pj.Error as exc:
            raise SipStartError(
                f"cannot listen for SIP on udp {self.sip.bind}:{self.sip.port} ({exc.reason}); "
                "pick a free sip.port or stop the process that holds it"
            ) from exc
        ep.libStart()
        ep.audDevManager().setNullDev()  # no sound card: the conference bridge runs on a clock
        self._set_codecs(ep)
        self._install_gate(ep)
        self._account = self._create_account()
        log_event(log, "sip.listening", bind=self.sip.bind, port=self.sip.port, mode=self.sip.mode)

    def _install_gate(self, ep: pj.Endpoint) -> None:
        """Put the request gate in front of pjsua and check it reads pjsip's data right."""
        try:
            gate = RequestGate(self.screen)
            gate.install()
        except (GateError, OSError, AttributeError) as exc:
            raise SipStartError(f"cannot install the SIP request gate ({exc}); this pjsua2 "
                                "build is not the one the agent was made for (2.15.1)") from exc
        self._gate = gate
        slots = gate.call_slots()
        if slots < self.sip.max_calls:
            raise SipStartError(
                f"sip.max_calls is {self.sip.max_calls} but this pjsua2 build holds at most "
                f"{slots} calls per process (its PJSUA_MAX_CALLS; {PJSUA_MAX_CALLS_ENV} only "
                "describes a custom build): lower sip.max_calls, or run several agent "
                "processes behind the Kamailio dispatcher (sip/kamailio/)")
        self.screen.call_slots = slots
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.sip.bind, self.sip.bind)
        probe = gate.start_probe(host, self.sip.port)
        try:
            deadline = time.monotonic() + 5
            while gate.probe_result() is None and time.monotonic() < deadline:
                ep.libHandleEvents(20)
        finally:
            probe.close()
        if not gate.probe_result():
            raise SipStartError(
                "the SIP request gate could not read a probe request the way pjsip 2.15.1 "
                "lays it out; install the pinned pjsua2 wheel (constraints.txt)")

    def _set_codecs(self, ep: pj.Endpoint) -> None:
        wanted = [CODEC_IDS[c] for c in self.sip.codecs]
        for codec in ep.codecEnum2():
            cid = codec.codecId
            prio = 0
            for rank, name in enumerate(wanted):
                if cid.upper().startswith(name.upper()):
                    prio = 250 - rank
            ep.codecSetPriority(cid, prio)

    def _create_account(self) -> _Account:
        acfg = pj.AccountConfig()
        sip = self.sip
        if sip.mode == "register":
            assert sip.registrar and sip.username
            host = urlsplit(sip.registrar).path or sip.registrar.split(":", 1)[-1]
            acfg.idUri = f"sip:{sip.username}@{host}"
            acfg.regConfig.registrarUri = sip.registrar
            acfg.regConfig.timeoutSec = self.options.register_timeout_s
            password = sip_password(
                sip.password.get_secret_value() if sip.password else None
            )
            if not password:
                raise SipStartError(
                    "mode 'register' needs a password: set VOICEAGENT_SIP_PASSWORD or "
                    "VOICEAGENT_SIP_PASSWORD_FILE"
                )
            acfg.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", sip.username, 0, password)
            )
            for ip in self._resolve(host):  # calls come in through the registrar
                self.allowlist.add(ip)
        else:
            acfg.idUri = f"sip:agent@{sip.bind}:{sip.port}"
        if self.options.rtp_port:
            acfg.mediaConfig.transportConfig.port = self.options.rtp_port
            acfg.mediaConfig.transportConfig.portRange = self.options.rtp_port_range
        acfg.mediaConfig.transportConfig.boundAddress = sip.bind
        account = _Account(self)
        account.create(acfg)
        return account

    @staticmethod
    def _resolve(hostport: str) -> list[str]:
        host = hostport.split(";")[0]
        if host.startswith("["):
            host = host[1 : host.index("]")]
        elif host.count(":") == 1:
            host = host.split(":")[0]
        try:
            return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
        except OSError as exc:
            raise SipStartError(
                f"cannot resolve the registrar host {host!r} ({exc}); check sip.registrar"
            ) from exc

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
        call_id = str(uuid.uuid4())
        if self.options.call_log is not None:
            try:
                call_id = self.options.call_log.open_call("sip", info.remoteUri)
            except Exception:
                log_event(log, "sip.calllog_open_failed", logging.ERROR, exc_info=True)
        started = datetime.now(UTC)
        record_path = None
        if self.sip.record_calls:
            record_dir = self.options.recordings_dir or (self.config.data_dir / "recordings")
            record_dir.mkdir(parents=True, exist_ok=True)
            record_path = str(record_dir / f"{call_id}.wav")
        call_info = CallInfo(
            call_id=call_id, sip_call_id=info.callIdString, caller_id=info.remoteUri,
            remote_address=source, dialed=info.localUri, sample_rate=self.sample_rate,
            frame_ms=self.frame_ms, started_at=started, recording_path=record_path,
        )
        record = CallRecord(call_id=call_id, caller_id=info.remoteUri, remote_address=source,
                            started_at=started)
        self.records.append(record)
        session = CallerSession(leg, key, call_info, record, self.ports)
        self._sessions[key] = session
        try:
            handler = self.factory(call_info, _Control(self, session))
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
                self._on_staff_event(staff_of, leg, event)
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
                    self._start_transfer(session, self.options.front_desk_target, b"", False)
        elif isinstance(event, ReferStatus):
            self._on_refer_status(session, event.status, event.final)
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
        record.ended_at = datetime.now(UTC)
        if record.outcome == "in_progress":
            record.outcome = outcome
        record.reply_latency_s = list(session.exchange.meter.latencies_s)
        transfer = session.transfer
        if transfer is not None:
            if transfer.staff is not None:
                transfer.staff.hangup_quietly()
                self._release(transfer.staff)
            self.ports.give_back(transfer.staff_port)
            transfer.staff_port = None
            transfer.phase = Phase.DONE
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
        if self.options.on_call_ended is not None:
            try:
                self.options.on_call_ended(record)
            except Exception:
                log_event(log, "sip.on_call_ended_failed", logging.ERROR, exc_info=True)
        if self.options.call_log is not None:
            try:
                self.options.call_log.close_call(record.call_id, record.outcome,
                                                 record.recording_path)
            except Exception:
                log_event(log, "sip.calllog_close_failed", logging.ERROR, exc_info=True)

    # ------------------------------------------------------------ transfers
    def _start_transfer(self, session: CallerSession, target: str, summary: bytes,
                        warm: bool) -> None:
        if session.ended or session.pump is None:
            return
        if session.transfer is not None and session.transfer.phase is not Phase.DONE:
            return  # one at a time
        uri = self.targets.resolve(target)
        session.record.transfer_target = target
        if uri is None:
            log_event(log, "sip.transfer_refused", logging.WARNING, call_id=session.info.call_id,
                      reason="not_a_configured_target")
            session.record.transfer_outcome = TransferOutcome.REFUSED.value
            session.pump.post(TransferEvent(TransferOutcome.REFUSED))
            return
        now = time.monotonic()
        if not warm:
            state = TransferState(target, uri, False, b"", now + self.options.refer_timeout_s,
                                  Phase.REFERRING)
            session.transfer = state
            try:
                session.leg.xfer(uri, pj.CallOpParam(True))
            except pj.Error:
                self._transfer_failed(session, TransferOutcome.FAILED)
                return
            session.note("sip.transfer_started", kind="blind", target=target)
            return
        state = TransferState(target, uri, True, summary, now + self.options.ring_timeout_s,
                              Phase.RINGING)
        session.transfer = state
        staff = Leg(self._account, on_event=self._queue_leg_event)  # type: ignore[arg-type]
        state.staff = staff
        try:
            staff.makeCall(uri, pj.CallOpParam(True))
        except pj.Error:
            self._transfer_failed(session, TransferOutcome.FAILED)
            return
        self._legs[next(self._keys)] = staff
        session.note("sip.transfer_started", kind="warm", target=target)

    def _on_refer_status(self, session: CallerSession, status: int, final: bool) -> None:
        state = session.transfer
        if state is None or state.phase is not Phase.REFERRING:
            return
        if 200 <= status < 300:
            state.phase = Phase.DONE
            session.record.outcome = "transferred"
            session.record.transfer_outcome = TransferOutcome.CONNECTED.value
            session.note("sip.transfer_connected", kind="blind")
            self._hangup(session, "transferred")
        elif status >= 300:
            self._transfer_failed(session, outcome_for_status(status))

    def _transfer_failed(self, session: CallerSession, outcome: TransferOutcome) -> None:
        state = session.transfer
        if state is not None:
            if state.staff is not None:
                state.staff.hangup_quietly()
            state.phase = Phase.DONE
        session.record.transfer_outcome = outcome.value
        session.note("sip.transfer_failed", outcome=outcome.value)
        if session.pump is not None:
            session.pump.unmute()
            session.pump.post(TransferEvent(outcome))

    def _on_staff_event(self, session: CallerSession, leg: Leg, event: LegEvent) -> None:
        state = session.transfer
        assert state is not None
        if isinstance(event, LegMedia) and state.phase is Phase.RINGING and leg.audio is not None:
            state.phase = Phase.SUMMARY
            state.staff_exchange = FrameExchange(session.info.frame_bytes)
            state.staff_port = self.ports.take(state.staff_exchange,
                                               session.info.call_id + "-staff")
            leg.audio.startTransmit(state.staff_port)
            state.staff_port.startTransmit(leg.audio)
            tail = bytes(int(self.sample_rate * SUMMARY_TAIL_S) * 2)
            assert session.pump is not None
            session.pump.feed(state.staff_exchange, state.summary_pcm + tail)
            state.summary_started = True
            session.note("sip.transfer_staff_answered")
        elif isinstance(event, LegDisconnected):
            self._forget_leg(leg)
            if state.phase in (Phase.RINGING, Phase.SUMMARY):
                self._transfer_failed(session, outcome_for_status(event.status))
            elif state.phase is Phase.BRIDGED:
                state.phase = Phase.DONE
                self._hangup(session, "transferred")
            self.ports.give_back(state.staff_port)  # its connections went with the leg
            state.staff_port = None

    def _bridge(self, session: CallerSession) -> None:
        """Put the caller through to staff: their audio meets in the conference bridge."""
        state = session.transfer
        assert state is not None and state.staff is not None and state.staff.audio is not None
        caller_audio = session.leg.audio
        staff_audio = state.staff.audio
        assert caller_audio is not None and session.pump is not None
        session.pump.mute()
        for src, dst in ((session.port, caller_audio), (state.staff_port, staff_audio)):
            if src is not None:
                try:
                    src.stopTransmit(dst)
                except pj.Error:
                    pass
        caller_audio.startTransmit(staff_audio)
        staff_audio.startTransmit(caller_audio)
        if session.recorder is not None:
            staff_audio.startTransmit(session.recorder)
        state.phase = Phase.BRIDGED
        session.record.outcome = "transferred"
        session.record.transfer_outcome = TransferOutcome.CONNECTED.value
        session.pump.post(TransferEvent(TransferOutcome.CONNECTED))
        session.note("sip.transfer_connected", kind="warm")

    # ------------------------------------------------------------ housekeeping, shutdown
    def _housekeeping(self) -> None:
        now = time.monotonic()
        max_call_s = self.config.endpointing.max_call_s
        for session in list(self._sessions.values()):
            if session.ended:
                continue
            if now - session.answered_at > max_call_s and session.hangup_requested is None:
                session.note("sip.max_duration_reached", level=logging.WARNING)
                session.record.outcome = "max_duration"
                self._hangup(session, "max_duration")
                continue
            state = session.transfer
            if state is None:
                continue
            if state.expired(now):
                if state.phase is Phase.RINGING:
                    self._transfer_failed(session, TransferOutcome.NO_ANSWER)
                else:
                    self._transfer_failed(session, TransferOutcome.FAILED)
            elif (state.phase is Phase.SUMMARY and state.staff_exchange is not None
                  and session.pump is not None
                  and not session.pump.feed_pending(state.staff_exchange)):
                self._bridge(session)

    def _begin_shutdown(self, grace_s: float) -> None:
        self._accepting = False
        self._shutdown_deadline = time.monotonic() + grace_s
        self._hangup_sent = False
        log_event(log, "sip.stopping", active_calls=len(self._sessions), grace_s=grace_s)
        if self.options.transfer_on_shutdown and self.targets.resolve(
                self.options.front_desk_target):
            for session in list(self._sessions.values()):
                self._start_transfer(session, self.options.front_desk_target, b"", False)
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
