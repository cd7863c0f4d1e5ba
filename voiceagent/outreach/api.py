"""Wiring for the HTTP API: the staff reads (lead timeline, call summaries) behind the API
token, and the public parts (web chat, SMS webhooks) mounted beside it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query
from sqlalchemy import select

from voiceagent.channels.conversations import TextConversations
from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import Lead
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.outreach.records import CallSummary, OutreachJob
from voiceagent.outreach.routes import Outreach, sms_webhook_app
from voiceagent.outreach.timeline import lead_timeline

API_ACTOR = Actor("api")


def summaries_for(store: Store, call_ids: list[str]) -> dict[str, dict[str, str]]:
    """Call id -> its summary (reason, done, pending, owner_role, source)."""
    if not call_ids:
        return {}
    with store.transaction() as session:
        rows = session.scalars(select(CallSummary).where(CallSummary.call_id.in_(call_ids)))
        return {r.call_id: {"reason": r.reason, "done": r.done, "pending": r.pending,
                            "owner_role": r.owner_role, "source": r.source} for r in rows}


def staff_router(store: Store) -> APIRouter:
    router = APIRouter(tags=["follow-up"])

    @router.get("/api/leads/{lead_id}/timeline")
    def timeline(lead_id: int) -> list[dict[str, Any]]:
        """Every message, call and chat of the lead, oldest first."""
        with store.transaction() as session:
            if session.get(Lead, lead_id) is None:
                raise HTTPException(404, "no such lead")
        return [{"at": i.at.isoformat(), "channel": i.channel, "direction": i.direction,
                 "kind": i.kind, "body": i.body, "call_id": i.call_id, "job_id": i.job_id}
                for i in lead_timeline(store, lead_id, actor=API_ACTOR)]

    @router.get("/api/outreach/jobs")
    def outreach_jobs(
        status: str | None = None, kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        """Follow-up messages, newest first; ``status=uncertain`` lists the ones a stopped
        worker may or may not have sent (check with the patient), ``failed`` the refused."""
        q = select(OutreachJob).order_by(OutreachJob.id.desc()).limit(limit)
        if status:
            q = q.where(OutreachJob.status == status)
        if kind:
            q = q.where(OutreachJob.kind == kind)
        with store.transaction() as session:
            rows = list(session.scalars(q))
            audit.record(session, API_ACTOR, "read", "outreach_job", f"list:{len(rows)}")
            return [{"id": j.id, "kind": j.kind, "channel": j.channel, "status": j.status,
                     "lead_id": j.lead_id, "appointment_id": j.appointment_id,
                     "call_id": j.call_id, "due_at": j.due_at.isoformat(),
                     "attempts": j.attempts, "outcome": j.outcome,
                     "finished_at": j.finished_at.isoformat() if j.finished_at else None}
                    for j in rows]

    @router.get("/api/calls/{call_id}/summary")
    def summary(call_id: str) -> dict[str, str]:
        """The post-call summary (404 until the call has ended and been summarised)."""
        found = summaries_for(store, [call_id]).get(call_id)
        if found is None:
            raise HTTPException(404, "no summary for this call (yet)")
        with store.transaction() as session:
            audit.record(session, API_ACTOR, "read", "call_summary", call_id)
        return found

    return router


def mount_outreach(app: FastAPI, config: PipelineConfig | None, frontdesk: FrontDesk,
                   outreach: Outreach | None) -> None:
    """Add the staff reads; mount ``/webchat`` and ``/sms`` (public, fenced on their own)."""
    app.include_router(staff_router(frontdesk.store))
    if config is not None and config.webchat.enabled:
        from voiceagent.channels.webchat.app import webchat_app

        app.mount("/webchat", webchat_app(TextConversations(frontdesk), config.webchat))
    if outreach is not None and outreach.inbox is not None:
        app.mount("/sms", sms_webhook_app(outreach))
