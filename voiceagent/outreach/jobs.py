"""The follow-up queue in the store: idempotent queuing, atomic claims, leases.

Exactly once, also with several agent processes on one database:

- queuing is idempotent: every job has a ``dedupe_key`` (UNIQUE), so two processes that
  notice the same booking queue one job;
- a worker claims a job with a compare-and-set ``UPDATE ... WHERE status = 'pending'``
  (on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED`` so workers do not queue
  behind each other); only the worker whose update changed the row owns it, for ``lease_s``;
- a claim whose worker died before sending returns to the queue when its lease ends;
- just before the provider is called the job becomes ``sending`` (committed). A job found
  ``sending`` after its lease ended belonged to a worker that died mid-send: whether the
  provider got it is unknown, so it becomes ``uncertain`` for staff to check, never resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic.db import Store
from voiceagent.outreach.records import Channel, JobKind, JobStatus, OutreachJob


@dataclass(frozen=True)
class NewJob:
    kind: JobKind
    dedupe_key: str
    due_at: datetime
    channel: Channel = Channel.SMS
    address: str | None = None
    lead_id: int | None = None
    appointment_id: int | None = None
    call_id: str | None = None
    payload: dict[str, Any] | None = None


def enqueue(session: Session, job: NewJob, now: datetime) -> bool:
    """Queue ``job`` unless one with its dedupe key exists; True when queued."""
    if session.scalar(select(OutreachJob.id).where(
            OutreachJob.dedupe_key == job.dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(OutreachJob(
                kind=job.kind.value, dedupe_key=job.dedupe_key, channel=job.channel.value,
                lead_id=job.lead_id, appointment_id=job.appointment_id, call_id=job.call_id,
                address=job.address, payload=job.payload or {}, due_at=job.due_at,
                status=JobStatus.PENDING.value, attempts=0, created_at=now))
    except IntegrityError:  # another process queued it a moment ago
        return False
    return True


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def claim_due(store: Store, *, worker: str, now: datetime, lease_s: float,
              limit: int = 20) -> list[int]:
    """Claim up to ``limit`` due jobs for ``worker``; returns their ids, oldest due first."""
    claimable = or_(
        and_(OutreachJob.status == JobStatus.PENDING.value, OutreachJob.due_at <= now),
        and_(OutreachJob.status == JobStatus.CLAIMED.value, OutreachJob.lease_until < now),
    )
    lease_until = now + timedelta(seconds=lease_s)
    with store.transaction() as session:
        query = (select(OutreachJob.id).where(claimable).order_by(OutreachJob.due_at,
                                                                  OutreachJob.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        claimed = []
        for job_id in ids:
            result = session.execute(
                update(OutreachJob).where(OutreachJob.id == job_id, claimable)
                .values(status=JobStatus.CLAIMED.value, claimed_by=worker,
                        lease_until=lease_until)
                .execution_options(synchronize_session=False))
            if _rowcount(result) == 1:
                claimed.append(job_id)
        return claimed


def _owned(job_id: int, worker: str, status: JobStatus) -> Any:
    return and_(OutreachJob.id == job_id, OutreachJob.claimed_by == worker,
                OutreachJob.status == status.value)


def mark_sending(store: Store, job_id: int, worker: str, now: datetime, lease_s: float) -> bool:
    """Commit that the provider is about to be called; False if the claim was lost."""
    with store.transaction() as session:
        result = session.execute(
            update(OutreachJob).where(_owned(job_id, worker, JobStatus.CLAIMED))
            .values(status=JobStatus.SENDING.value,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempts=OutreachJob.attempts + 1)
            .execution_options(synchronize_session=False))
        return _rowcount(result) == 1


def release(session: Session, job_id: int, worker: str, *, due_at: datetime,
            outcome: str, from_status: JobStatus = JobStatus.CLAIMED) -> None:
    """Put a claimed job back in the queue for ``due_at`` (quiet hours, limits, retry)."""
    session.execute(
        update(OutreachJob).where(_owned(job_id, worker, from_status))
        .values(status=JobStatus.PENDING.value, due_at=due_at, claimed_by=None,
                lease_until=None, outcome=outcome[:200])
        .execution_options(synchronize_session=False))


def finish(session: Session, job_id: int, worker: str, *, status: JobStatus, outcome: str,
           now: datetime, from_status: JobStatus) -> bool:
    result = session.execute(
        update(OutreachJob).where(_owned(job_id, worker, from_status))
        .values(status=status.value, outcome=outcome[:200], finished_at=now, lease_until=None)
        .execution_options(synchronize_session=False))
    return _rowcount(result) == 1


def expire_dead_sends(store: Store, now: datetime) -> list[int]:
    """Jobs left ``sending`` by a worker that died: mark them ``uncertain`` (never resent)."""
    with store.transaction() as session:
        ids = list(session.scalars(select(OutreachJob.id).where(
            OutreachJob.status == JobStatus.SENDING.value, OutreachJob.lease_until < now)))
        done = []
        for job_id in ids:
            result = session.execute(
                update(OutreachJob).where(OutreachJob.id == job_id,
                                          OutreachJob.status == JobStatus.SENDING.value)
                .values(status=JobStatus.UNCERTAIN.value, finished_at=now,
                        outcome="worker stopped while sending; check with the patient")
                .execution_options(synchronize_session=False))
            if _rowcount(result) == 1:
                done.append(job_id)
        return done
