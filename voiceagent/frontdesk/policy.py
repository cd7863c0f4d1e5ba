"""The front-desk dialog: steps that narrow what can happen, parsers for values, tools for
effects, templates (or a capable LLM) for words.

Steps: identify the intent -> collect details -> offer times -> confirm with a read-back ->
wrap up. The router and the conversation state decide the step; the spoken-form parsers
fill the values; every effect goes through :class:`~voiceagent.frontdesk.tools.ToolBox`
(validated, authorized for the step and the verified identity, recorded).

With ``capability="small"`` (the bundled 135M model) the replies are templates and the LLM
only breaks ties the router cannot (which intent, under a JSON schema). With
``capability="capable"`` (a 7-8B model) the LLM chooses among the step's tools and phrases
the replies; the same ToolBox refuses what the step and identity do not allow.

This module is the Dialog-protocol facade; the flows live beside it: ``conversation`` (the
shared core), ``opening``, ``intake``, ``booking``, ``appointments``, ``messages``,
``safety``, ``capable``, and ``flows`` (which flow takes a small-mode turn).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from collections.abc import Iterator

from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.keypad import keypad_text
from voiceagent.dialog.protocol import DialogEvent, EndCall, ExpectedInput, UserTurn
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.backend import FrontDeskBackend
from voiceagent.frontdesk.booking import DO_IT
from voiceagent.frontdesk.conversation import MAX_ATTEMPTS, Capability, Conversation
from voiceagent.frontdesk.flows import Flows
from voiceagent.frontdesk.intake import substantive
from voiceagent.frontdesk.opening import INTENT_PROMPT
from voiceagent.frontdesk.router import IntentRouter
from voiceagent.frontdesk.safety import asks_medical_advice
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.frontdesk.understand import Social, sentences, understand
from voiceagent.llm.protocol import LLM

__all__ = ["INTENT_PROMPT", "Capability", "FrontDeskDialog"]

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.35  # below this the transcript is a guess: ask again rather than act on it
# after a privacy refusal, a question that presses for the other person's details
_PRESSES_FOR_DETAILS = re.compile(r"\b(tell me|what time|which day|what day|when is|is it with|"
                                  r"(is|does|did|has) (she|he|they))\b", re.I)


_REPEAT = re.compile(r"\b(say (that|it|again)|repeat (that|it|yourself)|speak up|louder|"
                     r"(more )?slow(er|ly)?( please)?\??$|what was that|what'?s that\?|"
                     r"come again|pardon|didn'?t (catch|hear|get) (that|you|it|what you said)|"
                     r"couldn'?t hear|can'?t hear you|one more time|what did you say)",
                     re.I)


def asks_to_repeat(text: str) -> bool:
    """The caller asks to hear the last thing again ("what's that? you'll have to speak up",
    "sorry, say that again? which days was that?"), and says nothing else that matters."""
    said = sentences(text)
    return bool(_REPEAT.search(text)) and (len(text.split()) <= 12 or
                                           bool(said and _REPEAT.search(said[-1])))


class FrontDeskDialog:
    """One conversation (a call or a chat session). Implements the Dialog protocol.

    Args:
        backend: clinic operations for this conversation.
        llm: the language model; optional in "small" mode (templates decide).
        capability: "small" or "capable" (PipelineConfig.models.llm.capability).
        state: a state to resume (from :meth:`ConversationState.from_dict`), else a new one.
        call_log / call_id: where turns and tool calls are recorded as they happen.
        hangup_after_silences: silences in a row before the call ends politely.
    """

    def __init__(
        self,
        backend: FrontDeskBackend,
        *,
        llm: LLM | None = None,
        capability: Capability = "small",
        state: ConversationState | None = None,
        call_log: CallLog | None = None,
        call_id: str | None = None,
        hangup_after_silences: int = 2,
        router: IntentRouter | None = None,
    ) -> None:
        self.backend = backend
        self.state = state or ConversationState()
        self.conv = Conversation(backend, llm=llm, capability=capability, state=self.state,
                                 call_log=call_log, call_id=call_id,
                                 router=router or IntentRouter.from_clinic(backend.clinic))
        self.flows = Flows(self.conv)
        self.hangup_after_silences = hangup_after_silences

    def caller_left(self) -> None:
        """The caller hung up (or the chat was closed) before the conversation ended: what
        they told us is kept as a lead and a call-back message, so nobody is forgotten."""
        if self.state.step == Step.ENDED:
            return
        self.conv.release_hold()
        f = self.state.fields
        if self.state.intent == intents.MESSAGE and substantive(f.get("topic", "")) and \
                not self.state.outcome:
            # a message half taken is still a message (with whatever callback we have)
            list(self.flows.messages.take_message())
            return
        self.flows.intake.keep_inquiry()

    def attach_call(self, call_id: str, caller_id: str | None) -> None:
        """The speech session opened the call record: what this dialog does is tied to it
        (the session itself records the turns and tool calls)."""
        self.conv.call_id = call_id
        self.conv.tools.call_id = call_id
        self.backend.actor = dataclasses.replace(self.backend.actor, call_id=call_id)
        if caller_id and not self.state.caller_id:
            self.state.caller_id = caller_id

    def greeting(self) -> Iterator[DialogEvent]:
        d = self.conv.clinic.disclosures
        if self.state.channel == "phone":
            text = " ".join(s.strip() for s in (d.greeting, d.assistant_identification,
                                                 d.recording_notice) if s.strip())
        else:  # a chat or a text: no "this call may be recorded", no "say front desk"
            text = d.text_greeting or (
                f"Hi! You're chatting with {self.conv.clinic.name}'s automated assistant. I can "
                "book, change or cancel appointments, answer questions about the clinic, or "
                "take a message for the staff.")
        yield from self.conv.say(f"{text} {prompts.HOW_CAN_I_HELP}", prompt=prompts.HOW_CAN_I_HELP)

    def expected_input(self) -> ExpectedInput:
        if self.state.step == Step.ENDED:
            return ExpectedInput.FREE
        if self.conv.capability == "capable":
            return prompts.expected_from_question(self.state.last_prompt)
        if self.state.pending in prompts.FIELD_PROMPTS:
            return prompts.FIELD_PROMPTS[self.state.pending][1]
        return ExpectedInput.FREE

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        try:
            yield from self._respond(turn)
        except Exception:
            # Never a stack trace to the caller: apologise and keep the call on its step.
            log.exception("dialog_turn_failed", extra={"call_id": self.conv.call_id,
                                                       "step": self.state.step})
            count = self.state.attempts.get("internal_error", 0) + 1
            self.state.attempts["internal_error"] = count
            if count >= MAX_ATTEMPTS:
                yield from self.conv.end("I'm sorry, our system is having trouble right now. "
                                         "Please call back a little later. Goodbye.",
                                         outcome="system_error")
                return
            yield from self.conv.say(f"I'm sorry, I had a problem on my side. "
                                     f"{self.state.last_prompt}".strip(),
                                     prompt=self.state.last_prompt)

    def _respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        if self.state.step == Step.ENDED:
            yield EndCall(self.state.outcome or "completed")
            return
        text = (turn.text or "").strip()
        if turn.dtmf and not text:
            text = keypad_text(turn.dtmf, self.expected_input())
        if turn.no_speech or not text or turn.confidence < MIN_CONFIDENCE:
            yield from self.conv.say(f"{prompts.DID_NOT_CATCH} {self.state.last_prompt}".strip(),
                                     prompt=self.state.last_prompt)
            return
        self.conv.remember("user", text)
        flag = self.conv.router.red_flag(text, context=self.flows.safety.clinical_context())
        if flag is not None:
            yield from self.flows.safety.red_flag(flag)
            return
        if asks_to_repeat(text):
            # "What's that? You'll have to speak up": the last thing said, again
            said = next((m["content"] for m in reversed(self.state.history[:-1])
                         if m["role"] == "assistant"), self.state.last_prompt)
            yield from self.conv.say(f"Of course. {said}".strip(), prompt=self.state.last_prompt)
            return
        u = understand(text, self.conv.clinic, self.conv.router, self.conv.local_now(),
                       caller_id=self.state.caller_id, known=self.state.fields,
                       pending=self.state.pending)
        if u.social is None and self.state.fields.get("privacy_refused") and u.question and \
                _PRESSES_FOR_DETAILS.search(text):
            u.social = Social.THIRD_PARTY  # "can you just tell me the time? is it with Reyes?"
        if u.social is not None:
            yield from self.flows.safety.social(u)
            return
        if asks_medical_advice(text):
            yield from self.flows.safety.medical_advice(text, u)
            return
        if self.state.step == Step.CONFIRM:
            # "no, I'll rebook later; just cancel it please" asks for the action all the same
            self.state.caller_confirmed = u.yes or (not u.no and not u.question and bool(
                re.search(r"\b(works|that'?s fine|is fine|sounds (good|great)|perfect)\b[.!]?$|"
                          r"^that'?s it\b|^(the )?(first|only|that) one'?s? (is )?(good|fine|"
                          r"great|perfect|works)\b|^(the )?(first|that) one,? please\b[.!]?$",
                          text.strip(), re.I))) or \
                bool(DO_IT.search(text)) or bool(re.match(
                    r"(no|nope|nah),? that'?s (it|all|everything)\b", text.strip(), re.I))
            # "Nah, that's it" to "Shall I book it?": nothing to change, go ahead
        if self.conv.capability == "capable":
            yield from self.flows.capable.turn(text, u)
        else:
            yield from self.flows.small_turn(text, u)

    def interrupted(self, spoken: str) -> None:
        for i in range(len(self.state.history) - 1, -1, -1):
            if self.state.history[i]["role"] == "assistant":
                if spoken.strip():
                    self.state.history[i]["content"] = spoken.strip()
                else:
                    del self.state.history[i]
                return

    def checkpoint(self) -> ConversationState:
        """A copy of the conversation to roll back to if a speculative turn is discarded.
        Effects (holds, bookings, audited reads) wait for the endpoint in the backend, so
        the conversation state is all a discarded turn can have changed."""
        return copy.deepcopy(self.state)

    def restore(self, checkpoint: ConversationState) -> None:
        # in place: the ToolBox holds the same state object
        for f in dataclasses.fields(checkpoint):
            setattr(self.state, f.name, copy.deepcopy(getattr(checkpoint, f.name)))

    def silence(self, count: int) -> Iterator[DialogEvent]:
        if self.state.step == Step.ENDED:
            return
        if count >= self.hangup_after_silences:
            yield from self.conv.end("I haven't heard anything, so I'll end the call now. Please "
                                     "call us back anytime. Goodbye.", outcome="silence")
            return
        yield from self.conv.say(f"{prompts.STILL_THERE} {self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)

    def transfer_failed(self) -> Iterator[DialogEvent]:
        """Nobody picked up the transfer: the call continues as a message for a call-back."""
        yield from self.flows.opening.start(
            intents.MESSAGE, "", lead="I'm sorry, nobody could pick up "
            "right now. I can take a message and have someone call you back.")
