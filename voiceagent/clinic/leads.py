"""Leads: one per inquiry, followed through stages with a history of who moved it and why.

Stages: new -> contacted -> scheduled -> evaluated -> in_plan_of_care -> discharged, or lost
(with a reason). A lead may skip forward (an EMR import may report "evaluated" for a lead the
assistant only saw as "new"); it moves backward only where that makes sense (a cancelled
booking: scheduled -> contacted; a lost lead reopened: lost -> contacted).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import LeadPolicy
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, InvalidStageMove, UnknownPatient
from voiceagent.clinic.models import (
    Appointment,
    AppointmentStatus,
    Lead,
    LeadSource,
    LeadStage,
    LeadStageChange,
    LostReason,
    Patient,
    utcnow,
)
from voiceagent.clinic.patients import name_key, name_part, normalise_phone

ORDER = [
    LeadStage.NEW,
    LeadStage.CONTACTED,
    LeadStage.WAITLISTED,
    LeadStage.SCHEDULED,
    LeadStage.EVALUATED,
    LeadStage.IN_PLAN_OF_CARE,
    LeadStage.DISCHARGED,
]
CLOSED = {LeadStage.DISCHARGED, LeadStage.LOST}
BACKWARD_ALLOWED = {
    (LeadStage.SCHEDULED, LeadStage.CONTACTED),
    (LeadStage.WAITLISTED, LeadStage.CONTACTED),
    (LeadStage.LOST, LeadStage.CONTACTED),
    (LeadStage.LOST, LeadStage.NEW),
}
SOURCES = tuple(s.value for s in LeadSource)
CHANNELS = ("phone", "web_chat", "sms", "email", "fax", "walk_in", "import")


@dataclass(frozen=True)
class StageChange:
    from_stage: str | None
    to_stage: str
    lost_reason: str | None
    actor: str
    why: str | None
    at: datetime


@dataclass(frozen=True)
class LeadInfo:
    lead_id: int
    patient_id: int | None
    stage: str
    lost_reason: str | None
    source: str | None
    channel: str | None
    referring_provider_name: str | None
    owner_role: str
    created: bool = False


def _info(row: Lead, created: bool = False) -> LeadInfo:
    return LeadInfo(
        row.id,
        row.patient_id,
        row.stage,
        row.lost_reason,
        row.source,
        row.channel,
        row.referring_provider_name,
        row.owner_role,
        created,
    )


def _move(
    session: Session,
    lead: Lead,
    to_stage: str,
    actor: Actor,
    why: str | None,
    lost_reason: str | None = None,
    owners: LeadPolicy | None = None,
) -> None:
    try:
        target = LeadStage(to_stage)
    except ValueError:
        raise InvalidInput(
            f"unknown stage {to_stage!r}; use one of {[s.value for s in LeadStage]}"
        ) from None
    current = LeadStage(lead.stage)
    if target == LeadStage.LOST:
        try:
            LostReason(lost_reason or "")
        except ValueError:
            raise InvalidStageMove(
                f"a lost lead needs a reason: one of {[r.value for r in LostReason]}"
            ) from None
    elif lost_reason is not None:
        raise InvalidStageMove("a lost reason is only given when moving a lead to lost")
    if target == current:
        return
    forward = (
        current in ORDER and target in ORDER and ORDER.index(target) > ORDER.index(current)
    ) or (target == LeadStage.LOST and current not in CLOSED)
    if not forward and (current, target) not in BACKWARD_ALLOWED:
        raise InvalidStageMove(f"a lead cannot move from {current.value} to {target.value}")
    session.add(
        LeadStageChange(
            lead_id=lead.id,
            from_stage=current.value,
            to_stage=target.value,
            lost_reason=lost_reason,
            actor=actor.name,
            why=(why or None) and why[:200],
        )
    )
    lead.stage = target.value
    lead.lost_reason = lost_reason if target == LeadStage.LOST else None
    if owners is not None:
        lead.owner_role = owners.owner_for(target.value)
    audit.record(session, actor, "stage", "lead", lead.id)


def open_lead(
    store: Store,
    *,
    actor: Actor,
    patient_id: int | None = None,
    source: str | None = None,
    channel: str | None = None,
    referring_provider_name: str | None = None,
    referring_provider_npi: str | None = None,
    referral_id: int | None = None,
    owner_role: str = "front_desk",
    why: str | None = None,
) -> LeadInfo:
    """Open a lead for an inquiry, or return the patient's lead that is still open.

    One person's web chat, SMS and phone call about the same referral end on one lead; a
    missing source or referring provider is filled in from later contacts.

    Raises:
        InvalidInput: unknown source or channel. UnknownPatient.
    """
    if source is not None and source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    with store.transaction() as session:
        if patient_id is not None:
            if session.get(Patient, patient_id) is None:
                raise UnknownPatient()
            existing = session.scalars(
                select(Lead)
                .where(Lead.patient_id == patient_id, Lead.stage.not_in([s.value for s in CLOSED]))
                .order_by(Lead.id.desc())
            ).first()
            if existing is not None:
                existing.source = existing.source or source
                existing.referring_provider_name = (
                    existing.referring_provider_name or referring_provider_name
                )
                existing.referring_provider_npi = (
                    existing.referring_provider_npi or referring_provider_npi
                )
                existing.referral_id = existing.referral_id or referral_id
                audit.record(session, actor, "read", "lead", existing.id)
                return _info(existing)
        lead = Lead(
            patient_id=patient_id,
            source=source,
            channel=channel,
            referring_provider_name=referring_provider_name,
            referring_provider_npi=referring_provider_npi,
            referral_id=referral_id,
            owner_role=owner_role,
            stage=LeadStage.NEW.value,
        )
        session.add(lead)
        session.flush()
        session.add(
            LeadStageChange(
                lead_id=lead.id,
                from_stage=None,
                to_stage=LeadStage.NEW.value,
                actor=actor.name,
                why=why or f"inquiry via {channel or 'unknown channel'}",
            )
        )
        audit.record(session, actor, "create", "lead", lead.id)
        return _info(lead, created=True)


class NotIdentifiable(InvalidInput):
    """Too little to follow up: a lead needs a name and a phone or email (or a patient)."""

    code = "not_identifiable"


def _open_lead_of(
    session: Session, patient_id: int | None, phone_key: str | None, email: str | None
) -> Lead | None:
    open_stages = [s.value for s in LeadStage if s not in CLOSED]
    if patient_id is not None:
        found = session.scalars(
            select(Lead)
            .where(Lead.patient_id == patient_id, Lead.stage.in_(open_stages))
            .order_by(Lead.id.desc())
        ).first()
        if found is not None:
            return found
    # An inquiry left before the caller was a patient: same phone (or email), no patient yet.
    for column, value in ((Lead.contact_phone_key, phone_key), (Lead.contact_email, email)):
        if value:
            found = session.scalars(
                select(Lead)
                .where(column == value, Lead.patient_id.is_(None), Lead.stage.in_(open_stages))
                .order_by(Lead.id.desc())
            ).first()
            if found is not None:
                return found
    return None


def _new_lead(
    session: Session,
    actor: Actor,
    *,
    patient_id: int | None,
    source: str,
    channel: str | None,
    owners: LeadPolicy | None,
    why: str,
) -> Lead:
    lead = Lead(
        patient_id=patient_id,
        source=source,
        channel=channel,
        stage=LeadStage.NEW.value,
        owner_role=owners.owner_for(LeadStage.NEW) if owners else "front_desk",
        call_id=actor.call_id,
        last_contact_at=utcnow(),
    )
    session.add(lead)
    session.flush()
    session.add(
        LeadStageChange(
            lead_id=lead.id,
            from_stage=None,
            to_stage=LeadStage.NEW.value,
            actor=actor.name,
            why=why[:200],
        )
    )
    audit.record(session, actor, "create", "lead", lead.id)
    return lead


def record_inquiry(
    store: Store,
    *,
    actor: Actor,
    channel: str,
    patient_id: int | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    source: str | None = None,
    source_detail: str | None = None,
    appointment_type_id: str | None = None,
    payer_name: str | None = None,
    reason: str | None = None,
    referring_provider_name: str | None = None,
    referring_provider_npi: str | None = None,
    referral_id: int | None = None,
    owners: LeadPolicy | None = None,
) -> LeadInfo:
    """The lead for an inquiry, opened as soon as the caller is identifiable (on any channel).

    Identifiable: a known ``patient_id``, or a name and a phone number or email. The same
    person's open lead is reused (by patient, else by phone or email) and what this contact
    taught is added to it; a caller who hangs up before booking leaves the lead at new or
    contacted with that. Without ``source`` the type is derived: physician_referral when a
    referring provider is named, else self_referral.

    Raises:
        NotIdentifiable: no patient and no name with a phone or email.
        InvalidInput: unknown source or channel, a bad phone. UnknownPatient.
    """
    if source is not None and source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    e164, phone_key = normalise_phone(phone)
    email = (email or "").strip().lower() or None
    named = bool(name_part(first_name or "") or name_part(last_name or ""))
    if patient_id is None and not (named and (phone_key or email)):
        raise NotIdentifiable("a lead needs the caller's name and a phone number or email")
    derived = source or (
        LeadSource.PHYSICIAN_REFERRAL if referring_provider_name else LeadSource.SELF_REFERRAL
    )
    with store.transaction() as session:
        if patient_id is not None and session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        lead = _open_lead_of(session, patient_id, phone_key, email)
        created = lead is None
        if lead is None:
            lead = _new_lead(
                session,
                actor,
                patient_id=patient_id,
                source=derived,
                channel=channel,
                owners=owners,
                why=f"inquiry via {channel}",
            )
        else:
            told = source is not None and source != LeadSource.SELF_REFERRAL
            if told and lead.source in (None, LeadSource.SELF_REFERRAL):
                lead.source = source  # a later contact said how they really found us
            lead.source = lead.source or derived
            audit.record(session, actor, "update", "lead", lead.id)
        lead.patient_id = lead.patient_id or patient_id
        for name, value in (
            ("contact_first_name", first_name and first_name.strip()),
            ("contact_last_name", last_name and last_name.strip()),
            ("contact_phone", e164),
            ("contact_phone_key", phone_key),
            ("contact_email", email),
            ("source_detail", source_detail),
            ("appointment_type_id", appointment_type_id),
            ("payer_name", payer_name),
            ("reason", reason),
            ("referring_provider_name", referring_provider_name),
            ("referring_provider_npi", referring_provider_npi),
            ("referral_id", referral_id),
        ):
            if value and not getattr(lead, name):
                setattr(lead, name, value)
        lead.channel = lead.channel or channel
        lead.call_id = actor.call_id or lead.call_id
        lead.last_contact_at = utcnow()
        session.flush()
        return _info(lead, created=created)


def mark_contacted(
    store: Store, *, lead_id: int, actor: Actor, why: str, owners: LeadPolicy | None = None
) -> LeadInfo:
    """A new lead the clinic has now spoken with (the caller declined to book, or staff
    called back): contacted, with why. A lead past contacted is left as it is."""
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise InvalidInput(f"no lead {lead_id}")
        if lead.stage == LeadStage.NEW:
            _move(session, lead, LeadStage.CONTACTED, actor, why, owners=owners)
        lead.last_contact_at = utcnow()
        session.flush()
        return _info(lead)


def move_stage(
    store: Store,
    *,
    lead_id: int,
    to_stage: str,
    actor: Actor,
    why: str | None = None,
    lost_reason: str | None = None,
    owners: LeadPolicy | None = None,
) -> LeadInfo:
    """Move a lead to another stage, recording who and why.

    Raises:
        InvalidStageMove: a move the stage rules forbid, or ``lost`` without a LostReason.
        InvalidInput: unknown lead or stage.
    """
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise InvalidInput(f"no lead {lead_id}")
        _move(session, lead, to_stage, actor, why, lost_reason, owners)
        session.flush()
        return _info(lead)


def assign_owner(store: Store, *, lead_id: int, owner_role: str, actor: Actor) -> LeadInfo:
    """Hand a lead to another role (front_desk, intake_coordinator, billing...)."""
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise InvalidInput(f"no lead {lead_id}")
        lead.owner_role = owner_role
        audit.record(session, actor, "update", "lead", lead.id)
        session.flush()
        return _info(lead)


def advance_on_booking(
    session: Session, lead_id: int, actor: Actor, owners: LeadPolicy | None = None
) -> None:
    """Inside a booking transaction: a new/contacted/waitlisted lead becomes scheduled."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise InvalidInput(f"no lead {lead_id}")
    if lead.stage in (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.WAITLISTED, LeadStage.LOST):
        if lead.stage == LeadStage.LOST:
            _move(session, lead, LeadStage.CONTACTED, actor, "returned after being lost")
        _move(session, lead, LeadStage.SCHEDULED, actor, "appointment booked", owners=owners)


def advance_to_waitlisted(
    session: Session, lead_id: int, actor: Actor, owners: LeadPolicy | None = None
) -> None:
    """Inside a waitlist transaction: a new/contacted lead becomes waitlisted."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise InvalidInput(f"no lead {lead_id}")
    if lead.stage in (LeadStage.NEW, LeadStage.CONTACTED):
        _move(session, lead, LeadStage.WAITLISTED, actor, "put on the waitlist", owners=owners)


def lead_for_booking(
    session: Session, patient_id: int, actor: Actor, owners: LeadPolicy | None = None
) -> int:
    """Inside a booking transaction: the patient's open lead (or an inquiry lead left under
    their phone number), else a new one; every booking belongs to a lead."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise UnknownPatient()
    lead = _open_lead_of(session, patient_id, patient.phone_key, patient.email)
    if lead is None:
        returning = session.scalars(
            select(Appointment.id).where(Appointment.patient_id == patient_id)
        ).first()
        lead = _new_lead(
            session,
            actor,
            patient_id=patient_id,
            source=LeadSource.RETURNING_PATIENT if returning else LeadSource.SELF_REFERRAL,
            channel=None,
            owners=owners,
            why="booked without an earlier inquiry",
        )
    elif lead.patient_id is None:
        lead.patient_id = patient_id
    return lead.id


def step_back_on_cancel(session: Session, lead_id: int, actor: Actor) -> None:
    """Inside a cancel transaction: a scheduled lead with nothing else booked is contacted
    again (staff decide later whether it is lost, e.g. cancelled_before_evaluation)."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.stage != LeadStage.SCHEDULED:
        return
    still_booked = session.scalars(
        select(Appointment.id).where(
            Appointment.lead_id == lead_id, Appointment.status == AppointmentStatus.BOOKED
        )
    ).first()
    if still_booked is None:
        _move(session, lead, LeadStage.CONTACTED, actor, "appointment cancelled")


def history(store: Store, lead_id: int, *, actor: Actor) -> list[StageChange]:
    """The lead's stage changes, oldest first."""
    with store.transaction() as session:
        rows = session.scalars(
            select(LeadStageChange)
            .where(LeadStageChange.lead_id == lead_id)
            .order_by(LeadStageChange.id)
        )
        out = [
            StageChange(r.from_stage, r.to_stage, r.lost_reason, r.actor, r.why, r.at) for r in rows
        ]
        audit.record(session, actor, "read", "lead", lead_id)
        return out


def get_lead(store: Store, lead_id: int, *, actor: Actor) -> LeadInfo:
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise InvalidInput(f"no lead {lead_id}")
        audit.record(session, actor, "read", "lead", lead.id)
        return _info(lead)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows applied, and (row number, problem) for each row skipped."""

    applied: int
    skipped: list[tuple[int, str]]


EMR_EVENTS = {
    "evaluated": LeadStage.EVALUATED,
    "in_plan_of_care": LeadStage.IN_PLAN_OF_CARE,
    "discharged": LeadStage.DISCHARGED,
}


def import_emr_events(store: Store, path: Path | str, *, actor: Actor) -> ImportReport:
    """Apply stage events exported by the EMR (CSV with a header row).

    Columns: ``event`` (evaluated, in_plan_of_care, discharged), ``date`` (YYYY-MM-DD), and
    either ``patient_external_id`` or ``first_name``, ``last_name``, ``dob``. The patient's
    open lead (else their latest lead) moves; rows that cannot be applied are reported with
    their line number, never silently dropped.
    """
    applied = 0
    skipped: list[tuple[int, str]] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for line, row in enumerate(reader, start=2):
            event = (row.get("event") or "").strip().lower()
            if event not in EMR_EVENTS:
                skipped.append((line, f"unknown event {event!r}; use {', '.join(EMR_EVENTS)}"))
                continue
            try:
                when = date.fromisoformat((row.get("date") or "").strip())
            except ValueError:
                skipped.append((line, "date is not YYYY-MM-DD"))
                continue
            try:
                with store.transaction() as session:
                    patient = _emr_patient(session, row)
                    if patient is None:
                        raise InvalidInput("no matching patient")
                    audit.record(session, actor, "read", "patient", patient.id)
                    lead = session.scalars(
                        select(Lead)
                        .where(Lead.patient_id == patient.id)
                        .order_by(Lead.stage.in_([s.value for s in CLOSED]), Lead.id.desc())
                    ).first()
                    if lead is None:
                        raise InvalidInput("the patient has no lead")
                    _move(session, lead, EMR_EVENTS[event], actor, f"EMR {event} on {when}")
                applied += 1
            except (InvalidInput, InvalidStageMove) as exc:
                skipped.append((line, str(exc)))
    return ImportReport(applied, skipped)


def _emr_patient(session: Session, row: dict[str, str]) -> Patient | None:
    external = (row.get("patient_external_id") or "").strip()
    if external:
        return session.scalars(select(Patient).where(Patient.external_id == external)).first()
    try:
        dob = date.fromisoformat((row.get("dob") or "").strip())
    except ValueError:
        raise InvalidInput("dob is not YYYY-MM-DD") from None
    key = name_key(row.get("first_name") or "", row.get("last_name") or "")
    return session.scalars(
        select(Patient).where(Patient.name_key == key, Patient.dob == dob)
    ).first()
