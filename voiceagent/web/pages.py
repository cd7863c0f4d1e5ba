"""The workspace's HTML pages (server-rendered; writes go through :mod:`voiceagent.web.api`)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

import yaml
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from voiceagent.clinic.config import consistency_problems
from voiceagent.web import auditlog, calendar, calls, inbox, leads, referrals, today
from voiceagent.web.accounts import authenticate, list_users
from voiceagent.web.auth import Staff, check_form_csrf, page_staff, require, workspace
from voiceagent.web.context import Workspace
from voiceagent.web.roles import (
    LABELS,
    Role,
    may_book,
    may_read_audit,
    may_read_calls,
    may_work_leads,
)
from voiceagent.web.sessions import EndReason, end, start

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
LOGIN_COOKIE = "va_login"
router = APIRouter(include_in_schema=False)
StaffDep = Annotated[Staff, Depends(page_staff)]
WorkspaceDep = Annotated[Workspace, Depends(workspace)]

# who a lead can be handed to, beside any owner already in use
OWNER_ROLES = ("front_desk", "intake_coordinator", "billing", "clinic_manager")
WHY = {
    EndReason.IDLE.value: "You were signed out after a period without activity.",
    EndReason.SIGNED_OUT.value: "You are signed out.",
    EndReason.DISABLED.value: "This account was disabled; ask an admin.",
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _day(value: str | None, name: str) -> date | None:
    """A date from a filter form: empty means "not given"; nonsense is a clear 400."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a date (YYYY-MM-DD)") from None


def _label(value: str | None) -> str:
    return (value or "—").replace("_", " ")


TEMPLATES.env.filters["duration"] = _duration
TEMPLATES.env.filters["label"] = _label


def render(request: Request, name: str, staff: Staff | None, ws: Workspace,
           **context: Any) -> HTMLResponse:
    nav = []
    if staff is not None:
        nav = [("today", "Today", ""), ("messages", "Messages", "messages"),
               ("calendar", "Calendar", "calendar")]
        if may_read_calls(staff.role):
            nav[1:1] = [("calls", "Calls", "calls"), ("leads", "Leads", "leads")]
            nav.append(("referrals", "Referrals", "referrals"))
        nav.append(("settings", "Settings", "settings"))
        if may_read_audit(staff.role):
            nav.append(("audit", "Audit log", "audit"))
    nonce = secrets.token_urlsafe(16)
    response = TEMPLATES.TemplateResponse(request, name, {
        "nonce": nonce, "base": base(request), "staff": staff, "ws": ws, "clinic": ws.clinic,
        "nav": nav, "roles": LABELS,
        "idle_seconds": int(ws.settings.idle.total_seconds()), **context})
    # only this page's own script runs: an injected <script> or handler has no nonce
    response.headers["Content-Security-Policy"] = content_policy(nonce)
    return response


def content_policy(nonce: str | None = None) -> str:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return ("default-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"script-src {script}; img-src 'self' data:; media-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def base(request: Request) -> str:
    """The workspace's own root ("/app/"), for links and redirects."""
    return f"{request.scope.get('root_path', '')}/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(request: Request, value: str | None) -> str:
    path = unquote(value or "")
    # only a path inside the workspace: never another host
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return base(request)
    return base(request) + path.lstrip("/")


# --- sign in and out --------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, ws: WorkspaceDep, next: str | None = None,
               why: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, ws, login_token=token, next=next or "",
                      notice=WHY.get(why or ""), problem=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), max_age=3600)
    return response


@router.post("/login")
def login(request: Request, ws: WorkspaceDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], login_token: Annotated[str, Form()],
          next: Annotated[str, Form()] = "") -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    problem: str | None
    if not cookie or not secrets.compare_digest(cookie, login_token):
        problem = "The sign-in form expired; please try again."
    else:
        result = authenticate(ws.store, username, password, now=ws.now(),
                              policy=ws.settings.lockout)
        if result.user is not None:
            token, _csrf = start(ws.store, result.user, ws.now())
            done = RedirectResponse(_safe_next(request, next), status_code=303)
            done.set_cookie(ws.settings.cookie_name, token, httponly=True,
                            samesite="strict", secure=_secure(request))
            done.delete_cookie(LOGIN_COOKIE)
            return done
        problem = result.problem
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, ws, login_token=token, next=next,
                      notice=None, problem=problem, username=username)
    response.status_code = 401
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), max_age=3600)
    return response


@router.post("/logout")
def logout(request: Request, staff: StaffDep, ws: WorkspaceDep,
           csrf: Annotated[str, Form()] = "") -> Response:
    check_form_csrf(staff, csrf)
    end(ws.store, request.cookies.get(ws.settings.cookie_name, ""), ws.now())
    response = RedirectResponse(f"{base(request)}login?why=signed_out", status_code=303)
    response.delete_cookie(ws.settings.cookie_name)
    return response


# --- today ------------------------------------------------------------------------------


@router.get("/")
def today_page(request: Request, staff: StaffDep, ws: WorkspaceDep) -> HTMLResponse:
    board = ws.live()
    return render(request, "today.html", staff, ws, page="today",
                  figures=today.figures(ws.store, ws.clinic, ws.now()),
                  live=board.calls() if board else None, board=board,
                  day=ws.now().astimezone(ws.clinic.tz))


# --- calls ------------------------------------------------------------------------------


@router.get("/calls")
def calls_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
               first: str | None = None, last: str | None = None,
               outcome: str | None = None, channel: str | None = None) -> HTMLResponse:
    require(may_read_calls(staff.role), "read call records")
    day_from, day_to = _day(first, "from"), _day(last, "to")
    rows = calls.list_calls(ws.store, ws.clinic, actor=staff.actor, first=day_from, last=day_to,
                            outcome=outcome or None, channel=channel or None)
    outcomes, channels = calls.filter_choices(ws.store)
    return render(request, "calls.html", staff, ws, page="calls", rows=rows,
                  outcomes=outcomes, channels=channels,
                  filters={"first": day_from, "last": day_to, "outcome": outcome or "",
                           "channel": channel or ""})


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: str, staff: StaffDep,
              ws: WorkspaceDep) -> HTMLResponse:
    require(may_read_calls(staff.role), "read call records")
    detail = calls.call_detail(ws.store, ws.clinic, call_id, actor=staff.actor)
    if detail is None:
        raise HTTPException(404, "no such call")
    return render(request, "call.html", staff, ws, page="calls", call=detail)


@router.get("/calls/{call_id}/recording")
def recording(request: Request, call_id: str, staff: StaffDep,
              ws: WorkspaceDep) -> FileResponse:
    require(may_read_calls(staff.role), "listen to recordings")
    # a player fetches the file in ranges: one audit entry per playback, at its start
    first = request.headers.get("range", "bytes=0-").replace(" ", "").startswith("bytes=0-")
    path = calls.recording_file(ws.store, call_id, actor=staff.actor, audited=first)
    if path is None:
        raise HTTPException(404, "this call has no recording")
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "no-store"})


# --- leads ------------------------------------------------------------------------------


@router.get("/leads")
def leads_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
               source: str | None = None, referring: str | None = None,
               owner: str | None = None) -> HTMLResponse:
    require(may_read_calls(staff.role), "see leads")
    where = leads.BoardFilter(source or None, referring or None, owner or None)
    columns = leads.board(ws.store, ws.clinic, actor=staff.actor, now=ws.now(), where=where)
    sources, physicians, owners = leads.board_choices(ws.store)
    return render(request, "leads.html", staff, ws, page="leads", columns=columns,
                  sources=sources, physicians=physicians, owners=owners, where=where,
                  stages=leads.STAGES, lost_reasons=leads.LOST_REASONS,
                  can_move=may_work_leads(staff.role))


@router.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: int, staff: StaffDep,
              ws: WorkspaceDep) -> HTMLResponse:
    require(may_read_calls(staff.role), "see leads")
    card = leads.lead_card(ws.store, ws.clinic, lead_id, actor=staff.actor, now=ws.now())
    if card is None:
        raise HTTPException(404, "no such lead")
    events = leads.timeline(ws.store, ws.clinic, lead_id, actor=staff.actor)
    owners = sorted({*OWNER_ROLES, *leads.board_choices(ws.store)[2], card.owner_role})
    return render(request, "lead.html", staff, ws, page="leads", lead=card, events=events,
                  owners=owners,
                  stages=leads.STAGES, lost_reasons=leads.LOST_REASONS,
                  can_move=may_work_leads(staff.role))


# --- messages ---------------------------------------------------------------------------


@router.get("/messages")
def messages_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
                  scope: str | None = None, closed: str | None = None) -> HTMLResponse:
    show_closed = closed in ("true", "on", "1")
    chosen = Role(scope) if scope in {r.value for r in Role} - {"admin"} else None
    cards = inbox.inbox(ws.store, ws.clinic, role=staff.role, actor=staff.actor, now=ws.now(),
                        scope=chosen if staff.role == Role.ADMIN else None,
                        show_closed=show_closed)
    assignees = {c.message_id: inbox.assignable_users(ws.store, c.owner_role) for c in cards}
    return render(request, "messages.html", staff, ws, page="messages", cards=cards,
                  assignees=assignees, scope=scope or "", closed=show_closed)


@router.get("/messages/{message_id}")
def message_page(request: Request, message_id: int, staff: StaffDep,
                 ws: WorkspaceDep) -> HTMLResponse:
    try:
        card = inbox.get_message(ws.store, ws.clinic, message_id, role=staff.role,
                                 actor=staff.actor, now=ws.now())
    except inbox.Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except inbox.NotFound:
        raise HTTPException(404, "no such message") from None
    return render(request, "messages.html", staff, ws, page="messages", cards=[card],
                  assignees={card.message_id: inbox.assignable_users(ws.store,
                                                                      card.owner_role)},
                  scope="", closed=True, single=True)


# --- calendar ---------------------------------------------------------------------------


@router.get("/calendar")
def calendar_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
                  week: str | None = None, provider: str | None = None,
                  room: str | None = None) -> HTMLResponse:
    today_local = ws.now().astimezone(ws.clinic.tz).date()
    monday = calendar.monday_of(_day(week, "week") or today_local)
    provider_ids = [p.id for p in ws.clinic.providers]
    room_ids = [r.id for r in ws.clinic.rooms]
    if room not in room_ids:
        room = None
    if provider not in provider_ids:
        provider = None if room else provider_ids[0]
    view = calendar.week(ws.store, ws.clinic, actor=staff.actor, monday=monday,
                         provider_id=provider, room_id=room)
    return render(request, "calendar.html", staff, ws, page="calendar", view=view,
                  provider=provider, room=room, today=today_local,
                  prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7),
                  can_book=may_book(staff.role), types=ws.clinic.appointment_types)


@router.get("/calendar/day")
def day_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
             day: str | None = None) -> HTMLResponse:
    chosen = _day(day, "day") or ws.now().astimezone(ws.clinic.tz).date()
    rows = calendar.day_list(ws.store, ws.clinic, actor=staff.actor, day=chosen)
    return render(request, "day.html", staff, ws, page="calendar", day=chosen, rows=rows,
                  providers={p.id: p.name for p in ws.clinic.providers},
                  rooms={r.id: r.name for r in ws.clinic.rooms})


# --- reports, settings, audit -------------------------------------------------------------


@router.get("/referrals")
def referrals_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
                   first: str | None = None, last: str | None = None) -> HTMLResponse:
    require(may_read_calls(staff.role), "see referral reports")
    day_from, day_to = _day(first, "from"), _day(last, "to")
    result = referrals.report(ws.store, ws.clinic, actor=staff.actor, first=day_from,
                              last=day_to)
    return render(request, "referrals.html", staff, ws, page="referrals", report=result,
                  first=day_from, last=day_to)


@router.get("/settings")
def settings_page(request: Request, staff: StaffDep, ws: WorkspaceDep) -> HTMLResponse:
    checks = []
    if ws.config is not None:
        from voiceagent.doctor import check_clinic

        for check in check_clinic(ws.config):
            checks.append((check.name, check.status, check.detail, check.fix))
    problems = consistency_problems(ws.clinic)
    checks.append(("clinic consistency", "fail" if problems else "ok",
                   "; ".join(f"{'.'.join(map(str, path))}: {why}" for path, why in problems)
                   or "providers, rooms, appointment types and categories agree", ""))
    try:  # the file itself, comments and all, when this process loaded it from one
        text = ws.config.clinic.read_text(encoding="utf-8") if ws.config else None
    except OSError:
        text = None
    if text is None:
        text = yaml.safe_dump(ws.clinic.model_dump(mode="json", exclude_none=True),
                              sort_keys=False, width=96, allow_unicode=True)
    users = list_users(ws.store) if staff.role == Role.ADMIN else []
    return render(request, "settings.html", staff, ws, page="settings", checks=checks,
                  clinic_yaml=text, users=users,
                  source=str(ws.config.clinic) if ws.config else None)


@router.get("/audit")
def audit_page(request: Request, staff: StaffDep, ws: WorkspaceDep,
               actor: str | None = None, entity: str | None = None,
               entity_id: str | None = None,
               limit: Annotated[int, Query(ge=1, le=2000)] = 300) -> HTMLResponse:
    require(may_read_audit(staff.role), "read the audit log")
    rows = auditlog.entries(ws.store, ws.clinic, actor=actor or None, entity=entity or None,
                            entity_id=entity_id or None, limit=limit)
    return render(request, "audit.html", staff, ws, page="audit", rows=rows,
                  filters={"actor": actor or "", "entity": entity or "",
                           "entity_id": entity_id or ""})
