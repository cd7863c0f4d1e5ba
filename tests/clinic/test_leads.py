"""Leads: one per inquiry, stage moves with who/why, attribution, EMR import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.clinic.clinic_fixtures import NOW
from voiceagent.clinic import leads
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, InvalidStageMove
from voiceagent.clinic.models import LeadStageChange
from voiceagent.clinic.patients import find_or_create_patient

pytestmark = pytest.mark.unit

BOT = Actor("assistant", "call-1")
STAFF = Actor("staff:kim")


def new_patient(store: Store, first: str = "Maria", external_id: str | None = None) -> int:
    return find_or_create_patient(
        store,
        first_name=first,
        last_name="Garcia",
        dob=date(1980, 5, 1),
        actor=BOT,
        external_id=external_id,
    ).patient_id


def test_web_chat_sms_and_call_about_one_referral_share_one_lead(store: Store) -> None:
    pid = new_patient(store)
    web = leads.open_lead(store, patient_id=pid, channel="web_chat", source="web", actor=BOT)
    call = leads.open_lead(
        store,
        patient_id=pid,
        channel="phone",
        source="physician_referral",
        referring_provider_name="Dr. Park",
        actor=BOT,
    )
    assert web.created and not call.created
    assert call.lead_id == web.lead_id
    assert call.source == "web"  # first touch keeps the attribution
    assert call.referring_provider_name == "Dr. Park"  # filled in by the later contact


def test_stage_moves_are_recorded_with_who_and_why(store: Store) -> None:
    lead = leads.open_lead(store, patient_id=new_patient(store), channel="phone", actor=BOT)
    leads.move_stage(
        store, lead_id=lead.lead_id, to_stage="contacted", actor=STAFF, why="called back"
    )
    lost = leads.move_stage(
        store,
        lead_id=lead.lead_id,
        to_stage="lost",
        actor=STAFF,
        why="insurance",
        lost_reason="payer_not_accepted",
    )
    assert (lost.stage, lost.lost_reason) == ("lost", "payer_not_accepted")
    history = leads.history(store, lead.lead_id, actor=STAFF)
    assert [(h.from_stage, h.to_stage, h.actor) for h in history] == [
        (None, "new", "assistant"),
        ("new", "contacted", "staff:kim"),
        ("contacted", "lost", "staff:kim"),
    ]
    assert history[-1].why == "insurance" and history[-1].lost_reason == "payer_not_accepted"


def test_lost_needs_a_known_reason_and_closed_leads_do_not_go_backwards(store: Store) -> None:
    lead = leads.open_lead(store, patient_id=new_patient(store), actor=BOT)
    with pytest.raises(InvalidStageMove, match="reason"):
        leads.move_stage(store, lead_id=lead.lead_id, to_stage="lost", actor=STAFF)
    with pytest.raises(InvalidStageMove, match="reason"):
        leads.move_stage(
            store, lead_id=lead.lead_id, to_stage="lost", lost_reason="bored", actor=STAFF
        )
    leads.move_stage(store, lead_id=lead.lead_id, to_stage="discharged", actor=STAFF)
    with pytest.raises(InvalidStageMove, match="from discharged to evaluated"):
        leads.move_stage(store, lead_id=lead.lead_id, to_stage="evaluated", actor=STAFF)
    with pytest.raises(InvalidInput, match="unknown stage"):
        leads.move_stage(store, lead_id=lead.lead_id, to_stage="won", actor=STAFF)


def test_discharged_patient_calling_again_opens_a_new_lead(store: Store) -> None:
    pid = new_patient(store)
    first = leads.open_lead(store, patient_id=pid, actor=BOT)
    leads.move_stage(store, lead_id=first.lead_id, to_stage="discharged", actor=STAFF)
    second = leads.open_lead(store, patient_id=pid, source="returning_patient", actor=BOT)
    assert second.created and second.lead_id != first.lead_id


def test_booking_with_a_lead_moves_it_to_scheduled(store: Store, clinic: ClinicConfig) -> None:
    pid = new_patient(store)
    lead = leads.open_lead(store, patient_id=pid, channel="phone", actor=BOT)
    slot = sch.find_slots(store, clinic, "evaluation", now=NOW, limit=1)[0]
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=slot.start,
        provider_id=slot.provider_id,
        now=NOW,
        actor=BOT,
    )
    sch.book(
        store,
        clinic,
        hold_id=held.hold_id,
        patient_id=pid,
        now=NOW,
        actor=BOT,
        lead_id=lead.lead_id,
    )
    assert leads.get_lead(store, lead.lead_id, actor=STAFF).stage == "scheduled"


def test_owner_role_can_be_reassigned(store: Store) -> None:
    lead = leads.open_lead(store, actor=BOT, owner_role="front_desk")
    moved = leads.assign_owner(
        store, lead_id=lead.lead_id, owner_role="intake_coordinator", actor=STAFF
    )
    assert moved.owner_role == "intake_coordinator"


def test_unknown_source_is_refused_with_the_list(store: Store) -> None:
    with pytest.raises(InvalidInput, match="physician_referral"):
        leads.open_lead(store, source="billboard", actor=BOT)


def test_emr_csv_moves_stages_and_reports_bad_rows_by_line(store: Store, tmp_path: Path) -> None:
    a = new_patient(store, "Ana", external_id="EMR-1")
    b = new_patient(store, "Bob")
    lead_a = leads.open_lead(store, patient_id=a, actor=BOT)
    lead_b = leads.open_lead(store, patient_id=b, actor=BOT)
    csv_path = tmp_path / "emr.csv"
    csv_path.write_text(
        "event,date,patient_external_id,first_name,last_name,dob\n"
        "evaluated,2026-11-24,EMR-1,,,\n"
        "discharged,2026-12-20,,Bob,Garcia,1980-05-01\n"
        "evaluated,2026-11-24,EMR-404,,,\n"
        "teleported,2026-11-24,EMR-1,,,\n",
        encoding="utf-8",
    )
    report = leads.import_emr_events(store, csv_path, actor=Actor("import:emr"))
    assert report.applied == 2
    assert [line for line, _ in report.skipped] == [4, 5]
    assert "no matching patient" in report.skipped[0][1]
    assert leads.get_lead(store, lead_a.lead_id, actor=STAFF).stage == "evaluated"
    assert leads.get_lead(store, lead_b.lead_id, actor=STAFF).stage == "discharged"
    with store.transaction() as session:
        change = session.scalars(
            select(LeadStageChange).where(
                LeadStageChange.lead_id == lead_a.lead_id, LeadStageChange.to_stage == "evaluated"
            )
        ).one()
    assert change.actor == "import:emr" and "2026-11-24" in (change.why or "")


def test_cancelling_the_only_booking_puts_a_scheduled_lead_back_to_contacted(
    store: Store, clinic: ClinicConfig
) -> None:
    pid = new_patient(store)
    lead = leads.open_lead(store, patient_id=pid, channel="phone", actor=BOT)
    slot = sch.find_slots(store, clinic, "evaluation", now=NOW, limit=1)[0]
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=slot.start,
        provider_id=slot.provider_id,
        now=NOW,
        actor=BOT,
    )
    booking = sch.book(
        store,
        clinic,
        hold_id=held.hold_id,
        patient_id=pid,
        now=NOW,
        actor=BOT,
        lead_id=lead.lead_id,
    )
    sch.cancel(
        store, clinic, patient_id=pid, appointment_id=booking.appointment_id, now=NOW, actor=BOT
    )
    assert leads.get_lead(store, lead.lead_id, actor=STAFF).stage == "contacted"
    assert leads.history(store, lead.lead_id, actor=STAFF)[-1].why == "appointment cancelled"
