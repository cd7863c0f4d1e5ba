"""The conversation core: the state, the clinic's backend and tools, and the acts every flow
speaks and records through (say, ask, wrap up, end, call a tool, answer a question)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from voiceagent.clinic.config import ClinicConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import DialogEvent, EndCall, ReplyText, ToolCall, ToolResult
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk.backend import FrontDeskBackend
from voiceagent.frontdesk.router import IntentRouter
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.frontdesk.tools import ToolBox
from voiceagent.llm.protocol import LLM
from voiceagent.speech.clauses import split_clauses

if TYPE_CHECKING:
    from voiceagent.frontdesk.flows import Flows

log = logging.getLogger(__name__)

Capability = Literal["small", "capable"]

MAX_ATTEMPTS = 3  # tries to find out what the caller wants


class Conversation:
    """What one conversation acts through: its state, backend, tools and call record."""

    def __init__(self, backend: FrontDeskBackend, *, llm: LLM | None, capability: Capability,
                 state: ConversationState, call_log: CallLog | None, call_id: str | None,
                 router: IntentRouter) -> None:
        self.backend = backend
        self.clinic = backend.clinic
        self.llm = llm
        self.capability: Capability = capability if llm is not None else "small"
        self.state = state
        self.call_log = call_log
        self.call_id = call_id
        self.tools = ToolBox(backend, self.state, call_log, call_id)
        self.router = router

    def say(self, text: str, *, prompt: str | None = None) -> Iterator[DialogEvent]:
        if prompt is not None:
            self.state.last_prompt = prompt
        self.remember("assistant", text)
        for piece in split_clauses(text):
            yield ReplyText(piece)

    def remember(self, role: str, text: str) -> None:
        self.state.history.append({"role": role, "content": text})
        if self.call_log is not None and self.call_id is not None:
            try:
                self.call_log.add_turn(self.call_id, "caller" if role == "user" else "agent",
                                       text)
            except Exception:
                log.exception("call_log_turn_failed", extra={"call_id": self.call_id})

    def tool(self, name: str, arguments: dict[str, Any], out: list[DialogEvent]) -> ToolResult:
        out.append(ToolCall(name, arguments))
        result = self.tools.call(name, arguments)
        out.append(result)
        return result

    def end(self, text: str, outcome: str | None = None) -> Iterator[DialogEvent]:
        self.release_hold()
        if outcome and not self.state.outcome:
            self.state.outcome = outcome
        events: list[DialogEvent] = []
        self.tool("end_call", {"reason": outcome or self.state.outcome or "completed"}, events)
        yield from events
        yield from self.say(text, prompt="")
        self.state.step = Step.ENDED
        self.state.pending = None
        yield EndCall(self.state.outcome or outcome or "completed")

    def release_hold(self) -> None:
        if self.state.hold is not None:
            try:
                self.backend.release(self.state.hold["hold_id"])
            except Exception:
                log.warning("release_hold_failed", extra={"call_id": self.call_id})
            self.state.hold = None

    def goodbye(self) -> Iterator[DialogEvent]:
        yield from self.end(f"Thank you for calling {self.clinic.name}. Goodbye!",
                            outcome=self.state.outcome or "completed")

    def ask(self, field: str, lead: str = "") -> Iterator[DialogEvent]:
        self.state.pending = field
        key = f"asked:{field}"
        self.state.attempts[key] = self.state.attempts.get(key, 0) + 1
        question = prompts.FIELD_PROMPTS[field][0]
        if field == "member_id" and _original_medicare(self.state.fields):
            question = ("What's your Medicare number? It's eleven characters; please read it "
                        "one character at a time.")
        yield from self.say(f"{lead} {question}".strip(), prompt=question)

    def clinical_category(self) -> str | None:
        for c in self.clinic.message_categories:
            if "clinic" in c.id.lower() or "clinic" in c.name.lower():
                return c.id
        return None

    def caller_name(self) -> str:
        return " ".join(p for p in (self.state.fields.get("first_name"),
                                    self.state.fields.get("last_name")) if p)

    def answer_question(self, text: str) -> str:
        result = self.tool("answer_faq", {"question": text[:500]}, [])
        if result.ok:
            return str(result.data["answer"])
        return ("I don't have that information here, but the front desk can help with it; I "
                "can take a message at the end if you like.")

    def wrap(self, lead: str) -> Iterator[DialogEvent]:
        self.state.step = Step.WRAP_UP
        self.state.pending = None
        yield from self.say(f"{lead} {prompts.ANYTHING_ELSE}".strip(),
                            prompt=prompts.ANYTHING_ELSE)

    def transfer_summary(self) -> str:
        intent = self.state.intent or "a question"
        return f"Caller asking about {intent.replace('_', ' ')}."

    def local_now(self) -> datetime:
        return self.backend.now().replace(tzinfo=None)


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _original_medicare(fields: dict[str, str]) -> bool:
    """Original Medicare has an eleven-character MBI; an Advantage plan its own member ID."""
    payer = fields.get("payer", "").lower()
    return (payer == "medicare" or fields.get("plan_type") == "medicare") and \
        "advantage" not in payer


class Flow:
    """A part of the conversation: acts through the shared core, hands the turn to the
    other flows."""

    def __init__(self, conv: Conversation, flows: Flows) -> None:
        self.conv = conv
        self.flows = flows

    @property
    def state(self) -> ConversationState:
        return self.conv.state

    @property
    def clinic(self) -> ClinicConfig:
        return self.conv.clinic

    @property
    def backend(self) -> FrontDeskBackend:
        return self.conv.backend
