"""Messages and tasks per owner role: priority, response-time target, assign/comment/close.

Role rules live here and nowhere else: every read and write checks
:func:`voiceagent.web.roles.may_see_message`, so a therapist cannot open, list or close a
billing message whichever way the request arrives.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.messages import set_message_status
from voiceagent.clinic.models import Message, MessageActivity, MessageStatus, StaffUser
from voiceagent.web.people import names
from voiceagent.web.roles import Role, may_see_message, message_scope

# Used when the clinic's message category sets no response-time target of its own.
TARGET_BY_PRIORITY = {"urgent": timedelta(hours=1), "high": timedelta(hours=4),
                      "normal": timedelta(hours=24), "low": timedelta(hours=72)}
RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
MAX_COMMENT = 2000


class ActivityKind(enum.StrEnum):
    ASSIGN = "assign"
    COMMENT = "comment"
    STATUS = "status"


class Forbidden(PermissionError):
    """The signed-in role may not see or change this record."""


class NotFound(LookupError):
    pass


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class Activity:
    kind: str
    actor: str
    assignee: str | None
    text: str | None
    at: datetime


@dataclass(frozen=True)
class MessageCard:
    message_id: int
    category: str
    category_name: str
    priority: str
    owner_role: str
    scope: Role
    status: str
    subject: str
    body: str
    callback_phone: str | None
    patient_id: int | None
    patient_name: str | None
    lead_id: int | None
    call_id: str | None
    created_at: datetime
    due_at: datetime
    overdue: bool
    assignee: str | None
    activity: list[Activity]


def response_target(clinic: ClinicConfig, category: str, priority: str) -> timedelta:
    """The category's configured target when it has one, else the priority's default."""
    for cat in clinic.message_categories:
        if cat.id == category:
            for name, unit in (("sla_minutes", 60), ("sla_hours", 3600),
                               ("response_hours", 3600)):
                value = getattr(cat, name, None)
                if isinstance(value, int | float) and value > 0:
                    return timedelta(seconds=value * unit)
    return TARGET_BY_PRIORITY.get(priority, TARGET_BY_PRIORITY["normal"])


def _cards(session: Session, clinic: ClinicConfig, rows: list[Message],
           now: datetime) -> list[MessageCard]:
    who = names(session, (m.patient_id for m in rows))
    activity: dict[int, list[Activity]] = {}
    if rows:
        for act in session.scalars(select(MessageActivity)
                                   .where(MessageActivity.message_id.in_([m.id for m in rows]))
                                   .order_by(MessageActivity.id)):
            activity.setdefault(act.message_id, []).append(
                Activity(act.kind, act.actor, act.assignee, act.text, act.at.astimezone(clinic.tz)))
    category_names = {c.id: c.name for c in clinic.message_categories}
    out = []
    for m in rows:
        acts = activity.get(m.id, [])
        assignee = next((a.assignee for a in reversed(acts) if a.kind == ActivityKind.ASSIGN),
                        None)
        due = m.created_at + response_target(clinic, m.category, m.priority)
        out.append(MessageCard(
            m.id, m.category, category_names.get(m.category, m.category), m.priority,
            m.owner_role, message_scope(m.owner_role), m.status, m.subject, m.body,
            m.callback_phone, m.patient_id, who.get(m.patient_id or -1), m.lead_id, m.call_id,
            m.created_at.astimezone(clinic.tz), due.astimezone(clinic.tz),
            m.status != MessageStatus.DONE and due < now, assignee, acts))
    return out


def inbox(store: Store, clinic: ClinicConfig, *, role: Role, actor: Actor, now: datetime,
          scope: Role | None = None, show_closed: bool = False) -> list[MessageCard]:
    """The messages ``role`` works (admins: all, or one ``scope``); overdue and urgent first."""
    query = select(Message).order_by(Message.id)
    if not show_closed:
        query = query.where(Message.status != MessageStatus.DONE)
    with store.transaction() as session:
        rows = [m for m in session.scalars(query)
                if may_see_message(role, m.owner_role)
                and (scope is None or message_scope(m.owner_role) == scope)]
        cards = _cards(session, clinic, rows, now)
        audit.record(session, actor, "read", "message", f"list:{len(cards)}")
    return sorted(cards, key=lambda c: (c.status == MessageStatus.DONE, not c.overdue,
                                        RANK.get(c.priority, 9), c.created_at))


def waiting_by_owner(store: Store, clinic: ClinicConfig, now: datetime) -> dict[str, list[int]]:
    """Open messages per owner role: [waiting, overdue] (counts only, no patient data)."""
    out: dict[str, list[int]] = {}
    with store.transaction() as session:
        for m in session.scalars(select(Message).where(Message.status != MessageStatus.DONE)):
            counts = out.setdefault(m.owner_role, [0, 0])
            counts[0] += 1
            if m.created_at + response_target(clinic, m.category, m.priority) < now:
                counts[1] += 1
    return out


def _visible(session: Session, message_id: int, role: Role) -> Message:
    row = session.get(Message, message_id)
    if row is None:
        raise NotFound(f"no message {message_id}")
    if not may_see_message(role, row.owner_role):
        raise Forbidden(f"a {role.value} account cannot open {row.owner_role} messages")
    return row


def get_message(store: Store, clinic: ClinicConfig, message_id: int, *, role: Role,
                actor: Actor, now: datetime) -> MessageCard:
    with store.transaction() as session:
        row = _visible(session, message_id, role)
        audit.record(session, actor, "read", "message", row.id)
        return _cards(session, clinic, [row], now)[0]


def assign(store: Store, clinic: ClinicConfig, message_id: int, assignee: str, *, role: Role,
           actor: Actor, now: datetime) -> MessageCard:
    """Give the message to a staff member whose role works such messages."""
    with store.transaction() as session:
        row = _visible(session, message_id, role)
        user = session.scalars(select(StaffUser).where(
            StaffUser.username == assignee.strip().lower())).first()
        if user is None or not user.active:
            raise BadRequest(f"no active user {assignee!r}")
        if not may_see_message(Role(user.role), row.owner_role):
            raise BadRequest(f"{user.username} ({user.role}) does not work "
                             f"{row.owner_role} messages")
        session.add(MessageActivity(message_id=row.id, kind=ActivityKind.ASSIGN.value,
                                    actor=actor.name, assignee=user.username, at=now))
        if row.status == MessageStatus.OPEN:
            row.status = MessageStatus.IN_PROGRESS
        audit.record(session, actor, "assign", "message", row.id)
        session.flush()
        return _cards(session, clinic, [row], now)[0]


def comment(store: Store, clinic: ClinicConfig, message_id: int, text: str, *, role: Role,
            actor: Actor, now: datetime) -> MessageCard:
    text = text.strip()
    if not text:
        raise BadRequest("a comment needs some text")
    if len(text) > MAX_COMMENT:
        raise BadRequest(f"a comment is at most {MAX_COMMENT} characters")
    with store.transaction() as session:
        row = _visible(session, message_id, role)
        session.add(MessageActivity(message_id=row.id, kind=ActivityKind.COMMENT.value,
                                    actor=actor.name, text=text, at=now))
        audit.record(session, actor, "comment", "message", row.id)
        session.flush()
        return _cards(session, clinic, [row], now)[0]


def set_status(store: Store, clinic: ClinicConfig, message_id: int, status: str, *,
               role: Role, actor: Actor, now: datetime, note: str | None = None) -> MessageCard:
    """Close (done) or reopen a message, through the clinic's own status change."""
    if status not in {s.value for s in MessageStatus}:
        raise BadRequest(f"status must be one of {[s.value for s in MessageStatus]}")
    with store.transaction() as session:
        _visible(session, message_id, role)
    set_message_status(store, message_id=message_id, status=status, actor=actor)
    with store.transaction() as session:
        label = "closed" if status == MessageStatus.DONE else f"set to {status.replace('_', ' ')}"
        text = f"{label}: {note.strip()}" if note and note.strip() else label
        session.add(MessageActivity(message_id=message_id, kind=ActivityKind.STATUS.value,
                                    actor=actor.name, text=text[:MAX_COMMENT], at=now))
        row = session.get(Message, message_id)
        assert row is not None
        session.flush()
        return _cards(session, clinic, [row], now)[0]


def assignable_users(store: Store, owner_role: str) -> list[str]:
    with store.transaction() as session:
        return [u.username for u in session.scalars(select(StaffUser).where(
            StaffUser.active.is_(True)).order_by(StaffUser.username))
            if may_see_message(Role(u.role), owner_role)]
