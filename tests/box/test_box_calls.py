"""`voiceagent serve --workers 3` behind Kamailio's dispatcher: twelve spoken calls at once
all answered and recorded; a worker killed mid-call loses only its own calls."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sip.conftest import require, sipp
from tests.sip.peers import Kamailio, Sipp, speak_wav
from voiceagent.clinic.db import open_store
from voiceagent.clinic.models import Call

pytestmark = [pytest.mark.models, pytest.mark.sip, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "sip" / "kamailio" / "kamailio.cfg"
PROXY_PORT, HTTP_PORT, MODEL_PORT, SIPP_PORT = 26060, 28190, 28191, 26070
WORKERS = [26062, 26064, 26066]


@dataclass
class Box:
    proc: subprocess.Popen[bytes]
    log: Path
    db: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pid(self, name: str) -> int:
        return int(re.findall(rf"\[box\] {name} started pid=(\d+)", self.output())[-1])

    def calls(self) -> list[Call]:
        store = open_store(f"sqlite:///{self.db}")
        try:
            with store.transaction() as session:
                calls = session.query(Call).filter(Call.channel == "sip").all()
                for call in calls:
                    _ = call.turns  # loaded before the session closes
                    session.expunge(call)
                return calls
        finally:
            store.dispose()

    def wait_calls(self, test: object, timeout: float, what: str) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls()
            if test(calls):  # type: ignore[operator]
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: {[(c.outcome, len(c.turns)) for c in calls]}\n"
                                     + self.output()[-4000:])
            time.sleep(0.5)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    require("kamailio", "sipp")
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n"
        f"models: {{server: 'http://127.0.0.1:{MODEL_PORT}'}}\n"
        f"sip: {{port: {PROXY_PORT}, rtp_port: 26200, shutdown_grace_s: 5}}\n"
        f"http: {{port: {HTTP_PORT}}}\n"
    )
    log = tmp_path / "box.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voiceagent", "--config", str(config), "serve",
             "--workers", str(len(WORKERS))],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    running = Box(proc, log, tmp_path / "data" / "voiceagent.db")
    try:
        deadline = time.monotonic() + 300
        while "voiceagent box is up" not in running.output():
            assert proc.poll() is None, f"the box exited:\n{running.output()[-4000:]}"
            assert time.monotonic() < deadline, "the box did not come up in 300 s"
            time.sleep(0.5)
        yield running
    finally:
        running.stop()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Kamailio]:
    kamailio = Kamailio(tmp_path / "kamailio", CONFIG, PROXY_PORT, "unused-secret", WORKERS)
    yield kamailio
    kamailio.close()


@pytest.fixture
def caller(tmp_path: Path) -> Path:
    """A caller's request as u-law at 8 kHz (what sipp streams), from espeak-ng."""
    pcm = speak_wav("Hi, I would like to book an evaluation for my knee.",
                    tmp_path / "caller-pcm.wav", 8000, lead_s=1.0, tail_s=1.0)
    ulaw = tmp_path / "caller.wav"
    subprocess.run(["sox", str(pcm), "-e", "u-law", str(ulaw)], check=True, timeout=60)
    return ulaw


def spoken_calls(tmp_path: Path, peers: list, caller: Path, count: int, hold_ms: int,
                 name: str, port: int) -> Sipp:
    scenario = tmp_path / f"{name}.xml"  # sipp reads rtp_stream's file before any -key
    scenario.write_text((ROOT / "tests" / "sip" / "scenarios" / "uac_speak.xml").read_text()
                        .replace("[speech]", str(caller)))
    return sipp(tmp_path, peers, str(scenario), "-m", str(count), "-l", str(count),
                "-r", str(count), "-d", str(hold_ms),
                "-mp", str(27000 + (port - SIPP_PORT) * 500),  # [auto_media_port] from here
                "-timeout", "120s", target_port=PROXY_PORT, service="clinic", port=port,
                name=name)


def test_twelve_simultaneous_spoken_calls_through_kamailio_are_all_answered_and_recorded(
    box: Box, proxy: Kamailio, caller: Path, tmp_path: Path
) -> None:
    peers: list = []
    try:
        run = spoken_calls(tmp_path, peers, caller, 12, 45000, "sipp", SIPP_PORT)
        code = run.wait(150)
        assert code == 0, f"sipp exit {code}:\n{run.proc.output()[-3000:]}"
    finally:
        for peer in peers:
            peer.close()
    calls = box.wait_calls(lambda cs: len(cs) == 12 and all(c.outcome for c in cs), 60,
                           "twelve calls closed")
    # each ended as a call ends: the caller hung up, or went quiet after the agent's reply
    assert {c.outcome for c in calls} <= {"caller_hangup", "silence"}
    for call in calls:
        said = [t.text for t in call.turns if t.role in ("caller", "user")]
        answered = [t.text for t in call.turns if t.role not in ("caller", "user")]
        assert said and answered, [(t.role, len(t.text)) for t in call.turns]
    assert box.stop() == 0


def test_a_worker_killed_mid_call_loses_only_its_calls_and_the_next_calls_go_elsewhere(
    box: Box, proxy: Kamailio, caller: Path, tmp_path: Path
) -> None:
    peers: list = []
    try:
        first = spoken_calls(tmp_path, peers, caller, 6, 30000, "first", SIPP_PORT)
        box.wait_calls(lambda cs: len(cs) == 6, 60, "six calls answered")
        os.kill(box.worker_pid("worker1"), signal.SIGKILL)
        time.sleep(1.5)  # the dispatcher's probe finds it gone
        after = spoken_calls(tmp_path, peers, caller, 3, 5000, "after", SIPP_PORT + 1)
        assert after.wait(120) == 0, after.proc.output()[-3000:]
        first.wait(150)  # its calls on the dead worker fail: sipp's exit says so
    finally:
        for peer in peers:
            peer.close()
    calls = box.wait_calls(lambda cs: len(cs) == 9 and all(c.outcome for c in cs), 90,
                           "nine calls closed")
    crashed = [c for c in calls if c.outcome == "agent_crashed"]
    assert len(crashed) == 2, "the dead worker's two calls, closed by its successor"
    assert all(c.outcome in ("caller_hangup", "silence") for c in calls if c not in crashed)
    assert "[box] worker1 exited with -9; starting it again" in box.output()
