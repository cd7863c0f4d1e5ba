"""A scripted LLM for unit tests: streams canned replies token by token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from voiceagent.llm.protocol import ChatMessage


class FakeLLM:
    def __init__(self, replies: Sequence[str] = ("Happy to help with that.",)) -> None:
        self.replies = list(replies)
        self.calls: list[list[ChatMessage]] = []
        self.schemas: list[dict[str, Any] | None] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        self.calls.append(list(messages))
        self.schemas.append(json_schema)
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else " " + word
