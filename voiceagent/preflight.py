"""Start-up checks ``voiceagent serve`` runs before loading anything heavy: each fault a
clinic's admin can make is one line naming the fix, never a traceback.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url

from voiceagent.config.pipeline import PipelineConfig

SQLITE_MAGIC = b"SQLite format 3\x00"


class StartupError(RuntimeError):
    """The agent cannot start as configured; the message says what to change."""


def check_data_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise StartupError(f"data_dir {path} is a file, not a folder: point data_dir at a "
                           "folder (or move the file away)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StartupError(
            f"data_dir {path} is not writable ({exc.strerror}): give the agent's user write "
            f"access (e.g. chown -R $(whoami) {path}) or point data_dir elsewhere") from None


def check_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    path = Path(parsed.database)
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StartupError(f"cannot read the database {path} ({exc.strerror}): give the "
                           "agent's user read and write access to it") from None
    if head != SQLITE_MAGIC:
        raise StartupError(
            f"{path} is not a SQLite database (damaged or another file): move it away to "
            "start with an empty store, or restore it from a backup")


def check_port_free(host: str, port: int, what: str, key: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"{what} port {port} on {host} is in use (another voiceagent?): pick a "
                    f"free {key} or stop the process holding it") from None
            raise StartupError(f"cannot listen for {what} on {host}:{port} ({exc.strerror}): "
                               f"check {key} and http.host") from None


def preflight(config: PipelineConfig, http: bool = True) -> None:
    """Every check, cheapest first; raises StartupError on the first fault."""
    check_data_dir(config.data_dir)
    check_sqlite_file(config.database_url())
    if http:
        host = "127.0.0.1" if config.http.host == "localhost" else config.http.host
        check_port_free(host, config.http.port, "the HTTP API", "http.port")
