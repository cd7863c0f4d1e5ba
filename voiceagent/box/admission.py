"""The box's capacity, shared by its SIP workers: a call is admitted while the box's calls
(on every worker) are fewer than ``box.max_calls``, decided before pjsua sees the INVITE.

Each worker keeps, in a folder on the box, a file with its number of calls, and holds an
advisory lock on a file of its own for as long as it runs: the kernel drops that lock when
the worker dies, however it dies, so a dead worker's count stops counting at once. A decision
takes the folder's admission lock, so two workers cannot both take the box's last line. A
call admitted but not yet started (its INVITE on its way into pjsua) counts as pending for
``PENDING_S``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from pathlib import Path

PENDING_S = 10.0  # an admitted INVITE becomes a call well within this, or never does


class BoxAdmission:
    """This worker's share of the box's admission; :meth:`admits` runs on the SIP thread."""

    def __init__(self, root: Path, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"box capacity must be at least 1 call, not {capacity}")
        self.root = root
        self.capacity = capacity
        root.mkdir(parents=True, exist_ok=True)
        self.name = f"{os.getpid()}-{os.urandom(3).hex()}"
        self._alive = open(root / f"{self.name}.alive", "w")  # noqa: SIM115 (held for life)
        fcntl.flock(self._alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._count_path = root / f"{self.name}.calls"
        self._lock_path = root / "admission.lock"
        self._calls = 0
        self._pending: deque[float] = deque()
        self._mutex = threading.Lock()
        self._publish()

    # ------------------------------------------------------------------ decisions
    def admits(self) -> bool:
        """Whether the box takes one more call; if so it counts as this worker's at once."""
        with self._mutex, self._box_lock():
            self._expire(time.monotonic())
            if self.box_calls() >= self.capacity:
                return False
            self._pending.append(time.monotonic())
            self._publish()
            return True

    def call_started(self) -> None:
        with self._mutex:
            if self._pending:
                self._pending.popleft()
            self._calls += 1
            self._publish()

    def call_ended(self) -> None:
        with self._mutex:
            self._calls = max(0, self._calls - 1)
            self._publish()

    def box_calls(self) -> int:
        """Calls on the box now: this worker's, and those of every live worker."""
        total = self._calls + len(self._pending)
        for path in self.root.glob("*.calls"):
            if path == self._count_path:
                continue
            owner = path.name.removesuffix(".calls")
            if not self._owner_alive(owner):
                path.unlink(missing_ok=True)
                (self.root / f"{owner}.alive").unlink(missing_ok=True)
                continue
            try:
                total += int(path.read_text() or 0)
            except (OSError, ValueError):
                continue  # being replaced this instant: counted at the next decision
        return total

    def close(self) -> None:
        self._count_path.unlink(missing_ok=True)
        (self.root / f"{self.name}.alive").unlink(missing_ok=True)
        self._alive.close()

    # ------------------------------------------------------------------ helpers
    def _owner_alive(self, owner: str) -> bool:
        try:
            with open(self.root / f"{owner}.alive", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
        except BlockingIOError:
            return True
        except OSError:
            pass
        return False

    def _expire(self, now: float) -> None:
        while self._pending and now - self._pending[0] > PENDING_S:
            self._pending.popleft()

    def _publish(self) -> None:
        tmp = self._count_path.with_suffix(".tmp")
        tmp.write_text(str(self._calls + len(self._pending)))
        tmp.replace(self._count_path)

    def _box_lock(self) -> _FileLock:
        return _FileLock(self._lock_path)


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self._handle = open(self.path, "a")  # noqa: SIM115 (closed in __exit__)
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
