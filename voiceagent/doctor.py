"""``voiceagent doctor``: one table of checks, each failure with the command that fixes it."""

from __future__ import annotations

import importlib
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voiceagent.config import ConfigError
from voiceagent.config.pipeline import PipelineConfig, load_pipeline

Status = Literal["ok", "fail", "info"]

# (import name, what it is for, fix)
DEPENDENCIES: list[tuple[str, str]] = [
    ("numpy", "audio arrays"),
    ("soxr", "resampling"),
    ("webrtcvad", "voice activity detection"),
    ("faster_whisper", "speech to text"),
    ("llama_cpp", "local LLM"),
    ("piper", "text to speech"),
    ("pjsua2", "SIP endpoint"),
    ("sqlalchemy", "store"),
    ("alembic", "store migrations"),
    ("fastapi", "HTTP API"),
    ("uvicorn", "HTTP server"),
    ("sounddevice", "microphone/speaker for `voiceagent talk`"),
]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_dependencies() -> list[Check]:
    checks = []
    for module, purpose in DEPENDENCIES:
        try:
            importlib.import_module(module)
            checks.append(Check(f"import {module}", "ok", purpose))
        except Exception as exc:  # noqa: BLE001 - an import can fail in many ways (OSError too)
            checks.append(
                Check(f"import {module}", "fail", f"{purpose}: {type(exc).__name__}: {exc}",
                      "run `make setup` (installs system packages and the .venv)")
            )
    return checks


def check_models(config: PipelineConfig) -> list[Check]:
    from voiceagent.models import load_manifest, resolve_model
    from voiceagent.models.install import check_model

    checks = []
    manifest = load_manifest()
    for entry in manifest.models:
        if not entry.files:
            continue
        bad = [s for s in check_model(entry, rehash=True) if not s.ok]
        if bad:
            detail = "; ".join(f"{s.path.name}: {s.problem}" for s in bad)
            checks.append(Check(f"model {entry.id}", "fail", detail,
                                f"voiceagent models install {entry.id}"))
        else:
            checks.append(Check(f"model {entry.id}", "ok", f"{entry.role}, sha256 verified"))
    for role, name in (("stt", config.models.stt.model), ("llm", config.models.llm.model),
                       ("tts", config.models.tts.voice)):
        try:
            path = resolve_model(name, role)
            checks.append(Check(f"{role} uses", "ok", f"{name} -> {path}"))
        except FileNotFoundError as exc:
            checks.append(Check(f"{role} uses", "fail", str(exc), "voiceagent models install"))
    return checks


def check_clinic(config: PipelineConfig) -> list[Check]:
    """The clinic file: every problem, each with its key and line (not only the first)."""
    try:
        from voiceagent.clinic.config import clinic_problems, load_clinic
    except ImportError as exc:
        return [Check("clinic config", "fail", f"clinic module unavailable: {exc}", "make setup")]
    problems = clinic_problems(config.clinic)
    if problems:
        where = f"edit {config.clinic}"
        return [
            Check("clinic config", "fail", str(p), f"{where} line {p.line}" if p.line else where)
            for p in problems
        ]
    try:
        clinic = load_clinic(config.clinic)
    except ConfigError as exc:
        return [Check("clinic config", "fail", str(exc), f"edit {config.clinic}")]
    rules = (
        f"{len(clinic.appointment_types)} visit types, {len(clinic.rooms)} rooms,"
        f" {len(clinic.insurance.accepted)} payers accepted"
    )
    return [Check("clinic config", "ok", f"{config.clinic} ({clinic.name}: {rules})")]


def _agent_answers(host: str, port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://{host}:{port}/api/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def check_port(name: str, host: str, port: int, kind: int, running: Callable[[], bool]) -> Check:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if running():
                return Check(name, "ok", f"{host}:{port} in use by this agent (running)")
            return Check(name, "fail", f"{host}:{port} busy: {exc.strerror}",
                         "stop what uses the port, or change it in configs/pipeline.yaml")
    return Check(name, "ok", f"{host}:{port} free")


def check_data_dir(path: Path) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Check("data directory", "fail", f"{path}: {exc.strerror}",
                     f"make {path} writable by {os.environ.get('USER', 'this user')}")
    return Check("data directory", "ok", f"{path} writable")


def check_gpu() -> list[Check]:
    checks = []
    try:
        import ctranslate2

        count = ctranslate2.get_cuda_device_count()
        detail = f"{count} CUDA device(s)" if count else "none: Whisper runs on the CPU"
        checks.append(Check("GPU for Whisper (ctranslate2)", "info", detail))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("GPU for Whisper (ctranslate2)", "info", f"unknown: {exc}"))
    try:
        import llama_cpp

        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        checks.append(Check("GPU for the LLM (llama.cpp)", "info",
                            "offload supported" if gpu else
                            "CPU build: rebuild with CMAKE_ARGS=-DGGML_CUDA=on for a GPU"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("GPU for the LLM (llama.cpp)", "info", f"unknown: {exc}"))
    return checks


def run_checks(pipeline_path: Path) -> list[Check]:
    checks = check_dependencies()
    try:
        config = load_pipeline(pipeline_path)
    except ConfigError as exc:
        return [*checks, Check("pipeline config", "fail", str(exc), f"edit {pipeline_path}")]
    checks.append(Check("pipeline config", "ok", str(pipeline_path)))
    checks.extend(check_clinic(config))
    checks.extend(check_models(config))
    http_running = lambda: _agent_answers(config.http.host, config.http.port)  # noqa: E731
    checks.append(check_port("SIP port (UDP)", config.sip.bind, config.sip.port,
                             socket.SOCK_DGRAM, http_running))
    checks.append(check_port("HTTP port", config.http.host, config.http.port,
                             socket.SOCK_STREAM, http_running))
    checks.append(check_data_dir(config.data_dir))
    checks.extend(check_gpu())
    return checks


def render(checks: list[Check]) -> str:
    mark = {"ok": "OK  ", "fail": "FAIL", "info": "info"}
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{mark[c.status]}  {c.name.ljust(width)}  {c.detail}")
        if c.status == "fail" and c.fix:
            lines.append(f"{'':6}{'':{width}}  fix: {c.fix}")
    failed = sum(c.status == "fail" for c in checks)
    lines.append("")
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)
