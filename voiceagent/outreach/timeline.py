"""The lead's timeline: every message sent or received and every call or chat, in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.outreach.records import TimelineEntry


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    channel: str
    direction: str
    kind: str
    body: str
    call_id: str | None
    job_id: int | None


def lead_timeline(store: Store, lead_id: int, *, actor: Actor) -> list[TimelineItem]:
    """The lead's timeline, oldest first (the read is audited)."""
    with store.transaction() as session:
        rows = session.scalars(select(TimelineEntry).where(TimelineEntry.lead_id == lead_id)
                               .order_by(TimelineEntry.at, TimelineEntry.id))
        items = [TimelineItem(r.at, r.channel, r.direction, r.kind, r.body, r.call_id, r.job_id)
                 for r in rows]
        audit.record(session, actor, "read", "lead_timeline", lead_id)
        return items
