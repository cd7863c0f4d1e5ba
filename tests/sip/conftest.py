"""Fixtures for the SIP tests: an in-process agent endpoint and real peers on loopback.

Fixed ports (25060+): agent SIP 25060 (nodes 25061-25063), agent RTP 25400-25499 (nodes
25500+), baresip caller 25070 (TLS 25071, ctrl 25080), baresip staff 25074 (ctrl 25081), sipp
25090-25092 (RTP 25300+), kamailio 25100.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fast_models import FAST_LLM_MODELS
from tests.sip.peers import Sipp, read_pcm, speak_wav
from voiceagent.channels.sip import CallControl, CallInfo, SipEndpoint, SipOptions
from voiceagent.channels.sip.handler import CallRecord
from voiceagent.channels.sip.wav_handler import WavReplyHandler
from voiceagent.config.pipeline import PipelineConfig

AGENT_PORT = 25060
AGENT_RTP = 25400
CALLER_SIP, CALLER_CTRL = 25070, 25080
STAFF_SIP, STAFF_CTRL = 25074, 25081
SIPP_PORT, SIPP_STAFF_PORT = 25090, 25092
KAMAILIO_PORT = 25100
RATE = 16000
SCENARIOS = Path(__file__).parent / "scenarios"


def require(*binaries: str) -> None:
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        pytest.fail(f"missing {missing}: apt-get install baresip-core sip-tester kamailio "
                    "espeak-ng sox")


@dataclass
class Agent:
    endpoint: SipEndpoint
    handlers: list[WavReplyHandler] = field(default_factory=list)

    @property
    def records(self) -> list[CallRecord]:
        return list(self.endpoint.records)

    def wait_records(self, count: int, timeout: float = 20.0) -> list[CallRecord]:
        """Wait until ``count`` calls have ended; return their records."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = [r for r in self.records if r.ended_at is not None]
            if len(ended) >= count:
                return ended
            time.sleep(0.1)
        raise AssertionError(f"only {len(self.records)} records, "
                             f"{[r.outcome for r in self.records]}, wanted {count} ended")

    def wait_handlers(self, count: int, timeout: float = 20.0) -> list[WavReplyHandler]:
        deadline = time.monotonic() + timeout
        while len(self.handlers) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.handlers) >= count, f"{len(self.handlers)} calls answered"
        return self.handlers


@dataclass
class Voice:
    """espeak-ng prompts for the WAV handler and the callers (generated per test session)."""

    dir: Path
    greeting: bytes
    reply: bytes
    take_message: bytes
    summary: bytes

    def caller_wav(self, text: str, name: str, rate: int = 8000, tail_s: float = 6.0) -> Path:
        return speak_wav(text, self.dir / f"{name}.wav", rate, tail_s=tail_s)


@pytest.fixture(scope="session")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Voice:
    require("espeak-ng", "sox")
    d = tmp_path_factory.mktemp("voice")

    def pcm(text: str, name: str) -> bytes:
        return read_pcm(speak_wav(text, d / f"{name}.wav", RATE, 0.1, 0.2))[0]

    return Voice(
        d,
        greeting=pcm("Hello, you have reached the clinic.", "greeting"),
        reply=pcm("Thank you. Your request is noted.", "reply"),
        take_message=pcm("Nobody is free right now. Please leave a message.", "message"),
        summary=pcm("A caller wants to book a new evaluation.", "summary"),
    )


def sip_config(tmp_path: Path, **sip: Any) -> PipelineConfig:
    values: dict[str, Any] = {"port": AGENT_PORT, "allowlist": ["127.0.0.1/32"], "max_calls": 4}
    values.update(sip)
    return PipelineConfig.model_validate({"data_dir": str(tmp_path / "data"), "sip": values,
                                          "models": FAST_LLM_MODELS})


@pytest.fixture
def start_agent(
    tmp_path: Path, voice: Voice
) -> Iterator[Callable[..., Agent]]:
    started: list[SipEndpoint] = []

    def start(
        options: SipOptions | None = None,
        actions: dict[str, str] | None = None,
        first_turn_action: str | None = None,
        **sip: Any,
    ) -> Agent:
        config = sip_config(tmp_path, **sip)
        options = options or SipOptions()
        options.rtp_port, options.rtp_port_range = AGENT_RTP, 100
        agent: Agent

        def factory(info: CallInfo, control: CallControl) -> WavReplyHandler:
            handler = WavReplyHandler(
                info, control, voice.greeting, voice.reply,
                record_path=tmp_path / f"agent-heard-{len(agent.handlers)}.wav",
                actions=actions, after_transfer_failed=voice.take_message,
                transfer_summary=voice.summary, first_turn_action=first_turn_action,
            )
            agent.handlers.append(handler)
            return handler

        endpoint = SipEndpoint(config, factory, options)
        agent = Agent(endpoint)
        endpoint.start()
        started.append(endpoint)
        return agent

    yield start
    for endpoint in started:
        endpoint.stop(grace_s=1.0)


@pytest.fixture
def peers() -> Iterator[list[Any]]:
    """Append every peer started; they are closed (killed if need be) after the test."""
    running: list[Any] = []
    yield running
    for peer in reversed(running):
        try:
            peer.close()
        except Exception:  # noqa: BLE001 (keep closing the others)
            pass


def sipp(tmp_path: Path, peers: list[Any], scenario: str, *args: str, port: int = SIPP_PORT,
         name: str = "sipp", source_ip: str = "127.0.0.1", target_port: int = AGENT_PORT,
         service: str = "agent", expect: int | None = None) -> Sipp:
    """Start sipp with a scenario from scenarios/ against 127.0.0.1:``target_port``;
    ``expect`` fills the final status a refusal scenario waits for."""
    require("sipp")
    path = SCENARIOS / scenario
    if expect is not None:  # sipp cannot take a response code from -key
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        filled = tmp_path / name / scenario
        filled.write_text(path.read_text().replace("[expect]", str(expect)))
        path = filled
    run = Sipp(tmp_path / name, [
        f"127.0.0.1:{target_port}", "-sf", str(path), "-s", service,
        "-i", source_ip, "-p", str(port), "-mi", source_ip,
        "-mp", str(25300 + (port - SIPP_PORT) * 10),
        "-timeout", "40s", "-recv_timeout", "20000", *args,
    ], name=name)
    peers.append(run)
    return run


def assert_sipp_ok(run: Sipp, timeout: float = 45) -> None:
    code = run.wait(timeout)
    assert code == 0, f"sipp exit {code}:\n{run.proc.output()[-3000:]}"
