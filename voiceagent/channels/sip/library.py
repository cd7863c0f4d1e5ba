"""The pjsua2 library for one process: its start-up settings, codecs, request gate and account.

Everything here runs once, on the SIP thread, while the endpoint starts; every failure is a
:class:`SipStartError` whose message says what to change.
"""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit

import pjsua2 as pj

from voiceagent.channels.sip.gate import GateError, RequestGate
from voiceagent.channels.sip.pjthreads import set_library_alive
from voiceagent.channels.sip.screen import Screen
from voiceagent.channels.sip.security import Allowlist, sip_password
from voiceagent.config.pipeline import SIPConfig

# pjsua clamps maxCalls to its compile-time PJSUA_MAX_CALLS; the pjsua2-python 2.15.1 wheel
# was built with the default, 4 (measured: maxCalls=32 still refuses the 5th call)
WHEEL_MAX_CALLS = 4
PJSUA_MAX_CALLS_ENV = "VOICEAGENT_PJSUA_MAX_CALLS"
CODEC_IDS = {"PCMU": "PCMU/8000", "PCMA": "PCMA/8000", "G722": "G722/16000"}


class SipStartError(RuntimeError):
    """The endpoint could not start; the message says what to change."""


def pjsua_call_limit() -> int:
    """Calls one process can hold: the wheel's limit unless a custom build says otherwise."""
    return int(os.environ.get(PJSUA_MAX_CALLS_ENV, WHEEL_MAX_CALLS))


def start_library(ep: pj.Endpoint, sip: SIPConfig, user_agent: str, sample_rate: int,
                  frame_ms: int) -> None:
    """Create, configure and start ``ep``: events on the calling thread, a null sound device,
    UDP on ``sip.bind:sip.port``, the configured codecs first."""
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0  # events are handled on the SIP thread by libHandleEvents
    cfg.uaConfig.mainThreadOnly = False
    # pjsua call slots: callers, plus staff legs of warm transfers and INVITEs being refused
    cfg.uaConfig.maxCalls = pjsua_call_limit()
    cfg.uaConfig.userAgent = user_agent
    # pjsua's own log (stderr); raise it to 4-5 to debug, it may show SIP addresses
    pj_level = int(os.environ.get("VOICEAGENT_PJSUA_LOG_LEVEL", "1"))
    cfg.logConfig.level = pj_level
    cfg.logConfig.consoleLevel = pj_level
    cfg.logConfig.msgLogging = 0  # SIP messages carry caller IDs: never log them
    med = cfg.medConfig
    med.clockRate = sample_rate
    med.sndClockRate = sample_rate
    med.channelCount = 1
    med.audioFramePtime = frame_ms
    med.ptime = frame_ms
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
    tcfg.port = sip.port
    tcfg.boundAddress = sip.bind
    try:
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    except pj.Error as exc:
        raise SipStartError(
            f"cannot listen for SIP on udp {sip.bind}:{sip.port} ({exc.reason}); "
            "pick a free sip.port or stop the process that holds it"
        ) from exc
    ep.libStart()
    ep.audDevManager().setNullDev()  # no sound card: the conference bridge runs on a clock
    _set_codecs(ep, sip)


def install_gate(screen: Screen) -> RequestGate:
    """Put the request gate in front of pjsua. The caller keeps it until the library is
    destroyed (pjsip calls into it), then :func:`check_gate`."""
    try:
        gate = RequestGate(screen)
        gate.install()
    except (GateError, OSError, AttributeError) as exc:
        raise SipStartError(f"cannot install the SIP request gate ({exc}); this pjsua2 "
                            "build is not the one the agent was made for (2.15.1)") from exc
    return gate


def check_gate(ep: pj.Endpoint, gate: RequestGate, screen: Screen, sip: SIPConfig) -> None:
    """Check the gate reads pjsip's data right: its call slots, and a probe request."""
    slots = gate.call_slots()
    if slots < sip.max_calls:
        raise SipStartError(
            f"sip.max_calls is {sip.max_calls} but this pjsua2 build holds at most "
            f"{slots} calls per process (its PJSUA_MAX_CALLS; {PJSUA_MAX_CALLS_ENV} only "
            "describes a custom build): lower sip.max_calls, or run several agent "
            "processes behind the Kamailio dispatcher (sip/kamailio/)")
    screen.call_slots = slots
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(sip.bind, sip.bind)
    probe = gate.start_probe(host, sip.port)
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


def create_account(account: pj.Account, sip: SIPConfig, allowlist: Allowlist,
                   register_timeout_s: int, rtp_port: int, rtp_port_range: int) -> None:
    """Create ``account``: registered at ``sip.registrar`` (whose addresses join the
    allowlist: calls come in through it) or listening as ``agent@bind:port``."""
    acfg = pj.AccountConfig()
    if sip.mode == "register":
        assert sip.registrar and sip.username
        host = urlsplit(sip.registrar).path or sip.registrar.split(":", 1)[-1]
        acfg.idUri = f"sip:{sip.username}@{host}"
        acfg.regConfig.registrarUri = sip.registrar
        acfg.regConfig.timeoutSec = register_timeout_s
        password = sip_password(sip.password.get_secret_value() if sip.password else None)
        if not password:
            raise SipStartError(
                "mode 'register' needs a password: set VOICEAGENT_SIP_PASSWORD or "
                "VOICEAGENT_SIP_PASSWORD_FILE"
            )
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", sip.username, 0, password))
        for ip in _resolve(host):
            allowlist.add(ip)
    else:
        acfg.idUri = f"sip:agent@{sip.bind}:{sip.port}"
    if rtp_port:
        acfg.mediaConfig.transportConfig.port = rtp_port
        acfg.mediaConfig.transportConfig.portRange = rtp_port_range
    acfg.mediaConfig.transportConfig.boundAddress = sip.bind
    account.create(acfg)


def _set_codecs(ep: pj.Endpoint, sip: SIPConfig) -> None:
    wanted = [CODEC_IDS[c] for c in sip.codecs]
    for codec in ep.codecEnum2():
        cid = codec.codecId
        prio = 0
        for rank, name in enumerate(wanted):
            if cid.upper().startswith(name.upper()):
                prio = 250 - rank
        ep.codecSetPriority(cid, prio)


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

