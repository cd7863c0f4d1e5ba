"""The web chat's public API, script and demo page (mounted at ``/webchat``).

Public on purpose (a visitor has no API token), so it is fenced: the site key in the
snippet must match, the page's ``Origin`` must be one of ``webchat.allowed_origins`` (or
this server's own, for the demo page), and sessions and messages are rate limited per
visitor and per IP. Replies carry the assistant's text only, never tool results, so nothing
from a patient record is read back except what the dialog says after verifying identity.
"""

from __future__ import annotations

import hmac
import html
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from voiceagent.channels.conversations import (
    ConversationEnded,
    TextConversations,
    UnknownConversation,
)
from voiceagent.channels.webchat.ratelimit import SlidingWindow
from voiceagent.frontdesk.sessions import SessionConflict
from voiceagent.logs import log_event
from voiceagent.outreach.settings import WebChatConfig
from voiceagent.outreach.templates import keyword_text

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
_VISITOR = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
ALLOWED_HEADERS = "Content-Type, X-Webchat-Key, X-Webchat-Visitor"


class VisitorMessage(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


class WebChatReply(BaseModel):
    session_id: str
    reply: str
    ended: bool
    notice: str | None = None


def webchat_app(conversations: TextConversations, config: WebChatConfig, *,
                clock: Callable[[], float] = time.monotonic) -> FastAPI:
    app = FastAPI(title="voiceagent web chat", docs_url=None, redoc_url=None, openapi_url=None)
    clinic = conversations.frontdesk.clinic
    notice = keyword_text(clinic, "webchat_notice")
    per_visitor = SlidingWindow(config.messages_per_minute_per_visitor, 60, clock)
    per_ip = SlidingWindow(config.messages_per_minute_per_ip, 60, clock)
    sessions_per_ip = SlidingWindow(config.sessions_per_hour_per_ip, 3600, clock)
    widget = (HERE / "widget.js").read_text(encoding="utf-8")
    demo = (HERE / "demo.html").read_text(encoding="utf-8")

    def own_origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()

    def origin_ok(request: Request) -> str | None:
        origin = (request.headers.get("origin") or "").lower()
        if origin and (origin in config.allowed_origins or origin == own_origin(request)):
            return origin
        return None

    def cors(response: Response, origin: str) -> Response:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response

    def refuse(status: int, reason: str, detail: str, origin: str | None = None,
               retry_after: float | None = None) -> HTTPException:
        log_event(log, "webchat.refused", logging.WARNING, reason=reason)
        headers = {"Vary": "Origin"}
        if origin:
            headers["Access-Control-Allow-Origin"] = origin
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after) + 1)
        return HTTPException(status, detail, headers=headers)

    def gate(request: Request, key: str | None = None) -> str:
        """The allowed origin, or an HTTPException (changes nothing)."""
        if not config.enabled:
            raise refuse(404, "disabled", "web chat is not enabled")
        origin = origin_ok(request)
        if origin is None:
            raise refuse(403, "origin", "this site is not allowed to use the chat")
        given = key if key is not None else request.headers.get("x-webchat-key", "")
        if not hmac.compare_digest(given.encode(), config.site_key.encode()):
            raise refuse(403, "site_key", "unknown site key", origin)
        return origin

    def limit(window: SlidingWindow, key: str, what: str, origin: str) -> None:
        wait = window.hit(key)
        if wait is not None:
            raise refuse(429, f"rate_{what}", "too many messages; please wait a moment",
                         origin, wait)

    def ip(request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for", "")
        if peer in config.trusted_proxies and forwarded:
            return forwarded.split(",")[-1].strip() or peer  # the hop our proxy saw
        return peer

    def visitor(request: Request, fallback: str) -> str:
        given = request.headers.get("x-webchat-visitor", "")
        return given if _VISITOR.match(given) else fallback

    @app.get("/widget.js")
    def script() -> Response:
        return Response(widget, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

    @app.get("/demo", response_class=HTMLResponse)
    def demo_page(request: Request) -> HTMLResponse:
        if not (config.enabled and config.demo_page):
            raise HTTPException(404, "the demo page is off (webchat.enabled, webchat.demo_page)")
        base = own_origin(request)
        snippet = (f'<script src="{base}/webchat/widget.js" data-key="{config.site_key}" '
                   'async></script>')
        return HTMLResponse(demo.format(clinic=html.escape(clinic.name),
                                        snippet=html.escape(snippet),
                                        key=html.escape(config.site_key, quote=True)))

    @app.options("/api/{path:path}")
    def preflight(request: Request, path: str) -> Response:
        origin = origin_ok(request)
        if not config.enabled or origin is None:
            log_event(log, "webchat.refused", logging.WARNING, reason="preflight_origin")
            return Response(status_code=403)
        response = Response(status_code=204)
        response.headers.update({"Access-Control-Allow-Methods": "POST",
                                 "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                 "Access-Control-Max-Age": "600"})
        return cors(response, origin)

    @app.post("/api/sessions", response_model=WebChatReply)
    async def start(request: Request, response: Response) -> WebChatReply:
        origin = gate(request)
        limit(sessions_per_ip, ip(request), "sessions_ip", origin)
        turn = await run_in_threadpool(conversations.start, "web_chat")
        log_event(log, "webchat.started", call_id=turn.session_id)
        cors(response, origin)
        return WebChatReply(session_id=turn.session_id, reply=turn.reply, ended=turn.ended,
                            notice=notice)

    @app.post("/api/sessions/{session_id}/messages", response_model=WebChatReply)
    async def message(session_id: str, body: VisitorMessage, request: Request,
                      response: Response) -> WebChatReply:
        origin = gate(request)
        limit(per_visitor, visitor(request, session_id), "visitor", origin)
        limit(per_ip, ip(request), "ip", origin)
        try:
            turn = await run_in_threadpool(conversations.send, session_id, body.text)
        except UnknownConversation:
            raise refuse(404, "unknown_session", "this chat has expired; start a new one",
                         origin) from None
        except ConversationEnded:
            raise refuse(409, "ended", "this chat has ended; start a new one", origin) from None
        except SessionConflict:
            raise refuse(409, "conflict", "one message at a time, please", origin) from None
        except Exception:  # noqa: BLE001 - never a stack trace to a visitor
            log.exception("webchat.turn_failed",
                          extra={"voiceagent_fields": {"call_id": session_id}})
            raise refuse(500, "turn_failed", f"Sorry, something went wrong. Please call "
                         f"{clinic.phone}.", origin) from None
        cors(response, origin)
        return WebChatReply(session_id=session_id, reply=turn.reply, ended=turn.ended)

    @app.post("/api/sessions/{session_id}/end")
    async def end(session_id: str, request: Request, key: str | None = None) -> Response:
        origin = gate(request, key)
        await run_in_threadpool(conversations.close, session_id, "visitor_left")
        return cors(Response(status_code=204), origin)

    return app
