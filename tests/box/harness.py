"""A box (`voiceagent serve --workers N`) behind Kamailio, and sipp callers that speak: used by
the box tests and by the concurrency sweep (``scripts/bench_box.py``, ``make bench-box``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.sip.conftest import sipp
from tests.sip.peers import Kamailio, Sipp, speak_wav
from voiceagent.clinic.db import open_store
from voiceagent.clinic.models import Call

ROOT = Path(__file__).resolve().parents[2]
KAMAILIO_CONFIG = ROOT / "sip" / "kamailio" / "kamailio.cfg"
PROXY_PORT, HTTP_PORT, MODEL_PORT, SIPP_PORT = 26060, 28190, 28191, 26070


def worker_ports(workers: int) -> list[int]:
    return [PROXY_PORT + 2 * (i + 1) for i in range(workers)]


@dataclass
class Box:
    proc: subprocess.Popen[bytes]
    log: Path
    db: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pid(self, name: str) -> int:
        return int(re.findall(rf"\[box\] {name} started pid=(\d+)", self.output())[-1])

    def pids(self) -> dict[str, int]:
        """The box's processes by name (the latest start of each)."""
        found = dict(re.findall(r"\[box\] (\S+) started pid=(\d+)", self.output()))
        return {"supervisor": self.proc.pid, **{k: int(v) for k, v in found.items()}}

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

    def wait_calls(self, test: Callable[[list[Call]], bool], timeout: float,
                   what: str) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls()
            if test(calls):
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


def start_box(workdir: Path, workers: int, box_calls: int | None = None) -> Box:
    """`voiceagent serve --workers` on the embedded default models, up and ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "pipeline.yaml"
    config.write_text(
        f"data_dir: {workdir / 'data'}\n"
        f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n"
        f"models: {{server: 'http://127.0.0.1:{MODEL_PORT}'}}\n"
        f"sip: {{port: {PROXY_PORT}, rtp_port: 26200, shutdown_grace_s: 5}}\n"
        f"http: {{port: {HTTP_PORT}}}\n"
    )
    log = workdir / "box.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    extra = ["--box-calls", str(box_calls)] if box_calls else []
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voiceagent", "--config", str(config), "serve",
             "--workers", str(workers), *extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    box = Box(proc, log, workdir / "data" / "voiceagent.db")
    deadline = time.monotonic() + 300
    while "voiceagent box is up" not in box.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            box.stop()
            raise RuntimeError(f"the box did not come up:\n{box.output()[-4000:]}")
        time.sleep(0.5)
    return box


def start_proxy(workdir: Path, workers: int) -> Kamailio:
    return Kamailio(workdir / "kamailio", KAMAILIO_CONFIG, PROXY_PORT, "unused-secret",
                    worker_ports(workers))


def caller_wav(workdir: Path, text: str = "Hi, I would like to book an evaluation for my knee."
               ) -> Path:
    """A caller's request as u-law at 8 kHz (what sipp streams), from espeak-ng."""
    pcm = speak_wav(text, workdir / "caller-pcm.wav", 8000, lead_s=1.0, tail_s=1.0)
    ulaw = workdir / "caller.wav"
    subprocess.run(["sox", str(pcm), "-e", "u-law", str(ulaw)], check=True, timeout=60)
    return ulaw


def spoken_calls(workdir: Path, peers: list, caller: Path, count: int, hold_ms: int,
                 name: str, port: int = SIPP_PORT) -> Sipp:
    """``count`` calls at once to Kamailio's ``clinic``, each saying ``caller`` and staying
    ``hold_ms`` before it hangs up."""
    scenario = workdir / f"{name}.xml"  # sipp reads rtp_stream's file before any -key
    scenario.write_text((ROOT / "tests" / "sip" / "scenarios" / "uac_speak.xml").read_text()
                        .replace("[speech]", str(caller)))
    return sipp(workdir, peers, str(scenario), "-m", str(count), "-l", str(count),
                "-r", str(count), "-d", str(hold_ms),
                "-mp", str(27000 + (port - SIPP_PORT) * 500),  # [auto_media_port] from here
                "-timeout", "120s", target_port=PROXY_PORT, service="clinic", port=port,
                name=name)
