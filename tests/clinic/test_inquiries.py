"""A lead for every inquiry: opened once the caller is identifiable, on any channel, reused
across contacts, moved to scheduled by a booking (even one made without naming the lead)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.clinic.clinic_fixtures import NOW, TZ, make_clinic
from voiceagent.clinic import leads
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, InvalidStageMove
from voiceagent.clinic.leads import NotIdentifiable
from voiceagent.clinic.models import Appointment, Lead
from voiceagent.clinic.patients import find_or_create_patient

CALL = Actor("assistant", "call-lead")
CHAT = Actor("assistant", "chat-lead")
START = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


def lead_count(store: Store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Lead)) or 0


def book(store: Store, pid: int, start: datetime = START, lead_id: int | None = None) -> int:
    clinic = make_clinic()
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=start,
        provider_id="pt-a",
        now=NOW,
        actor=CALL,
    )
    return sch.book(
        store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=CALL, lead_id=lead_id
    ).appointment_id


def test_an_inquiry_becomes_a_lead_once_the_caller_is_identifiable(any_store: Store) -> None:
    with pytest.raises(NotIdentifiable):
        leads.record_inquiry(any_store, actor=CALL, channel="phone", first_name="Ana")
    with pytest.raises(NotIdentifiable):
        leads.record_inquiry(any_store, actor=CALL, channel="phone", phone="608 555 0142")
    assert lead_count(any_store) == 0
    lead = leads.record_inquiry(
        any_store,
        actor=CALL,
        channel="phone",
        first_name="Ana",
        last_name="Lopez",
        phone="608 555 0142",
        reason="low back pain",
        payer_name="Aetna",
        appointment_type_id="evaluation",
    )
    assert lead.created and (lead.stage, lead.source, lead.channel) == (
        "new",
        "self_referral",
        "phone",
    )
    with any_store.transaction() as session:
        row = session.get(Lead, lead.lead_id)
        assert row is not None
        assert (row.contact_phone, row.payer_name, row.call_id) == (
            "+16085550142",
            "Aetna",
            "call-lead",
        )


def test_the_same_person_on_another_channel_continues_the_same_lead(any_store: Store) -> None:
    first = leads.record_inquiry(
        any_store, actor=CHAT, channel="web_chat", first_name="Ana", email="Ana@Example.com"
    )
    again = leads.record_inquiry(
        any_store,
        actor=CALL,
        channel="phone",
        first_name="Ana",
        last_name="Lopez",
        email="ana@example.com",
        phone="6085550142",
        source="physician_referral",
        referring_provider_name="Dr. Park",
    )
    assert not again.created and again.lead_id == first.lead_id
    # the later contact tells how they really found the clinic
    assert (again.source, again.referring_provider_name) == ("physician_referral", "Dr. Park")
    assert lead_count(any_store) == 1


def test_a_booking_moves_the_callers_inquiry_lead_to_scheduled(any_store: Store) -> None:
    inquiry = leads.record_inquiry(
        any_store, actor=CALL, channel="phone", first_name="Ana", phone="608-555-0142"
    )
    pid = find_or_create_patient(
        any_store,
        first_name="Ana",
        last_name="Lopez",
        dob=date(1990, 2, 3),
        phone="608 555 0142",
        actor=CALL,
    ).patient_id
    appointment = book(any_store, pid)  # the dialog did not pass the lead: found by phone
    info = leads.get_lead(any_store, inquiry.lead_id, actor=CALL)
    assert (info.stage, info.patient_id) == ("scheduled", pid)
    with any_store.transaction() as session:
        row = session.get(Appointment, appointment)
        assert row is not None and row.lead_id == inquiry.lead_id
    assert lead_count(any_store) == 1


def test_every_booking_has_a_lead_even_without_an_inquiry(any_store: Store) -> None:
    pids = [
        find_or_create_patient(
            any_store,
            first_name=f"Walk{chr(65 + i)}",
            last_name="In",
            dob=date(1980, 1, 1 + i),
            actor=CALL,
        ).patient_id
        for i in range(3)
    ]
    for i, pid in enumerate(pids):
        book(any_store, pid, START.replace(hour=9 + 2 * i))
    with any_store.transaction() as session:
        rows = list(session.scalars(select(Appointment)))
        assert len(rows) == 3 and all(r.lead_id is not None for r in rows)
        stages = {session.get(Lead, r.lead_id).stage for r in rows}  # type: ignore[union-attr]
    assert stages == {"scheduled"}
    # a returning patient's second visit is booked on a new lead marked returning_patient
    # once the first lead closed
    first_lead = rows[0].lead_id
    assert first_lead is not None
    leads.move_stage(any_store, lead_id=first_lead, to_stage="discharged", actor=CALL)
    book(any_store, pids[0], START.replace(day=25, hour=9))
    with any_store.transaction() as session:
        newest = session.scalars(select(Lead).order_by(Lead.id.desc())).first()
        assert newest is not None and newest.source == "returning_patient"


def test_a_caller_who_declines_leaves_the_lead_contacted_with_what_was_learned(
    any_store: Store,
) -> None:
    owners = make_clinic(
        leads={"owners": {"new": "intake_coordinator", "contacted": "front_desk"}}
    ).leads
    lead = leads.record_inquiry(
        any_store,
        actor=CALL,
        channel="phone",
        first_name="Ana",
        phone="608 555 0142",
        reason="knee pain after a fall",
        owners=owners,
    )
    assert lead.owner_role == "intake_coordinator"
    after = leads.mark_contacted(
        any_store, lead_id=lead.lead_id, actor=CALL, why="declined: will call back", owners=owners
    )
    assert (after.stage, after.owner_role) == ("contacted", "front_desk")
    with any_store.transaction() as session:
        row = session.get(Lead, lead.lead_id)
        assert row is not None and row.reason == "knee pain after a fall"


def test_lost_leads_need_one_of_the_pipeline_reasons(any_store: Store) -> None:
    lead = leads.record_inquiry(
        any_store, actor=CALL, channel="sms", first_name="Ana", phone="608 555 0142"
    )
    with pytest.raises(InvalidStageMove, match="reason"):
        leads.move_stage(any_store, lead_id=lead.lead_id, to_stage="lost", actor=CALL)
    lost = leads.move_stage(
        any_store, lead_id=lead.lead_id, to_stage="lost", lost_reason="no_availability", actor=CALL
    )
    assert (lost.stage, lost.lost_reason) == ("lost", "no_availability")
    with pytest.raises(InvalidInput, match="source"):
        leads.record_inquiry(
            any_store, actor=CALL, channel="phone", first_name="B", phone="6085550100", source="tv"
        )
