"""The audit trail: every service function that reads or writes patient data records it here.

An entry says who (actor), what (action on entity + id), when, and in which call/session;
never the data itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clinic.models import AuditEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``assistant`` on a call, ``staff:<user>``, ``import:emr``...

    ``call_id`` is the call or chat session the action belongs to, when there is one.
    """

    name: str
    call_id: str | None = None


SYSTEM = Actor("system")


def record(
    session: Session, actor: Actor, action: str, entity: str, entity_id: object | None
) -> None:
    """Add one audit entry in the caller's transaction (so it commits with the change)."""
    session.add(
        AuditEntry(
            actor=actor.name,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            call_id=actor.call_id,
        )
    )
    log.debug(
        "audit",
        extra={"actor": actor.name, "action": action, "entity": entity, "call_id": actor.call_id},
    )


def entries(
    session: Session, *, entity: str | None = None, call_id: str | None = None
) -> list[AuditEntry]:
    """Audit entries, oldest first, optionally for one entity kind or one call."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if call_id is not None:
        query = query.where(AuditEntry.call_id == call_id)
    return list(session.scalars(query))
