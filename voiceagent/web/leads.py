"""The leads board (by stage, with owner, age and source) and one lead's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.leads import ORDER
from voiceagent.clinic.models import (
    Appointment,
    Call,
    Lead,
    LeadStage,
    LeadStageChange,
    LostReason,
    Message,
    MessageActivity,
)
from voiceagent.web.inbox import ActivityKind
from voiceagent.web.people import names

STAGES: list[str] = [s.value for s in ORDER] + [LeadStage.LOST.value]
LOST_REASONS: list[str] = [r.value for r in LostReason]


@dataclass(frozen=True)
class LeadCard:
    lead_id: int
    patient_id: int | None
    patient_name: str | None
    stage: str
    lost_reason: str | None
    source: str | None
    channel: str | None
    referring_provider: str | None
    owner_role: str
    created_at: datetime
    age_days: int


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # stage, call, appointment, message, note
    text: str
    actor: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class BoardFilter:
    source: str | None = None
    referring: str | None = None
    owner: str | None = None


def _card(lead: Lead, who: dict[int, str], clinic: ClinicConfig, now: datetime) -> LeadCard:
    return LeadCard(lead.id, lead.patient_id, who.get(lead.patient_id or -1), lead.stage,
                    lead.lost_reason, lead.source, lead.channel, lead.referring_provider_name,
                    lead.owner_role, lead.created_at.astimezone(clinic.tz),
                    (now - lead.created_at).days)


def board(store: Store, clinic: ClinicConfig, *, actor: Actor, now: datetime,
          where: BoardFilter = BoardFilter(), limit: int = 500) -> dict[str, list[LeadCard]]:
    """Leads by stage (oldest first in each column)."""
    query = select(Lead).order_by(Lead.created_at).limit(limit)
    if where.source:
        query = query.where(Lead.source == where.source)
    if where.referring:
        query = query.where(Lead.referring_provider_name.ilike(f"%{where.referring}%"))
    if where.owner:
        query = query.where(Lead.owner_role == where.owner)
    columns: dict[str, list[LeadCard]] = {stage: [] for stage in STAGES}
    with store.transaction() as session:
        rows = list(session.scalars(query))
        who = names(session, (r.patient_id for r in rows))
        audit.record(session, actor, "read", "lead", f"list:{len(rows)}")
        for row in rows:
            columns.setdefault(row.stage, []).append(_card(row, who, clinic, now))
    return columns


def board_choices(store: Store) -> tuple[list[str], list[str], list[str]]:
    """Sources, referring physicians and owner roles present (for the filter menus)."""
    with store.transaction() as session:
        def distinct(column: InstrumentedAttribute[Any]) -> list[str]:
            return sorted(str(v) for v in session.scalars(select(column).distinct()) if v)

        return (distinct(Lead.source), distinct(Lead.referring_provider_name),
                distinct(Lead.owner_role))


def lead_card(store: Store, clinic: ClinicConfig, lead_id: int, *, actor: Actor,
              now: datetime) -> LeadCard | None:
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return None
        audit.record(session, actor, "read", "lead", lead.id)
        return _card(lead, names(session, [lead.patient_id]), clinic, now)


def timeline(store: Store, clinic: ClinicConfig, lead_id: int, *,
             actor: Actor) -> list[TimelineEvent]:
    """Everything that happened to the lead, oldest first: stage changes, calls and chats,
    appointments, messages and what staff did with them."""
    tz = clinic.tz
    events: list[TimelineEvent] = []
    with store.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return []
        for change in session.scalars(select(LeadStageChange)
                                      .where(LeadStageChange.lead_id == lead_id)):
            moved = (f"stage {change.from_stage} → {change.to_stage}" if change.from_stage
                     else f"lead opened ({change.to_stage})")
            if change.lost_reason:
                moved += f" (lost: {change.lost_reason.replace('_', ' ')})"
            if change.why:
                moved += f": {change.why}"
            events.append(TimelineEvent(change.at.astimezone(tz), "stage", moved, change.actor))
        appointments = list(session.scalars(select(Appointment).where(
            Appointment.lead_id == lead_id)))
        call_ids = {a.call_id for a in appointments if a.call_id}
        message_query = select(Message).where(Message.lead_id == lead_id)
        if lead.patient_id is not None:
            message_query = select(Message).where(or_(Message.lead_id == lead_id,
                                                      Message.patient_id == lead.patient_id))
            call_ids |= set(session.scalars(select(Call.id).where(
                Call.patient_id == lead.patient_id)))
        messages = list(session.scalars(message_query))
        call_ids |= {m.call_id for m in messages if m.call_id}
        for call in session.scalars(select(Call).where(Call.id.in_(call_ids))):
            label = "chat" if call.channel in ("web_chat", "sms") else "call"
            outcome = f", {call.outcome.replace('_', ' ')}" if call.outcome else ""
            events.append(TimelineEvent(call.started_at.astimezone(tz), "call",
                                        f"{call.channel} {label}{outcome}", "assistant",
                                        f"calls/{call.id}"))
        for appt in appointments:
            who = "assistant" if appt.call_id else "staff"
            events.append(TimelineEvent(
                appt.created_at.astimezone(tz), "appointment",
                f"{appt.appointment_type_id} with {appt.provider_id} on "
                f"{appt.start.astimezone(tz):%a %b %d %H:%M} ({appt.status})", who,
                f"calendar?week={appt.start.astimezone(tz).date().isoformat()}"
                f"&provider={appt.provider_id}"))
        message_ids = [m.id for m in messages]
        for message in messages:
            events.append(TimelineEvent(message.created_at.astimezone(tz), "message",
                                        f"message ({message.category}, {message.priority}): "
                                        f"{message.subject}", "assistant" if message.call_id
                                        else None, f"messages#m{message.id}"))
        for act in session.scalars(select(MessageActivity).where(
                MessageActivity.message_id.in_(message_ids))):
            events.append(TimelineEvent(act.at.astimezone(tz), "note",
                                        _activity_text(act), act.actor,
                                        f"messages#m{act.message_id}"))
        audit.record(session, actor, "read", "lead", lead_id)
        if lead.patient_id is not None:
            audit.record(session, actor, "read", "patient", lead.patient_id)
    return sorted(events, key=lambda e: e.at)


def _activity_text(act: MessageActivity) -> str:
    if act.kind == ActivityKind.ASSIGN:
        return f"message #{act.message_id} assigned to {act.assignee}"
    if act.kind == ActivityKind.COMMENT:
        return f"comment on message #{act.message_id}: {act.text}"
    return f"message #{act.message_id} {act.text or act.kind}"
