"""The Today page's figures: today's calls by outcome and messages waiting by owner."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, text

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import Call
from voiceagent.web.inbox import waiting_by_owner


@dataclass(frozen=True)
class TodayFigures:
    answered: int
    booked: int
    transferred: int
    messages_taken: int
    open_calls: int
    by_channel: dict[str, int]
    waiting: dict[str, list[int]]  # owner role -> [waiting, overdue]
    database_ok: bool


def figures(store: Store, clinic: ClinicConfig, now: datetime) -> TodayFigures:
    """Counts only: no patient data, so reading them is not a patient-data view."""
    day = now.astimezone(clinic.tz).date()
    start = datetime.combine(day, time(0), clinic.tz)
    try:
        with store.transaction() as session:
            session.execute(text("SELECT 1"))
            rows = list(session.execute(select(Call.channel, Call.outcome, Call.ended_at).where(
                Call.started_at >= start, Call.started_at < start + timedelta(days=1))))
        database_ok = True
    except Exception:  # noqa: BLE001 - shown as "database unavailable" on the page
        rows, database_ok = [], False
    outcomes = Counter(outcome or "" for _, outcome, _ in rows)
    return TodayFigures(
        answered=len(rows), booked=outcomes["booked"] + outcomes["rescheduled"],
        transferred=outcomes["transferred"], messages_taken=outcomes["message"],
        open_calls=sum(1 for *_, ended in rows if ended is None),
        by_channel=dict(Counter(channel for channel, _, _ in rows)),
        waiting=waiting_by_owner(store, clinic, now) if database_ok else {},
        database_ok=database_ok)
