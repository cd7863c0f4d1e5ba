"""Calls and chats for staff: the list with filters and one call's full record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import Appointment, Call, Lead, Message, Patient
from voiceagent.web.people import names


@dataclass(frozen=True)
class CallRow:
    call_id: str
    channel: str
    caller_id: str | None
    started_at: datetime
    duration_s: float | None
    outcome: str | None
    patient_id: int | None
    patient_name: str | None
    turns: int


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    at: datetime
    latency_ms: dict[str, float] | None


@dataclass(frozen=True)
class ToolUse:
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    at: datetime

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok", "error" not in self.result))


@dataclass(frozen=True)
class CallDetail:
    row: CallRow
    turns: list[Turn]
    tools: list[ToolUse]
    wire_latency_ms: list[float]
    has_recording: bool
    patient: dict[str, Any] | None
    lead_ids: list[int]
    appointments: list[dict[str, Any]]
    message_ids: list[int]


def local_day_bounds(clinic: ClinicConfig, first: date | None,
                     last: date | None) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(first, time(0), clinic.tz) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), clinic.tz) if last else None
    return start, end


def _row(call: Call, clinic: ClinicConfig, who: dict[int, str]) -> CallRow:
    duration = ((call.ended_at - call.started_at).total_seconds()
                if call.ended_at is not None else None)
    return CallRow(call.id, call.channel, call.caller_id, call.started_at.astimezone(clinic.tz),
                   duration, call.outcome, call.patient_id,
                   who.get(call.patient_id) if call.patient_id else None, len(call.turns))


def list_calls(store: Store, clinic: ClinicConfig, *, actor: Actor, first: date | None = None,
               last: date | None = None, outcome: str | None = None, channel: str | None = None,
               limit: int = 200) -> list[CallRow]:
    """Calls and chats started on clinic-local days [first, last], newest first."""
    start, end = local_day_bounds(clinic, first, last)
    query = select(Call).order_by(Call.started_at.desc()).limit(limit)
    if start is not None:
        query = query.where(Call.started_at >= start)
    if end is not None:
        query = query.where(Call.started_at < end)
    if outcome:
        query = query.where(Call.outcome == outcome)
    if channel:
        query = query.where(Call.channel == channel)
    with store.transaction() as session:
        rows = list(session.scalars(query))
        who = names(session, (c.patient_id for c in rows))
        audit.record(session, actor, "read", "call", f"list:{len(rows)}")
        return [_row(c, clinic, who) for c in rows]


def filter_choices(store: Store) -> tuple[list[str], list[str]]:
    """The outcomes and channels present in the store (for the filter menus)."""
    with store.transaction() as session:
        outcomes = sorted(o for o in session.scalars(select(Call.outcome).distinct()) if o)
        channels = sorted(c for c in session.scalars(select(Call.channel).distinct()) if c)
    return outcomes, channels


def call_detail(store: Store, clinic: ClinicConfig, call_id: str, *,
                actor: Actor) -> CallDetail | None:
    """Both sides of the transcript, tool calls, latency, and what the call touched."""
    with store.transaction() as session:
        call = session.get(Call, call_id)
        if call is None:
            return None
        who = names(session, [call.patient_id])
        tz = clinic.tz
        turns = [Turn(t.role, t.text, t.at.astimezone(tz), t.latency) for t in call.turns]
        tools = [ToolUse(t.name, t.arguments, t.result, t.at.astimezone(tz))
                 for t in call.tool_calls]
        appointments = [
            {"id": a.id, "type": a.appointment_type_id, "provider_id": a.provider_id,
             "start": a.start.astimezone(tz), "status": a.status}
            for a in session.scalars(select(Appointment).where(Appointment.call_id == call_id))
        ]
        message_ids = list(session.scalars(select(Message.id).where(Message.call_id == call_id)))
        patient = None
        lead_ids: list[int] = []
        if call.patient_id is not None:
            p = session.get(Patient, call.patient_id)
            if p is not None:
                patient = {"id": p.id, "name": f"{p.first_name} {p.last_name}",
                           "dob": p.dob, "phone": p.phone}
                audit.record(session, actor, "read", "patient", p.id)
            lead_ids = list(session.scalars(select(Lead.id).where(
                Lead.patient_id == call.patient_id).order_by(Lead.id.desc())))
        audit.record(session, actor, "read", "call", call.id)
        recording = bool(call.recording_path) and Path(call.recording_path or "").is_file()
        return CallDetail(_row(call, clinic, who), turns, tools, list(call.wire_latency_ms or []),
                          recording, patient, lead_ids, appointments, message_ids)


def recording_file(store: Store, call_id: str, *, actor: Actor,
                   audited: bool = True) -> Path | None:
    """The call's recording on disk, audited as a read of the call's audio (``audited``
    False: a further range of a playback already audited)."""
    with store.transaction() as session:
        call = session.get(Call, call_id)
        if call is None or not call.recording_path:
            return None
        path = Path(call.recording_path)
        if not path.is_file():
            return None
        if audited:
            audit.record(session, actor, "read", "recording", call.id)
        return path
