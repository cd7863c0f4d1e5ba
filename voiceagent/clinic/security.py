"""Security events: a refused or suspicious request for patient data, kept for review.

A caller who fails verification, asks about someone else's appointments or refuses to be
verified leaves a record with the call id and the kind of event, never what was said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, UnknownPatient
from voiceagent.clinic.models import Patient, SecurityEvent, SecurityEventKind

KINDS = tuple(k.value for k in SecurityEventKind)


@dataclass(frozen=True)
class SecurityEventInfo:
    event_id: int
    kind: str
    at: datetime
    channel: str | None
    call_id: str | None
    patient_id: int | None
    detail: str | None


def record_security_event(
    store: Store,
    *,
    kind: str,
    actor: Actor,
    channel: str | None = None,
    patient_id: int | None = None,
    detail: str | None = None,
) -> int:
    """Record a security event for staff review; returns its id.

    ``detail`` is a short code or staff-facing phrase ("asked for spouse's appointments"),
    never patient data or the caller's words.

    Raises:
        InvalidInput: an unknown kind. UnknownPatient.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown security event {kind!r}; use one of {', '.join(KINDS)}")
    with store.transaction() as session:
        if patient_id is not None and session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = SecurityEvent(
            kind=kind,
            channel=channel,
            call_id=actor.call_id,
            patient_id=patient_id,
            detail=(detail or "")[:200] or None,
            actor=actor.name,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "security_event", row.id)
        return row.id


def security_events(
    store: Store, *, actor: Actor, call_id: str | None = None, since: datetime | None = None
) -> list[SecurityEventInfo]:
    """Security events, newest first (one call's with ``call_id``)."""
    with store.transaction() as session:
        query = select(SecurityEvent).order_by(SecurityEvent.id.desc())
        if call_id is not None:
            query = query.where(SecurityEvent.call_id == call_id)
        if since is not None:
            query = query.where(SecurityEvent.at >= since)
        rows = list(session.scalars(query))
        audit.record(session, actor, "read", "security_event", call_id)
        return [
            SecurityEventInfo(r.id, r.kind, r.at, r.channel, r.call_id, r.patient_id, r.detail)
            for r in rows
        ]
