"""Patient names for display, read in one query per page (never logged)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clinic.models import Patient


def names(session: Session, patient_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {p for p in patient_ids if p is not None}
    if not ids:
        return {}
    rows = session.execute(select(Patient.id, Patient.first_name, Patient.last_name)
                           .where(Patient.id.in_(ids)))
    return {pid: f"{first} {last}" for pid, first, last in rows}
