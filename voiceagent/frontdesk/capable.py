"""Capable mode: a 7-8B model chooses among the step's tools and phrases the replies; the
same ToolBox refuses what the step and identity do not allow."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from voiceagent.dialog.protocol import (
    DialogEvent,
    EndCall,
    ExpectedInput,
    ReplyText,
    ToolResult,
    Transfer,
)
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.answers import store_request
from voiceagent.frontdesk.conversation import Flow
from voiceagent.frontdesk.saystream import SayStream
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import Understanding
from voiceagent.intake import (
    IntakeError,
    parse_appointment_request,
    parse_date_of_birth,
    parse_member_id,
    parse_phone,
    parse_spelled_name,
)
from voiceagent.llm.protocol import ChatMessage

log = logging.getLogger(__name__)

CAPABLE_HISTORY = 12  # messages of history a capable model sees (the state carries the rest)


class CapableMode(Flow):
    """A turn decided by a capable LLM; the templates carry on if it fails."""

    def turn(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        assert self.conv.llm is not None
        if self.state.step in (Step.INTENT, Step.WRAP_UP):
            route = self.conv.router.route(text)
            if route.intent is not None and route.intent not in (
                    intents.QUESTION, intents.GOODBYE, intents.HUMAN):
                self.state.intent = route.intent
                self.state.step = Step.COLLECT
        self._prefill(text)
        spoke = False
        for _round in range(4):
            box: list[tuple[str, str | None, dict[str, Any]]] = []
            for event in self._llm_action(box):
                spoke = True
                yield event
            if not box:
                if not spoke:
                    # the model failed; templates carry on
                    yield from self.flows.small_turn(text, u)
                return
            say, tool, arguments = box[0]
            if say:
                self.conv.remember("assistant", say)
                self.state.last_prompt = say
            if tool is None:
                return
            events: list[DialogEvent] = []
            result = self.conv.tool(tool, arguments, events)
            yield from events
            self.state.history.append({"role": "tool", "content": json.dumps(
                {"tool": tool, "ok": result.ok, "data": result.data, "reason": result.reason},
                default=str)})
            if result.ok:
                yield from self._after_capable_tool(tool, result)
                if self.state.step == Step.ENDED:
                    return
        yield from self.conv.say("Let me take a message so the staff can help you.",
                                 prompt="")
        self.state.step = Step.COLLECT
        self.state.intent = intents.MESSAGE

    def _prefill(self, text: str) -> None:
        """Run the spoken-form parsers on the caller's words so the model sees clean values
        (E.164 phone, ISO dates, spelled names) instead of guessing them."""
        expected = prompts.expected_from_question(self.state.last_prompt)
        f = self.state.fields
        today = self.conv.local_now().date()
        attempts: list[tuple[str, Any]] = []
        if expected is ExpectedInput.DATE:
            attempts.append(("dob", lambda: parse_date_of_birth(text, today).value.isoformat()))
        if expected is ExpectedInput.SPELLING:
            attempts.append(("last_name", lambda: parse_spelled_name(text).value))
        if expected is ExpectedInput.DIGITS:
            if "member" in self.state.last_prompt.lower():
                attempts.append(("member_id", lambda: parse_member_id(text).value))
            else:
                attempts.append(("phone", lambda: parse_phone(text).value))
        for key, parse in attempts:
            try:
                f[key] = parse()
            except IntakeError:
                pass
        if self.state.step in (Step.COLLECT, Step.OFFER):
            try:
                store_request(self.state, parse_appointment_request(
                    text, self.conv.local_now()).value, text)
            except IntakeError:
                pass

    def _after_capable_tool(self, tool: str, result: ToolResult) -> Iterator[DialogEvent]:
        """Advance the step from what a tool did (the LLM does not choose the step)."""
        if tool == "find_slots" and result.data.get("slots"):
            self.state.step = Step.OFFER
        elif tool == "find_my_appointments" and self.state.intent == intents.CANCEL and \
                result.data.get("appointments"):
            self.state.step = Step.CONFIRM  # the next yes confirms the cancellation
        elif tool == "hold_slot":
            self.state.step = Step.CONFIRM
        elif tool in ("book_appointment", "reschedule_appointment", "cancel_appointment",
                      "take_message", "answer_faq"):
            self.state.step = Step.WRAP_UP
        elif tool == "transfer_call":
            self.state.step = Step.ENDED
            yield Transfer(str(result.data["address"]), summary=self.conv.transfer_summary())
        elif tool == "end_call":
            self.state.step = Step.ENDED
            yield EndCall(self.state.outcome or "completed")

    def _llm_action(
        self, box: list[tuple[str, str | None, dict[str, Any]]]
    ) -> Iterator[DialogEvent]:
        """Ask the model for its next action; speak its ``say`` clause by clause as it is
        generated, and put ``(say, tool, arguments)`` in ``box`` (empty when unusable)."""
        assert self.conv.llm is not None
        schemas = self.conv.tools.schemas()
        known: dict[str, Any] = dict(self.state.fields)
        known.update({"intent": self.state.intent, "identity_verified":
                      self.state.patient_id is not None, "offers": self.state.offers,
                      "held": self.state.hold, "appointments": self.state.appointments,
                      "requested_time": self.state.request,
                      "caller_confirmed": self.state.caller_confirmed})
        messages = [ChatMessage("system", prompts.system_prompt(self.clinic, self.state.step,
                                                                schemas))]
        for m in self.state.history[-CAPABLE_HISTORY:]:
            role = m["role"] if m["role"] in ("user", "assistant", "tool") else "user"
            messages.append(ChatMessage(role, m["content"]))  # type: ignore[arg-type]
        messages.append(ChatMessage("system", prompts.state_note(
            known, self.conv.local_now().strftime("%A %Y-%m-%d %H:%M"))))
        speech = SayStream()
        raw = ""
        try:
            for piece in self.conv.llm.stream(messages, json_schema=prompts.action_schema(schemas),
                                              max_tokens=256):
                raw += piece
                for clause in speech.feed(piece):
                    yield ReplyText(clause)
            for clause in speech.flush():
                yield ReplyText(clause)
            data = json.loads(raw)
        except Exception:
            log.warning("llm_action_failed", extra={"call_id": self.conv.call_id})
            return
        if not isinstance(data, dict):
            return
        tool = data.get("tool")
        arguments = data.get("tool_arguments") or {}
        if tool is not None and not isinstance(tool, str):
            return
        box.append((str(data.get("say") or "").strip(), tool,
                    arguments if isinstance(arguments, dict) else {}))
