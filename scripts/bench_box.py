"""Concurrency sweep of a box (`make bench-box`): `voiceagent serve --workers N` behind
Kamailio, 1, 2, 4, 8, 12 spoken sipp calls at once on the embedded default models.

Per level: first content audio of each call (the store's wire latency of its first reply:
end of the caller's speech to the reply's first audio sent), p50 and p95; the peak resident
memory of every process of the box; and each process's share of the CPU time the box used
(the model server's share is STT + LLM + TTS together; the workers' is SIP, media and VAD),
and how busy each engine of the model server was (``/stats``: the time it had a request).
Writes bench-report/box-sweep.json and .md. Run it in a network namespace of its own if
other SIP tests run on this host (fixed loopback ports):
  unshare -n sh -c 'ip link set lo up; .venv/bin/python scripts/bench_box.py'
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from tests.box.harness import (  # noqa: E402
    MODEL_PORT,
    caller_wav,
    spoken_calls,
    start_box,
    start_proxy,
)
from voiceagent.modelserver.client import ModelServerClient  # noqa: E402

STAGES = ("stt", "llm", "tts")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Sampler:
    """Peak RSS and CPU seconds of a set of processes, sampled every 0.5 s."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()
                      if psutil.pid_exists(pid)}
        self.peak_mb = {name: 0.0 for name in self.procs}
        self.cpu_start = {name: self._cpu(p) for name, p in self.procs.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler")
        self._thread.start()

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        try:
            times = proc.cpu_times()
            return float(times.user + times.system)
        except psutil.Error:
            return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for name, proc in self.procs.items():
                try:
                    self.peak_mb[name] = max(self.peak_mb[name], proc.memory_info().rss / 2**20)
                except psutil.Error:
                    pass

    def finish(self) -> tuple[dict[str, float], dict[str, float]]:
        self._stop.set()
        self._thread.join()
        used = {name: max(0.0, self._cpu(p) - self.cpu_start[name])
                for name, p in self.procs.items()}
        return self.peak_mb, used


def run_level(workdir: Path, box, caller: Path, level: int, hold_ms: int) -> dict:
    before = {c.id for c in box.calls()}
    pids = box.pids()
    try:
        pids["kamailio"] = int((workdir / "kamailio" / "k.pid").read_text())
    except (OSError, ValueError):
        pass
    models = ModelServerClient(f"http://127.0.0.1:{MODEL_PORT}")
    stages_before = models.get_json("/stats")
    started = time.monotonic()
    sampler = Sampler(pids)
    peers: list = []
    try:
        run = spoken_calls(workdir, peers, caller, level, hold_ms, f"level{level}")
        code = run.wait(hold_ms / 1000 + 120)
    finally:
        for peer in peers:
            peer.close()
    calls = box.wait_calls(lambda cs: len([c for c in cs if c.id not in before
                                           and c.outcome]) >= level, 90, f"level {level}")
    peak_mb, cpu_s = sampler.finish()
    wall_s = time.monotonic() - started
    stages_after = models.get_json("/stats")
    busy = {s: stages_after[s]["busy_s"] - stages_before[s]["busy_s"] for s in STAGES}
    first = [c.wire_latency_ms[0] for c in calls
             if c.id not in before and c.wire_latency_ms]
    total_cpu = sum(cpu_s.values()) or 1.0
    return {
        "calls": level, "sipp_exit": code, "answered_with_reply": len(first),
        "first_content_audio_ms": {"p50": percentile(first, 0.5) if first else None,
                                   "p95": percentile(first, 0.95) if first else None,
                                   "mean": statistics.fmean(first) if first else None},
        "peak_rss_mb": {k: round(v, 1) for k, v in peak_mb.items()},
        "box_rss_mb": round(sum(peak_mb.values()), 1),
        "cpu_share": {k: round(v / total_cpu, 3) for k, v in cpu_s.items()},
        "cpu_s": {k: round(v, 1) for k, v in cpu_s.items()},
        "stage_busy_s": {k: round(v, 1) for k, v in busy.items()},
        "stage_busy_share": {k: round(v / wall_s, 3) for k, v in busy.items()},
        "wall_s": round(wall_s, 1),
    }


def shares(cpu: dict[str, float]) -> str:
    workers = sum(v for k, v in cpu.items() if k.startswith("worker"))
    return (f"{cpu.get('model-server', 0):.0%} / {workers:.0%} / "
            f"{cpu.get('kamailio', 0):.0%}")


def markdown(report: dict) -> str:
    rows = ["| calls at once | first content audio p50 | p95 | box RSS (peak) | "
            "CPU share: model server / workers / kamailio | busy: STT / LLM / TTS |",
            "|---|---|---|---|---|---|"]
    for level in report["levels"]:
        lat = level["first_content_audio_ms"]
        rows.append(f"| {level['calls']} | {lat['p50']:.0f} ms | {lat['p95']:.0f} ms | "
                    f"{level['box_rss_mb']:.0f} MB | {shares(level['cpu_share'])} | "
                    + " / ".join(f"{level['stage_busy_share'][s]:.0%}" for s in STAGES) + " |")
    last = report["levels"][-1]
    rows += ["", "Peak RSS per process at the last level (MB): " + ", ".join(
        f"{k} {v:.0f}" for k, v in last["peak_rss_mb"].items()),
        f"Load before the run: {report['load_before']}; host: {report['cpus']} CPUs."]
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,12")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--hold-ms", type=int, default=25000)
    parser.add_argument("--out", type=Path, default=Path("bench-report"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"workers": args.workers, "load_before": os.getloadavg(),
              "cpus": os.cpu_count(), "levels": []}
    with tempfile.TemporaryDirectory(prefix="bench-box-") as tmp:
        workdir = Path(tmp)
        box = start_box(workdir, args.workers, box_calls=max(levels))
        proxy = start_proxy(workdir, args.workers)
        try:
            caller = caller_wav(workdir)
            for level in levels:
                result = run_level(workdir, box, caller, level, args.hold_ms)
                report["levels"].append(result)
                print(json.dumps(result), flush=True)
                time.sleep(2)
        finally:
            proxy.close()
            box.stop()
    (args.out / "box-sweep.json").write_text(json.dumps(report, indent=2))
    (args.out / "box-sweep.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
