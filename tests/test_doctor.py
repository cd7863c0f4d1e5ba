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


def test_every_mistake_in_the_clinic_file_is_listed_with_its_key_and_line(
    tmp_path: Path,
) -> None:
    text = (ROOT / "configs" / "clinic.yaml").read_text(encoding="utf-8")
    broken = (
        text.replace("{room: room-2, date: 2027-01-12", "{room: room-9, date: 2027-01-12")
        .replace("providers: [dr-lindqvist]     #", "providers: [dr-nobody]     #")
        .replace("providers: [dr-reyes]         #", "providers: [dr-who]         #")
        .replace("message_category: scheduling", "message_category: nowhere")
    )
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(broken, encoding="utf-8")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"clinic: {clinic}\n", encoding="utf-8")
    failed = [c for c in run_checks(pipeline) if c.name == "clinic config"]
    assert all(c.status == "fail" for c in failed)
    lines = broken.splitlines()
    found = {}
    for check in failed:
        where, key, _ = check.detail.split(": ", 2)
        line = int(where.rsplit(":", 1)[1])
        found[key] = lines[line - 1]
        assert check.fix.endswith(f"line {line}")
    assert "room-9" in found["room_closures[0].room"]
    assert "dr-nobody" in found["rooms[3].providers[0]"]
    assert "dr-who" in found["appointment_types[4].providers[0]"]
    assert "nowhere" in found["waitlist.message_category"]


def test_the_shipped_clinic_passes_the_doctor(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n", encoding="utf-8")
    [check] = [c for c in run_checks(pipeline) if c.name == "clinic config"]
    assert check.status == "ok", check.detail
