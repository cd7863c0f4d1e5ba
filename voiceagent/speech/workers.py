"""A call's two worker threads (reply, STT) and what they are doing.

A job may be computing (STT, the dialog, TTS) or only waiting (for the endpoint, for the
caller to hear the audio). A virtual-clock channel runs in real time only while one computes
(:meth:`Workers.busy`), so waits say so with :meth:`Workers.waiting`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any


class CountingExecutor(Executor):
    """One worker thread that knows how many jobs it has not finished."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self.pending = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self.pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.pending -= 1

        return self._pool.submit(run)

    def shutdown(self, wait: bool = False, *, cancel_futures: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class Workers:
    """The reply worker (dialog, TTS, in order) and the STT worker of one call."""

    def __init__(self, tag: str, on_error: Callable[[], None]) -> None:
        self._replies = ThreadPoolExecutor(1, thread_name_prefix=f"call-{tag}-reply")
        self.stt = CountingExecutor(f"call-{tag}-stt")
        self._on_error = on_error
        self._lock = threading.Lock()
        self._computing = 0
        self._jobs = 0

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the reply worker; on an error ``on_error`` runs (inside the
        ``except``, so it can log the traceback)."""
        with self._lock:
            self._jobs += 1

        def run() -> None:
            self._add(1)
            try:
                fn(*args)
            except Exception:
                self._on_error()
            finally:
                self._add(-1)
                with self._lock:
                    self._jobs -= 1

        self._replies.submit(run)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """The job in here waits (for the endpoint, for playback): it is not computing."""
        self._add(-1)
        try:
            yield
        finally:
            self._add(1)

    def busy(self) -> bool:
        """A worker is computing."""
        return self._computing > 0 or self.stt.pending > 0

    def has_jobs(self) -> bool:
        """A reply job exists (perhaps only waiting for playback or the endpoint)."""
        return self._jobs > 0

    def close(self) -> None:
        """Let the threads end (queued jobs are dropped; a running one finishes)."""
        self._replies.shutdown(wait=False, cancel_futures=True)
        self.stt.shutdown()

    def _add(self, delta: int) -> None:
        with self._lock:
            self._computing += delta
