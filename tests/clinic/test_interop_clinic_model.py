"""Imports and FHIR export carry the clinic model: the room of each appointment, coverage
with plan type and subscriber, referrals with the requester's NPI; reachable from
``voiceagent import``."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from tests.clinic.clinic_fixtures import TZ
from voiceagent.cli import main
from voiceagent.clinic import interop
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.models import Appointment, Coverage, Patient, Referral

pytestmark = pytest.mark.unit
IMPORTER = Actor("import:test")

PATIENTS = """first_name,last_name,dob,phone,external_id,preferred_contact,sms_consent,\
emergency_contact_name,emergency_contact_phone
Ana,Lopez,1975-02-03,608-555-0101,EMR-1,sms,yes,Luis Lopez,608-555-0109
Bob,Stone,1960-07-08,608-555-0102,EMR-2,,,,
Cy,Text,1961-01-01,608-555-0103,EMR-3,sms,no,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def imported_patients(store: Store, tmp_path: Path) -> None:
    report = interop.import_patients_csv(store, write(tmp_path, "p.csv", PATIENTS), actor=IMPORTER)
    assert (report.applied, [w for w, _ in report.skipped]) == (2, ["line 4"])
    assert "consent" in report.skipped[0][1]


def test_patient_import_carries_contact_preferences(store: Store, tmp_path: Path) -> None:
    imported_patients(store, tmp_path)
    with store.transaction() as session:
        ana = session.scalars(select(Patient).where(Patient.external_id == "EMR-1")).one()
        assert (ana.preferred_contact, ana.sms_consent) == ("sms", True)
        assert ana.emergency_contact_phone == "+16085550109"


def test_appointment_imports_keep_the_room_and_refuse_a_room_the_rules_forbid(
    store: Store, clinic: ClinicConfig, tmp_path: Path
) -> None:
    imported_patients(store, tmp_path)
    rows = """start,appointment_type,provider_id,patient_external_id,room,external_id
2026-11-24T14:00,follow-up,pt-b,EMR-1,gym,A-1
2026-11-24T14:00,pelvic-eval,pt-a,EMR-2,private,A-2
2026-11-24T15:00,evaluation,pt-b,EMR-2,private,A-3
2026-11-24T15:00,evaluation,pt-b,EMR-2,room-9,A-4
2026-11-24T14:30,vestibular-eval,pt-b,EMR-1,room-1,A-5
"""
    report = interop.import_appointments_csv(
        store, clinic, write(tmp_path, "a.csv", rows), actor=IMPORTER
    )
    assert report.applied == 2, report.skipped
    skipped = dict(report.skipped)
    assert "not used for 'evaluation' with pt-b" in skipped["line 4"]
    assert "unknown room 'room-9'" in skipped["line 5"]
    assert "overlaps" in skipped["line 6"]  # pt-b already has the 14:00 follow-up
    with store.transaction() as session:
        rooms = {r.external_id: r.room_id for r in session.scalars(select(Appointment))}
    assert rooms == {"A-1": "gym", "A-2": "private"}


def test_a_calendar_import_puts_each_visit_in_the_room_it_names(
    store: Store, clinic: ClinicConfig, tmp_path: Path
) -> None:
    imported_patients(store, tmp_path)
    cal = icalendar.Calendar()
    for uid, hour, room_field, type_id in (
        ("e-1", 9, ("X-VOICEAGENT-ROOM", "private"), "pelvic-eval"),
        ("e-2", 14, ("LOCATION", "Room 1"), "evaluation"),
    ):
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstart", datetime(2026, 11, 24, hour, 0, tzinfo=TZ))
        event.add("dtend", datetime(2026, 11, 24, hour + 1, 0, tzinfo=TZ))
        event.add("X-PATIENT-EXTERNAL-ID", "EMR-2")
        event.add("X-VOICEAGENT-APPOINTMENT-TYPE", type_id)
        event.add(*room_field)
        cal.add_component(event)
    report = interop.import_ical(store, clinic, cal.to_ical(), provider_id="pt-a", actor=IMPORTER)
    assert (report.applied, report.skipped) == (2, [])
    with store.transaction() as session:
        rooms = {r.external_id: r.room_id for r in session.scalars(select(Appointment))}
    assert rooms == {"e-1": "private", "e-2": "room-1"}
    feed = interop.provider_ical_feed(
        store,
        clinic,
        provider_id="pt-a",
        start=datetime(2026, 11, 24, tzinfo=TZ),
        end=datetime(2026, 11, 25, tzinfo=TZ),
        actor=IMPORTER,
    )
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert {str(e["X-VOICEAGENT-ROOM"]) for e in events} == {"private", "room-1"}
    assert "Private room" in {str(e["LOCATION"]) for e in events}


def test_coverage_and_referral_imports_and_their_fhir_export(
    store: Store, clinic: ClinicConfig, tmp_path: Path
) -> None:
    imported_patients(store, tmp_path)
    coverages = """patient_external_id,payer,plan_type,member_id,group_number,subscriber_name,\
subscriber_dob,subscriber_relationship,order,claim_number,employer,adjuster_name,\
adjuster_phone,adjuster_extension
EMR-1,Aetna,commercial,W123,G-77,Luis Lopez,1973-04-05,spouse,1,,,,,
EMR-1,AARP Medicare Supplement,supplement,,,,,self,2,,,,,
EMR-2,Acme Mutual,workers_comp,,,,,self,1,WC-9,Acme Foods,Pat Lee,608-555-0190,214
EMR-2,Nowhere,gold,,,,,self,1,,,,,
"""
    report = interop.import_coverages_csv(
        store, write(tmp_path, "c.csv", coverages), actor=IMPORTER
    )
    assert report.applied == 3 and [w for w, _ in report.skipped] == ["line 5"]
    again = interop.import_coverages_csv(store, tmp_path / "c.csv", actor=IMPORTER)
    assert (again.applied, again.unchanged) == (0, 3)
    referrals = """patient_external_id,referring_provider,npi,practice,phone,fax,condition_kind,\
condition,condition_date,order_text,written_order_on_file
EMR-1,Dr. Susan Park,1234567893,Eastside Orthopedics,608-555-0170,608-555-0171,surgery,\
right ACL reconstruction,2026-10-20,PT eval and treat 2x/week x 6 weeks,yes
EMR-2,Dr. Bad,1234567890,,,,,,,,
"""
    report = interop.import_referrals_csv(
        store, write(tmp_path, "r.csv", referrals), actor=IMPORTER
    )
    assert report.applied == 1 and "NPI" in report.skipped[0][1]
    with store.transaction() as session:
        ana = session.scalars(select(Patient).where(Patient.external_id == "EMR-1")).one()
        assert session.scalars(select(Referral)).one().written_order_on_file
    bundle = interop.export_patient_bundle(store, clinic, ana.id, actor=IMPORTER)
    resources = [e["resource"] for e in bundle["entry"]]
    primary, supplement = (r for r in resources if r["resourceType"] == "Coverage")
    assert {c["code"] for c in primary["type"]["coding"]} == {"HIP", "commercial"}
    assert primary["status"] == "active" and primary["subscriberId"] == "W123"
    [subscriber] = primary["contained"]
    assert (subscriber["resourceType"], subscriber["birthDate"]) == ("RelatedPerson", "1973-04-05")
    assert primary["subscriber"]["reference"] == "#subscriber"
    assert primary["relationship"]["coding"][0]["code"] == "spouse"
    assert supplement["order"] == 2 and supplement["status"] == "draft"  # member ID owed
    assert "supplement" in {c["code"] for c in supplement["type"]["coding"]}
    [request] = [r for r in resources if r["resourceType"] == "ServiceRequest"]
    assert request["requester"]["identifier"]["value"] == "1234567893"
    [practitioner] = request["contained"]
    assert practitioner["identifier"][0]["system"] == "http://hl7.org/fhir/sid/us-npi"
    assert {t["system"] for t in practitioner["telecom"]} == {"phone", "fax"}
    assert any("2026-10-20" in r["text"] for r in request["reasonCode"])
    assert {"written order on file"} <= {n["text"] for n in request["note"]}
    with store.transaction() as session:
        bob = session.scalars(select(Patient).where(Patient.external_id == "EMR-2")).one()
    [claim] = [
        r
        for r in interop.export_patient_bundle(store, clinic, bob.id, actor=IMPORTER)["entry"]
        if r["resource"]["resourceType"] == "Coverage"
    ]
    assert claim["resource"]["policyHolder"]["display"] == "Acme Foods"
    assert "WCBPOL" in {c["code"] for c in claim["resource"]["type"]["coding"]}


def test_voiceagent_import_reports_each_skipped_row_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinic = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    pipeline = write(
        tmp_path, "pipeline.yaml", f"data_dir: {tmp_path / 'data'}\nclinic: {clinic}\n"
    )
    patients = write(tmp_path, "p.csv", PATIENTS)
    assert main(["--config", str(pipeline), "import", "patients", str(patients)]) == 1
    out = capsys.readouterr().out
    assert "patients: 2 imported, 0 already present, 1 skipped" in out
    assert "skipped line 4:" in out and "Text" not in out and "555" not in out
    good = write(tmp_path, "good.csv", "\n".join(PATIENTS.splitlines()[:3]) + "\n")
    assert main(["--config", str(pipeline), "import", "patients", str(good)]) == 0
    assert "0 imported, 2 already present, 0 skipped" in capsys.readouterr().out
    rows = "start,appointment_type,provider_id,patient_external_id,room\n"
    rows += "2026-12-01T09:00,pelvic-evaluation,dr-lindqvist,EMR-1,pelvic-room\n"
    appointments = write(tmp_path, "a.csv", rows)
    assert main(["--config", str(pipeline), "import", "appointments", str(appointments)]) == 0
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'voiceagent.db'}", migrate=False)
    try:
        with store.transaction() as session:
            row = session.scalars(select(Appointment)).one()
            assert (row.provider_id, row.room_id) == ("dr-lindqvist", "pelvic-room")
            assert row.start == datetime(2026, 12, 1, 15, 0, tzinfo=row.start.tzinfo)
            assert session.scalars(select(Coverage)).all() == []
    finally:
        store.dispose()
    assert main(["--config", str(pipeline), "import", "calendar", str(appointments)]) == 2
    assert "--provider" in capsys.readouterr().err
    assert date(2026, 12, 1).weekday() == 1  # a Tuesday: Dr. Lindqvist works


def test_voiceagent_export_writes_a_patients_fhir_bundle_and_a_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinic = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    pipeline = write(
        tmp_path, "pipeline.yaml", f"data_dir: {tmp_path / 'data'}\nclinic: {clinic}\n"
    )
    config = ["--config", str(pipeline)]
    assert main([*config, "import", "patients", str(write(tmp_path, "p.csv", PATIENTS))]) == 1
    rows = "start,appointment_type,provider_id,patient_external_id,room\n"
    rows += "2026-12-01T09:00,pelvic-evaluation,dr-lindqvist,EMR-1,pelvic-room\n"
    assert main([*config, "import", "appointments", str(write(tmp_path, "a.csv", rows))]) == 0
    capsys.readouterr()
    out = tmp_path / "bundle.json"
    assert main([*config, "export", "fhir", "1", "--out", str(out)]) == 0
    bundle = json.loads(out.read_text())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Appointment"]
    ics = tmp_path / "lindqvist.ics"
    args = ["export", "calendar", "dr-lindqvist", "--from", "2026-12-01", "--to", "2026-12-01"]
    assert main([*config, *args, "--out", str(ics)]) == 0
    [event] = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert str(event["X-VOICEAGENT-ROOM"]) == "pelvic-room"
    assert main([*config, "export", "fhir", "999"]) == 2
    assert main([*config, "export", "calendar", "dr-nobody"]) == 2
