"""The audit log as an admin reads it: newest first, filtered by who and what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import AuditEntry


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    call_id: str | None


def entries(store: Store, clinic: ClinicConfig, *, actor: str | None = None,
            entity: str | None = None, entity_id: str | None = None,
            limit: int = 500) -> list[AuditRow]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    with store.transaction() as session:
        return [AuditRow(e.at.astimezone(clinic.tz), e.actor, e.action, e.entity, e.entity_id,
                         e.call_id) for e in session.scalars(query)]
