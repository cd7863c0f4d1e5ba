"""CSV / iCalendar import, the per-provider feed, and FHIR R4 export (validated)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from tests.clinic.clinic_fixtures import NOW, TZ
from voiceagent.clinic import interop
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import SlotTaken
from voiceagent.clinic.patients import add_coverage, add_referral, find_or_create_patient

pytestmark = pytest.mark.unit

IMPORTER = Actor("import:csv")

PATIENTS = """first_name,last_name,dob,phone,email,external_id
Ana,Lopez,1975-02-03,608-555-0101,ana@example.com,EMR-1
Bob,Stone,1960-07-08,608-555-0102,,EMR-2
Bad,Date,1960-13-08,,,EMR-3
ana,LOPEZ,1975-02-03,,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_patient_csv_import_dedupes_and_reports_bad_rows(store: Store, tmp_path: Path) -> None:
    report = interop.import_patients_csv(store, write(tmp_path, "p.csv", PATIENTS), actor=IMPORTER)
    assert (report.applied, report.unchanged) == (2, 1)
    assert report.skipped == [("line 4", "dob is not YYYY-MM-DD")]
    again = interop.import_patients_csv(store, tmp_path / "p.csv", actor=IMPORTER)
    assert (again.applied, again.unchanged) == (0, 3)


def test_appointment_csv_import_reserves_time_and_refuses_overlaps(
    store: Store, clinic: ClinicConfig, tmp_path: Path
) -> None:
    interop.import_patients_csv(store, write(tmp_path, "p.csv", PATIENTS), actor=IMPORTER)
    header = "start,appointment_type,provider_id,patient_external_id,"
    header += "first_name,last_name,dob,status,external_id"
    rows = (
        header
        + """
2026-11-24T09:00,evaluation,pt-a,EMR-1,,,,booked,A-1
2026-11-24T09:30,follow-up,pt-a,EMR-2,,,,booked,A-2
2026-11-20T09:00,follow-up,pt-a,,Bob,Stone,1960-07-08,fulfilled,A-3
2026-11-24T10:00,massage,pt-a,EMR-1,,,,booked,A-4
2026-11-24T11:00,follow-up,pt-a,EMR-404,,,,booked,A-5
"""
    )
    report = interop.import_appointments_csv(
        store, clinic, write(tmp_path, "a.csv", rows), actor=IMPORTER
    )
    assert report.applied == 2
    assert [where for where, _ in report.skipped] == ["line 3", "line 5", "line 6"]
    assert "overlaps" in report.skipped[0][1]
    assert "massage" in report.skipped[1][1]
    assert "no matching patient" in report.skipped[2][1]
    # The imported 09:00 visit is not offered again and cannot be held.
    with pytest.raises(SlotTaken):
        sch.hold_slot(
            store,
            clinic,
            appointment_type_id="evaluation",
            start=datetime(2026, 11, 24, 9, 0, tzinfo=TZ),
            provider_id="pt-a",
            now=NOW,
            actor=IMPORTER,
        )
    again = interop.import_appointments_csv(store, clinic, tmp_path / "a.csv", actor=IMPORTER)
    assert again.applied == 0 and again.unchanged == 2


def test_provider_feed_round_trips_and_other_events_block_time(
    store: Store, clinic: ClinicConfig, tmp_path: Path
) -> None:
    actor = Actor("assistant", "call-1")
    pid = find_or_create_patient(
        store, first_name="Ana", last_name="Lopez", dob=date(1975, 2, 3), actor=actor
    ).patient_id
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=datetime(2026, 11, 24, 9, 0, tzinfo=TZ),
        provider_id="pt-a",
        now=NOW,
        actor=actor,
    )
    sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor)
    feed = interop.provider_ical_feed(
        store, clinic, provider_id="pt-a", start=NOW, end=NOW + timedelta(days=30), actor=actor
    )
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("DTSTART") == datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert "Lopez" not in feed.decode() and "evaluation" in str(events[0]["SUMMARY"])
    # Re-importing our own feed changes nothing (same UID); a meeting blocks pt-a's time.
    cal = icalendar.Calendar.from_ical(feed)
    meeting = icalendar.Event()
    meeting.add("uid", "staff-meeting-1@example")
    meeting.add("dtstart", datetime(2026, 11, 25, 8, 0, tzinfo=TZ))
    meeting.add("dtend", datetime(2026, 11, 25, 10, 0, tzinfo=TZ))
    meeting.add("summary", "Staff meeting")
    cal.add_component(meeting)
    report = interop.import_ical(store, clinic, cal.to_ical(), provider_id="pt-a", actor=actor)
    assert (report.applied, report.unchanged, report.skipped) == (1, 1, [])
    wednesday = sch.find_slots(
        store,
        clinic,
        "evaluation",
        now=NOW,
        limit=50,
        preferences=sch.Preferences(dates=(date(2026, 11, 25),), provider_id="pt-a"),
    )
    assert wednesday and min(s.start for s in wednesday) == datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
    again = interop.import_ical(store, clinic, cal.to_ical(), provider_id="pt-a", actor=actor)
    assert (again.applied, again.unchanged) == (0, 2)


def test_fhir_export_is_valid_r4_with_all_resource_kinds(
    store: Store, clinic: ClinicConfig
) -> None:
    actor = Actor("staff:kim")
    pid = find_or_create_patient(
        store,
        first_name="Ana",
        last_name="Lopez",
        dob=date(1975, 2, 3),
        phone="608-555-0101",
        actor=actor,
    ).patient_id
    add_coverage(
        store, patient_id=pid, payer_name="Aetna", member_id="W1", group_number="G1", actor=actor
    )
    add_referral(
        store,
        patient_id=pid,
        referring_provider_name="Dr. Park",
        referring_provider_npi="1234567893",
        reason="knee pain",
        diagnosis="M25.561",
        body_part="right knee",
        actor=actor,
    )
    slot = sch.find_slots(store, clinic, "evaluation", now=NOW, limit=1)[0]
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=slot.start,
        provider_id=slot.provider_id,
        now=NOW,
        actor=actor,
    )
    sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor)
    bundle = interop.export_patient_bundle(store, clinic, pid, actor=actor)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Coverage", "ServiceRequest", "Appointment"]
    patient, coverage, request, appointment = (e["resource"] for e in bundle["entry"])
    assert patient["birthDate"] == "1975-02-03"
    assert coverage["beneficiary"]["reference"] == f"Patient/{pid}"
    assert request["requester"]["identifier"]["value"] == "1234567893"
    assert appointment["status"] == "booked" and appointment["minutesDuration"] == 60
    fhir_slot = interop.fhir_slot(slot)
    assert fhir_slot["status"] == "free" and fhir_slot["schedule"]["reference"].startswith(
        "Schedule/"
    )
