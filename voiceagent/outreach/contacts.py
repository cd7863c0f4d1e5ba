"""One lead per person across channels: find it by phone number or email address.

A person who chats, then calls, then texts lands on one lead: each contact's phone or email
is remembered on the lead (``lead_contacts``), and a patient's own phone and email lead to
the patient's open lead. When a contact-only lead later turns out to be a patient who has
their own lead, :func:`merge_leads` folds it in (the duplicate is closed as ``duplicate``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.errors import InvalidInput
from voiceagent.clinic.leads import CLOSED
from voiceagent.clinic.models import Lead, LeadStage, LeadStageChange, LostReason, Patient
from voiceagent.clinic.patients import normalise_phone
from voiceagent.outreach.records import CallSummary, LeadContact, OutreachJob, TimelineEntry

OPEN_STAGES = [s.value for s in LeadStage if s not in CLOSED]


def phone_key(phone: str | None) -> tuple[str, str] | None:
    """(E.164, match key) for a phone number or a SIP caller id; None when it is not one."""
    if not phone:
        return None
    text = phone.strip()
    if text.startswith(("sip:", "sips:", "tel:")):
        text = text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    try:
        e164, key = normalise_phone(text)
    except InvalidInput:
        return None
    return (e164, key) if e164 and key else None


def email_key(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.strip().lower()


def find_lead(session: Session, *, phone: str | None = None,
              email: str | None = None) -> Lead | None:
    """The person's open lead (newest first), by a remembered contact or a patient record."""
    keys: list[tuple[str, str]] = []
    if (pk := phone_key(phone)) is not None:
        keys.append(("phone", pk[1]))
    if (ek := email_key(email)) is not None:
        keys.append(("email", ek))
    for kind, key in keys:
        lead = session.scalars(
            select(Lead).join(LeadContact, LeadContact.lead_id == Lead.id)
            .where(LeadContact.kind == kind, LeadContact.value_key == key,
                   Lead.stage.in_(OPEN_STAGES))
            .order_by(Lead.id.desc())).first()
        if lead is not None:
            return lead
        column = Patient.phone_key if kind == "phone" else func.lower(Patient.email)
        lead = session.scalars(
            select(Lead).join(Patient, Patient.id == Lead.patient_id)
            .where(column == key, Lead.stage.in_(OPEN_STAGES))
            .order_by(Lead.id.desc())).first()
        if lead is not None:
            return lead
    return None


def known_patient_lead(session: Session, *, phone: str | None, email: str | None,
                       patient_id: int | None) -> Lead | None:
    """The latest lead (any stage) of a known patient with this id, phone or email: an
    existing patient calling about a bill is not a new inquiry."""
    conditions = []
    if patient_id is not None:
        conditions.append(Patient.id == patient_id)
    if (pk := phone_key(phone)) is not None:
        conditions.append(Patient.phone_key == pk[1])
    if (ek := email_key(email)) is not None:
        conditions.append(func.lower(Patient.email) == ek)
    if not conditions:
        return None
    return session.scalars(select(Lead).join(Patient, Patient.id == Lead.patient_id)
                           .where(or_(*conditions)).order_by(Lead.id.desc())).first()


def remember_contact(session: Session, lead_id: int, *, phone: str | None = None,
                     email: str | None = None) -> None:
    for kind, pair in (("phone", phone_key(phone)),
                       ("email", (email.strip(), k) if email and (k := email_key(email))
                        else None)):
        if pair is None:
            continue
        value, key = pair
        exists = session.scalar(select(LeadContact.id).where(
            LeadContact.lead_id == lead_id, LeadContact.kind == kind,
            LeadContact.value_key == key))
        if exists is None:
            session.add(LeadContact(lead_id=lead_id, kind=kind, value=value, value_key=key))


def resolve_lead(session: Session, *, actor: Actor, channel: str, now: datetime,
                 phone: str | None = None, email: str | None = None,
                 patient_id: int | None = None) -> Lead:
    """The person's open lead, or a new one; their phone/email are remembered on it."""
    lead = None
    if patient_id is not None:
        lead = session.scalars(select(Lead).where(
            Lead.patient_id == patient_id, Lead.stage.in_(OPEN_STAGES))
            .order_by(Lead.id.desc())).first()
    if lead is None:
        lead = find_lead(session, phone=phone, email=email)
    if lead is None:
        lead = Lead(patient_id=patient_id, channel=channel, stage=LeadStage.NEW.value,
                    owner_role="front_desk", created_at=now, updated_at=now)
        session.add(lead)
        session.flush()
        session.add(LeadStageChange(lead_id=lead.id, from_stage=None,
                                    to_stage=LeadStage.NEW.value, actor=actor.name,
                                    why=f"inquiry via {channel}", at=now))
        audit.record(session, actor, "create", "lead", lead.id)
    elif lead.patient_id is None and patient_id is not None:
        lead.patient_id = patient_id
    remember_contact(session, lead.id, phone=phone, email=email)
    session.flush()
    return lead


def merge_leads(session: Session, *, keep: Lead, duplicate: Lead, actor: Actor,
                now: datetime) -> None:
    """Fold ``duplicate`` into ``keep``: timeline, contacts, jobs and summaries move; the
    duplicate is closed as lost (reason ``duplicate``) with a note saying where it went."""
    if keep.id == duplicate.id:
        return
    for model in (TimelineEntry, OutreachJob, CallSummary):
        session.execute(update(model).where(model.lead_id == duplicate.id)
                        .values(lead_id=keep.id).execution_options(synchronize_session=False))
    for contact in session.scalars(select(LeadContact).where(
            LeadContact.lead_id == duplicate.id)):
        remember_contact(session, keep.id, **{contact.kind: contact.value})
        session.delete(contact)
    keep.source = keep.source or duplicate.source
    session.add(LeadStageChange(lead_id=duplicate.id, from_stage=duplicate.stage,
                                to_stage=LeadStage.LOST.value,
                                lost_reason=LostReason.DUPLICATE.value, actor=actor.name,
                                why=f"merged into lead {keep.id}", at=now))
    duplicate.stage = LeadStage.LOST.value
    duplicate.lost_reason = LostReason.DUPLICATE.value
    session.add(TimelineEntry(lead_id=keep.id, at=now, channel="system", direction="note",
                              kind="merge", body=f"lead {duplicate.id} merged into this one"))
    audit.record(session, actor, "merge", "lead", f"{duplicate.id}->{keep.id}")
