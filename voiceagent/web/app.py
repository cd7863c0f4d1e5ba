"""The workspace as a sub-application mounted at ``/app`` of the HTTP API.

Mounted rather than included, so that its own guard (a session, or the API token) decides
access and the API's bearer-only guard does not stand in front of the pages. Its JSON
endpoints are added to the API's OpenAPI document under ``/app/api``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.web import api, pages
from voiceagent.web.auth import LoginRequired, page_staff
from voiceagent.web.context import Workspace, WorkspaceSettings
from voiceagent.web.live import LiveBoard

PREFIX = "/app"

SECURITY_HEADERS = {
    "Content-Security-Policy": pages.content_policy(),  # pages set their own, with a nonce
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_workspace(frontdesk: FrontDesk, *, api_token: str | None = None,
                     settings: WorkspaceSettings | None = None,
                     clock: Callable[[], datetime] | None = None,
                     live: Callable[[], LiveBoard | None] | None = None,
                     config: PipelineConfig | None = None) -> FastAPI:
    """The workspace app on its own (tests mount it, or serve it directly)."""
    web = FastAPI(title="voiceagent workspace", docs_url=None, redoc_url=None,
                  openapi_url=None)
    ws = Workspace(frontdesk, api_token, settings or WorkspaceSettings(), config=config)
    # the agent's own clock unless told otherwise: staff and agent see the same "now"
    ws.clock = clock or (lambda: frontdesk.clock())
    if live is not None:
        ws.live = live
    web.state.workspace = ws
    web.include_router(api.router)
    web.include_router(pages.router)

    @web.exception_handler(LoginRequired)
    def to_login(request: Request, exc: LoginRequired) -> Response:
        response = RedirectResponse(pages.base(request) + exc.location(), status_code=303)
        if exc.reason is not None:
            response.delete_cookie(ws.settings.cookie_name)
        return response

    @web.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        if path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        try:
            staff = page_staff(request)  # a signed-in user keeps the navigation
        except LoginRequired:
            staff = None
        response = pages.render(request, "error.html", staff, ws, status=exc.status_code,
                                detail=exc.detail)
        response.status_code = exc.status_code
        return response

    @web.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return web


def mount_workspace(app: FastAPI, frontdesk: FrontDesk, *, api_token: str | None = None,
                    config: PipelineConfig | None = None,
                    settings: WorkspaceSettings | None = None,
                    clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Mount the workspace at ``/app`` of ``app``; ``/`` redirects there.

    Live calls and health come from ``app.state.live_board`` when the serving process sets
    one (``voiceagent serve`` does).
    """
    web = create_workspace(frontdesk, api_token=api_token, settings=settings, clock=clock,
                           live=lambda: getattr(app.state, "live_board", None), config=config)
    app.mount(PREFIX, web)
    # a plain Starlette route: the API's bearer guard is not in front of it
    app.router.add_route("/", lambda _request: RedirectResponse(f"{PREFIX}/", 303),
                         include_in_schema=False)
    original = app.openapi

    def merged_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        part = web.openapi()
        for path, item in part.get("paths", {}).items():
            for operation in item.values():
                operation["security"] = [{"session": []}, {"bearer": []}]
            schema.setdefault("paths", {})[PREFIX + path] = item
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(part.get("components", {})
                                                    .get("schemas", {}))
        components.setdefault("securitySchemes", {}).update({
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "VOICEAGENT_API_TOKEN"},
            "session": {"type": "apiKey", "in": "cookie", "name": "va_session",
                        "description": "a signed-in workspace session; writes also need "
                                       "its CSRF token in the X-CSRF-Token header"},
        })
        app.openapi_schema = schema
        return schema

    app.openapi = merged_openapi  # type: ignore[method-assign]
    return web
