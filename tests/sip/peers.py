"""Real SIP peers for the SIP tests: baresip (driven over ctrl_tcp), sipp and kamailio.

Every peer runs on 127.0.0.1 with fixed ports from 25060 up, writes its files into a tmp
folder, and is killed by ``close()`` (the fixtures call it even when a test fails).
"""

from __future__ import annotations

import ctypes
import json
import shutil
import signal
import socket
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceagent.bench.baresip_ctrl import NetstringReader, encode_command

BARESIP_MODULES = Path("/usr/lib/baresip/modules")


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise RuntimeError(f"{binary} is not installed: apt-get install the Debian package")
    return path


def speak_wav(text: str, path: Path, rate: int, lead_s: float = 0.3, tail_s: float = 0.6) -> Path:
    """espeak-ng speech as a mono PCM16 WAV at ``rate``, with silence before and after
    (a caller's tail keeps baresip's aufile, which ends the call at end of file, listening)."""
    raw = path.with_suffix(".espeak.wav")
    subprocess.run([need("espeak-ng"), "-s", "150", "-w", str(raw), text], check=True,
                   capture_output=True, timeout=60)
    subprocess.run([need("sox"), str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path),
                    "pad", str(lead_s), str(tail_s)], check=True, capture_output=True, timeout=60)
    raw.unlink()
    return path


def read_pcm(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()


def voiced_seconds(path: Path, threshold: float = 300.0) -> float:
    """Seconds of 20 ms frames louder than ``threshold`` RMS in a WAV."""
    pcm, rate = read_pcm(path)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    frame = rate // 50
    count = len(samples) // frame
    if count == 0:
        return 0.0
    frames = samples[: count * frame].reshape(count, frame)
    rms = np.sqrt((frames * frames).mean(axis=1))
    return float((rms > threshold).sum()) * 0.02


def wait_port_free(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.1)
    raise RuntimeError(f"udp port {port} stayed busy")


def _die_with_parent() -> None:
    # if the test process crashes, its peers get SIGTERM instead of lingering on the ports
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """A child process whose output goes to a log file; killed on close()."""

    def __init__(self, args: list[str], log_path: Path, cwd: Path | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd,
                                     preexec_fn=_die_with_parent)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@dataclass
class BaresipEvent:
    type: str
    data: dict[str, object]


class Baresip:
    """A baresip user agent with aufile as its microphone and sndfile recording both ways.

    ``source`` is the WAV it plays into a call; after the call, ``received()`` is the WAV
    of what it heard (sndfile's ``-dec`` dump).
    """

    def __init__(self, workdir: Path, sip_port: int, ctrl_port: int, source: Path,
                 user: str = "caller", answermode: str = "manual") -> None:
        need("baresip")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = ctrl_port
        self.sip_port = sip_port
        self.record_dir = workdir / "recorded"
        self.record_dir.mkdir(exist_ok=True)
        modules = ["g711", "g722", "aufile", "sndfile", "aubridge", "ctrl_tcp", "account",
                   "menu"]
        config = [
            f"sip_listen 127.0.0.1:{sip_port}",
            "call_local_timeout 120",
            "call_max_calls 4",
            "audio_buffer 20-160",
            f"audio_source aufile,{source}",
            "audio_player aubridge,nil",
            "audio_alert aubridge,nil",
            f"snd_path {self.record_dir}",
            f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
            f"module_path {BARESIP_MODULES}",
            "rtp_ports 25200-25399",
            "dns_server 127.0.0.1:53",
        ] + [f"module {m}.so" for m in modules]
        (self.dir / "config").write_text("\n".join(config) + "\n")
        (self.dir / "accounts").write_text(
            f"<sip:{user}@127.0.0.1:{sip_port}>;regint=0;answermode={answermode}"
            ";audio_codecs=PCMU,PCMA\n"
        )
        (self.dir / "contacts").write_text("")
        wait_port_free(sip_port)
        self.proc = Process([need("baresip"), "-f", str(self.dir)], self.dir / "baresip.log")
        self.events: list[BaresipEvent] = []
        self._sock = self._connect()
        self._reader = NetstringReader()

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + 15
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                sock.settimeout(0.2)
                return sock
            except OSError:
                if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("baresip did not start:\n" + self.proc.output()) from None
                time.sleep(0.1)

    def command(self, command: str, params: str = "") -> None:
        self._sock.sendall(encode_command(command, params))

    def _read(self) -> None:
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            return
        except OSError:
            return
        for message in self._reader.feed(chunk):
            if message.get("event"):
                self.events.append(BaresipEvent(str(message.get("type")), message))

    def wait_event(self, kind: str, timeout: float) -> BaresipEvent:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event.type == kind:
                    return event
            seen = 0
            self._read()
        types = [e.type for e in self.events]
        raise AssertionError(f"baresip: no {kind} within {timeout}s; events: {types}\n"
                             + self.proc.output()[-3000:])

    def has_event(self, kind: str) -> bool:
        self._read()
        return any(e.type == kind for e in self.events)

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def received(self) -> Path:
        """The WAV of what this peer heard in its last call."""
        dumps = sorted(self.record_dir.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)
        if not dumps:
            raise AssertionError("baresip recorded nothing (sndfile)")
        return dumps[-1]

    def close(self) -> None:
        try:
            self.command("quit")
            self.proc.wait(3)
        except Exception:  # noqa: BLE001 (best effort before the kill)
            pass
        self._sock.close()
        self.proc.close()


class Sipp:
    """One sipp run (client or server), waited for or killed."""

    def __init__(self, workdir: Path, args: list[str], name: str = "sipp") -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = Process([need("sipp"), *args, "-nostdin", "-trace_err",
                             "-error_file", str(workdir / f"{name}-errors.log")],
                            workdir / f"{name}.log", cwd=workdir)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        self.proc.close()


class Kamailio:
    """Kamailio in the foreground from ``sip/kamailio/kamailio.cfg``, moved to loopback ports."""

    def __init__(self, workdir: Path, config: Path, port: int, password: str,
                 nodes: list[int]) -> None:
        need("kamailio")
        workdir.mkdir(parents=True, exist_ok=True)
        dispatcher = workdir / "dispatcher.list"
        dispatcher.write_text("".join(f"1 sip:127.0.0.1:{p}\n" for p in nodes))
        text = config.read_text()
        for old, new in (
            ("listen=udp:127.0.0.1:5060", f"listen=udp:127.0.0.1:{port}"),
            ("!AGENT_PASSWORD!change-me!g", f"!AGENT_PASSWORD!{password}!g"),
            ("!DISPATCHER_LIST!/etc/kamailio/dispatcher.list!g",
             f"!DISPATCHER_LIST!{dispatcher}!g"),
        ):
            assert old in text, f"{config} no longer has {old!r}"
            text = text.replace(old, new)
        cfg = workdir / "kamailio.cfg"
        cfg.write_text(text)
        wait_port_free(port)
        self.proc = Process([need("kamailio"), "-f", str(cfg), "-DD", "-E", "-m", "32",
                             "-M", "8", "-Y", str(workdir), "-P", str(workdir / "k.pid")],
                            workdir / "kamailio.log")
        deadline = time.monotonic() + 15
        while "kamailio" not in self.proc.output().lower() or not self._listening(port):
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kamailio did not start:\n" + self.proc.output()[-3000:])
            time.sleep(0.1)

    @staticmethod
    def _listening(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return True
        return False

    def close(self) -> None:
        self.proc.close()


class AgentProcess:
    """A separate agent process (``voiceagent.channels.sip.linecheck``): pjsua allows one
    endpoint per process, so a multi-node test runs several."""

    def __init__(self, workdir: Path, python: str, port: int, rtp_port: int, greeting: Path,
                 reply: Path, max_calls: int = 4, grace_s: float = 2.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.records_path = workdir / "records.jsonl"
        wait_port_free(port)
        self.proc = Process([python, "-m", "voiceagent.channels.sip.linecheck", "--port",
                             str(port), "--rtp-port", str(rtp_port), "--max-calls",
                             str(max_calls), "--greeting", str(greeting), "--reply", str(reply),
                             "--records", str(self.records_path), "--grace", str(grace_s)],
                            workdir / "agent.log")
        deadline = time.monotonic() + 30
        while "ready sip=" not in self.proc.output():
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("agent process did not start:\n" + self.proc.output()[-3000:])
            time.sleep(0.1)

    def records(self) -> list[dict[str, object]]:
        if not self.records_path.exists():
            return []
        lines = self.records_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.proc.output():
            if time.monotonic() > deadline:
                raise AssertionError(f"agent never logged {text!r}:\n{self.proc.output()[-2000:]}")
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.proc.poll() is None:
            self.proc.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.proc.close()


class RawSip:
    """A bare UDP SIP client: sends hand-written requests and collects whatever comes back
    (the flood, reflection and malformed-request tests need no real user agent)."""

    def __init__(self, source_ip: str, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source_ip, port))
        self.sock.settimeout(0.05)
        self.ip, self.port = self.sock.getsockname()
        self.received: list[bytes] = []

    def request(self, method: str, target: tuple[str, int], call_id: str,
                contact: str | None = None, sdp: bool = True, to_tag: str = "",
                extra: str = "", send: bool = True) -> bytes:
        host, port = target
        body = ""
        if method == "INVITE" and sdp:
            body = (f"v=0\r\no=- 1 1 IN IP4 {self.ip}\r\ns=-\r\nc=IN IP4 {self.ip}\r\n"
                    "t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        headers = [
            f"{method} sip:agent@{host}:{port} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch=z9hG4bK-{call_id}-{method}",
            f"From: <sip:raw@{self.ip}>;tag=raw-{call_id}",
            f"To: <sip:agent@{host}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id}",
            f"CSeq: 1 {method}",
            f"Contact: <{contact or f'sip:raw@{self.ip}:{self.port}'}>",
            "Max-Forwards: 70",
        ]
        if method == "SUBSCRIBE":
            headers += ["Event: presence", "Expires: 600"]
        if body:
            headers.append("Content-Type: application/sdp")
        if extra:
            headers.append(extra)
        headers.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        if send:
            self.sock.sendto(message, target)
        return message

    def send_raw(self, data: bytes, target: tuple[str, int]) -> None:
        self.sock.sendto(data, target)

    def collect(self, seconds: float) -> list[bytes]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.received.append(self.sock.recv(65536))
            except TimeoutError:
                continue
        return self.received

    def statuses(self) -> list[int]:
        return [int(m.split(b" ", 2)[1]) for m in self.received if m.startswith(b"SIP/2.0 ")]

    def close(self) -> None:
        self.sock.close()
