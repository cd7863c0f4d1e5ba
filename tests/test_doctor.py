"""`voiceagent doctor`: each check reports, failures carry a fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from voiceagent.doctor import check_data_dir, check_port, render, run_checks

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def test_busy_port_fails_with_a_fix() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        check = check_port("HTTP port", "127.0.0.1", port, socket.SOCK_STREAM, lambda: False)
    assert check.status == "fail" and "busy" in check.detail and check.fix


def test_port_held_by_the_running_agent_is_fine() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        check = check_port("SIP port", "127.0.0.1", port, socket.SOCK_DGRAM, lambda: True)
    assert check.status == "ok" and "this agent" in check.detail


def test_unwritable_data_dir_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    check = check_data_dir(blocker / "data")
    assert check.status == "fail"


def test_broken_pipeline_config_is_a_failed_check_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("vad: {aggressiveness: 9}\n")
    checks = run_checks(bad)
    [config_check] = [c for c in checks if c.name == "pipeline config"]
    assert config_check.status == "fail" and "vad.aggressiveness" in config_check.detail
    failed = sum(c.status == "fail" for c in checks)
    assert render(checks).endswith(f"{failed} check(s) failed")
