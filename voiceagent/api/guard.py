"""What stands between the HTTP API and a hostile browser or client.

* :class:`HostGuard`: only the configured host names are served (a page on another origin that
  rebinds its DNS name to 127.0.0.1 sends its own name in ``Host`` and gets 421), also on the
  tokenless localhost default.
* :class:`ChatSecrets`: a chat session is readable and writable only with the secret its
  creator got (an HMAC of the session id under a server key), never by its id alone.
* :class:`SafeErrors`: an unexpected error is a plain 500 and one log line with the error's
  type and where it happened, never its message (which may quote what a patient typed).
* :func:`clean_text`: text with lone surrogates (invalid Unicode a JSON body may carry) is
  repaired before it reaches the dialog, the store or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from voiceagent.logs import log_event

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CHAT_SECRET_ENV = "VOICEAGENT_CHAT_SECRET"
CHAT_SECRET_HEADER = "x-chat-secret"

ASGIApp = Any


def allowed_host_names(bind: str, extra: Iterable[str] = ()) -> set[str]:
    """The names a request may carry in ``Host``: the bind address, the configured names,
    and the loopback names when bound to loopback (a wildcard bind needs its names listed)."""
    names = {bind.lower().strip("[]")}
    names.update(n.lower().strip("[]") for n in extra)
    if names & set(LOOPBACK_NAMES) or bind.startswith("127."):
        names.update(LOOPBACK_NAMES)
    names.discard("0.0.0.0")
    names.discard("::")
    return names


def host_of(header: str) -> str:
    """'Example.com:8080' -> 'example.com'; '[::1]:8080' -> '::1'."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """ASGI middleware: 421 for a request whose Host is not one of ``names``."""

    def __init__(self, app: ASGIApp, names: set[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = dict(scope.get("headers") or []).get(b"host", b"")
            if host_of(raw.decode("latin-1")) not in self.names:
                await _send_json(send, 421, {"detail": "this server does not serve that host "
                                             "name; use one in http.allowed_hosts"})
                return
        await self.app(scope, receive, send)


class SafeErrors:
    """ASGI middleware: an exception becomes a 500 without its message reaching anyone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the one place unexpected errors end up
            log_redacted("http.request_failed", exc, path=scope.get("route_path")
                         or _template(scope))
            if not started:
                await _send_json(send, 500, {"detail": "internal error; it has been logged"})


def _template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "?"


def log_redacted(event: str, exc: BaseException, **fields: Any) -> None:
    """One log line: the exception's type and its frames (file, line, function), no message
    and no values (a message may quote patient text)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(frames))
    log_event(log, event, logging.ERROR, error=type(exc).__name__, where=where, **fields)


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def clean_text(text: str) -> str:
    """Valid Unicode: surrogate pairs joined, lone surrogates replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class ChatSecrets:
    """Per-session secrets derived from one server key (no table needed; every node that
    shares the key, from ``VOICEAGENT_CHAT_SECRET`` or ``<data_dir>/chat.key``, agrees)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_environment(cls, data_dir: Path | None) -> ChatSecrets:
        configured = os.environ.get(CHAT_SECRET_ENV)
        if configured:
            return cls(configured.encode())
        if data_dir is None:
            return cls(os.urandom(32))
        path = data_dir / "chat.key"
        if not path.exists():  # written whole, then linked: a racing node reads all or none
            data_dir.mkdir(parents=True, exist_ok=True)
            temp = data_dir / f".chat.key.{os.getpid()}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
            finally:
                temp.unlink()
        return cls(path.read_bytes())

    def secret_for(self, session_id: str) -> str:
        return hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()

    def matches(self, session_id: str, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.secret_for(session_id),
                                                         given.strip())
