"""Who is asking: a signed-in browser (session cookie + CSRF token on writes) or an
integration (``Authorization: Bearer <VOICEAGENT_API_TOKEN>``). Pages redirect to the
sign-in page; JSON endpoints answer 401."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request

from voiceagent.clinic.audit import Actor
from voiceagent.web.accounts import StaffMember
from voiceagent.web.context import Workspace
from voiceagent.web.roles import Role
from voiceagent.web.sessions import ActiveSession, EndReason, resolve

CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Staff:
    """The requester. ``member`` is None for an integration using the API token."""

    member: StaffMember | None
    role: Role
    actor: Actor
    csrf_token: str | None

    @property
    def name(self) -> str:
        return self.member.display_name if self.member else "API integration"

    @property
    def username(self) -> str:
        return self.member.username if self.member else "api"


class LoginRequired(Exception):
    """A page was asked for without a valid session: the handler redirects to sign-in."""

    def __init__(self, next_path: str, reason: EndReason | None) -> None:
        super().__init__(reason.value if reason else "sign in")
        self.next_path = next_path
        self.reason = reason

    def location(self) -> str:
        why = f"&why={self.reason.value}" if self.reason else ""
        return f"login?next={quote(self.next_path, safe='')}{why}"


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def _from_session(request: Request) -> ActiveSession | EndReason | None:
    ws = workspace(request)
    token = request.cookies.get(ws.settings.cookie_name)
    if not token:
        return None
    found = resolve(ws.store, token, ws.now(), ws.settings.idle)
    return found if isinstance(found, ActiveSession) else found.reason


def _staff(active: ActiveSession) -> Staff:
    member = active.member
    return Staff(member, member.role, Actor(f"staff:{member.username}"), active.csrf_token)


def page_staff(request: Request) -> Staff:
    """For HTML pages: the signed-in staff member, else a redirect to the sign-in page."""
    found = _from_session(request)
    if isinstance(found, ActiveSession):
        return _staff(found)
    path = request.url.path.removeprefix(request.scope.get("root_path", "")) or "/"
    if request.url.query:
        path += f"?{request.url.query}"
    raise LoginRequired(path, found)


def api_staff(request: Request) -> Staff:
    """For JSON endpoints: the API token or a session (whose writes carry its CSRF token)."""
    ws = workspace(request)
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer":
        if ws.api_token and hmac.compare_digest(given.strip().encode(), ws.api_token.encode()):
            return Staff(None, Role.ADMIN, Actor("api"), None)
        raise HTTPException(401, "wrong API token", headers={"WWW-Authenticate": "Bearer"})
    found = _from_session(request)
    if not isinstance(found, ActiveSession):
        why = "signed out after inactivity; sign in again" if found == EndReason.IDLE \
            else "sign in, or send Authorization: Bearer <VOICEAGENT_API_TOKEN>"
        raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})
    staff = _staff(found)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), (staff.csrf_token or "").encode()):
            raise HTTPException(403, "missing or stale CSRF token; reload the page")
    return staff


def check_form_csrf(staff: Staff, sent: str | None) -> None:
    if not hmac.compare_digest((sent or "").encode(), (staff.csrf_token or "").encode()):
        raise HTTPException(403, "missing or stale CSRF token; reload the page")


def require(allowed: bool, what: str) -> None:
    if not allowed:
        raise HTTPException(403, f"your role may not {what}")
