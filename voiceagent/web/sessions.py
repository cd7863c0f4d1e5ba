"""Server-side sessions: the browser holds a random token, the store its SHA-256.

A session ends on sign-out, after ``idle`` without a request (automatic log-off), or when
its account is disabled; each has its own CSRF token for the requests that change data.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import StaffSession, StaffUser
from voiceagent.web.accounts import StaffMember, _member


class EndReason(enum.StrEnum):
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    DISABLED = "disabled"


@dataclass(frozen=True)
class ActiveSession:
    member: StaffMember
    csrf_token: str
    session_key: str


@dataclass(frozen=True)
class Ended:
    """Why a presented session is not (or no longer) valid."""

    reason: EndReason | None  # None: unknown token


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


KEEP_ENDED = timedelta(days=30)  # ended sessions stay this long (who was signed in when)


def start(store: Store, member: StaffMember, now: datetime) -> tuple[str, str]:
    """A new session for ``member``: returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with store.transaction() as session:
        session.execute(delete(StaffSession).where(StaffSession.last_seen_at < now - KEEP_ENDED))
        session.add(StaffSession(id=_key(token), user_id=member.user_id, csrf_token=csrf,
                                 created_at=now, last_seen_at=now))
    return token, csrf


def resolve(store: Store, token: str, now: datetime, idle: timedelta) -> ActiveSession | Ended:
    """The session behind a cookie, refreshed; or why it is not valid any more."""
    key = _key(token)
    with store.transaction() as session:
        row = session.get(StaffSession, key)
        if row is None:
            return Ended(None)
        if row.ended_at is not None:
            return Ended(EndReason(row.end_reason) if row.end_reason else None)
        user = session.get(StaffUser, row.user_id)
        if user is None or not user.active:
            row.ended_at, row.end_reason = now, EndReason.DISABLED.value
            return Ended(EndReason.DISABLED)
        if now - row.last_seen_at > idle:
            row.ended_at, row.end_reason = now, EndReason.IDLE.value
            audit.record(session, Actor(f"staff:{user.username}"), "signed_out_idle",
                         "staff_user", user.username)
            return Ended(EndReason.IDLE)
        row.last_seen_at = now
        return ActiveSession(_member(user), row.csrf_token, key)


def end(store: Store, token: str, now: datetime, reason: EndReason = EndReason.SIGNED_OUT) -> None:
    with store.transaction() as session:
        row = session.get(StaffSession, _key(token))
        if row is None or row.ended_at is not None:
            return
        row.ended_at, row.end_reason = now, reason.value
        user = session.get(StaffUser, row.user_id)
        if user is not None:
            audit.record(session, Actor(f"staff:{user.username}"), "sign_out", "staff_user",
                         user.username)
