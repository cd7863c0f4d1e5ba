"""Marks the LLM's first token on the latency trace of the turn being answered."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from voiceagent.llm.protocol import LLM, ChatMessage
from voiceagent.speech.latency import current_trace


class TimedLLM:
    """Wraps any LLM; the first token of each turn stamps ``llm_first_token``."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        clock = current_trace()
        first = True
        for piece in self.inner.stream(
            messages,
            json_schema=json_schema,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
        ):
            if first and clock is not None:
                clock.mark("llm_first_token")
                clock.trace.llm_used = True
                first = False
            yield piece

    def warm(self, system_prompt: str) -> float:
        """Compute ``system_prompt``'s KV state now, where the model keeps one (else 0 s)."""
        warm = getattr(self.inner, "warm", None)
        return float(warm(system_prompt)) if warm is not None else 0.0

    def close(self) -> None:
        """Release the model's thread, where the model has one."""
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
