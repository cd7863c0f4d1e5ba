"""Referral sources: how inquiries from each source and referring physician convert.

A lead counts at a stage when it has ever reached it (its stage history), so a lead now lost
after its evaluation still counts as evaluated. Evaluations booked: the lead reached
``scheduled``. Time to first contact: from the lead's opening to its first move to
``contacted`` (or further).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.leads import ORDER
from voiceagent.clinic.models import Lead, LeadStage, LeadStageChange

STEPS = ("scheduled", "evaluated", "in_plan_of_care", "discharged")


@dataclass(frozen=True)
class SourceRow:
    name: str
    inquiries: int
    booked: int
    evaluated: int
    plans_of_care: int
    discharged: int
    median_first_contact_h: float | None

    @property
    def conversion(self) -> float:
        """Inquiries that became a plan of care."""
        return self.plans_of_care / self.inquiries if self.inquiries else 0.0


@dataclass(frozen=True)
class ReferralReport:
    by_source: list[SourceRow]
    by_physician: list[SourceRow]


def _rank(stage: str) -> int:
    try:
        return ORDER.index(LeadStage(stage))
    except ValueError:
        return -1


def report(store: Store, clinic: ClinicConfig, *, actor: Actor, first: date | None = None,
           last: date | None = None) -> ReferralReport:
    """Per source and per referring physician, for leads opened on days [first, last]."""
    query = select(Lead)
    if first:
        query = query.where(Lead.created_at >= datetime.combine(first, time(0), clinic.tz))
    if last:
        query = query.where(Lead.created_at < datetime.combine(last + timedelta(days=1),
                                                               time(0), clinic.tz))
    with store.transaction() as session:
        leads = list(session.scalars(query))
        reached: dict[int, int] = {lead.id: _rank(lead.stage) for lead in leads}
        contacted: dict[int, datetime] = {}
        ids = list(reached)
        for change in session.scalars(select(LeadStageChange).where(
                LeadStageChange.lead_id.in_(ids)).order_by(LeadStageChange.id)):
            reached[change.lead_id] = max(reached[change.lead_id], _rank(change.to_stage))
            if (change.from_stage is not None and _rank(change.to_stage) >= 1
                    and change.lead_id not in contacted):
                contacted[change.lead_id] = change.at
        audit.record(session, actor, "read", "lead", f"report:{len(leads)}")

    def row(name: str, group: list[Lead]) -> SourceRow:
        def count(step: str) -> int:
            return sum(1 for lead in group if reached[lead.id] >= ORDER.index(LeadStage(step)))

        waits = [(contacted[lead.id] - lead.created_at).total_seconds() / 3600
                 for lead in group if lead.id in contacted]
        return SourceRow(name, len(group), count("scheduled"), count("evaluated"),
                         count("in_plan_of_care"), count("discharged"),
                         round(statistics.median(waits), 1) if waits else None)

    def grouped(key: Callable[[Lead], str]) -> list[SourceRow]:
        groups: dict[str, list[Lead]] = {}
        for lead in leads:
            groups.setdefault(key(lead), []).append(lead)
        return sorted((row(name, group) for name, group in groups.items()),
                      key=lambda r: (-r.inquiries, r.name))

    return ReferralReport(
        grouped(lambda lead: lead.source or "unknown"),
        grouped(lambda lead: lead.referring_provider_name or "no referring physician"),
    )
