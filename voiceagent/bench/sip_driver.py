"""Calls over SIP on loopback: a real phone (baresip) calls the agent's SIP endpoint.

The agent side is the product's own ``SipEndpoint`` with the speech handler, in this
process, on free loopback ports. The caller is baresip: ``aufile`` plays the clip (8 kHz,
PCMU) as its microphone and ``sndfile`` records what it sent and what it heard. Each clip is
one call: the agent's short greeting, the caller's turn, and a hang-up once the answer's
first content audio has reached the phone.

Three views of each turn's latency end up in the sample: the agent's own trace (the same
stages as in process), ``media_port_reply`` (end of caller speech to first agent audio at
the agent's media port, measured by the endpoint) and ``peer_first_audio`` (end of caller
speech as sent by the phone to the first agent audio the phone heard, from baresip's
recordings: the wire, both jitter buffers and the codec included).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceagent.audio.resample import resample
from voiceagent.audio.wavfile import write_wav
from voiceagent.bench.baresip_ctrl import NetstringReader, encode_command
from voiceagent.bench.config import BenchConfig
from voiceagent.bench.corpus import TEL_RATE, Clip, load_clip_audio
from voiceagent.bench.dialogs import load_dialog_factory, short_greeting
from voiceagent.bench.samples import TurnSample, stages_from_trace
from voiceagent.config.pipeline import PipelineConfig

BARESIP_MODULES = Path("/usr/lib/baresip/modules")
LEAD_S = 1.5  # silence before the clip: the greeting plays meanwhile
TAIL_S = 8.0  # silence after the clip: room for the answer before baresip's file ends
ANSWER_LIMIT_S = 40.0
VOICED_RMS = 300.0


class SipUnavailable(RuntimeError):
    """The SIP path cannot run here; the message says what is missing."""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_range(count: int, start: int = 30000, stop: int = 60000) -> int:
    """First port of ``count`` consecutive free UDP ports (RTP and RTCP pairs)."""
    for base in range(start, stop, count):
        taken = False
        for port in range(base, base + count):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return base
    raise SipUnavailable("no free UDP port range on 127.0.0.1 for RTP")


class BaresipPhone:
    """baresip driven over ctrl_tcp (netstring JSON), one call at a time."""

    def __init__(self, workdir: Path, source: Path) -> None:
        binary = shutil.which("baresip")
        if binary is None:
            raise SipUnavailable("baresip is not installed: apt-get install baresip-core")
        if not (BARESIP_MODULES / "aufile.so").exists():
            raise SipUnavailable(f"baresip modules not found in {BARESIP_MODULES}")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.record_dir = workdir / "recorded"
        self.record_dir.mkdir(exist_ok=True)
        self.sip_port = free_udp_port()
        self.ctrl_port = free_tcp_port()
        rtp = free_udp_range(40)
        modules = ["g711", "aufile", "sndfile", "aubridge", "ctrl_tcp", "account", "menu"]
        config = [
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "call_local_timeout 120",
            "call_max_calls 4",
            "audio_buffer 20-160",
            f"audio_source aufile,{source}",
            "audio_player aubridge,nil",
            "audio_alert aubridge,nil",
            f"snd_path {self.record_dir}",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
            f"module_path {BARESIP_MODULES}",
            f"rtp_ports {rtp}-{rtp + 39}",
            "dns_server 127.0.0.1:53",
        ] + [f"module {m}.so" for m in modules]
        (self.dir / "config").write_text("\n".join(config) + "\n")
        (self.dir / "accounts").write_text(
            f"<sip:bench@127.0.0.1:{self.sip_port}>;regint=0;audio_codecs=PCMU\n"
        )
        (self.dir / "contacts").write_text("")
        self._log = open(self.dir / "baresip.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [binary, "-f", str(self.dir)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.events: list[dict[str, Any]] = []
        self._reader = NetstringReader()
        self._sock = self._connect()

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + 15
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                sock.settimeout(0.1)
                return sock
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise SipUnavailable(
                        f"baresip did not start; see {self.dir / 'baresip.log'}"
                    ) from None
                time.sleep(0.1)

    def command(self, command: str, params: str = "") -> None:
        self._sock.sendall(encode_command(command, params))

    def _read(self) -> None:
        try:
            chunk = self._sock.recv(65536)
        except OSError:
            return
        for message in self._reader.feed(chunk):
            if message.get("event"):
                self.events.append(message)

    def wait_event(self, kind: str, timeout: float, since: int = 0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("type") == kind for e in self.events[since:]):
                return True
            self._read()
        return False

    def dumps(self) -> tuple[Path, Path] | None:
        """(sent, heard) WAVs of the last call, from sndfile."""
        enc = sorted(self.record_dir.glob("dump-*-enc.wav"), key=lambda p: p.stat().st_mtime)
        dec = sorted(self.record_dir.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)
        return (enc[-1], dec[-1]) if enc and dec else None

    def close(self) -> None:
        try:
            self.command("quit")
            self.proc.wait(3)
        except Exception:  # noqa: BLE001 - best effort before the kill
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if hasattr(self, "_sock"):
            self._sock.close()
        self._log.close()


def _voiced(path: Path) -> tuple[np.ndarray, float]:
    """Per-20 ms-frame voiced flags of a WAV, and the frame length in ms."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
    frame = rate // 50
    count = data.size // frame
    if count == 0:
        return np.zeros(0, bool), 20.0
    frames = data[: count * frame].reshape(count, frame)
    return np.sqrt((frames * frames).mean(axis=1)) > VOICED_RMS, 20.0


def peer_first_audio_ms(sent: Path, heard: Path) -> float | None:
    """End of the caller's speech in what the phone sent to the first agent audio it heard
    after it (both recordings start with the call's audio stream)."""
    out, frame_ms = _voiced(sent)
    inp, _ = _voiced(heard)
    if not out.any():
        return None
    speech_end = (int(np.flatnonzero(out)[-1]) + 1) * frame_ms
    after = np.flatnonzero(inp[int(speech_end / frame_ms) :])
    if after.size == 0:
        return None
    return float(after[0] * frame_ms)


def caller_wav(clip: Clip, path: Path) -> Path:
    """The clip at 8 kHz with room for the greeting before and the answer after."""
    audio = load_clip_audio(clip, clip.rate)
    if clip.rate != TEL_RATE:
        audio = resample(audio, clip.rate, TEL_RATE)
    lead = np.zeros(int(LEAD_S * TEL_RATE), np.int16)
    tail = np.zeros(int(TAIL_S * TEL_RATE), np.int16)
    write_wav(path, np.concatenate([lead, audio, tail]), TEL_RATE)
    return path


def run_sip_calls(
    config: PipelineConfig,
    resources: Any,
    bench: BenchConfig,
    clips: Sequence[Clip],
    combo: str,
    workdir: Path,
    tick: Callable[[], None] | None = None,
) -> list[TurnSample]:
    """One SIP call per clip between baresip and the agent's endpoint; one sample each."""
    if bench.sip.peer != "baresip":
        raise SipUnavailable(
            f"sip.peer {bench.sip.peer!r}: only baresip drives speech calls "
            "in the benchmark (sipp scenarios play no prepared speech)"
        )
    try:
        from voiceagent.channels.sip import SipEndpoint, SipOptions
        from voiceagent.channels.sip.speech_handler import speech_handler_factory
    except ImportError as err:
        raise SipUnavailable(f"the SIP channel cannot be imported ({err})") from err
    from voiceagent.speech.memory_log import MemoryCallLog

    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VOICEAGENT_PJSUA_LOG_LEVEL", "0")  # keep the progress bar readable
    port = free_udp_port()
    sip = config.sip.model_copy(
        update={
            "bind": "127.0.0.1",
            "port": port,
            "mode": "allowlist",
            "allowlist": ["127.0.0.1/32"],
            "record_calls": False,
            "codecs": ["PCMU"],
        }
    )
    config = config.model_copy(update={"sip": sip, "data_dir": workdir / "data"})
    dialog_factory = load_dialog_factory(bench.dialog)
    call_log = MemoryCallLog()
    handlers: list[Any] = []
    records: list[Any] = []
    factory = speech_handler_factory(
        resources,
        lambda: short_greeting(dialog_factory(config, resources)),
        call_log,
        config,
        on_handler=handlers.append,
    )
    endpoint = SipEndpoint(
        config,
        factory,
        SipOptions(rtp_port=free_udp_range(100), rtp_port_range=100, on_call_ended=records.append),
    )
    try:
        endpoint.start()
    except Exception as err:  # noqa: BLE001 - any start failure means no SIP figures
        raise SipUnavailable(f"the SIP endpoint did not start ({err})") from err
    samples: list[TurnSample] = []
    try:
        for index, clip in enumerate(clips):
            source = caller_wav(clip, workdir / f"caller-{index}.wav")
            phone = BaresipPhone(workdir / f"phone-{index}", source)
            try:
                sample = _one_call(phone, port, handlers, records, clip, combo, index)
            finally:
                phone.close()
            if sample is not None:
                samples.append(sample)
            if tick:
                tick()
    finally:
        endpoint.stop(grace_s=1.0)
    return samples


def _one_call(
    phone: BaresipPhone,
    port: int,
    handlers: list[Any],
    records: list[Any],
    clip: Clip,
    combo: str,
    index: int,
) -> TurnSample | None:
    handlers_before, records_before = len(handlers), len(records)
    phone.command("dial", f"sip:agent@127.0.0.1:{port}")
    if not phone.wait_event("CALL_ESTABLISHED", 20):
        return None
    deadline = time.monotonic() + ANSWER_LIMIT_S + LEAD_S + clip.duration_s
    traces: list[Any] = []
    while time.monotonic() < deadline:
        if len(handlers) > handlers_before:
            traces = handlers[-1].session.turn_traces
            if traces and traces[-1].first_audio_out is not None:
                break
        if any(e.get("type") == "CALL_CLOSED" for e in phone.events):
            break
        phone._read()
    time.sleep(1.0)  # let the first answer audio reach the phone's recording
    phone.command("hangup")
    phone.wait_event("CALL_CLOSED", 10)
    end = time.monotonic() + 10
    while len(records) <= records_before and time.monotonic() < end:
        time.sleep(0.05)
    if not traces:
        return None
    trace = traces[-1].as_dict()
    stages = stages_from_trace(trace)
    record = records[-1] if len(records) > records_before else None
    if record is not None and record.reply_latency_s:
        stages["media_port_first_audio"] = 1000.0 * record.reply_latency_s[-1]
    dumps = phone.dumps()
    if dumps is not None:
        wire = peer_first_audio_ms(*dumps)
        if wire is not None:
            stages["peer_first_audio"] = wire
    extra: dict[str, float] = {"turns_detected": float(len(traces))}
    session = handlers[-1].session
    call = (
        session.call_log.calls.get(session.call_id) if hasattr(session.call_log, "calls") else None
    )
    transcript = " ".join(t.text for t in call.turns if t.role == "caller") if call else None
    return TurnSample(
        combo=combo,
        path="sip",
        clip=clip.id,
        voice=clip.voice,
        band="tel",
        speech_s=clip.speech_s,
        stages=stages,
        call=index,
        transcript=transcript,
        extra=extra,
    )


__all__ = ["BaresipPhone", "SipUnavailable", "peer_first_audio_ms", "run_sip_calls"]
