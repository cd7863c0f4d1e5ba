"""A progress bar on stderr while the benchmark runs (rich on a terminal, plain lines else)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class ProgressBar:
    """One phase at a time: ``phase(label, total)`` then ``advance()`` per item."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._rich: Any = None
        self._task: Any = None
        self._label = ""
        self._total = 0
        self._done = 0
        self._last_line = 0.0
        self._started = time.monotonic()
        if enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._rich = Progress(
                TextColumn("{task.description:<36}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._rich.start()

    def phase(self, label: str, total: int) -> None:
        self._label, self._total, self._done = label, max(total, 1), 0
        if not self.enabled:
            return
        if self._rich is not None:
            if self._task is not None:
                self._rich.update(self._task, completed=self._rich.tasks[-1].total)
            self._task = self._rich.add_task(label, total=self._total)
        else:
            self._line(force=True)

    def advance(self, step: int = 1) -> None:
        self._done = min(self._done + step, self._total)
        if not self.enabled:
            return
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, completed=self._done)
        else:
            self._line(force=self._done == self._total)

    def note(self, text: str) -> None:
        """A line above the bar (where the report is, a skipped path and why)."""
        if self._rich is not None:
            self._rich.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def _line(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_line < 2.0:
            return
        self._last_line = now
        width = 24
        filled = int(width * self._done / self._total)
        bar = "#" * filled + "." * (width - filled)
        elapsed = now - self._started
        print(
            f"[{bar}] {self._done}/{self._total} {self._label} ({elapsed:.0f}s)",
            file=self.stream,
            flush=True,
        )
