"""Staff roles and what each may see and do; enforced on the server for every request."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    FRONT_DESK = "front_desk"
    THERAPIST = "therapist"
    BILLING = "billing"
    ADMIN = "admin"


# A message's owner role comes from the clinic's message categories (front_desk, billing, PT,
# intake_coordinator...). Clinical owners are the treating disciplines.
CLINICAL_OWNERS = frozenset({"pt", "pta", "ot", "ota", "slp", "therapist", "clinical"})
BILLING_OWNERS = frozenset({"billing"})


def message_scope(owner_role: str) -> Role:
    """Which staff role works messages owned by ``owner_role`` (admins see every scope)."""
    owner = owner_role.lower()
    if owner in CLINICAL_OWNERS:
        return Role.THERAPIST
    if owner in BILLING_OWNERS:
        return Role.BILLING
    return Role.FRONT_DESK


def may_see_message(role: Role, owner_role: str) -> bool:
    """A therapist sees clinical messages, billing sees billing ones, the front desk the rest."""
    return role == Role.ADMIN or message_scope(owner_role) == role


def may_book(role: Role) -> bool:
    return role in (Role.FRONT_DESK, Role.ADMIN)


def may_work_leads(role: Role) -> bool:
    return role in (Role.FRONT_DESK, Role.ADMIN)


def may_read_calls(role: Role) -> bool:
    """Transcripts and recordings: the front desk and admins (they route what calls bring)."""
    return role in (Role.FRONT_DESK, Role.ADMIN)


def may_read_audit(role: Role) -> bool:
    return role == Role.ADMIN


LABELS = {
    Role.FRONT_DESK: "Front desk",
    Role.THERAPIST: "Therapist",
    Role.BILLING: "Billing",
    Role.ADMIN: "Admin",
}
