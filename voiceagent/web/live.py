"""What the serving process knows right now: live calls and the agent's health.

``voiceagent serve`` fills a :class:`LiveBoard` as calls start and end and says whether the
models are loaded and SIP is up; the workspace's Today page reads it. Nothing here is
stored: it is the process's own view, gone when it stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    caller: str | None
    started_monotonic: float
    step: Callable[[], str | None]

    @property
    def duration_s(self) -> float:
        return time.monotonic() - self.started_monotonic


@dataclass
class LiveBoard:
    """Calls in progress and component health, shared between threads."""

    models: dict[str, str] = field(default_factory=dict)  # role -> model id
    sip: Callable[[], str] = lambda: "off"  # "registered", "listening on ...", "not ..."
    _calls: dict[str, LiveCall] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call_started(self, call_id: str, caller: str | None,
                     step: Callable[[], str | None]) -> None:
        with self._lock:
            self._calls[call_id] = LiveCall(call_id, caller, time.monotonic(), step)

    def call_ended(self, call_id: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def calls(self) -> list[LiveCall]:
        with self._lock:
            return sorted(self._calls.values(), key=lambda c: c.started_monotonic)
