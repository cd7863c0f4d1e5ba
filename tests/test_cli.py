"""The `voiceagent` command explains itself and its doctor reports every check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voiceagent.cli import main

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voiceagent", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_command_and_the_secret_variables() -> None:
    result = run("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("    ") and line.split()}
    assert {"serve", "call", "talk", "chat", "bench", "doctor", "models", "import"} <= listed
    assert "VOICEAGENT_SIP_PASSWORD" in result.stdout


def test_models_list_shows_roles_and_what_the_pipeline_uses() -> None:
    result = run("models", "list")
    assert result.returncode == 0
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("whisper-tiny-en"))
    columns = line.split()
    assert columns[1] == "stt" and columns[2] == "yes" and columns[4] == "stt"


def test_models_install_refuses_an_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "install", "gpt-5"]) == 2
    assert "unknown model id(s): gpt-5" in capsys.readouterr().err


def test_broken_config_gives_one_line_error_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("http:\n  port: 80800\n")
    assert main(["--config", str(bad), "models", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"configuration error: {bad}:2: http.port:")
