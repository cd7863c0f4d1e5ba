"""`voiceagent serve` start-up faults an admin can make: one line naming the fix, exit 2, no
traceback, and before any model is loaded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
HTTP_PORT = 28091


def serve(tmp_path: Path, data_dir: Path, http_port: int = HTTP_PORT) -> tuple[int, str]:
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"data_dir: {data_dir}\nclinic: {ROOT / 'configs' / 'clinic.yaml'}\n"
                      f"http: {{port: {http_port}}}\nsip: {{port: 25955}}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "voiceagent", "--config", str(config),
                           "serve"], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=60)
    return done.returncode, done.stdout + done.stderr


def assert_one_line(output: str, *words: str) -> None:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    assert "loading models" not in output, "the fault is found before the models load"


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("oops")
    code, output = serve(tmp_path, data)
    assert code == 2
    assert_one_line(output, str(data), "is a file", "point data_dir at a folder")


def test_unwritable_data_dir(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        data = Path("/sys/voiceagent-data")  # sysfs: not even root may create a folder
    else:
        data = tmp_path / "data"
        data.mkdir(mode=0o500)
    code, output = serve(tmp_path, data)
    assert code == 2
    assert_one_line(output, "not writable", "write access")


def test_garbage_database_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "voiceagent.db").write_bytes(b"this is not a database\n" * 100)
    code, output = serve(tmp_path, data)
    assert code == 2
    assert_one_line(output, "is not a SQLite database", "restore it from a backup")


def test_http_port_in_use(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", HTTP_PORT))
    holder.listen()
    try:
        code, output = serve(tmp_path, tmp_path / "data")
    finally:
        holder.close()
    assert code == 2
    assert_one_line(output, f"port {HTTP_PORT}", "in use", "http.port")
