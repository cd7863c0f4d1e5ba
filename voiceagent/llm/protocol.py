"""The LLM seam: chat messages in, streamed text out, optionally held to a JSON schema."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


class LLM(Protocol):
    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield the reply piece by piece. With ``json_schema`` the output is constrained
        by a grammar compiled from the schema, so it always parses and validates."""
        ...
