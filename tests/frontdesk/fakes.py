"""A scripted LLM for unit tests: answers like a capable model would, deterministically."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from voiceagent.llm.protocol import ChatMessage

Answer = dict[str, Any] | str | Callable[[Sequence[ChatMessage]], dict[str, Any] | str]


class ScriptedLLM:
    """Implements the LLM protocol; each call pops the next scripted answer.

    An answer is a dict (sent as JSON), a string (sent as is) or a function of the messages.
    The answer is streamed in small pieces like a real model. Every call's messages and
    schema are kept in ``calls`` for assertions.
    """

    def __init__(self, answers: Sequence[Answer] = ()) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[list[ChatMessage], dict[str, Any] | None]] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        self.calls.append((list(messages), json_schema))
        if not self.answers:
            raise AssertionError("ScriptedLLM ran out of answers")
        answer = self.answers.pop(0)
        if callable(answer):
            answer = answer(messages)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        for i in range(0, len(text), 7):
            yield text[i : i + 7]
