"""``voiceagent chat --script --json`` on the fake-free small path (no model loaded)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from tests.frontdesk.conftest import MONDAY_10AM
from voiceagent.channels.text import build_chat_parser, interactive, read_script, run_script
from voiceagent.frontdesk.runtime import FrontDesk

pytestmark = pytest.mark.unit

SCRIPTS = Path(__file__).with_name("scripts")


@pytest.fixture
def frontdesk(store, clinic):
    return FrontDesk(store, clinic, clock=lambda: MONDAY_10AM)


def test_script_reader_skips_comments_and_blank_lines():
    lines = read_script(SCRIPTS / "transfer.txt")
    assert lines == ["Can I talk to a real person please?"]


def test_scripted_booking_reports_turns_tools_and_stored_state(frontdesk):
    result = run_script(frontdesk, read_script(SCRIPTS / "booking.txt"))
    final = result["final"]
    assert final["state"]["outcome"] == "booked"
    [appt] = final["stored"]["appointments"]
    assert appt["type"] == "evaluation" and appt["status"] == "booked"
    patient = final["stored"]["patient"]
    assert (patient["first_name"], patient["last_name"], patient["dob"], patient["phone"]) == (
        "Maria", "Garcia", "1982-03-03", "+16085550188")
    assert patient["coverages"] == [{"payer": "Blue Cross Blue Shield",
                                     "member_id": "XYZ1234567", "kind": "commercial"}]
    assert "skiing" in patient["referrals"][0]["reason"]
    assert final["stored"]["lead"]["stage"] == "scheduled"
    tools = [e["name"] for t in result["turns"] for e in t["events"] if e["type"] == "tool_call"]
    assert tools == ["find_slots", "hold_slot", "book_appointment", "end_call"]


def test_scripted_message_transfer_and_refusal(frontdesk):
    message = run_script(frontdesk, read_script(SCRIPTS / "message.txt"))["final"]
    assert message["stored"]["messages"][0]["callback_phone"] == "+12125550142"
    transfer = run_script(frontdesk, read_script(SCRIPTS / "transfer.txt"))
    assert transfer["turns"][-1]["events"][-1]["type"] == "transfer"
    refusal = run_script(frontdesk, read_script(SCRIPTS / "refusal.txt"))
    said = " ".join(e["text"] for t in refusal["turns"] for e in t["events"]
                    if e["type"] == "reply")
    assert "not able to give medical advice" in said
    assert refusal["final"]["stored"]["appointments"] == []
    assert refusal["final"]["state"]["outcome"] not in ("cancelled", "booked")


def test_chat_command_prints_json(tmp_path, capsys, migrated_db):
    import shutil

    db = tmp_path / "chat.db"
    shutil.copyfile(migrated_db, db)
    clinic_yaml = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=None)
    build_chat_parser(parser.add_subparsers())
    args = parser.parse_args(["chat", "--script", str(SCRIPTS / "transfer.txt"), "--json",
                              "--no-llm", "--database", f"sqlite:///{db}",
                              "--clinic", str(clinic_yaml),
                              "--now", "2026-11-23T10:00:00-06:00"])
    assert args.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["final"]["state"]["outcome"] == "transferred"
    assert out["turns"][0]["caller"] is None  # the greeting comes first


def test_interactive_chat_reads_lines_until_the_call_ends(frontdesk):
    out = io.StringIO()
    assert interactive(frontdesk, io.StringIO("Where do I park?\nno thanks\n"), out) == 0
    text = out.getvalue()
    assert "Free parking is behind the building." in text and "[call ended" in text
