"""The follow-up worker: claims due jobs, checks consent, quiet hours and limits, sends each
message once, and puts it on the lead's timeline.

``run_due()`` does one pass (sweeps, then due jobs) at the injected clock's time; the
service thread (:class:`OutreachService`) calls it every ``poll_s`` or when woken, and tests
call it directly on a fake clock.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import StoreBusy
from voiceagent.clinic.models import Appointment, AppointmentStatus, Lead, LeadStage, Patient
from voiceagent.logs import log_event
from voiceagent.outreach import jobs
from voiceagent.outreach.consent import opted_out
from voiceagent.outreach.contacts import email_key, phone_key, resolve_lead
from voiceagent.outreach.email import SmtpMailer
from voiceagent.outreach.records import Channel, JobKind, JobStatus, OutreachJob, TimelineEntry
from voiceagent.outreach.settings import OutreachConfig
from voiceagent.outreach.sms import SendFailed, SendRejected, SendUncertain, SentMessage, SmsSender
from voiceagent.outreach.summary import Summarizer
from voiceagent.outreach.templates import Rendered, facts, has_template, render
from voiceagent.outreach.triggers import ACTOR, Scope, sweep

log = logging.getLogger(__name__)

PROACTIVE = frozenset({JobKind.CONFIRMATION, JobKind.REMINDER, JobKind.NUDGE,
                       JobKind.MISSED_CALL, JobKind.NO_SHOW})
CONVERSATION = frozenset({JobKind.REPLY, JobKind.KEYWORD_REPLY})
COUNTED = (JobStatus.SENT.value, JobStatus.SENDING.value, JobStatus.UNCERTAIN.value)


@dataclass(frozen=True)
class Send:
    rendered: Rendered
    channel: Channel
    address: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


@dataclass
class RunReport:
    queued: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)


def address_key(channel: Channel, address: str) -> str | None:
    if channel == Channel.SMS:
        pair = phone_key(address)
        return pair[1] if pair else None
    return email_key(address)


def quiet_until(clinic: ClinicConfig, now: datetime) -> datetime | None:
    """The end of the clinic's quiet hours when ``now`` falls inside them, else None."""
    span = clinic.outreach.quiet_range()
    if span is None:
        return None
    start, end = span
    local = now.astimezone(clinic.tz)
    t = local.timetz().replace(tzinfo=None)
    day = local.date()
    if start < end:
        inside = start <= t < end
    else:  # crosses midnight, e.g. 20:00-08:00
        inside = t >= start or t < end
        if t >= start:
            day = day + timedelta(days=1)
    return clinic.local(day, end) if inside else None


class OutreachWorker:
    """Sends due follow-up messages; one per process (several processes may share a store)."""

    def __init__(self, store: Store, clinic: ClinicConfig, config: OutreachConfig, *,
                 sms: SmsSender | None = None, mailer: SmtpMailer | None = None,
                 clock: Callable[[], datetime], summarizer: Summarizer | None = None,
                 worker_id: str | None = None) -> None:
        self.store = store
        self.clinic = clinic
        self.config = config
        self.sms = sms
        self.mailer = mailer
        self.clock = clock
        self.summarizer = summarizer or Summarizer()
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        channels = {c for c, on in ((Channel.SMS, sms), (Channel.EMAIL, mailer)) if on}
        self.scope = Scope(clinic, frozenset(channels),
                           timedelta(hours=config.sweep_horizon_hours))

    # --- one pass ---------------------------------------------------------------------

    def run_due(self) -> RunReport:
        report = RunReport()
        now = self.clock()
        for job_id in jobs.expire_dead_sends(self.store, now):
            report.uncertain += 1
            report.outcomes[job_id] = "uncertain"
            log_event(log, "outreach.uncertain", logging.WARNING, job_id=job_id)
        try:
            report.queued = sweep(self.store, self.scope, self.summarizer, now)
        except StoreBusy:
            raise
        except Exception:  # noqa: BLE001 - a failed sweep must not hold up due messages
            log.exception("outreach.sweep_failed")
        for job_id in jobs.claim_due(self.store, worker=self.worker_id, now=now,
                                     lease_s=self.config.lease_s):
            try:
                outcome = self._process(job_id)
            except StoreBusy:
                raise
            except Exception:  # noqa: BLE001 - one bad job must not stop the others
                log.exception("outreach.job_crashed",
                              extra={"voiceagent_fields": {"job_id": job_id}})
                outcome = self._abandon(job_id)
            report.outcomes[job_id] = outcome
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _abandon(self, job_id: int) -> str:
        """A job whose processing raised: failed if it never left, uncertain if it may have."""
        now = self.clock()
        with self.store.transaction() as session:
            for status, end in ((JobStatus.CLAIMED, JobStatus.FAILED),
                                (JobStatus.SENDING, JobStatus.UNCERTAIN)):
                if jobs.finish(session, job_id, self.worker_id, status=end, now=now,
                               outcome="internal error; see the log", from_status=status):
                    log_event(log, f"outreach.{end.value}", logging.ERROR, job_id=job_id)
                    return end.value
        return "skipped"

    # --- one job ----------------------------------------------------------------------

    def _process(self, job_id: int) -> str:
        now = self.clock()
        with self.store.transaction() as session:
            job = session.get(OutreachJob, job_id)
            assert job is not None
            decision = self._decide(session, job, now)
            kind = job.kind
            if isinstance(decision, Skip):
                jobs.finish(session, job_id, self.worker_id, status=JobStatus.SKIPPED,
                            outcome=decision.reason, now=now, from_status=JobStatus.CLAIMED)
                log_event(log, "outreach.skipped", job_id=job_id, kind=kind,
                          reason=decision.reason)
                return "skipped"
            if isinstance(decision, Defer):
                jobs.release(session, job_id, self.worker_id, due_at=decision.until,
                             outcome=decision.reason)
                log_event(log, "outreach.deferred", job_id=job_id, kind=kind,
                          reason=decision.reason, until=decision.until.isoformat())
                return "deferred"
        if not jobs.mark_sending(self.store, job_id, self.worker_id, now, self.config.lease_s):
            return "skipped"  # the lease ran out and another worker has it
        try:
            sent = self._send(decision)
        except SendFailed as exc:
            return self._retry_or_fail(job_id, str(exc), now)
        except SendRejected as exc:
            self._end(job_id, JobStatus.FAILED, str(exc), now)
            return "failed"
        except SendUncertain as exc:
            self._end(job_id, JobStatus.UNCERTAIN, str(exc), now)
            return "uncertain"
        with self.store.transaction() as session:
            job = session.get(OutreachJob, job_id)
            assert job is not None
            jobs.finish(session, job_id, self.worker_id, status=JobStatus.SENT,
                        outcome=f"{sent.provider}:{sent.provider_message_id}", now=now,
                        from_status=JobStatus.SENDING)
            lead_id = job.lead_id or self._lead_for(session, decision, now)
            body = decision.rendered.body
            if decision.rendered.subject:
                body = f"{decision.rendered.subject}\n\n{body}"
            session.add(TimelineEntry(
                lead_id=lead_id, at=now, channel=decision.channel.value, direction="outbound",
                kind=job.kind, body=body, address=decision.address, job_id=job.id,
                call_id=job.call_id, provider_message_id=sent.provider_message_id))
        log_event(log, "outreach.sent", job_id=job_id, kind=kind, channel=decision.channel,
                  provider=sent.provider)
        return "sent"

    def _lead_for(self, session: Session, decision: Send, now: datetime) -> int:
        sms = decision.channel == Channel.SMS
        return resolve_lead(session, actor=ACTOR, channel=decision.channel.value, now=now,
                            phone=decision.address if sms else None,
                            email=None if sms else decision.address).id

    def _send(self, decision: Send) -> SentMessage:
        if decision.channel == Channel.SMS:
            assert self.sms is not None
            return self.sms.send(decision.address, decision.rendered.body)
        assert self.mailer is not None
        return self.mailer.send(decision.address, decision.rendered.subject or self.clinic.name,
                                decision.rendered.body)

    def _retry_or_fail(self, job_id: int, reason: str, now: datetime) -> str:
        with self.store.transaction() as session:
            attempts = session.scalar(select(OutreachJob.attempts).where(
                OutreachJob.id == job_id)) or 0
            if attempts >= self.config.max_attempts:
                jobs.finish(session, job_id, self.worker_id, status=JobStatus.FAILED,
                            outcome=f"gave up: {reason}", now=now,
                            from_status=JobStatus.SENDING)
                log_event(log, "outreach.failed", logging.WARNING, job_id=job_id,
                          attempts=attempts)
                return "failed"
            delay = timedelta(minutes=min(60, 2 ** attempts))
            jobs.release(session, job_id, self.worker_id, due_at=now + delay, outcome=reason,
                         from_status=JobStatus.SENDING)
        log_event(log, "outreach.retry", job_id=job_id, attempts=attempts,
                  in_s=int(delay.total_seconds()))
        return "retried"

    def _end(self, job_id: int, status: JobStatus, reason: str, now: datetime) -> None:
        with self.store.transaction() as session:
            jobs.finish(session, job_id, self.worker_id, status=status, outcome=reason, now=now,
                        from_status=JobStatus.SENDING)
        log_event(log, f"outreach.{status.value}", logging.WARNING, job_id=job_id)

    # --- what to do with a job --------------------------------------------------------

    def _decide(self, session: Session, job: OutreachJob, now: datetime) -> Send | Skip | Defer:
        kind, channel = JobKind(job.kind), Channel(job.channel)
        if (self.sms if channel == Channel.SMS else self.mailer) is None:
            return Skip(f"{channel.value}_off")
        key = address_key(channel, job.address or "")
        if not job.address or key is None:
            return Skip("no_address")
        if kind != JobKind.KEYWORD_REPLY and opted_out(session, channel=channel,
                                                        address_key=key):
            return Skip("opted_out")
        appt = session.get(Appointment, job.appointment_id) if job.appointment_id else None
        still = self._still_relevant(session, kind, job, appt, now)
        if still is not None:
            return Skip(still)
        if kind in PROACTIVE:
            until = quiet_until(self.clinic, now)
            if until is not None:
                return Defer(until, "quiet_hours")
            since = now - timedelta(hours=24)
            recent = list(session.scalars(select(OutreachJob.finished_at).where(
                OutreachJob.address == job.address, OutreachJob.id != job.id,
                OutreachJob.kind.in_([k.value for k in PROACTIVE]),
                OutreachJob.status.in_(COUNTED), OutreachJob.finished_at > since)
                .order_by(OutreachJob.finished_at)))
            if len(recent) >= self.clinic.outreach.max_per_number_per_day:
                first = recent[-self.clinic.outreach.max_per_number_per_day]
                assert first is not None
                return Defer(first + timedelta(hours=24), "rate_limited")
        else:
            replies = session.scalar(select(func.count(OutreachJob.id)).where(
                OutreachJob.address == job.address, OutreachJob.id != job.id,
                OutreachJob.kind.in_([k.value for k in CONVERSATION]),
                OutreachJob.status.in_(COUNTED),
                OutreachJob.finished_at >= now - timedelta(hours=1))) or 0
            if replies >= self.clinic.outreach.max_replies_per_hour:
                return Skip("reply_rate_limited")
        if kind in CONVERSATION:
            body = str(job.payload.get("body") or "")
            return Send(Rendered(body), channel, job.address) if body else Skip("empty")
        if not has_template(kind, channel):
            return Skip("no_template")
        patient = session.get(Patient, appt.patient_id) if appt else None
        if patient is None and job.lead_id is not None:
            lead = session.get(Lead, job.lead_id)
            patient = session.get(Patient, lead.patient_id) if lead and lead.patient_id else None
        return Send(render(self.clinic, kind, channel, facts(self.clinic, appt, patient)),
                    channel, job.address)

    def _still_relevant(self, session: Session, kind: JobKind, job: OutreachJob,
                        appt: Appointment | None, now: datetime) -> str | None:
        """Why the job no longer makes sense (None when it still does)."""
        if kind in (JobKind.CONFIRMATION, JobKind.REMINDER):
            if appt is None or appt.status != AppointmentStatus.BOOKED:
                return "appointment_not_booked"
            if appt.start <= now:
                return "visit_started"
        if kind == JobKind.NO_SHOW and (appt is None or appt.status != AppointmentStatus.NO_SHOW):
            return "no_longer_no_show"
        if kind in (JobKind.NUDGE, JobKind.MISSED_CALL) and job.lead_id is not None:
            lead = session.get(Lead, job.lead_id)
            booked = session.scalar(select(Appointment.id).where(
                Appointment.lead_id == job.lead_id,
                Appointment.status == AppointmentStatus.BOOKED.value))
            if booked is not None or lead is None or lead.stage not in (
                    LeadStage.NEW.value, LeadStage.CONTACTED.value):
                return "lead_moved_on"
        return None


class OutreachService:
    """Runs the worker every ``poll_s`` seconds on a thread, or sooner when woken."""

    def __init__(self, worker: OutreachWorker, poll_s: float) -> None:
        self.worker = worker
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outreach", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.worker.run_due()
                if report.sent or report.queued or report.failed or report.uncertain:
                    log_event(log, "outreach.pass", sent=report.sent, queued=report.queued,
                              skipped=report.skipped, deferred=report.deferred,
                              failed=report.failed, uncertain=report.uncertain)
            except StoreBusy:
                log_event(log, "outreach.store_busy", logging.WARNING)
            except Exception:  # noqa: BLE001 - the loop must outlive one bad pass
                log.exception("outreach.pass_failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()
