"""The SMS webhook endpoints (``/sms/twilio``, ``/sms/telnyx``) and the outreach runtime.

Webhooks are public (the providers cannot send our API token); the signature is the
authentication. A request that fails the check changes nothing and is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from voiceagent.channels.conversations import TextConversations
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.logs import log_event
from voiceagent.outreach.dispatch import OutreachService, OutreachWorker
from voiceagent.outreach.email import SmtpMailer
from voiceagent.outreach.inbound import SmsInbox
from voiceagent.outreach.settings import Credentials, credentials_from_env
from voiceagent.outreach.sms import sms_sender
from voiceagent.outreach.summary import Summarizer
from voiceagent.outreach.triggers import appointment_booked
from voiceagent.outreach.webhooks import (
    InboundSms,
    WebhookRejected,
    parse_telnyx,
    parse_twilio,
)

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass
class Outreach:
    """The follow-up pieces of one process."""

    worker: OutreachWorker
    inbox: SmsInbox | None
    service: OutreachService
    credentials: Credentials
    config: PipelineConfig

    def appointment_booked(self, appointment_id: int) -> int:
        """Queue a new booking's confirmation and reminder now and wake the worker (the
        front desk calls this after a booking; otherwise the next sweep finds it)."""
        queued = appointment_booked(self.worker.store, self.worker.scope, appointment_id,
                                    self.worker.clock())
        if queued:
            self.service.wake()
        return queued


def build_outreach(config: PipelineConfig, frontdesk: FrontDesk, *,
                   credentials: Credentials | None = None,
                   clock: Callable[[], datetime] | None = None) -> Outreach:
    """Senders from the config and environment (MissingCredential names the variable)."""
    credentials = credentials or credentials_from_env()
    clock = clock or (lambda: datetime.now(UTC))
    sms = sms_sender(config.outreach.sms, credentials)
    mailer = (SmtpMailer(config.outreach.email, credentials)
              if config.outreach.email.smtp_host else None)
    summarizer = Summarizer(frontdesk.llm if config.outreach.summary_with_llm else None)
    worker = OutreachWorker(frontdesk.store, frontdesk.clinic, config.outreach, sms=sms,
                            mailer=mailer, clock=clock, summarizer=summarizer)
    inbox = (SmsInbox(frontdesk.store, frontdesk.clinic, config.outreach.sms,
                      TextConversations(frontdesk), clock) if sms is not None else None)
    return Outreach(worker, inbox, OutreachService(worker, config.outreach.poll_s),
                    credentials, config)


def sms_webhook_app(outreach: Outreach, *, wall_clock: Callable[[], float] = time.time) -> FastAPI:
    """``POST /twilio`` and ``POST /telnyx`` (mounted at ``/sms``)."""
    app = FastAPI(title="voiceagent SMS webhooks", docs_url=None, redoc_url=None,
                  openapi_url=None)
    sms_config = outreach.config.outreach.sms
    creds = outreach.credentials

    def take(sms: InboundSms | object) -> None:
        if isinstance(sms, InboundSms) and outreach.inbox is not None:
            outreach.inbox.receive(sms)
            outreach.service.wake()

    def refuse(provider: str, exc: WebhookRejected) -> Response:
        log_event(log, "sms.webhook_rejected", logging.WARNING, provider=provider,
                  reason=exc.reason)
        return Response(status_code=exc.status, content=exc.reason, media_type="text/plain")

    @app.post("/twilio")
    async def twilio(request: Request) -> Response:
        if sms_config.provider != "twilio" or creds.twilio_auth_token is None:
            return refuse("twilio", WebhookRejected("provider_not_configured", 404))
        body = await request.body()
        url = str(request.url)
        if sms_config.public_base_url:
            query = f"?{request.url.query}" if request.url.query else ""
            url = f"{sms_config.public_base_url.rstrip('/')}{request.url.path}{query}"
        try:
            sms = parse_twilio(url, body, request.headers,
                               creds.twilio_auth_token.get_secret_value())
        except WebhookRejected as exc:
            return refuse("twilio", exc)
        await run_in_threadpool(take, sms)
        return Response(EMPTY_TWIML, media_type="application/xml")

    @app.post("/telnyx")
    async def telnyx(request: Request) -> Response:
        if sms_config.provider != "telnyx" or not creds.telnyx_public_key:
            return refuse("telnyx", WebhookRejected("provider_not_configured", 404))
        body = await request.body()
        try:
            sms = parse_telnyx(body, request.headers, creds.telnyx_public_key, wall_clock(),
                               sms_config.timestamp_tolerance_s)
        except WebhookRejected as exc:
            return refuse("telnyx", exc)
        await run_in_threadpool(take, sms)
        return Response(status_code=200)

    return app
