"""Choosing one label under a grammar, stopping as soon as the label is decided."""

from __future__ import annotations

import pytest

from voiceagent.llm.choice import choose
from voiceagent.llm.protocol import ChatMessage

pytestmark = pytest.mark.unit

ASK = [ChatMessage("user", "which one?")]


class TokenLLM:
    """Streams a fixed answer token by token and counts the tokens it had to produce."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.produced = 0
        self.schema: dict | None = None

    def stream(self, messages, *, json_schema=None, max_tokens=128, temperature=None, stop=()):
        self.schema = json_schema
        for token in self.tokens:
            self.produced += 1
            yield token


def test_stops_once_the_tokens_so_far_begin_exactly_one_label():
    llm = TokenLLM(['"', "book", "_", "app", "ointment", '"'])
    assert choose(llm, ASK, ["book_appointment", "cancel_appointment", "unclear"]) == (
        "book_appointment"
    )
    assert llm.produced == 2  # the other four tokens were forced: never generated
    assert llm.schema == {"type": "string",
                          "enum": ["book_appointment", "cancel_appointment", "unclear"]}


def test_a_label_that_begins_another_waits_for_the_closing_quote():
    llm = TokenLLM(['"', "cancel", '"'])
    assert choose(llm, ASK, ["cancel", "cancel_appointment"]) == "cancel"
    assert llm.produced == 3


def test_output_naming_no_label_is_none():
    assert choose(TokenLLM(["this is not", " a label"]), ASK, ["book", "cancel"]) is None


def test_a_longer_label_is_decided_once_past_the_shorter_one():
    llm = TokenLLM(['"', "cancel", "_", "appointment", '"'])
    assert choose(llm, ASK, ["cancel", "cancel_appointment"]) == "cancel_appointment"
    assert llm.produced == 3
