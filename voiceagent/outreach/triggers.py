"""What puts follow-up jobs in the queue: bookings, no-shows, ended calls and chats, leads
that did not book. Each is noticed from the store itself, so it works whichever process
or channel made the change; dedupe keys make noticing twice harmless.

The front desk may also call :func:`appointment_booked` right after a booking so that the
confirmation does not wait for the next sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import (
    Appointment,
    AppointmentStatus,
    Call,
    ChatSession,
    Lead,
    LeadStage,
    Patient,
)
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.logs import log_event
from voiceagent.outreach.contacts import find_lead, known_patient_lead, phone_key, resolve_lead
from voiceagent.outreach.jobs import NewJob, enqueue
from voiceagent.outreach.records import (
    CallSummary,
    Channel,
    JobKind,
    LeadContact,
    OutreachJob,
    TimelineEntry,
)
from voiceagent.outreach.summary import Summarizer, call_facts

log = logging.getLogger(__name__)
ACTOR = Actor("outreach")
CHAT_CHANNELS = ("web_chat", "chat", "sms")
# leads that asked the clinic themselves (a referral the clinic chases has its own workflow)
INQUIRY_CHANNELS = ("phone", "web_chat", "chat", "sms", "email")
# a text conversation nobody has written in for this long is over (then it is summarised)
IDLE = {"web_chat": timedelta(minutes=30), "chat": timedelta(minutes=30),
        "sms": timedelta(hours=24)}


@dataclass(frozen=True)
class Scope:
    """What the sweeps may queue: the clinic's policy and the channels that are on."""

    clinic: ClinicConfig
    channels: frozenset[Channel]
    horizon: timedelta


def _appointment_lead(session: Session, appt: Appointment, patient: Patient,
                      now: datetime) -> int:
    if appt.lead_id is not None:
        return appt.lead_id
    lead = resolve_lead(session, actor=ACTOR, channel="phone", now=now, phone=patient.phone,
                        email=patient.email, patient_id=patient.id)
    return lead.id


def schedule_appointment(session: Session, scope: Scope, appt: Appointment,
                         now: datetime) -> int:
    """Queue the confirmation (now) and the reminder (before the visit) of one booking."""
    policy = scope.clinic.outreach
    patient = session.get(Patient, appt.patient_id)
    if patient is None or appt.status != AppointmentStatus.BOOKED or appt.start <= now:
        return 0
    lead_id = _appointment_lead(session, appt, patient, now)
    queued = 0
    addresses = {Channel.SMS: patient.phone, Channel.EMAIL: patient.email}
    reminder_at = appt.start - timedelta(hours=policy.reminder_hours_before)
    for channel in sorted(scope.channels):
        address = addresses[channel]
        if not address:
            continue
        if policy.confirmation:
            queued += enqueue(session, NewJob(
                JobKind.CONFIRMATION, f"confirmation:{appt.id}:{channel}", now, channel,
                address, lead_id, appt.id), now)
        if policy.reminder_hours_before > 0 and reminder_at > now:
            queued += enqueue(session, NewJob(
                JobKind.REMINDER, f"reminder:{appt.id}:{channel}", reminder_at, channel,
                address, lead_id, appt.id), now)
    return queued


def appointment_booked(store: Store, scope: Scope, appointment_id: int, now: datetime) -> int:
    """The hook for the front desk: queue a new booking's confirmation and reminder now."""
    with store.transaction() as session:
        appt = session.get(Appointment, appointment_id)
        return 0 if appt is None else schedule_appointment(session, scope, appt, now)


def _has_job(kind: JobKind, **match: object) -> object:
    conditions = [OutreachJob.kind == kind.value]
    for name, column in match.items():
        conditions.append(getattr(OutreachJob, name) == column)
    return exists().where(*conditions)


def sweep_bookings(session: Session, scope: Scope, now: datetime) -> int:
    policy = scope.clinic.outreach
    if not scope.channels or not (policy.confirmation or policy.reminder_hours_before > 0):
        return 0
    rows = session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.BOOKED.value, Appointment.start > now,
        Appointment.created_at >= now - scope.horizon, Appointment.external_id.is_(None),
        ~exists().where(OutreachJob.appointment_id == Appointment.id,
                        OutreachJob.kind.in_([JobKind.CONFIRMATION.value,
                                              JobKind.REMINDER.value])))
        .order_by(Appointment.id).limit(100))
    return sum(schedule_appointment(session, scope, appt, now) for appt in rows)


def sweep_no_shows(session: Session, scope: Scope, now: datetime) -> int:
    if Channel.SMS not in scope.channels or not scope.clinic.outreach.no_show_follow_up:
        return 0
    queued = 0
    for appt in session.scalars(select(Appointment).where(
            Appointment.status == AppointmentStatus.NO_SHOW.value,
            Appointment.updated_at >= now - scope.horizon,
            ~exists().where(OutreachJob.appointment_id == Appointment.id,
                            OutreachJob.kind == JobKind.NO_SHOW.value)).limit(100)):
        patient = session.get(Patient, appt.patient_id)
        if patient is None or not patient.phone:
            continue
        lead_id = _appointment_lead(session, appt, patient, now)
        queued += enqueue(session, NewJob(JobKind.NO_SHOW, f"no_show:{appt.id}", now,
                                          Channel.SMS, patient.phone, lead_id, appt.id), now)
    return queued


def _lead_phone(session: Session, lead: Lead) -> str | None:
    value = session.scalar(select(LeadContact.value).where(
        LeadContact.lead_id == lead.id, LeadContact.kind == "phone")
        .order_by(LeadContact.id.desc()))
    if value:
        return value
    if lead.patient_id is not None:
        patient = session.get(Patient, lead.patient_id)
        return patient.phone if patient else None
    return None


def sweep_unbooked_leads(session: Session, scope: Scope, now: datetime) -> int:
    hours = scope.clinic.outreach.nudge_after_hours
    if Channel.SMS not in scope.channels or hours <= 0:
        return 0
    cutoff = now - timedelta(hours=hours)
    booked = exists().where(Appointment.lead_id == Lead.id)
    queued = 0
    for lead in session.scalars(select(Lead).where(
            Lead.stage.in_([LeadStage.NEW.value, LeadStage.CONTACTED.value]),
            Lead.channel.in_(INQUIRY_CHANNELS),
            Lead.created_at <= cutoff, Lead.created_at >= cutoff - scope.horizon, ~booked,
            ~exists().where(OutreachJob.lead_id == Lead.id,
                            OutreachJob.kind == JobKind.NUDGE.value)).limit(100)):
        phone = _lead_phone(session, lead)
        if phone:
            queued += enqueue(session, NewJob(JobKind.NUDGE, f"nudge:{lead.id}", now,
                                              Channel.SMS, phone, lead.id), now)
    return queued


def _contact_of(session: Session, call: Call) -> tuple[str | None, str | None]:
    """The phone and email a conversation gave: the caller id, or what the chat collected."""
    caller = phone_key(call.caller_id)
    phone = caller[0] if caller else None
    email = None
    if call.channel in CHAT_CHANNELS:
        row = session.get(ChatSession, call.id)
        if row is not None:
            fields = ConversationState.from_dict(row.state).fields
            phone = phone or fields.get("phone") or fields.get("callback_phone")
            email = fields.get("email")
    return phone, email


def summarize_ended_calls(session: Session, scope: Scope, summarizer: Summarizer,
                          now: datetime, limit: int = 20) -> int:
    """Summaries of ended calls and chats, each put on its lead's timeline; a phone call
    that ended before anything was learned gets a missed-call text-back."""
    queued = 0
    calls = list(session.scalars(select(Call).where(
        Call.ended_at.is_not(None), Call.ended_at >= now - scope.horizon,
        ~exists().where(CallSummary.call_id == Call.id)).order_by(Call.started_at)
        .limit(limit)))
    for call in calls:
        facts = call_facts(session, scope.clinic, call)
        summary = summarizer.summarize(facts)
        phone, email = _contact_of(session, call)
        appt_lead = session.scalar(select(Appointment.lead_id).where(
            Appointment.call_id == call.id, Appointment.lead_id.is_not(None)))
        lead: Lead | None = session.get(Lead, appt_lead) if appt_lead else None
        if lead is None:
            lead = find_lead(session, phone=phone, email=email) or known_patient_lead(
                session, phone=phone, email=email, patient_id=call.patient_id)
        if lead is None and (phone or email or call.patient_id):
            lead = resolve_lead(session, actor=ACTOR, now=now, phone=phone, email=email,
                                patient_id=call.patient_id,
                                channel="phone" if call.channel == "phone" else call.channel)
        elif lead is not None:
            _remember(session, lead, phone, email, now)
        row = CallSummary(call_id=call.id, lead_id=lead.id if lead else None,
                          reason=summary.reason, done=summary.done, pending=summary.pending,
                          owner_role=summary.owner_role, source=summary.source, created_at=now)
        try:
            with session.begin_nested():
                session.add(row)
                if lead is not None:
                    session.add(TimelineEntry(
                        lead_id=lead.id, at=call.ended_at or now, channel=call.channel,
                        direction="inbound", kind="conversation", body=row.text(),
                        address=phone, call_id=call.id))
        except IntegrityError:  # another process summarised it a moment ago
            continue
        log_event(log, "summary.written", call_id=call.id, source=summary.source,
                  lead_id=lead.id if lead else None)
        if (call.channel == "phone" and facts.learned_nothing and phone and lead is not None
                and Channel.SMS in scope.channels and scope.clinic.outreach.missed_call_text_back):
            queued += enqueue(session, NewJob(JobKind.MISSED_CALL, f"missed_call:{call.id}", now,
                                              Channel.SMS, phone, lead.id, call_id=call.id), now)
    return queued


def _remember(session: Session, lead: Lead, phone: str | None, email: str | None,
              now: datetime) -> None:
    """A booking's lead met a contact-only lead of the same person: fold that one in."""
    from voiceagent.outreach.contacts import merge_leads, remember_contact

    other = find_lead(session, phone=phone, email=email)
    if other is not None and other.id != lead.id and other.patient_id in (None, lead.patient_id):
        merge_leads(session, keep=lead, duplicate=other, actor=ACTOR, now=now)
    remember_contact(session, lead.id, phone=phone, email=email)


def close_idle_conversations(session: Session, now: datetime, limit: int = 50) -> int:
    """End web chats and SMS threads left idle (the visitor closed the tab, stopped texting)."""
    closed = 0
    for channel, idle in IDLE.items():
        rows = session.execute(select(Call, ChatSession)
                               .join(ChatSession, ChatSession.id == Call.id)
                               .where(Call.channel == channel, Call.ended_at.is_(None),
                                      ChatSession.updated_at < now - idle).limit(limit)).all()
        for call, chat in rows:
            state = ConversationState.from_dict(chat.state)
            state.step = Step.ENDED
            state.outcome = state.outcome or "idle"
            result = session.execute(
                update(ChatSession).where(ChatSession.id == chat.id,
                                          ChatSession.version == chat.version)
                .values(state=state.to_dict(), version=chat.version + 1, updated_at=now)
                .execution_options(synchronize_session=False))
            if int(getattr(result, "rowcount", 0) or 0) == 1:  # else a message just came
                call.ended_at, call.outcome = now, state.outcome
                closed += 1
    return closed


def sweep(store: Store, scope: Scope, summarizer: Summarizer, now: datetime) -> int:
    """Every trigger once, each in its own transaction; returns the jobs queued."""
    queued = 0
    with store.transaction() as session:
        close_idle_conversations(session, now)
    for step in (sweep_bookings, sweep_no_shows, sweep_unbooked_leads):
        with store.transaction() as session:
            queued += step(session, scope, now)
    with store.transaction() as session:
        queued += summarize_ended_calls(session, scope, summarizer, now)
    return queued
