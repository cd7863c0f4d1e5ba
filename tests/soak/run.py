"""``make soak``: the SIP agent under a bounded, mixed load for a while, then an audit.

An agent process (``voiceagent.channels.sip.linecheck``: the real endpoint, gate and call
handling, WAV replies instead of models) takes, from a trunk address it allows:

* normal calls (held ``--hold`` seconds, ended by the caller),
* silent callers who never hang up (the agent ends them at ``endpointing.max_call_s``),
* calls hung up the instant they are answered,

and, from a refused address and the trunk, malformed traffic: garbage datagrams, INVITEs
without SDP that are never ACKed, INVITEs with broken SDP, SUBSCRIBE/MESSAGE/OPTIONS and
short INVITE bursts. A crashed agent is counted and restarted (as systemd would).

At the end the load stops, the agent gets up to 60 s to settle, and the report counts crashes,
calls whose record has no outcome, and SIP legs or sessions left behind; any of those makes
the exit status 1. Usage::

    python -m tests.soak.run --minutes 10 --out soak-report
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import subprocess
import sys
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tests.sip.peers import Process, RawSip, wait_port_free

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "sip" / "scenarios"
AGENT_PORT, AGENT_RTP = 25880, 25600  # RTP: 200 ports from 25600
TRUNK_IP, OUTSIDER_IP = "127.0.0.2", "127.0.0.1"
SIPP_BASE = 25900  # sipp i uses SIP port 25900+2i, media 25940+10i


@dataclass
class Report:
    minutes: float
    crashes: int = 0
    crash_tails: list[str] = field(default_factory=list)
    calls_started: dict[str, int] = field(default_factory=dict)
    calls_succeeded: dict[str, int] = field(default_factory=dict)
    records: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    records_without_outcome: int = 0
    orphaned_legs: int = 0
    final_status: dict[str, int] = field(default_factory=dict)
    malformed_sent: int = 0
    replies_to_outsider: int = 0

    @property
    def passed(self) -> bool:
        return (self.crashes == 0 and self.records_without_outcome == 0
                and self.orphaned_legs == 0 and self.replies_to_outsider == 0)


def tone_wav(path: Path, seconds: float, freq: float) -> Path:
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    pcm = (3000 * np.sin(2 * math.pi * freq * t) * (np.sin(2 * math.pi * 3 * t) > 0))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    return path


class AgentUnderTest:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.records = workdir / "records.jsonl"
        self.config = workdir / "pipeline.yaml"
        self.config.write_text(
            f"data_dir: {workdir / 'data'}\n"
            f"sip: {{port: {AGENT_PORT}, allowlist: ['{TRUNK_IP}/32'], max_calls: 4,"
            " invites_per_minute_per_source: 600}\n"
            "endpointing: {max_call_s: 12}\n"
            "logging: {level: WARNING}\n")
        self.greeting = tone_wav(workdir / "greeting.wav", 1.5, 440)
        self.reply = tone_wav(workdir / "reply.wav", 1.0, 660)
        self.runs = 0
        self.proc: Process | None = None
        self.start()

    def start(self) -> None:
        wait_port_free(AGENT_PORT, 30)
        self.runs += 1
        self.proc = Process([sys.executable, "-X", "faulthandler", "-m",
                             "voiceagent.channels.sip.linecheck",
                             "--config", str(self.config), "--rtp-port", str(AGENT_RTP),
                             "--greeting", str(self.greeting), "--reply", str(self.reply),
                             "--records", str(self.records), "--grace", "2",
                             "--status-every", "2"], self.dir / f"agent-{self.runs}.log",
                            cwd=ROOT)
        deadline = time.monotonic() + 30
        while "ready sip=" not in self.proc.output():
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the agent did not start:\n" + self.proc.output()[-3000:])
            time.sleep(0.1)

    def crashed(self) -> str | None:
        assert self.proc is not None
        if self.proc.proc.poll() is None:
            return None
        return f"exit {self.proc.proc.returncode}: " + self.proc.output()[-1500:]

    def status(self) -> dict[str, int]:
        assert self.proc is not None
        lines = [line for line in self.proc.output().splitlines() if line.startswith("status ")]
        return json.loads(lines[-1][7:]) if lines else {}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.close()


class SippLoad:
    """One sipp client placing calls at a bounded rate for the whole run."""

    def __init__(self, workdir: Path, index: int, name: str, scenario: str, period_ms: int,
                 limit: int, seconds: float, *extra: str) -> None:
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        port = SIPP_BASE + 2 * index
        self.stats = self.dir / "stats.csv"
        args = [f"127.0.0.1:{AGENT_PORT}", "-sf", str(SCENARIOS / scenario), "-s", "agent",
                "-i", TRUNK_IP, "-p", str(port), "-mi", TRUNK_IP, "-mp",
                str(SIPP_BASE + 40 + 10 * index), "-r", "1", "-rp", str(period_ms),
                "-l", str(limit), "-m", str(max(1, int(seconds * 1000 / period_ms))),
                "-recv_timeout", "30000", "-trace_stat", "-stf", str(self.stats), "-fd", "5",
                "-nostdin", "-trace_err", "-error_file", str(self.dir / "errors.log"), *extra]
        self.proc = Process(["sipp", *args], self.dir / "sipp.log", cwd=self.dir)

    def counts(self) -> tuple[int, int]:
        """(calls started, calls that went as the scenario says)."""
        if not self.stats.exists():
            return 0, 0
        with self.stats.open() as handle:
            rows = list(csv.reader(handle, delimiter=";"))
        if len(rows) < 2:
            return 0, 0
        header, last = rows[0], rows[-1]
        col = {name: i for i, name in enumerate(header)}
        return int(last[col["TotalCallCreated"]]), int(last[col["SuccessfulCall(C)"]])

    def stop(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.proc.close()


def malformed_traffic(stop: threading.Event, report: Report) -> None:
    """Garbage and abuse every few seconds, from the trunk and from a refused address."""
    trunk, outsider = RawSip(TRUNK_IP), RawSip(OUTSIDER_IP)
    agent = ("127.0.0.1", AGENT_PORT)
    n = 0
    try:
        while not stop.wait(3.0):
            n += 1
            kind = n % 6
            if kind == 0:
                trunk.send_raw(bytes(random.getrandbits(8) for _ in range(300)), agent)
            elif kind == 1:
                trunk.request("INVITE", agent, f"nosdp-{n}", sdp=False)  # never ACKed
            elif kind == 2:
                invite = trunk.request("INVITE", agent, f"badsdp-{n}", send=False)
                trunk.send_raw(invite.replace(b"m=audio 9 RTP/AVP 0", b"m=audio x"), agent)
            elif kind == 3:
                for method in ("SUBSCRIBE", "MESSAGE", "OPTIONS"):
                    outsider.request(method, agent, f"out-{method}-{n}")
            elif kind == 4:
                for burst in range(20):
                    outsider.request("INVITE", agent, f"burst-{n}-{burst}")
            else:
                trunk.send_raw(b"INVITE sip:agent SIP/2.0\r\nVia: nonsense\r\n\r\n", agent)
            report.malformed_sent += 1
            trunk.collect(0.2)
            outsider.collect(0.2)
    finally:
        report.replies_to_outsider = sum(1 for status in outsider.statuses() if status != 403)
        trunk.close()
        outsider.close()


def run(minutes: float, out: Path, hold_s: float) -> Report:
    out.mkdir(parents=True, exist_ok=True)
    report = Report(minutes)
    agent = AgentUnderTest(out)
    seconds = minutes * 60
    loads = [
        SippLoad(out, 0, "normal", "uac_call.xml", 3000, 2, seconds, "-d",
                 str(int(hold_s * 1000))),
        SippLoad(out, 1, "silent", "uac_await_bye.xml", 20000, 1, seconds),
        SippLoad(out, 2, "instant", "uac_call.xml", 2000, 2, seconds, "-d", "0"),
    ]
    stop = threading.Event()
    abuse = threading.Thread(target=malformed_traffic, args=(stop, report), daemon=True)
    abuse.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        tail = agent.crashed()
        if tail is not None:
            report.crashes += 1
            report.crash_tails.append(tail)
            agent.start()
    stop.set()
    abuse.join(10)
    for load in loads:
        load.stop(60)
        report.calls_started[load.name], report.calls_succeeded[load.name] = load.counts()
    # every call ends (max_call_s 12); an INVITE refused by pjsua itself (bad SDP) keeps its
    # slot until its transaction's Timer H (32 s): allow 60 s for the agent to settle
    settle = time.monotonic() + 60
    time.sleep(5)
    while time.monotonic() < settle and any(agent.status().get(k) for k in (
            "sessions", "legs", "pjsua_calls")):
        time.sleep(2)
    if agent.crashed() is not None:
        report.crashes += 1
    report.final_status = agent.status()
    agent.stop()
    records = [json.loads(line) for line in agent.records.read_text().splitlines()
               if line.strip()] if agent.records.exists() else []
    report.records = len(records)
    for record in records:
        outcome = record.get("outcome") or "none"
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        if outcome in ("none", "in_progress") or not record.get("ended_at"):
            report.records_without_outcome += 1
    status = report.final_status
    report.orphaned_legs = status.get("sessions", 0) + status.get("legs", 0) + status.get(
        "pjsua_calls", 0) if status else -1
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SIP soak test (see the module docstring)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hold", type=float, default=3.0, help="normal calls last this long")
    parser.add_argument("--out", type=Path, default=Path("soak-report"))
    args = parser.parse_args(argv)
    report = run(args.minutes, args.out, args.hold)
    data = asdict(report) | {"passed": report.passed}
    (args.out / "report.json").write_text(json.dumps(data, indent=2))
    print(json.dumps({k: v for k, v in data.items() if k != "crash_tails"}, indent=2))
    for tail in report.crash_tails:
        print("--- crash ---\n" + tail)
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
