"""Can the store be written right now? Asked by ``/api/health`` and, through a cached answer a
background thread keeps fresh, by the SIP gate (503 with Retry-After while it cannot, so the
trunk fails over) and the call log (a write that cannot succeed goes to the journal at once).

A read is not enough: a SQLite file deleted under a running process still reads and writes
(through the open inode, into nothing anyone will see), and a locked database reads fine. The
probe checks the file is still the one that was opened, then takes the write lock with a short
timeout (an update that changes nothing) and rolls back.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from voiceagent.clinic.db import SQLITE_BUSY_TIMEOUT_MS, Store
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class StoreStatus:
    writable: bool
    reason: str = ""  # why not, for /api/health and the log (never data)


class StoreHealth:
    """Probes the store; ``writable`` is the latest answer (True until a probe says no)."""

    def __init__(self, store: Store, interval_s: float = 2.0,
                 on_writable: Callable[[], object] | None = None) -> None:
        self.store = store
        self.interval_s = interval_s
        self.on_writable = on_writable  # after every probe that found the store writable
        self.status = StoreStatus(True)
        self._sqlite = store.engine.url.get_backend_name() == "sqlite"
        database = store.engine.url.database
        self._path = Path(database) if self._sqlite and database and database != ":memory:" \
            else None
        self._inode = self._path.stat().st_ino if self._path and self._path.exists() else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def writable(self) -> bool:
        return self.status.writable

    def usable(self) -> bool:
        """The last answer, and the file still the one opened (a stat: cheap enough to ask
        before every write, so nothing is written into a deleted file between probes)."""
        return self.status.writable and self._file_problem() is None

    def _file_problem(self) -> str | None:
        if self._path is None:
            return None
        try:
            inode = os.stat(self._path).st_ino
        except OSError:
            return f"the database file {self._path} is missing"
        if self._inode is not None and inode != self._inode:
            return f"the database file {self._path} was replaced; restart the agent"
        return None

    def check(self) -> StoreStatus:
        """Probe now (about a second at most), remember and return the answer."""
        status = self._probe()
        previous, self.status = self.status, status
        if previous.writable != status.writable:
            log_event(log, "store.writable" if status.writable else "store.unwritable",
                      logging.INFO if status.writable else logging.ERROR, reason=status.reason)
        if status.writable and self.on_writable is not None:
            try:
                self.on_writable()
            except Exception as exc:  # noqa: BLE001 - retried after the next probe
                log_event(log, "store.on_writable_failed", logging.WARNING,
                          error=type(exc).__name__)
        return status

    def _probe(self) -> StoreStatus:
        problem = self._file_problem()
        if problem is not None:
            return StoreStatus(False, problem)
        try:
            with self.store.engine.connect() as conn:
                if self._sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {PROBE_TIMEOUT_MS}")
                else:
                    conn.exec_driver_sql(f"SET statement_timeout = {PROBE_TIMEOUT_MS}")
                try:
                    conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                finally:
                    conn.rollback()
                    if self._sqlite:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                    else:
                        conn.exec_driver_sql("SET statement_timeout = 0")
                    conn.commit()
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot write"
            return StoreStatus(False, f"cannot write ({type(exc).__name__}: "
                               f"{_short(exc)})")
        return StoreStatus(True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:120]
