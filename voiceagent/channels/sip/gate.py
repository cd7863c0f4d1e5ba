"""A pjsip module that sees every SIP request before pjsua does, and may answer or drop it.

pjsua gives an INVITE a call slot and RTP/RTCP sockets (ioqueue keys) before the application
hears of it; a burst of refused INVITEs therefore exhausted the ioqueue and aborted the
process (``pj_ioqueue_register_sock2: Assertion '!pj_list_empty(&ioqueue->free_list)'``), and
pjsua answered SUBSCRIBE, MESSAGE and OPTIONS from anyone. The gate is registered below the
transaction layer (priority 10), so a request it refuses costs one stateless response or
nothing, never a transaction, a call slot or a socket.

The module is built with ctypes from symbols the pjsua2 wheel exports. The few fields read
from ``pjsip_rx_data`` follow pjsip 2.15's layout; :meth:`RequestGate.self_test` checks them
against a probe the endpoint sends itself at start, and the endpoint refuses to start if they
do not match (a different build), rather than run unguarded.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import pjsua2 as pj

from voiceagent.logs import log_event

log = logging.getLogger(__name__)

PJSIP_MAX_PKT_LEN = 4000  # the wheel's build (pjsip default); checked by self_test
GATE_PRIORITY = 10  # PJSIP_MOD_PRIORITY_TRANSPORT_LAYER (8) < gate < TSX_LAYER (16)
COMPACT = {"i": "call-id", "t": "to", "f": "from", "v": "via", "m": "contact", "l":
           "content-length", "c": "content-type"}


class GateError(RuntimeError):
    """The gate cannot be installed on this pjsua2 build; the message says what to do."""


# ----------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class SipRequest:
    """What the gate knows of one incoming request."""

    method: str
    source: str  # IP address the datagram came from
    port: int
    call_id: str
    to_tag: bool  # a To tag: the request belongs to a dialog
    headers: dict[str, str] = field(default_factory=dict)  # first value of each, lower-case

    @property
    def in_dialog(self) -> bool:
        return self.to_tag

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_request(raw: bytes, source: str, port: int) -> SipRequest | None:
    """The method and headers of a raw SIP request (None for a response or garbage)."""
    text = raw.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n") if "\r\n" in head else head.split("\n")
    if not lines:
        return None
    first = lines[0].split(" ")
    if len(first) < 3 or not first[2].startswith("SIP/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = COMPACT.get(key, key)
        headers.setdefault(key, value.strip())
    to = headers.get("to", "")
    return SipRequest(
        method=first[0].upper(), source=source, port=port,
        call_id=headers.get("call-id", ""), to_tag=";tag=" in to.replace(" ", "").lower(),
        headers=headers,
    )


class Action(Enum):
    PASS = "pass"  # on to pjsua
    DROP = "drop"  # nothing is sent back
    RESPOND = "respond"  # a stateless final response


@dataclass(frozen=True)
class Verdict:
    action: Action
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    reason: str = ""

    @staticmethod
    def passed() -> Verdict:
        return Verdict(Action.PASS)

    @staticmethod
    def drop(reason: str) -> Verdict:
        return Verdict(Action.DROP, reason=reason)

    @staticmethod
    def respond(status: int, reason: str, *headers: tuple[str, str]) -> Verdict:
        return Verdict(Action.RESPOND, status, tuple(headers), reason)


Decide = Callable[[SipRequest], Verdict]


# ----------------------------------------------------------------------------- pjsip structs
class _PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("slen", ctypes.c_ssize_t)]


class _OpKey(ctypes.Structure):  # pjsip_rx_data_op_key: pj_ioqueue_op_key_t + rdata
    _fields_ = [("internal", ctypes.c_void_p * 32), ("activesock_data", ctypes.c_void_p),
                ("user_data", ctypes.c_void_p), ("rdata", ctypes.c_void_p)]


class _In6(ctypes.Union):  # 4-byte aligned in this build (measured by the probe)
    _fields_ = [("s6", ctypes.c_uint8 * 16), ("u32", ctypes.c_uint32 * 4)]


class _SockaddrIn6(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint16), ("port", ctypes.c_uint16),
                ("flowinfo", ctypes.c_uint32), ("addr", _In6), ("scope_id", ctypes.c_uint32)]


class _Sockaddr(ctypes.Union):
    _fields_ = [("addr", ctypes.c_uint16 * 8), ("ipv6", _SockaddrIn6)]


class _TpInfo(ctypes.Structure):
    _fields_ = [("pool", ctypes.c_void_p), ("transport", ctypes.c_void_p),
                ("tp_data", ctypes.c_void_p), ("op_key", _OpKey)]


class _PktInfo(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_msec", ctypes.c_long),
                ("packet", ctypes.c_char * PJSIP_MAX_PKT_LEN), ("zero", ctypes.c_uint32),
                ("len", ctypes.c_ssize_t), ("src_addr", _Sockaddr),
                ("src_addr_len", ctypes.c_int), ("src_name", ctypes.c_char * 46),
                ("src_port", ctypes.c_int)]


class _MsgInfo(ctypes.Structure):
    _fields_ = [("msg_buf", ctypes.c_void_p), ("len", ctypes.c_int), ("msg", ctypes.c_void_p)]


class _RxData(ctypes.Structure):
    _fields_ = [("tp_info", _TpInfo), ("pkt_info", _PktInfo), ("msg_info", _MsgInfo)]


class _Hdr(ctypes.Structure):  # only a list head: prev, next, then unused fields
    _fields_ = [("prev", ctypes.c_void_p), ("next", ctypes.c_void_p), ("type", ctypes.c_int),
                ("name", _PjStr), ("sname", _PjStr), ("vptr", ctypes.c_void_p)]


_ON_RX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _Module(ctypes.Structure):
    _fields_ = [("prev", ctypes.c_void_p), ("next", ctypes.c_void_p), ("name", _PjStr),
                ("id", ctypes.c_int), ("priority", ctypes.c_int),
                ("load", ctypes.c_void_p), ("start", ctypes.c_void_p),
                ("stop", ctypes.c_void_p), ("unload", ctypes.c_void_p),
                ("on_rx_request", _ON_RX), ("on_rx_response", ctypes.c_void_p),
                ("on_tx_request", ctypes.c_void_p), ("on_tx_response", ctypes.c_void_p),
                ("on_tsx_state", ctypes.c_void_p)]


def _library() -> ctypes.CDLL:
    path = Path(pj.__file__).parent
    candidates = sorted(path.glob("_pjsua2*.so")) or sorted(path.parent.glob("_pjsua2*.so"))
    if not candidates:
        raise GateError("cannot find pjsua2's shared library next to the pjsua2 package")
    lib = ctypes.CDLL(str(candidates[0]))
    lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
    lib.pjsip_endpt_register_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsip_endpt_unregister_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsip_endpt_respond_stateless.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p]
    lib.pjsip_generic_string_hdr_create.restype = ctypes.c_void_p
    lib.pjsip_generic_string_hdr_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                    ctypes.c_void_p]
    lib.pj_list_insert_before.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.pjsua_call_get_count.restype = ctypes.c_uint
    lib.pjsua_call_get_max_count.restype = ctypes.c_uint
    return lib


def _pj_str(value: bytes) -> tuple[_PjStr, ctypes.Array[ctypes.c_char]]:
    buffer = ctypes.create_string_buffer(value, len(value))
    return _PjStr(ctypes.cast(buffer, ctypes.c_void_p).value, len(value)), buffer


@dataclass
class GateStats:
    passed: int = 0
    dropped: int = 0
    responded: int = 0
    errors: int = 0


class RequestGate:
    """The pjsip module. ``install`` after ``libInit``; every request then goes through
    ``decide`` on the thread that polls pjsip (the SIP thread)."""

    def __init__(self, decide: Decide) -> None:
        self.decide = decide
        self.stats = GateStats()
        self._lib = _library()
        self._callback = _ON_RX(self._on_rx_request)  # kept: pjsip holds the pointer
        self._name = ctypes.create_string_buffer(b"mod-voiceagent-gate")
        self._module = _Module()
        self._module.name = _PjStr(ctypes.cast(self._name, ctypes.c_void_p).value, 19)
        self._module.id = -1
        self._module.priority = GATE_PRIORITY
        self._module.on_rx_request = self._callback
        self._installed = False
        self._probe: tuple[str, int, bytes] | None = None
        self._probe_seen = threading.Event()
        self._probe_ok = False

    def install(self) -> None:
        endpt = self._lib.pjsua_get_pjsip_endpt()
        status = self._lib.pjsip_endpt_register_module(endpt, ctypes.byref(self._module))
        if status != 0:
            raise GateError(f"pjsip refused the request gate module (status {status})")
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            endpt = self._lib.pjsua_get_pjsip_endpt()
            if endpt:
                self._lib.pjsip_endpt_unregister_module(endpt, ctypes.byref(self._module))
            self._installed = False

    def call_slots(self) -> int:
        """The calls pjsua really holds: maxCalls clamped to the build's PJSUA_MAX_CALLS."""
        return int(self._lib.pjsua_call_get_max_count())

    def pjsua_calls(self) -> int:
        """Call slots pjsua holds now (callers, staff legs, calls being torn down)."""
        return int(self._lib.pjsua_call_get_count())

    # -- the layout check --------------------------------------------------------------
    def start_probe(self, host: str, port: int) -> socket.socket:
        """Send an OPTIONS with a known Call-ID from a fresh socket to ``host:port``."""
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_DGRAM)
        sock.bind((host, 0))
        local_port = sock.getsockname()[1]
        call_id = f"gate-probe-{time.monotonic_ns()}".encode()
        self._probe = (host, local_port, call_id)
        shown = f"[{host}]" if ":" in host else host
        message = (
            f"OPTIONS sip:probe@{shown}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {shown}:{local_port};branch=z9hG4bK{time.monotonic_ns()}\r\n"
            f"From: <sip:probe@{shown}>;tag=probe\r\nTo: <sip:probe@{shown}>\r\n"
            f"Call-ID: {call_id.decode()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        sock.sendto(message, (host, port))
        return sock

    def probe_result(self) -> bool | None:
        """True: the layout matched; False: it did not; None: the probe has not arrived."""
        if not self._probe_seen.is_set():
            return None
        return self._probe_ok

    def _check_probe(self, rx: _RxData) -> bool:
        assert self._probe is not None
        host, port, call_id = self._probe
        buf = rx.msg_info.msg_buf
        size = rx.msg_info.len
        if not buf or not 0 < size <= PJSIP_MAX_PKT_LEN:
            return False
        raw = ctypes.string_at(buf, size)
        if call_id not in raw:
            return False  # not the probe (or the layout is off: it never matches then)
        self._probe_ok = (rx.pkt_info.src_name.decode(errors="replace") == host
                          and rx.pkt_info.src_port == port
                          and raw.startswith(b"OPTIONS "))
        self._probe_seen.set()
        return True

    # -- the callback ---------------------------------------------------------------------
    def _on_rx_request(self, rdata: int) -> int:
        try:
            rx = _RxData.from_address(rdata)
            if self._probe is not None and not self._probe_seen.is_set():
                if self._check_probe(rx):
                    return 1  # the probe is ours: consumed, no answer
            if not self._probe_ok:
                self.stats.dropped += 1
                return 1  # until the layout is known good, nothing reaches pjsua
            size = rx.msg_info.len
            if not 0 < size <= PJSIP_MAX_PKT_LEN:
                self.stats.dropped += 1
                return 1
            raw = ctypes.string_at(rx.msg_info.msg_buf, size)
            source = rx.pkt_info.src_name.decode(errors="replace")
            request = parse_request(raw, source, rx.pkt_info.src_port)
            if request is None:
                self.stats.dropped += 1
                return 1
            verdict = self.decide(request)
            if verdict.action is Action.PASS:
                self.stats.passed += 1
                return 0
            if verdict.action is Action.RESPOND and request.method != "ACK":
                self._respond(rdata, rx, verdict)
                self.stats.responded += 1
            else:
                self.stats.dropped += 1
            return 1
        except Exception:  # never let an exception reach pjsip's thread
            self.stats.errors += 1
            if self.stats.errors in (1, 100, 10000):
                log_event(log, "sip.gate_error", logging.ERROR, count=self.stats.errors,
                          exc_info=True)
            return 1  # fail closed: the request is dropped

    def _respond(self, rdata: int, rx: _RxData, verdict: Verdict) -> None:
        endpt = self._lib.pjsua_get_pjsip_endpt()
        head = _Hdr()
        head.prev = head.next = ctypes.addressof(head)
        keep: list[object] = []
        for name, value in verdict.headers:
            hname, b1 = _pj_str(name.encode())
            hvalue, b2 = _pj_str(value.encode())
            keep += [hname, hvalue, b1, b2]
            hdr = self._lib.pjsip_generic_string_hdr_create(
                rx.tp_info.pool, ctypes.byref(hname), ctypes.byref(hvalue))
            if hdr:
                self._lib.pj_list_insert_before(ctypes.byref(head), hdr)
        self._lib.pjsip_endpt_respond_stateless(
            endpt, rdata, verdict.status, None,
            ctypes.byref(head) if verdict.headers else None, None)
