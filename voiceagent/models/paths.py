"""Find a configured model on disk: a manifest id under ``models/`` or a plain path."""

from __future__ import annotations

import os
from pathlib import Path

INSTALL_HINT = "run `voiceagent models install` (or `make run`, which does it)"


class ModelNotInstalled(FileNotFoundError):
    """A configured model's file is missing; the message names the file and the fix."""


def models_dir() -> Path:
    """``models/`` at the project root, or ``$VOICEAGENT_MODELS_DIR``."""
    env = os.environ.get("VOICEAGENT_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


def resolve_model(name: str, role: str) -> Path:
    """Return the path a loader needs for model ``name`` (manifest id or path).

    For folder models (faster-whisper) that is the folder; for single-file models
    (.gguf, .onnx) the file. Raises ModelNotInstalled naming the missing file and the fix.
    """
    from voiceagent.models.manifest import load_manifest

    candidate = Path(name).expanduser()
    if "/" in name or candidate.suffix in (".gguf", ".onnx"):
        if not candidate.exists():
            raise ModelNotInstalled(
                f"{role} model {str(candidate)!r} not found; fix the path in configs/pipeline.yaml"
            )
        return candidate
    entry = load_manifest().get(name)
    if entry is None:
        known = ", ".join(m.id for m in load_manifest().models if m.role == role)
        raise ModelNotInstalled(
            f"{role} model {name!r} is neither a path nor in models/manifest.yaml "
            f"(known {role} models: {known})"
        )
    folder = models_dir() / entry.id
    for f in entry.files:
        target = folder / f.path
        if not target.exists():
            raise ModelNotInstalled(f"{role} model file {target} is missing; {INSTALL_HINT}")
        if target.stat().st_size != f.size:
            raise ModelNotInstalled(
                f"{role} model file {target} has {target.stat().st_size} bytes, expected "
                f"{f.size} (corrupt or partial); {INSTALL_HINT}"
            )
    main = entry.main_file
    return folder / main if main else folder
