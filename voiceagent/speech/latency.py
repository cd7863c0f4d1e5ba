"""Per-turn latency trace: every stage in ms after the caller stopped speaking."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

log = logging.getLogger("voiceagent.latency")


@dataclass
class TurnLatency:
    """Milestones of one turn, in ms relative to the end of the caller's speech (VAD).

    ``None`` means the stage did not happen (yet). ``llm_first_token`` is the first token
    of the LLM; when the dialog answered from a template without the LLM it is the moment the
    first reply text came out of the dialog and ``llm_used`` is False.
    """

    speech_end: float = 0.0
    endpoint: float | None = None
    stt_final: float | None = None
    llm_first_token: float | None = None
    first_clause_ready: float | None = None
    tts_first_audio: float | None = None
    first_audio_out: float | None = None
    first_content_audio_out: float | None = None
    llm_used: bool = False
    speculative: bool = False  # the reply was prepared during the pause, before the endpoint
    barge_in: bool = False  # this turn interrupted the agent

    STAGES = (
        "endpoint",
        "stt_final",
        "llm_first_token",
        "first_clause_ready",
        "tts_first_audio",
        "first_audio_out",
        "first_content_audio_out",
    )

    def as_dict(self) -> dict[str, float]:
        """Numbers only (booleans as 0/1), ready for ``CallLog.add_turn(latency=...)``."""
        out: dict[str, float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = round(float(value), 1)
        return out

    def complete(self) -> bool:
        return all(getattr(self, name) is not None for name in self.STAGES)

    def log(self, call_id: str, turn: int) -> None:
        """One structured line (numbers only, never transcript text)."""
        parts = " ".join(f"{k}={v}" for k, v in self.as_dict().items())
        log.info("event=turn_latency call_id=%s turn=%d %s", call_id, turn, parts)


class TraceClock:
    """Stamps milestones for one turn against a clock given in ms."""

    def __init__(
        self, trace: TurnLatency, speech_end_ms: float, now_ms: Callable[[], float]
    ) -> None:
        self.trace = trace
        self.speech_end_ms = speech_end_ms
        self._now = now_ms
        self._lock = threading.Lock()

    def mark(self, stage: str, only_first: bool = True) -> None:
        """Record ``stage`` now (the first time only, unless ``only_first`` is False)."""
        self.mark_together(stage, only_first=only_first)

    def mark_together(self, *stages: str, only_first: bool = True) -> None:
        """Record several stages at one reading of the clock (the first audio out that is
        also the first content audio out is one moment, not two)."""
        with self._lock:
            now = self._now() - self.speech_end_ms
            for stage in stages:
                if not (only_first and getattr(self.trace, stage) is not None):
                    setattr(self.trace, stage, now)


_current = threading.local()


def set_current_trace(clock: TraceClock | None) -> None:
    """Bind the trace of the turn being answered on this thread (read by the LLM wrapper)."""
    _current.clock = clock


def current_trace() -> TraceClock | None:
    return getattr(_current, "clock", None)


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0
