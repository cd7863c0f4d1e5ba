"""``models/manifest.yaml``: which model plays which role and where its weights come from."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from voiceagent.config.base import StrictModel
from voiceagent.config.yamlfile import load_model

Role = Literal["stt", "llm", "tts", "vad"]


class ModelFile(StrictModel):
    path: str = Field(description="file name under models/<id>/")
    from_: list[str] = Field(alias="from", min_length=1, description="wheel members, in order")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)


class ModelEntry(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    role: Role
    description: str
    license: str
    packages: list[str]
    files: list[ModelFile]

    @property
    def main_file(self) -> str | None:
        """The file a loader is pointed at (a .gguf or .onnx), or None for a folder model."""
        for f in self.files:
            if f.path.endswith((".gguf", ".onnx")):
                return f.path
        return None


class Manifest(StrictModel):
    models: list[ModelEntry]

    def get(self, model_id: str) -> ModelEntry | None:
        return next((m for m in self.models if m.id == model_id), None)


def manifest_path() -> Path:
    from voiceagent.models.paths import models_dir

    return models_dir() / "manifest.yaml"


def load_manifest(path: Path | None = None) -> Manifest:
    return load_model(path or manifest_path(), Manifest)
