"""Messages and tasks for staff: a callback request, a billing question, a records request.

The owner role comes from the clinic's configured message category, so the right person sees
it; an unknown category is an error that lists the configured ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, UnknownPatient
from voiceagent.clinic.models import Message, MessagePriority, MessageStatus, Patient, utcnow
from voiceagent.clinic.patients import normalise_phone


@dataclass(frozen=True)
class MessageInfo:
    message_id: int
    category: str
    priority: str
    owner_role: str
    status: str
    subject: str
    body: str
    callback_phone: str | None
    patient_id: int | None
    lead_id: int | None
    call_id: str | None
    created_at: datetime


def _info(row: Message) -> MessageInfo:
    return MessageInfo(
        row.id,
        row.category,
        row.priority,
        row.owner_role,
        row.status,
        row.subject,
        row.body,
        row.callback_phone,
        row.patient_id,
        row.lead_id,
        row.call_id,
        row.created_at,
    )


def create_message(
    store: Store,
    clinic: ClinicConfig,
    *,
    category: str,
    subject: str,
    actor: Actor,
    body: str = "",
    priority: str = MessagePriority.NORMAL,
    callback_phone: str | None = None,
    patient_id: int | None = None,
    lead_id: int | None = None,
) -> MessageInfo:
    """Leave a message/task for the category's owner role.

    Raises:
        InvalidInput: unknown category or priority, empty subject, a bad callback number.
        UnknownPatient.
    """
    categories = {c.id: c for c in clinic.message_categories}
    if category not in categories:
        raise InvalidInput(
            f"unknown message category {category!r}; use one of: {', '.join(categories)}"
        )
    if priority not in {p.value for p in MessagePriority}:
        raise InvalidInput(f"priority must be one of {[p.value for p in MessagePriority]}")
    if not subject.strip():
        raise InvalidInput("a message needs a short subject; ask what it is about")
    phone, _key = normalise_phone(callback_phone)
    with store.transaction() as session:
        if patient_id is not None and session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = Message(
            category=category,
            priority=priority,
            owner_role=categories[category].owner_role,
            status=MessageStatus.OPEN,
            subject=subject.strip()[:200],
            body=body,
            callback_phone=phone,
            patient_id=patient_id,
            lead_id=lead_id,
            call_id=actor.call_id,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "message", row.id)
        return _info(row)


def list_messages(
    store: Store,
    *,
    actor: Actor,
    owner_role: str | None = None,
    status: str | None = MessageStatus.OPEN,
    category: str | None = None,
) -> list[MessageInfo]:
    """Messages, urgent first then oldest first, filtered by owner role / status / category."""
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    with store.transaction() as session:
        query = select(Message)
        if owner_role is not None:
            query = query.where(Message.owner_role == owner_role)
        if status is not None:
            query = query.where(Message.status == status)
        if category is not None:
            query = query.where(Message.category == category)
        rows = list(session.scalars(query.order_by(Message.id)))
        audit.record(session, actor, "read", "message", f"list:{len(rows)}")
        return sorted(
            (_info(r) for r in rows), key=lambda m: (rank.get(m.priority, 9), m.message_id)
        )


def set_message_status(store: Store, *, message_id: int, status: str, actor: Actor) -> MessageInfo:
    """Staff: mark a message in_progress or done."""
    if status not in {s.value for s in MessageStatus}:
        raise InvalidInput(f"status must be one of {[s.value for s in MessageStatus]}")
    with store.transaction() as session:
        row = session.get(Message, message_id)
        if row is None:
            raise InvalidInput(f"no message {message_id}")
        row.status = status
        row.closed_at = utcnow() if status == MessageStatus.DONE else None
        audit.record(session, actor, "update", "message", row.id)
        session.flush()
        return _info(row)


def append_to_message(store: Store, *, message_id: int, text: str, actor: Actor) -> None:
    """Add what the caller said after the message was taken ("it was forty dollars, charged
    twice") to that message, rather than opening a second one."""
    with store.transaction() as session:
        row = session.get(Message, message_id)
        if row is None:
            raise InvalidInput(f"no message {message_id}")
        row.body = f"{row.body or ''}\n{text.strip()}".strip()[:4000]
        audit.record(session, actor, "update", "message", message_id)
