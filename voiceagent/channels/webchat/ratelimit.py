"""Sliding-window rate limits (per visitor, per IP), on an injected clock."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from threading import Lock


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` per key; :meth:`hit` says when to retry."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float],
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def hit(self, key: str) -> float | None:
        """Count one event; None when allowed, else the seconds until one is."""
        now = self.clock()
        with self._lock:
            if len(self._events) > self.max_keys:  # forget the idle, keep memory bounded
                for stale in [k for k, q in self._events.items()
                              if not q or q[-1] <= now - self.window_s]:
                    del self._events[stale]
            events = self._events[key]
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return max(0.0, events[0] + self.window_s - now)
            events.append(now)
            return None
