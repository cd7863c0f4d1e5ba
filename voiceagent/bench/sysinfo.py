"""What the numbers were measured on: hardware, software versions, models; and a sampler of
CPU, resident memory and (when ``nvidia-smi`` is present) GPU use while the benchmark runs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "voiceagent",
    "faster-whisper",
    "ctranslate2",
    "llama_cpp_python",
    "piper-tts",
    "onnxruntime",
    "numpy",
    "webrtcvad-wheels",
    "pjsua2-python",
    "psutil",
    "matplotlib",
)
TOOLS = {
    "espeak-ng": ["espeak-ng", "--version"],
    "sox": ["sox", "--version"],
    "baresip": ["baresip", "-h"],
    "sipp": ["sipp", "-v"],
}


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or "") + (done.stderr or "")
    return text.strip() or None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs seen by ``nvidia-smi`` (name, memory, driver); empty without one."""
    out = _run(
        [
            "nvidia-smi",
            "--query-gpu=name,memory.total,driver_version",
            "--format=csv,noheader,nounits",
        ]
    )
    if not out or "failed" in out.lower():
        return []
    found = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            found.append({"name": parts[0], "memory_mib": parts[1], "driver": parts[2]})
    return found


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def tool_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name, cmd in TOOLS.items():
        out = _run(cmd)
        first = next((ln for ln in (out or "").splitlines() if ln.strip()), None)
        found[name] = first[:120] if first else None
    return found


def accelerators() -> dict[str, Any]:
    """Whether the inference libraries can use a GPU in this build."""
    info: dict[str, Any] = {}
    try:
        import ctranslate2

        info["ctranslate2_cuda_devices"] = ctranslate2.get_cuda_device_count()
    except Exception as err:  # noqa: BLE001 - any failure here just means "no CUDA"
        info["ctranslate2_cuda_devices"] = f"unavailable: {type(err).__name__}"
    try:
        import llama_cpp

        info["llama_cpp_gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as err:  # noqa: BLE001
        info["llama_cpp_gpu_offload"] = f"unavailable: {type(err).__name__}"
    return info


def git_commit(root: Path) -> str | None:
    out = _run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    return out if out and " " not in out else None


def system_info() -> dict[str, Any]:
    """Hardware and software of this run, for the JSON report and the Markdown header."""
    memory = psutil.virtual_memory()
    return {
        "cpu": cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(memory.total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "gpus": gpus(),
        "accelerators": accelerators(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "tools": tool_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parents[2]),
    }


@dataclass(frozen=True)
class ResourceSample:
    t: float  # time.monotonic()
    process_cpu_percent: float  # this process and its children; 100 = one core
    system_cpu_percent: float  # all cores; 100 = every core busy
    rss_mib: float  # this process and its children
    gpu_util_percent: float | None
    gpu_memory_mib: float | None


@dataclass(frozen=True)
class ResourceSummary:
    seconds: float
    process_cpu_percent_mean: float
    process_cpu_percent_max: float
    system_cpu_percent_mean: float
    rss_mib_max: float
    gpu_util_percent_mean: float | None
    gpu_memory_mib_max: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class ResourceMonitor:
    """Samples CPU, RSS and GPU every ``interval_s`` on a daemon thread."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.samples: list[ResourceSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()
        self._children: dict[int, psutil.Process] = {}
        self._has_gpu = shutil.which("nvidia-smi") is not None and bool(gpus())

    def __enter__(self) -> ResourceMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self._thread = threading.Thread(target=self._loop, name="bench-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _processes(self) -> list[psutil.Process]:
        try:
            children = self._process.children(recursive=True)
        except psutil.Error:
            children = []
        alive = []
        for child in children:
            known = self._children.setdefault(child.pid, child)
            if known is child:
                try:
                    child.cpu_percent(None)  # first call primes the counter
                except psutil.Error:
                    continue
            alive.append(known)
        return [self._process, *alive]

    def _gpu(self) -> tuple[float | None, float | None]:
        if not self._has_gpu:
            return None, None
        out = _run(
            [
                "nvidia-smi",
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
            ],
            timeout=5,
        )
        try:
            util, mem = (float(x) for x in (out or "").splitlines()[0].split(","))
        except (ValueError, IndexError):
            return None, None
        return util, mem

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            cpu = 0.0
            rss = 0
            for proc in self._processes():
                try:
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            util, mem = self._gpu()
            self.samples.append(
                ResourceSample(
                    t=time.monotonic(),
                    process_cpu_percent=cpu,
                    system_cpu_percent=psutil.cpu_percent(None),
                    rss_mib=rss / 2**20,
                    gpu_util_percent=util,
                    gpu_memory_mib=mem,
                )
            )

    def window(self, start: float, end: float) -> ResourceSummary | None:
        """Summary of the samples taken between two ``time.monotonic()`` stamps."""
        chosen = [s for s in self.samples if start <= s.t <= end]
        if not chosen:
            return None
        gpu_util = [s.gpu_util_percent for s in chosen if s.gpu_util_percent is not None]
        gpu_mem = [s.gpu_memory_mib for s in chosen if s.gpu_memory_mib is not None]
        return ResourceSummary(
            seconds=end - start,
            process_cpu_percent_mean=sum(s.process_cpu_percent for s in chosen) / len(chosen),
            process_cpu_percent_max=max(s.process_cpu_percent for s in chosen),
            system_cpu_percent_mean=sum(s.system_cpu_percent for s in chosen) / len(chosen),
            rss_mib_max=max(s.rss_mib for s in chosen),
            gpu_util_percent_mean=sum(gpu_util) / len(gpu_util) if gpu_util else None,
            gpu_memory_mib_max=max(gpu_mem) if gpu_mem else None,
        )
