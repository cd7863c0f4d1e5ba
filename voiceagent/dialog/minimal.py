"""A small stand-in dialog: greets, answers a few fixed intents from templates, asks the
LLM to phrase a short reply otherwise. Used by the speech pipeline's tests and the ``call``
front-end until the front-office dialog is configured; it implements ``Dialog`` plus the
optional ``checkpoint``/``restore`` pair the session uses to speculate replies.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from voiceagent.dialog.protocol import (
    DialogEvent,
    EndCall,
    ExpectedInput,
    ReplyText,
    ToolCall,
    ToolResult,
    UserTurn,
)
from voiceagent.llm.protocol import LLM, ChatMessage
from voiceagent.speech.clauses import ClauseBuffer

SYSTEM_PROMPT = (
    "You are the receptionist of {clinic}, a physical therapy clinic. Answer in one or two "
    "short, friendly sentences. Never make up appointments, prices or medical advice; offer "
    "to take a message for the staff when you do not know."
)
MIN_CONFIDENCE = 0.35


@dataclass
class _State:
    history: list[ChatMessage] = field(default_factory=list)
    expected: ExpectedInput = ExpectedInput.FREE
    phone: str = ""


class MinimalDialog:
    """Templates for hours, booking (asks for a phone number, read back digit by digit),
    goodbye; the LLM for anything else."""

    def __init__(
        self,
        llm: LLM | None,
        clinic: str = "Riverside Physical Therapy",
        hours: str = "We are open Monday to Friday, from 8 AM to 6 PM.",
        max_tokens: int = 48,
        max_history: int = 24,
    ) -> None:
        self.llm = llm
        self.clinic = clinic
        self.hours = hours
        self.max_tokens = max_tokens
        self.max_history = max_history
        self.state = _State()
        self.system = ChatMessage("system", SYSTEM_PROMPT.format(clinic=clinic))

    # Dialog -------------------------------------------------------------------------------

    def greeting(self) -> Iterator[DialogEvent]:
        text = f"Thank you for calling {self.clinic}. This call may be recorded."
        yield ReplyText(text, content=False)
        ask = "How can I help you today?"
        self._said(text + " " + ask)
        yield ReplyText(ask)

    def expected_input(self) -> ExpectedInput:
        return self.state.expected

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        if turn.no_speech or not turn.text.strip() or turn.confidence < MIN_CONFIDENCE:
            yield from self._say("Sorry, I didn't catch that. Could you say it again?")
            return
        self.state.history.append(ChatMessage("user", turn.text))
        text = turn.text.lower()
        if self.state.expected is ExpectedInput.DIGITS:
            digits = _digits(text)
            if len(digits) >= 7:
                self.state.phone = digits
                self.state.expected = ExpectedInput.FREE
                args = {"phone_digits": len(digits)}
                yield ToolCall("find_patient", args)
                yield ToolResult("find_patient", ok=True, data={"found": False})
                spaced = " ".join(digits)
                yield from self._say(
                    f"Thank you, I have {spaced}. A staff member will call you "
                    "back to confirm a time."
                )
            else:
                yield from self._say("Sorry, I need the whole number, digit by digit.")
            return
        if re.search(r"\b(bye|goodbye|that's all|that is all)\b", text):
            yield from self._say("Thank you for calling. Goodbye!")
            yield EndCall("completed")
            return
        if re.search(r"\b(hours?|open|close)\b", text):
            yield from self._say(self.hours + " Is there anything else?")
            return
        if re.search(r"\b(book|appointment|schedule|reschedule)\b", text):
            self.state.expected = ExpectedInput.DIGITS
            yield from self._say("I can help with that. What is your phone number?")
            return
        yield from self._ask_llm()

    def interrupted(self, spoken: str) -> None:
        history = self.state.history
        if history and history[-1].role == "assistant":
            if spoken.strip():
                history[-1] = ChatMessage("assistant", spoken.strip())
            else:
                history.pop()

    def silence(self, count: int) -> Iterator[DialogEvent]:
        yield from self._say(
            "Are you still there?"
            if count == 1
            else "I can't hear you. If you're there, please say something."
        )

    def transfer_failed(self) -> Iterator[DialogEvent]:
        yield from self._say(
            "I'm sorry, nobody could pick up. Please tell me your name, number and message, "
            "and someone will call you back."
        )

    # speculation support -------------------------------------------------------------------

    def checkpoint(self) -> Any:
        return copy.deepcopy(self.state)

    def restore(self, checkpoint: Any) -> None:
        self.state = copy.deepcopy(checkpoint)

    # --------------------------------------------------------------------------------------

    def _said(self, text: str) -> None:
        self.state.history.append(ChatMessage("assistant", text))

    def _say(self, text: str) -> Iterator[DialogEvent]:
        self._said(text)
        yield ReplyText(text)

    def _ask_llm(self) -> Iterator[DialogEvent]:
        if self.llm is None:
            yield from self._say("I can take a message for the staff. What would you like to say?")
            return
        # the whole history, not a sliding window: each prompt then extends the previous
        # one, so llama.cpp reuses its KV cache and evaluates only the new user message
        history = self.state.history
        if len(history) > self.max_history:
            history = history[-self.max_history :]
        messages = [self.system, *history]
        buffer = ClauseBuffer()
        spoken: list[str] = []
        try:
            for piece in self.llm.stream(messages, max_tokens=self.max_tokens):
                for clause in buffer.push(piece):
                    spoken.append(clause)
                    yield ReplyText(clause)
            for clause in buffer.flush():
                spoken.append(clause)
                yield ReplyText(clause)
        finally:
            # what was generated enters the history even if the session stopped early;
            # interrupted() then trims it to what was heard
            text = " ".join(spoken).strip()
            if text:
                self._said(text)
        if not spoken:
            yield from self._say("Sorry, could you say that another way?")


def _digits(text: str) -> str:
    words = {
        "zero": "0",
        "oh": "0",
        "o": "0",
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "six": "6",
        "seven": "7",
        "eight": "8",
        "nine": "9",
    }
    out = []
    for token in re.findall(r"[a-z]+|\d", text):
        if token.isdigit():
            out.append(token)
        elif token in words:
            out.append(words[token])
    return "".join(out)
