"""Staff accounts: argon2id password hashes, disable, and lockout after repeated failures.

Sign-in answers the same "wrong username or password" for an unknown user, a wrong password
and a disabled account, so the form cannot be used to learn who has an account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import StaffUser
from voiceagent.web.roles import Role

_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
# verified against when the username is unknown, so both paths take the same time
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why."""


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    username: str
    display_name: str
    role: Role
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in attempt: ``user`` when it worked, else a reason to show."""

    user: StaffMember | None
    problem: str | None = None


def _member(row: StaffUser) -> StaffMember:
    return StaffMember(row.id, row.username, row.display_name, Role(row.role), row.active,
                       row.locked_until, row.last_login_at)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def add_user(store: Store, *, username: str, role: str, password: str,
             display_name: str | None = None) -> StaffMember:
    """Create an account. Raises AccountError for a bad name, role, password or a duplicate."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("a username is 2-64 characters: a-z, 0-9, '.', '_' or '-'")
    try:
        checked = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; use one of "
                           f"{', '.join(r.value for r in Role)}") from None
    hashed = hash_password(password)
    with store.transaction() as session:
        if session.scalars(select(StaffUser).where(StaffUser.username == username)).first():
            raise AccountError(f"user {username!r} already exists")
        row = StaffUser(username=username, display_name=(display_name or username).strip()[:100],
                        role=checked.value, password_hash=hashed, active=True, failed_logins=0)
        session.add(row)
        session.flush()
        return _member(row)


def list_users(store: Store) -> list[StaffMember]:
    with store.transaction() as session:
        return [_member(r) for r in session.scalars(select(StaffUser).order_by(StaffUser.username))]


def get_user(store: Store, user_id: int) -> StaffMember | None:
    with store.transaction() as session:
        row = session.get(StaffUser, user_id)
        return _member(row) if row is not None else None


def set_active(store: Store, username: str, active: bool) -> StaffMember:
    """Disable (or re-enable) an account; disabling ends its sessions at their next request."""
    with store.transaction() as session:
        row = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if row is None:
            raise AccountError(f"no user {username!r}")
        row.active = active
        if active:
            row.failed_logins, row.locked_until = 0, None
        session.flush()
        return _member(row)


def set_password(store: Store, username: str, password: str) -> None:
    hashed = hash_password(password)
    with store.transaction() as session:
        row = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if row is None:
            raise AccountError(f"no user {username!r}")
        row.password_hash, row.failed_logins, row.locked_until = hashed, 0, None


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


WRONG = "wrong username or password"


def authenticate(store: Store, username: str, password: str, *, now: datetime,
                 policy: LockoutPolicy = LockoutPolicy()) -> SignIn:
    """Check a password; the ``max_failures``-th wrong one in a row locks the account."""
    username = username.strip().lower()
    with store.transaction() as session:
        row = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if row is None:
            _verify(_DUMMY_HASH, password)
            return SignIn(None, WRONG)
        if row.locked_until is not None and row.locked_until > now:
            minutes = max(1, round((row.locked_until - now).total_seconds() / 60))
            return SignIn(None, f"this account is locked after repeated failed sign-ins; try "
                                f"again in {minutes} minutes or ask an admin to unlock it")
        who = Actor(f"staff:{row.username}")
        if not _verify(row.password_hash, password) or not row.active:
            audit.record(session, who, "sign_in_failed", "staff_user", row.username)
            if row.active:
                row.failed_logins += 1
                if row.failed_logins >= policy.max_failures:
                    row.locked_until = now + policy.lock_for
                    row.failed_logins = 0
                    audit.record(session, who, "locked", "staff_user", row.username)
                    minutes = round(policy.lock_for.total_seconds() / 60)
                    return SignIn(None, f"too many failed sign-ins: this account is locked "
                                        f"for {minutes} minutes")
            return SignIn(None, WRONG)
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
        audit.record(session, who, "sign_in", "staff_user", row.username)
        session.flush()
        return SignIn(_member(row))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
