"""The bundled models installed by `voiceagent models install` are complete and verified."""

from __future__ import annotations

import pytest

from voiceagent.models import load_manifest, resolve_model
from voiceagent.models.install import check_model

pytestmark = pytest.mark.models


def test_every_bundled_model_matches_its_manifest_hashes() -> None:
    for entry in load_manifest().models:
        bad = [s for s in check_model(entry, rehash=True) if not s.ok]
        assert not bad, f"{entry.id}: {bad}"


def test_each_role_has_a_default_model_on_disk() -> None:
    assert (resolve_model("whisper-tiny-en", "stt") / "model.bin").is_file()
    assert resolve_model("smollm2-135m-instruct", "llm").suffix == ".gguf"
    assert resolve_model("piper-joe-medium", "tts").with_suffix(".onnx.json").is_file()
