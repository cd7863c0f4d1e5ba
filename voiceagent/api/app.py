"""The HTTP API: web chat with the front desk, and read APIs for the clinic's staff tools.

``create_app(config)`` builds the app; ``uvicorn`` serves it (``voiceagent serve``). OpenAPI
docs are at ``/docs``. When an API token is configured (``VOICEAGENT_API_TOKEN``), every
request, the docs included, needs ``Authorization: Bearer <token>``, compared in constant
time. Only the configured host names are served, and a chat session answers only to the
secret its creator got (``X-Chat-Secret``); see ``api/guard.py``.

Chat sessions live in the database (state as JSON, versioned), not in process memory, so
several nodes behind a load balancer can serve the same conversation.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import or_, select

from voiceagent.api.guard import (
    CHAT_SECRET_HEADER,
    ChatSecrets,
    HostGuard,
    SafeErrors,
    allowed_host_names,
    clean_text,
    log_redacted,
)
from voiceagent.channels.conversations import (
    ConversationEnded,
    TextConversations,
    TextTurn,
    UnknownConversation,
)
from voiceagent.channels.text import event_json
from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.models import Appointment, Call, Lead, Message, Patient
from voiceagent.clinic.storehealth import StoreHealth
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.protocol import ReplyText
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.frontdesk.sessions import SessionConflict, SessionStore
from voiceagent.frontdesk.state import ConversationState
from voiceagent.outreach.api import mount_outreach, summaries_for

log = logging.getLogger(__name__)

API_ACTOR = Actor("api")
MAX_ROWS = 500


class NewSession(BaseModel):
    channel: Literal["web_chat", "sms"] = "web_chat"


class ChatMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="what the visitor typed")

    @field_validator("text", mode="before")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value


class ChatReply(BaseModel):
    session_id: str
    session_secret: str | None = Field(
        None, description="given once, when the session starts: send it as X-Chat-Secret "
        "with every later request for this session")
    reply: str = Field(description="the agent's reply text")
    actions: list[dict[str, Any]] = Field(description="tool calls, results, transfer, end")
    expected_input: str
    ended: bool
    outcome: str | None = None


def _bearer_guard(token: str | None) -> Any:
    expected = token.encode() if token else None

    def check(request: Request) -> None:
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 expected):
            raise HTTPException(status_code=401, detail="missing or wrong API token; send "
                                "Authorization: Bearer <VOICEAGENT_API_TOKEN>",
                                headers={"WWW-Authenticate": "Bearer"})

    return check


def _day_range(frontdesk: FrontDesk, date_from: date | None,
               date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """Clinic-local days [from, to] as a UTC interval."""
    tz = frontdesk.clinic.tz
    start = datetime.combine(date_from, time(0), tz).astimezone(UTC) if date_from else None
    end = (datetime.combine(date_to + timedelta(days=1), time(0), tz).astimezone(UTC)
           if date_to else None)
    return start, end


def create_app(
    config: PipelineConfig | None = None,
    *,
    frontdesk: FrontDesk | None = None,
    api_token: str | None = None,
    outreach: Any = None,
    allowed_hosts: list[str] | None = None,
    chat_secrets: ChatSecrets | None = None,
    store_health: StoreHealth | None = None,
) -> FastAPI:
    """The FastAPI app. Pass ``frontdesk`` (tests, embedding) or a config to load one.

    ``api_token`` overrides ``config.http.api_token``; with neither, no token is needed (the
    pipeline config refuses a non-localhost bind without one). ``outreach``
    (:class:`voiceagent.outreach.routes.Outreach`) adds the SMS webhooks.
    """
    if frontdesk is None:
        if config is None:
            raise ValueError("create_app needs a PipelineConfig or a FrontDesk")
        frontdesk = FrontDesk.from_config(config)
    if api_token is None and config is not None and config.http.api_token is not None:
        api_token = config.http.api_token.get_secret_value()
    if allowed_hosts is None:
        http = config.http if config is not None else None
        allowed_hosts = sorted(allowed_host_names(http.host if http else "127.0.0.1",
                                                  http.allowed_hosts if http else ()))
    if chat_secrets is None:
        chat_secrets = ChatSecrets.from_environment(config.data_dir if config else None)
    secrets = chat_secrets
    health_probe = store_health or StoreHealth(frontdesk.store)
    sessions = SessionStore(frontdesk.store)
    conversations = TextConversations(frontdesk)
    guard = Depends(_bearer_guard(api_token))
    app = FastAPI(title="voiceagent", version="0.1.0", dependencies=[guard],
                  docs_url=None, redoc_url=None, openapi_url=None,
                  description="Front-desk chat and read APIs of the self-hosted receptionist.")
    app.add_middleware(SafeErrors)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # what was wrong and where, never the input itself (it may be what a patient typed)
        errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)
    app.add_middleware(HostGuard, names=set(allowed_hosts))
    app.state.frontdesk = frontdesk

    # the docs, behind the same guard as the API
    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="voiceagent API")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="voiceagent API")

    def owned(session_id: str, secret: str | None) -> tuple[ConversationState, int]:
        """The session, if the caller holds its secret; 404 alike for wrong and unknown."""
        loaded = sessions.load(session_id) if secrets.matches(session_id, secret) else None
        if loaded is None:
            raise HTTPException(404, "no such chat session (or not yours: send the "
                                "X-Chat-Secret you got when it started); start one with "
                                "POST /api/chat/sessions")
        return loaded

    chat_secret = Header(None, alias=CHAT_SECRET_HEADER,
                         description="the session_secret from POST /api/chat/sessions")

    def reply(turn: TextTurn) -> ChatReply:
        return ChatReply(
            session_id=turn.session_id, reply=turn.reply,
            actions=[event_json(e) for e in turn.events if not isinstance(e, ReplyText)],
            expected_input=turn.expected_input, ended=turn.ended, outcome=turn.outcome,
        )

    # --- chat -------------------------------------------------------------------------

    @app.post("/api/chat/sessions", response_model=ChatReply, tags=["chat"])
    def new_session(body: NewSession | None = None) -> ChatReply:
        """Start a chat: returns the session id and the greeting."""
        answer = reply(conversations.start(body.channel if body else "web_chat"))
        answer.session_secret = secrets.secret_for(answer.session_id)
        return answer

    @app.post("/api/chat/sessions/{session_id}/messages", response_model=ChatReply,
              tags=["chat"])
    def send(session_id: str, body: ChatMessageIn,
             x_chat_secret: str | None = chat_secret) -> ChatReply:
        """One visitor message; returns the agent's reply and what it did."""
        if not secrets.matches(session_id, x_chat_secret):
            owned(session_id, x_chat_secret)  # 404 alike for wrong and unknown
        try:
            return reply(conversations.send(session_id, body.text))
        except UnknownConversation:
            raise HTTPException(404, "no such chat session; start one with "
                                "POST /api/chat/sessions") from None
        except ConversationEnded:
            raise HTTPException(409, "this chat has ended; start a new session") from None
        except SessionConflict as exc:
            raise HTTPException(409, str(exc)) from None
        except Exception as exc:
            log_redacted("chat_turn_failed", exc, call_id=session_id)
            raise HTTPException(500, "the assistant had a problem; please try again or call "
                                "the clinic") from None

    @app.get("/api/chat/sessions/{session_id}", tags=["chat"])
    def get_session(session_id: str,
                    x_chat_secret: str | None = chat_secret) -> dict[str, Any]:
        """The conversation so far (messages and step), for the visitor who started it."""
        state, _version = owned(session_id, x_chat_secret)
        return {"session_id": state.session_id, "step": state.step, "outcome": state.outcome,
                "history": state.history}

    # --- reads ------------------------------------------------------------------------

    @app.get("/api/health", tags=["status"])
    def health() -> JSONResponse:
        """Liveness plus a write probe of the store; 503 while the store cannot be written
        (a locked, missing or unreachable database)."""
        probe = health_probe.check()
        body: dict[str, Any] = {"status": "ok" if probe.writable else "unavailable",
                                "database": "ok" if probe.writable else "unwritable",
                                "clinic": frontdesk.clinic.name}
        if not probe.writable:
            body["reason"] = probe.reason
        return JSONResponse(body, status_code=200 if probe.writable else 503)

    @app.get("/api/appointments", tags=["read"])
    def appointments(
        date_from: date | None = None, date_to: date | None = None,
        status: str | None = None, provider_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    ) -> list[dict[str, Any]]:
        """Appointments starting on clinic-local days [date_from, date_to]."""
        start, end = _day_range(frontdesk, date_from, date_to)
        q = select(Appointment).order_by(Appointment.start).limit(limit)
        if start:
            q = q.where(Appointment.start >= start)
        if end:
            q = q.where(Appointment.start < end)
        if status:
            q = q.where(Appointment.status == status)
        if provider_id:
            q = q.where(Appointment.provider_id == provider_id)
        tz = frontdesk.clinic.tz
        with frontdesk.store.transaction() as session:
            rows = list(session.scalars(q))
            audit.record(session, API_ACTOR, "read", "appointment", f"list:{len(rows)}")
            return [{"id": a.id, "patient_id": a.patient_id, "type": a.appointment_type_id,
                     "provider_id": a.provider_id, "room_id": a.room_id,
                     "start": a.start.astimezone(tz).isoformat(),
                     "end": a.end.astimezone(tz).isoformat(), "status": a.status,
                     "lead_id": a.lead_id, "call_id": a.call_id} for a in rows]

    @app.get("/api/patients", tags=["read"])
    def patients(
        q: Annotated[str | None, Query(max_length=100, description="name or phone")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    ) -> list[dict[str, Any]]:
        query = select(Patient).order_by(Patient.last_name, Patient.first_name).limit(limit)
        if q:
            like = f"%{q.strip()}%"
            digits = "".join(c for c in q if c.isdigit())
            conditions = [Patient.first_name.ilike(like), Patient.last_name.ilike(like)]
            if len(digits) >= 4:
                conditions.append(Patient.phone_key.like(f"%{digits[-10:]}%"))
            query = query.where(or_(*conditions))
        with frontdesk.store.transaction() as session:
            rows = list(session.scalars(query))
            for p in rows:
                audit.record(session, API_ACTOR, "read", "patient", p.id)
            return [{"id": p.id, "first_name": p.first_name, "last_name": p.last_name,
                     "dob": p.dob.isoformat(), "phone": p.phone, "email": p.email,
                     "preferred_language": p.preferred_language} for p in rows]

    @app.get("/api/leads", tags=["read"])
    def leads(
        stage: str | None = None, date_from: date | None = None, date_to: date | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    ) -> list[dict[str, Any]]:
        """Leads created on clinic-local days [date_from, date_to], optionally by stage."""
        start, end = _day_range(frontdesk, date_from, date_to)
        q = select(Lead).order_by(Lead.created_at.desc()).limit(limit)
        if stage:
            q = q.where(Lead.stage == stage)
        if start:
            q = q.where(Lead.created_at >= start)
        if end:
            q = q.where(Lead.created_at < end)
        with frontdesk.store.transaction() as session:
            rows = list(session.scalars(q))
            audit.record(session, API_ACTOR, "read", "lead", f"list:{len(rows)}")
            return [{"id": lead.id, "patient_id": lead.patient_id, "stage": lead.stage,
                     "lost_reason": lead.lost_reason, "source": lead.source,
                     "channel": lead.channel, "owner_role": lead.owner_role,
                     "referring_provider_name": lead.referring_provider_name,
                     "created_at": lead.created_at.isoformat(),
                     "updated_at": lead.updated_at.isoformat()} for lead in rows]

    @app.get("/api/messages", tags=["read"])
    def messages(
        status: str | None = None, category: str | None = None,
        date_from: date | None = None, date_to: date | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    ) -> list[dict[str, Any]]:
        start, end = _day_range(frontdesk, date_from, date_to)
        q = select(Message).order_by(Message.created_at.desc()).limit(limit)
        if status:
            q = q.where(Message.status == status)
        if category:
            q = q.where(Message.category == category)
        if start:
            q = q.where(Message.created_at >= start)
        if end:
            q = q.where(Message.created_at < end)
        with frontdesk.store.transaction() as session:
            rows = list(session.scalars(q))
            audit.record(session, API_ACTOR, "read", "message", f"list:{len(rows)}")
            summaries = summaries_for(frontdesk.store, [m.call_id for m in rows if m.call_id])
            return [{"id": m.id, "category": m.category, "priority": m.priority,
                     "owner_role": m.owner_role, "status": m.status, "subject": m.subject,
                     "body": m.body, "callback_phone": m.callback_phone,
                     "patient_id": m.patient_id, "call_id": m.call_id,
                     "created_at": m.created_at.isoformat(),
                     "call_summary": summaries.get(m.call_id or "")} for m in rows]

    @app.get("/api/calls", tags=["read"])
    def calls(
        date_from: date | None = None, date_to: date | None = None,
        outcome: str | None = None, channel: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    ) -> list[dict[str, Any]]:
        """Calls and chats started on clinic-local days [date_from, date_to]."""
        start, end = _day_range(frontdesk, date_from, date_to)
        q = select(Call).order_by(Call.started_at.desc()).limit(limit)
        if start:
            q = q.where(Call.started_at >= start)
        if end:
            q = q.where(Call.started_at < end)
        if outcome:
            q = q.where(Call.outcome == outcome)
        if channel:
            q = q.where(Call.channel == channel)
        with frontdesk.store.transaction() as session:
            rows = list(session.scalars(q))
            audit.record(session, API_ACTOR, "read", "call", f"list:{len(rows)}")
            summaries = summaries_for(frontdesk.store, [c.id for c in rows])
            return [{"id": c.id, "channel": c.channel, "caller_id": c.caller_id,
                     "started_at": c.started_at.isoformat(),
                     "ended_at": c.ended_at.isoformat() if c.ended_at else None,
                     "outcome": c.outcome, "patient_id": c.patient_id,
                     "turns": len(c.turns), "tool_calls": len(c.tool_calls),
                     "summary": summaries.get(c.id)} for c in rows]

    # --- web chat, SMS webhooks, lead timeline, call summaries (issue 14) -----------------
    mount_outreach(app, config, frontdesk, outreach)

    # --- the staff workspace at /app (its own session-or-token guard) -----------------
    from voiceagent.web import mount_workspace

    mount_workspace(app, frontdesk, api_token=api_token, config=config)
    return app
