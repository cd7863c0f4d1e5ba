"""A local journal for call-log writes the store could not take (locked, deleted, down).

Each entry is one JSON line, flushed and fsynced before the caller goes on, in a file only
the agent's user may read (it holds what callers said, like the database does). Entries are
replayed in order once the store can be written again (``StoreHealth.on_writable``) and at
the next start; the file is emptied only after every entry is in the store.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from voiceagent.logs import log_event

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=True) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        log_event(log, "calllog.journaled", logging.WARNING, op=entry.get("op"),
                  call_id=entry.get("call_id"))

    def pending(self) -> int:
        with self._lock:
            if not self.path.exists():
                return 0
            return sum(1 for line in self.path.read_text().splitlines() if line.strip())

    def replay(self, apply: Any) -> int:
        """Apply every entry in order (``apply(entry)`` raises to stop); return how many."""
        with self._lock:
            if not self.path.exists():
                return 0
            entries = [json.loads(line) for line in self.path.read_text().splitlines()
                       if line.strip()]
            done = 0
            try:
                for entry in entries:
                    apply(entry)
                    done += 1
            finally:
                rest = entries[done:]
                if rest:
                    temp = self.path.with_suffix(".tmp")
                    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "w") as handle:
                        handle.writelines(json.dumps(e, ensure_ascii=True) + "\n" for e in rest)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(temp, self.path)
                else:
                    self.path.unlink(missing_ok=True)
            if done:
                log_event(log, "calllog.journal_replayed", count=done, left=len(rest))
            return done
