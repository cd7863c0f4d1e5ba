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
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Literal

from voiceagent.clinic.nicknames import same_first_name
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.keypad import keypad_text
from voiceagent.dialog.protocol import (
    DialogEvent,
    EndCall,
    ExpectedInput,
    ReplyText,
    ToolCall,
    ToolResult,
    Transfer,
    UserTurn,
)
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk import state as steps
from voiceagent.frontdesk.answers import (
    INJURY_FIELDS,
    choose_offer,
    parse_field,
    requested,
    store_request,
)
from voiceagent.frontdesk.backend import FrontDeskBackend, IntakeRecord
from voiceagent.frontdesk.redflags import RedFlagRule, Severity
from voiceagent.frontdesk.router import IntentRouter
from voiceagent.frontdesk.saystream import SayStream
from voiceagent.frontdesk.state import ConversationState
from voiceagent.frontdesk.tools import ToolBox
from voiceagent.frontdesk.understand import (
    Shape,
    Social,
    Understanding,
    answer_shape,
    dob_plausible,
    glued_spelling,
    letter_run,
    name_in,
    spelled_names,
    understand,
)
from voiceagent.intake import (
    IntakeError,
    parse_appointment_request,
    parse_date_of_birth,
    parse_member_id,
    parse_phone,
    parse_spelled_name,
)
from voiceagent.intake.dates import AppointmentRequest, say_date, say_time
from voiceagent.intake.identifiers import is_mbi
from voiceagent.llm.choice import choose
from voiceagent.llm.protocol import LLM, ChatMessage
from voiceagent.speech.clauses import split_clauses

log = logging.getLogger(__name__)

Capability = Literal["small", "capable"]

FIELDS_FOR: dict[str, tuple[str, ...]] = {
    intents.BOOK: ("reason", "full_name", "last_name_spelled", "dob", "phone", "payer",
                   "plan_type", "member_id", "claim_number", "adjuster_name", "adjuster_phone",
                   "date_of_injury", "employer", "when"),
    intents.MESSAGE: ("full_name", "phone", "message_body"),
    intents.RESCHEDULE: ("full_name", "dob", "phone"),
    intents.CANCEL: ("full_name", "dob", "phone"),
    intents.MY_APPOINTMENTS: ("full_name", "dob", "phone"),
}
MAX_ATTEMPTS = 3  # tries to find out what the caller wants
FIELD_ATTEMPTS = 2  # no question is asked more than twice before another way is offered
MIN_CONFIDENCE = 0.35  # below this the transcript is a guess: ask again rather than act on it
CAPABLE_HISTORY = 12  # messages of history a capable model sees (the state carries the rest)
MEDICAL_ADVICE = (
    "should i take", "should i ice", "ice or heat", "heat or ice", "is it normal", "is it broken",
    "is it torn", "is it serious", "what medication", "which medication", "painkiller",
    "ibuprofen", "tylenol", "advil", "diagnose", "diagnosis for", "what exercises should",
    "is that normal", "is this normal", "should i back off", "should i stop", "should i keep",
    "should i be worried", "is it okay to", "is it ok to", "can i still",
    "what exercise should", "what should i do about my", "do i need surgery", "is it safe to",
)
# the small model's one job: the system prompt whose KV state is warmed at start-up. Plain
# labels with what each means: measured on 12 unclear openers, the 1.5B model chose right 6
# times with these and 2 with the bare intent names (the 135M: 3 and 1).
INTENT_LABELS: dict[str, str] = {
    "book": intents.BOOK, "reschedule": intents.RESCHEDULE, "cancel": intents.CANCEL,
    "my_appointments": intents.MY_APPOINTMENTS, "question": intents.QUESTION,
    "message": intents.MESSAGE, "person": intents.HUMAN, "goodbye": intents.GOODBYE,
}
INTENT_PROMPT = (
    "You sort phone calls to a physical therapy clinic. Read what the caller said and answer "
    "with the one label that fits best:\n"
    "book: wants a new appointment or evaluation, was sent or referred by a doctor, "
    "describes pain or an injury they want treated\n"
    "reschedule: wants to move or change an existing appointment\n"
    "cancel: cannot come, wants to cancel an appointment\n"
    "my_appointments: asks when their own appointment is\n"
    "question: asks about the clinic (hours, location, insurance, prices, services)\n"
    "message: wants to leave a message for someone\n"
    "person: wants to talk to a person or staff member\n"
    "goodbye: is finished, says thanks or bye\n"
    "other: none of these, or not clear")
CORRECTABLE = {
    "full_name": ("name", "first name"), "last_name_spelled": ("spelling", "last name"),
    "dob": ("birth", "birthday", "born"), "phone": ("phone", "number"),
    "payer": ("insurance", "plan"), "member_id": ("member", "id"),
    "when": ("time", "day", "date", "when"),
}


def _medical_advice(text: str) -> bool:
    norm = intents.normalize(text)
    return any(p in norm for p in MEDICAL_ADVICE)


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
        self.clinic = backend.clinic
        self.llm = llm
        self.capability: Capability = capability if llm is not None else "small"
        self.state = state or ConversationState()
        self.call_log = call_log
        self.call_id = call_id
        self.tools = ToolBox(backend, self.state, call_log, call_id)
        self.router = router or IntentRouter.from_clinic(self.clinic)
        self.hangup_after_silences = hangup_after_silences

    # --- Dialog protocol ------------------------------------------------------------------

    def caller_left(self) -> None:
        """The caller hung up (or the chat was closed) before the conversation ended: what
        they told us is kept as a lead and a call-back message, so nobody is forgotten."""
        if self.state.step == steps.ENDED:
            return
        self._release_hold()
        f = self.state.fields
        if self.state.intent == intents.MESSAGE and _substantive(f.get("topic", "")) and \
                not self.state.outcome:
            # a message half taken is still a message (with whatever callback we have)
            list(self._take_message())
            return
        self._keep_inquiry()

    def attach_call(self, call_id: str, caller_id: str | None) -> None:
        """The speech session opened the call record: what this dialog does is tied to it
        (the session itself records the turns and tool calls)."""
        self.call_id = call_id
        self.tools.call_id = call_id
        self.backend.actor = dataclasses.replace(self.backend.actor, call_id=call_id)
        if caller_id and not self.state.caller_id:
            self.state.caller_id = caller_id

    def greeting(self) -> Iterator[DialogEvent]:
        d = self.clinic.disclosures
        if self.state.channel == "phone":
            text = " ".join(s.strip() for s in (d.greeting, d.assistant_identification,
                                                 d.recording_notice) if s.strip())
        else:  # a chat or a text: no "this call may be recorded", no "say front desk"
            text = d.text_greeting or (
                f"Hi! You're chatting with {self.clinic.name}'s automated assistant. I can "
                "book, change or cancel appointments, answer questions about the clinic, or "
                "take a message for the staff.")
        yield from self._say(f"{text} {prompts.HOW_CAN_I_HELP}", prompt=prompts.HOW_CAN_I_HELP)

    def expected_input(self) -> ExpectedInput:
        if self.state.step == steps.ENDED:
            return ExpectedInput.FREE
        if self.capability == "capable":
            return prompts.expected_from_question(self.state.last_prompt)
        if self.state.pending in prompts.FIELD_PROMPTS:
            return prompts.FIELD_PROMPTS[self.state.pending][1]
        return ExpectedInput.FREE

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        try:
            yield from self._respond(turn)
        except Exception:
            # Never a stack trace to the caller: apologise and keep the call on its step.
            log.exception("dialog_turn_failed", extra={"call_id": self.call_id,
                                                       "step": self.state.step})
            count = self.state.attempts.get("internal_error", 0) + 1
            self.state.attempts["internal_error"] = count
            if count >= MAX_ATTEMPTS:
                yield from self._end("I'm sorry, our system is having trouble right now. "
                                     "Please call back a little later. Goodbye.",
                                     outcome="system_error")
                return
            yield from self._say(f"I'm sorry, I had a problem on my side. "
                                 f"{self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)

    def _respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        if self.state.step == steps.ENDED:
            yield EndCall(self.state.outcome or "completed")
            return
        text = (turn.text or "").strip()
        if turn.dtmf and not text:
            text = keypad_text(turn.dtmf, self.expected_input())
        if turn.no_speech or not text or turn.confidence < MIN_CONFIDENCE:
            yield from self._say(f"{prompts.DID_NOT_CATCH} {self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)
            return
        self._remember("user", text)
        flag = self.router.red_flag(text, context=self._clinical_context())
        if flag is not None:
            yield from self._red_flag(flag)
            return
        u = understand(text, self.clinic, self.router, self._local_now(),
                       caller_id=self.state.caller_id, known=self.state.fields,
                       pending=self.state.pending)
        if u.social is not None:
            yield from self._social(u)
            return
        if _medical_advice(text):
            if self.state.step == steps.INTENT and set(u.values) & {"referred", "surgery",
                                                                    "referring_provider"}:
                # "I was referred after surgery; my fingers go numb, is that normal?": no
                # advice, and the evaluation they were sent for is booked
                self._apply(u)
                yield from self._start(intents.BOOK, text, lead="I can't give medical advice, "
                                       "but your therapist will go over that at your "
                                       "evaluation.", keep_lead=True)
                return
            if self.state.step in (steps.INTENT, steps.WRAP_UP):
                # a clinical question: no advice, a message for the clinical team instead
                self.state.fields["message_category"] = self._clinical_category() or ""
                yield from self._start(intents.MESSAGE, text, lead="I'm not able to give "
                                       "medical advice, but I'll take a message for your "
                                       "therapist and they'll call you back.")
                return
            yield from self._say(f"{prompts.NO_MEDICAL_ADVICE} {self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)
            return
        if self.state.step == steps.CONFIRM:
            # "no, I'll rebook later; just cancel it please" asks for the action all the same
            self.state.caller_confirmed = u.yes or (not u.no and not u.question and bool(
                re.search(r"\b(works|that'?s fine|is fine|sounds (good|great)|perfect)\b[.!]?$|"
                          r"^that'?s it\b|^(the )?(first|only|that) one'?s? (is )?(good|fine|"
                          r"great|perfect|works)\b|^(the )?(first|that) one,? please\b[.!]?$",
                          text.strip(), re.I))) or \
                bool(_DO_IT.search(text))
        if self.capability == "capable":
            yield from self._capable_turn(text, u)
        else:
            yield from self._small_turn(text, u)

    def interrupted(self, spoken: str) -> None:
        for i in range(len(self.state.history) - 1, -1, -1):
            if self.state.history[i]["role"] == "assistant":
                if spoken.strip():
                    self.state.history[i]["content"] = spoken.strip()
                else:
                    del self.state.history[i]
                return

    # --- speculation: the session may prepare a turn in the caller's pause -------------------

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
        if self.state.step == steps.ENDED:
            return
        if count >= self.hangup_after_silences:
            yield from self._end("I haven't heard anything, so I'll end the call now. Please "
                                 "call us back anytime. Goodbye.", outcome="silence")
            return
        yield from self._say(f"{prompts.STILL_THERE} {self.state.last_prompt}".strip(),
                             prompt=self.state.last_prompt)

    # --- speaking and recording -----------------------------------------------------------

    def _say(self, text: str, *, prompt: str | None = None) -> Iterator[DialogEvent]:
        if prompt is not None:
            self.state.last_prompt = prompt
        self._remember("assistant", text)
        for piece in split_clauses(text):
            yield ReplyText(piece)

    def _remember(self, role: str, text: str) -> None:
        self.state.history.append({"role": role, "content": text})
        if self.call_log is not None and self.call_id is not None:
            try:
                self.call_log.add_turn(self.call_id, "caller" if role == "user" else "agent",
                                       text)
            except Exception:
                log.exception("call_log_turn_failed", extra={"call_id": self.call_id})

    def _tool(self, name: str, arguments: dict[str, Any], out: list[DialogEvent]) -> ToolResult:
        out.append(ToolCall(name, arguments))
        result = self.tools.call(name, arguments)
        out.append(result)
        return result

    def _end(self, text: str, outcome: str | None = None) -> Iterator[DialogEvent]:
        self._release_hold()
        if outcome and not self.state.outcome:
            self.state.outcome = outcome
        events: list[DialogEvent] = []
        self._tool("end_call", {"reason": outcome or self.state.outcome or "completed"}, events)
        yield from events
        yield from self._say(text, prompt="")
        self.state.step = steps.ENDED
        self.state.pending = None
        yield EndCall(self.state.outcome or outcome or "completed")

    def _release_hold(self) -> None:
        if self.state.hold is not None:
            try:
                self.backend.release(self.state.hold["hold_id"])
            except Exception:
                log.warning("release_hold_failed", extra={"call_id": self.call_id})
            self.state.hold = None

    def _goodbye(self) -> Iterator[DialogEvent]:
        yield from self._end(f"Thank you for calling {self.clinic.name}. Goodbye!",
                             outcome=self.state.outcome or "completed")

    def _ask(self, field: str, lead: str = "") -> Iterator[DialogEvent]:
        self.state.pending = field
        key = f"asked:{field}"
        self.state.attempts[key] = self.state.attempts.get(key, 0) + 1
        question = prompts.FIELD_PROMPTS[field][0]
        if field == "member_id" and _original_medicare(self.state.fields):
            question = ("What's your Medicare number? It's eleven characters; please read it "
                        "one character at a time.")
        yield from self._say(f"{lead} {question}".strip(), prompt=question)

    def _red_flag(self, flag: RedFlagRule) -> Iterator[DialogEvent]:
        """Advice first, then an urgent message to the clinical owners. An emergency ends
        the call (a transfer only where the config allows it: the caller needs 911, not the
        desk); after urgent advice the caller may go on."""
        self.state.fields["red_flag"] = flag.id
        yield from self._say(flag.advice, prompt="")
        emergency = flag.severity is Severity.EMERGENCY
        if emergency:
            self.state.outcome = "emergency_escalation"
        if flag.transfer:
            events: list[DialogEvent] = []
            result = self._tool("transfer_call", {"summary": f"red flag: {flag.id}"}, events)
            yield from events
            if result.ok:
                self.state.outcome = "emergency_escalation"
                yield from self._say("I'm connecting you with our staff now.", prompt="")
                self.state.step = steps.ENDED
                yield Transfer(str(result.data["address"]), summary=f"Red flag: {flag.id}.")
                return
        events = []
        phone = self.state.fields.get("phone")
        if not emergency:
            self.state.outcome = "urgent_symptoms"
        self._tool("take_message", {
            "name": self._caller_name() or "caller", "phone": phone or "unknown",
            "message": f"Red flag reported ({flag.id}, {flag.severity.value}); the caller was "
                       "given the advice. Please call back urgently.",
            "urgent": True, "category": flag.message_category or self._clinical_category(),
        }, events)
        yield from events
        if emergency:
            yield from self._end("I've also let our clinical team know. Please don't wait: "
                                 "get help now. Goodbye.", outcome="emergency_escalation")
            return
        yield from self._wrap("I've let our clinical team know, and someone will call you back "
                              "today.")

    def _clinical_context(self) -> str:
        """What earlier turns said that changes what a symptom means ("after my surgery")."""
        f = self.state.fields
        return "after my surgery" if f.get("surgery") or f.get("surgery_date") else ""

    def _clinical_category(self) -> str | None:
        for c in self.clinic.message_categories:
            if "clinic" in c.id.lower() or "clinic" in c.name.lower():
                return c.id
        return None

    def _caller_name(self) -> str:
        return " ".join(p for p in (self.state.fields.get("first_name"),
                                    self.state.fields.get("last_name")) if p)

    # --- small mode: router + state + templates ------------------------------------------

    def _social(self, u: Understanding) -> Iterator[DialogEvent]:
        """Turns that are not clinic business: handled in role, nothing else changes."""
        kind = u.social
        if kind is Social.INJECTION:
            self.state.outcome = "security_refusal"
            self.backend.security_event("security_refusal", self.state.channel)
            resume = self.state.last_prompt if self.state.step != steps.INTENT else \
                prompts.HOW_CAN_I_HELP
            yield from self._say("I can't do that. I'm the clinic's assistant: I can book, "
                                 "change or cancel your own appointments, answer questions "
                                 f"about the clinic, or take a message. {resume}".strip(),
                                 prompt=resume)
            return
        if kind is Social.THIRD_PARTY:
            self.state.outcome = "privacy_refusal"
            self.backend.security_event("third_party_request", self.state.channel)
            self.state.fields["privacy_refused"] = "yes"
            yield from self._say(
                "To protect our patients' privacy, I can't share anything about another "
                "person's appointments or care, even with family. They're welcome to call us "
                "themselves, or I can take a message and have the clinic follow up with them.",
                prompt="Would you like to leave a message?")
            self.state.step = steps.WRAP_UP
            self.state.intent = None
            self.state.pending = "offer_message"
            return
        if kind is Social.WRONG_NUMBER:
            yield from self._end(f"No problem. You've reached {self.clinic.name}. Have a good "
                                 "day. Goodbye.", outcome="wrong_number")
            return
        yield from self._end("Thank you, but we're not interested. Goodbye.", outcome="spam")

    def _small_turn(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """Small mode: every turn read by every extractor; the step decides what is next."""
        step = self.state.step
        if step == steps.CONFIRM and self.state.caller_confirmed:
            yield from self._confirm(text, u)  # "no, I'll rebook later; just cancel it"
            return
        if step in (steps.INTENT, steps.WRAP_UP):
            yield from self._identify(text, u)
            return
        side = self._side_request(u)
        if side is not None:
            yield from self._handle_side_request(side, text)
            return
        if step == steps.COLLECT:
            yield from self._collect(text, u)
        elif step == steps.OFFER:
            yield from self._pick_offer(text, u)
        elif step == steps.CONFIRM:
            yield from self._confirm(text, u)

    def _side_request(self, u: Understanding) -> str | None:
        """A request that interrupts the current step: a person or goodbye. A question is
        answered inside the step (and the step goes on)."""
        scores = u.scores
        if scores.get(intents.HUMAN, 0) >= 3 and not u.values:
            return intents.HUMAN
        personal = {"full_name", "dob", "phone", "member_id", "email", "payer_named"}
        if scores.get(intents.GOODBYE, 0) >= 3 and not set(u.values) & personal and \
                not u.question:
            return intents.GOODBYE
        return None

    def _handle_side_request(self, kind: str, text: str) -> Iterator[DialogEvent]:
        if kind == intents.HUMAN:
            yield from self._transfer(text)
            return
        yield from self._goodbye_or_keep()

    def _goodbye_or_keep(self) -> Iterator[DialogEvent]:
        """A caller who leaves mid-intake: what they told us is kept for a call-back."""
        self._keep_inquiry()
        yield from self._goodbye()

    def _keep_inquiry(self) -> None:
        """Whatever an unfinished inquiry learned becomes a lead (or a message), so nobody
        who gave their details is forgotten."""
        f = self.state.fields
        if self.state.outcome or not (f.get("phone") or self.state.caller_id):
            return
        if not (f.get("first_name") or f.get("reason") or f.get("payer")):
            return
        try:
            self.backend.log_inquiry(IntakeRecord.from_fields(f), self.state.channel,
                                     phone=f.get("phone") or self.state.caller_id)
            self.state.outcome = "lead_logged"
        except Exception:
            log.warning("inquiry_not_logged", extra={"call_id": self.call_id})

    def _answer_question(self, text: str) -> str:
        result = self._tool("answer_faq", {"question": text[:500]}, [])
        if result.ok:
            return str(result.data["answer"])
        return ("I don't have that information here, but the front desk can help with it; I "
                "can take a message at the end if you like.")

    def _apply(self, u: Understanding, pending_done: str | None = None) -> str:
        """Store what the caller volunteered; a correction replaces a value. Returns the
        acknowledgement (read-backs of what was taken)."""
        f = self.state.fields
        acks: list[str] = []
        values = dict(u.values)
        for key, v in values.items():
            if key in ("payer_named", "plan_type", "when", "provider_pref", "referred",
                       "language", "coverage_kind", "full_name"):
                continue
            if key == pending_done:
                continue
            if key in f and not u.correction:
                continue
            if key == "dob" and not dob_plausible(v.value, self._local_now().date()):
                continue
            if key == "unknown_answer":
                continue
            f[key] = v.value
            if key in ("dob", "phone", "member_id", "email", "date_of_injury",
                       "adjuster_phone", "claim_number") and v.readback:
                acks.append(f"I have {v.readback}.")
            elif key in ("employer", "adjuster_name", "referring_provider", "group_number",
                         "subscriber_name", "subscriber_dob", "referring_npi"):
                acks.append("Thank you.")
        if "full_name" in values and pending_done != "full_name" and \
                ("full_name" not in f or u.correction):
            f["full_name"] = values["full_name"].value
            f["first_name"], f["last_name"] = values["first_name"].value, \
                values["last_name"].value
            if "last_name_spelled" in values:  # "Priya Raman, last name R A M A N"
                f["last_name_spelled"] = values["last_name_spelled"].value
            else:
                f.pop("last_name_spelled", None)
            acks.insert(0, f"Thank you, {f['first_name']}.")
        for key in ("plan_type", "provider_pref", "language", "referred"):
            if key in values and (key not in f or u.correction):
                f[key] = values[key].value
        if ("payer_named" in values or "coverage_kind" in values) and \
                pending_done != "payer" and ("payer" not in f or u.correction):
            try:
                acks.append(parse_field("payer", u.text, self.state, self.clinic,
                                        self._local_now()))
            except IntakeError:
                pass
        if "when" in values and pending_done != "when" and self.state.intent in (
                intents.BOOK, intents.RESCHEDULE, None):
            try:
                store_request(self.state, parse_appointment_request(
                    u.text, self._local_now()).value, u.text)
                outside = self._outside_hours(requested(self.state))
                if outside:  # "seven thirty at night": say so now, not after the intake
                    acks.append(outside)
                    self.state.request = None
                elif self.state.intent is not None and values["when"].readback:
                    acks.append(f"{values['when'].readback[:1].upper()}"
                                f"{values['when'].readback[1:]}, noted.")
            except IntakeError:
                pass
        return " ".join(dict.fromkeys(a for a in acks if a))  # each acknowledgement once

    def _identify(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """No intent yet (or wrapping up): what does the caller want?"""
        if self.state.pending == "offer_message":
            self.state.pending = None
            if u.yes:
                yield from self._start(intents.MESSAGE, "")
                return
            if u.no and not u.intents and not u.question:
                yield from self._goodbye()
                return
        if self.state.pending == "confirm_intent" and u.question and not u.yes and not u.no \
                and not u.intents:
            # "and each visit after that?": answer, and the offer to book still stands
            answer = self._answer_question(text)
            yield from self._say(f"{answer} {self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)
            return
        if self.state.pending == "confirm_intent":
            guess = self.state.fields.pop("guessed_intent", None)
            said = self.state.fields.pop("guessed_from", "")
            self.state.pending = None
            shape = answer_shape(text, self.clinic, self._local_now().date())
            if u.intents[:1] == [intents.GOODBYE] or (_done_words(text) and (
                    not u.yes or re.search(r"\bthat'?s (all|everything|it)\b|\ball set\b|"
                                           r"\bnothing else\b", text, re.I))):
                # "great, I'll call back to book, thanks" / "thank you, dear"
                yield from self._goodbye()
                return
            if guess and (u.yes or u.intents[:1] == [guess] or
                          shape in (Shape.NAME, Shape.DATE, Shape.PHONE) or
                          set(u.values) & {"full_name", "dob", "phone", "payer_named"}):
                # details given in answer to "shall I book?" are a yes
                if shape is Shape.NAME and "full_name" not in self.state.fields:
                    parse_field("full_name", text, self.state, self.clinic, self._local_now())
                ack = self._apply(u)
                yield from self._start(guess, said, lead=ack, keep_lead=bool(ack))
                return
        wanted = [i for i in u.intents if i != intents.QUESTION]
        scores = u.scores
        if self.state.step == steps.WRAP_UP and self.state.message_id is not None and \
                not u.question and len(text.split()) >= 4 and not _done_words(text) and \
                (not wanted or wanted[0] == intents.MESSAGE):
            # "It was forty dollars, charged twice": more for the message just taken
            self.backend.add_to_message(self.state.message_id, text[:1000])
            yield from self._wrap("Thank you, I've added that to your message.")
            return
        answer = ""
        if u.question and not (wanted and wanted[0] in (intents.HUMAN, intents.MESSAGE) and
                               scores.get(wanted[0], 0) >= 3):
            answer = self._answer_question(text)
        if u.question and wanted and wanted[0] in (intents.GOODBYE, intents.HUMAN) and \
                scores.get(wanted[0], 0) < 3:
            wanted = []
        if not wanted and _sounds_like_booking(u) and not (
                self.state.step == steps.WRAP_UP and set(u.values) & _BOOKING_SIGNS == set()):
            if u.question:
                # "my doctor wants me to do therapy; how long is the first visit?": answer,
                # then offer, rather than start asking for a name
                yield from self._offer_booking(u, text, answer)
                return
            wanted = [intents.BOOK]
        if self.state.step == steps.WRAP_UP and not wanted and not u.question and (
                not u.yes or _done_words(text)) and not (set(u.values) & _BOOKING_SIGNS -
                                                          {"when"}):
            # "no, that's all", "okay, I'll call my surgeon now, thanks": the caller is done
            yield from self._goodbye()
            return
        if not wanted:
            if answer:
                yield from self._wrap(answer)
                return
            if self.state.step == steps.WRAP_UP and u.yes:
                yield from self._say("Sure, what else can I help with?",
                                     prompt="What else can I help with?")
                return
            guess = self._llm_intent(text)
            if guess is not None and guess not in (intents.HUMAN, intents.GOODBYE):
                self.state.fields["guessed_intent"] = guess
                self.state.fields["guessed_from"] = text[:300]
                self.state.pending = "confirm_intent"
                question = f"Just to check, would you like to {prompts.INTENT_WORDS[guess]}?"
                yield from self._say(question, prompt=question)
                return
            count = self.state.attempts.get("intent", 0) + 1
            self.state.attempts["intent"] = count
            if count >= MAX_ATTEMPTS:
                yield from self._start(intents.MESSAGE, text,
                                       lead="I'm sorry, I'm not sure I can help with that, but "
                                       "I can take a message for the staff.")
                return
            yield from self._say(f"Sorry, I'm not sure I understood. {prompts.MENU}",
                                 prompt=prompts.MENU)
            return
        intent = wanted[0]
        if u.question and intent == intents.BOOK and \
                scores.get(intents.BOOK, 0) < 3.5:
            # "do I need a referral for an evaluation?" is a question first: answer, offer
            yield from self._offer_booking(u, text, answer)
            return
        if intent in (intents.GOODBYE,):
            yield from self._goodbye()
            return
        if intent == intents.HUMAN:
            yield from self._transfer(text)
            return
        ack = self._apply(u) if intent in (intents.BOOK, intents.RESCHEDULE, intents.CANCEL,
                                           intents.MY_APPOINTMENTS, intents.MESSAGE) else ""
        if answer and "we accept" in answer:  # the answer already said so
            ack = re.sub(r"Great, we accept [^.]+\.\s*", "", ack)
        lead = " ".join(p for p in (answer, ack) if p)
        yield from self._start(intent, text, lead=lead, keep_lead=bool(lead))

    def _offer_booking(self, u: Understanding, text: str, answer: str
                       ) -> Iterator[DialogEvent]:
        """Answer the question, keep what the turn said, and offer to book."""
        self.state.fields["guessed_intent"] = intents.BOOK
        self.state.fields["guessed_from"] = text[:300]
        self.state.pending = "confirm_intent"
        self._apply(u)
        question = "Would you like me to book an evaluation for you?"
        yield from self._say(f"{answer} {question}".strip(), prompt=question)

    def _llm_intent(self, text: str) -> str | None:
        """Ask the LLM to choose an intent (small mode's one use of it), grammar-bound."""
        if self.llm is None or len(text.split()) < 3:
            return None
        messages = [ChatMessage("system", INTENT_PROMPT), ChatMessage("user", text)]
        try:
            value = choose(self.llm, messages, [*INTENT_LABELS, "other"])
        except Exception:
            log.warning("llm_intent_failed", extra={"call_id": self.call_id})
            return None
        return INTENT_LABELS.get(value or "")

    def _start(self, intent: str, text: str, lead: str = "",
               keep_lead: bool = False) -> Iterator[DialogEvent]:
        if intent not in intents.KNOWN_INTENTS:
            intent = intents.MESSAGE
        self.state.attempts.pop("intent", None)
        if intent == intents.GOODBYE:
            yield from self._goodbye()
            return
        if intent == intents.QUESTION:
            yield from self._answer(text)
            return
        if intent == intents.HUMAN:
            yield from self._transfer(text)
            return
        self.state.intent = intent
        self.state.step = steps.COLLECT
        self.state.attempts = {}
        if intent == intents.MESSAGE and text and "topic" not in self.state.fields:
            self.state.fields["topic"] = text[:300]

        if intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS):
            # always a fresh list: an earlier change in this call may have altered it
            self.state.appointments = []
            self.state.target_appointment_id = None
            self.state.request = None
            self.state.fields.pop("which_appointment", None)
        if intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS) and \
                self.state.patient_id is None:
            lead = (lead + " I can help with that. First I need to confirm who you are.").strip()
        elif not lead or keep_lead:
            opener = {intents.BOOK: "I'd be happy to help you book an appointment.",
                      intents.MESSAGE: "I'll take a message."}.get(intent, "Sure.")
            lead = f"{lead} {opener}".strip() if keep_lead else opener
        yield from self._next(lead)

    def _answer(self, text: str) -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self._tool("answer_faq", {"question": text[:500]}, events)
        yield from events
        if result.ok:
            yield from self._wrap(str(result.data["answer"]))
            return
        self.state.step = steps.WRAP_UP
        self.state.fields["topic"] = text[:300]  # what the message will be about
        yield from self._say("I'm sorry, I don't have that information. I can take a message "
                             "and someone from the clinic will call you back. Would you like "
                             "that?", prompt="Would you like to leave a message?")
        self.state.pending = "offer_message"

    def _wrap(self, lead: str) -> Iterator[DialogEvent]:
        self.state.step = steps.WRAP_UP
        self.state.pending = None
        yield from self._say(f"{lead} {prompts.ANYTHING_ELSE}".strip(),
                             prompt=prompts.ANYTHING_ELSE)

    def _transfer(self, text: str) -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self._tool("transfer_call", {"summary": "caller asked for a person"}, events)
        yield from events
        if result.ok:
            self._release_hold()
            yield from self._say(f"Of course. I'm transferring you to {result.data['name']} "
                                 "now.", prompt="")
            self.state.step = steps.ENDED
            yield Transfer(str(result.data["address"]),
                           summary=self._transfer_summary())
            return
        yield from self._start(intents.MESSAGE, text,
                               lead="Nobody is available to take the call right now, but I "
                               "can take a message and have someone call you back.")

    def transfer_failed(self) -> Iterator[DialogEvent]:
        """Nobody picked up the transfer: the call continues as a message for a call-back."""
        yield from self._start(intents.MESSAGE, "", lead="I'm sorry, nobody could pick up "
                               "right now. I can take a message and have someone call you back.")

    def _transfer_summary(self) -> str:
        intent = self.state.intent or "a question"
        return f"Caller asking about {intent.replace('_', ' ')}."

    # --- collecting fields ----------------------------------------------------------------

    def _needed(self) -> list[str]:
        fields = FIELDS_FOR.get(self.state.intent or "", ())
        have = self.state.fields
        out = []
        injury = have.get("coverage_kind") in ("workers_comp", "auto")
        required = self._injury_required() if injury else set()
        for f in fields:
            if f == "member_id" and (have.get("payer_self_pay") == "yes" or injury):
                continue
            if f in INJURY_FIELDS and f not in required:
                continue
            if f == "when" and self.state.request is not None:
                continue
            if f == "plan_type" and not self._payer_asks_plan_type():
                continue
            if f == "message_body" and _substantive(have.get("topic", "")):
                continue  # what they called about is the message
            if f not in have:
                out.append(f)
        return out

    def _payer_asks_plan_type(self) -> bool:
        """The payer's intake rules ask which plan it is (Original Medicare or Advantage)."""
        payer = self.clinic.payer(self.state.fields.get("payer", ""))
        member_id = self.state.fields.get("member_id", "")
        if member_id and is_mbi(member_id):
            return False  # an eleven-character MBI is on the red, white and blue card
        return bool(payer is not None and payer.intake.ask_plan_type and
                    self.state.attempts.get("asked:plan_type", 0) < 1)

    def _injury_required(self) -> set[str]:
        kind = self.state.fields.get("coverage_kind")
        ins = self.clinic.insurance
        rules = ins.workers_comp if kind == "workers_comp" else ins.auto_injury
        wanted = {"date_of_injury" if r in ("date_of_accident", "date_of_injury") else r
                  for r in rules.required}
        return (wanted & set(INJURY_FIELDS)) | {"claim_number", "adjuster_name"}

    def _next(self, lead: str = "") -> Iterator[DialogEvent]:
        needed = self._needed()
        if needed and self.state.attempts.get(f"asked:{needed[0]}", 0) >= FIELD_ATTEMPTS:
            yield from self._give_up_on(needed[0], lead)
            return
        if needed:
            yield from self._ask(needed[0], lead)
            return
        intent = self.state.intent
        if intent == intents.BOOK and self.state.hold is not None:
            # a corrected detail: the held time still stands, read back again
            self.state.step = steps.CONFIRM
            question = self._read_back()
            yield from self._say(f"{lead} {question}".strip(), prompt=question)
        elif intent == intents.BOOK:
            yield from self._search(lead)
        elif intent == intents.MESSAGE:
            yield from self._take_message(lead)
        elif intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS):
            yield from self._verified_flow(lead)

    def _collect(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """The answer to the pending question, if it is one; and whatever else the turn
        says. A value that does not parse as the pending field is never stored in it: an
        answer shaped like another missing detail (a date when the name was asked) fills
        that detail, and the pending question is asked again."""
        field = self.state.pending
        if field is None:
            yield from self._next(self._apply(u))
            return
        if "unknown_answer" in u.values and field in (
                "member_id", "claim_number", "adjuster_name", "adjuster_phone", "employer",
                "date_of_injury", "last_name_spelled", "reason"):
            # "I don't have a claim number yet": go on without it
            self._apply(u)
            yield from self._give_up_on(field)
            return
        f = self.state.fields
        spelled = letter_run(text, f.get("first_name", ""), f.get("last_name", "")) \
            if "as in" not in text.lower() else None
        others = [n for n in spelled_names(text) if n.lower() != f.get("last_name", "").lower()]
        if spelled and any(n.upper() == spelled.replace(" ", "") for n in others):
            spelled = None  # "the referring doctor is Dr. Paul Gunderson, G U N D E R S O N"
        for name in spelled_names(text):
            if f.get("last_name") and name.lower() != f["last_name"].lower() and \
                    f.get("first_name") and name.lower() != f["first_name"].lower() and \
                    same_first_name(f["first_name"], name):
                # "it's Patty Dunleavy" ... "Patricia, P A T R I C I A": the first name
                f["first_name"] = name
                f["full_name"] = f"{name} {f['last_name']}"
        if field == "last_name_spelled" and spelled:
            text = spelled  # "B R E N N A N, two Ns in the middle there": the letters
        shape = answer_shape(text, self.clinic, self._local_now().date())
        if shape is Shape.OTHER and field in ("member_id", "claim_number", "phone", "dob"):
            # "Hold on, let me get my glasses. Okay. H four five one ...", "Q Z H 2 2 1.
            # It's just the regular card.": the sentence that has the shape asked for
            for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
                found = answer_shape(sentence, self.clinic, self._local_now().date())
                if sentence != text.strip() and found in self._FITS[field]:
                    text, shape = sentence, found
                    break
        failed: IntakeError | None = None
        ack = ""
        answered = False
        named = name_in(text, self.clinic) if field == "full_name" and shape is not \
            Shape.NAME and not u.question else None
        labelled = u.values.get(field)
        if labelled is not None and field in ("member_id", "claim_number", "phone",
                                              "adjuster_phone", "dob"):
            # "the member ID is X, and the group is Y": only X is the member ID
            self.state.fields[field] = labelled.value
            ack = f"I have {labelled.readback}." if labelled.readback else ""
            answered = True
        elif named is not None:
            ack = parse_field(field, named, self.state, self.clinic, self._local_now())
            answered = True
        elif self._fits(field, shape, u):
            try:
                ack = parse_field(field, text, self.state, self.clinic, self._local_now())
                answered = True
            except IntakeError as exc:
                failed = exc
        elif "full_name" in self._needed() and shape in (Shape.NAME, Shape.SPELLING) and \
                name_in(text, self.clinic) is not None:
            # "Harold Lindgren, L I N D G R E N" while another question was pending
            ack = parse_field("full_name", name_in(text, self.clinic) or "", self.state,
                              self.clinic, self._local_now())
            if shape is Shape.SPELLING:
                try:
                    parse_field("last_name_spelled", text.split(",", 1)[-1], self.state,
                                self.clinic, self._local_now())
                except IntakeError:
                    pass
        else:
            other = self._field_for(shape)
            if other is not None and other not in u.values:  # a labelled value is stored below
                said = spelled if other == "last_name_spelled" and spelled else text
                try:
                    ack = parse_field(other, said, self.state, self.clinic, self._local_now())
                except IntakeError:
                    ack = ""
        extra = self._apply(u, pending_done=field if answered else None)
        answer = self._answer_question(text) if u.question and "when" not in u.values else ""
        if answered:
            self.state.attempts.pop(field, None)
            self.state.pending = None
        elif field in self.state.fields and field != "when":
            self.state.pending = None  # volunteered in other words ("my number is ...")
        elif not (ack or extra or answer) and self.state.intent == intents.MESSAGE and \
                shape is Shape.OTHER and not u.yes and not u.no and len(text.split()) >= 3:
            # "have someone call me tomorrow": part of the message, the question stands
            body = self.state.fields.get("message_body", "")
            self.state.fields["message_body"] = f"{body} {text}".strip()[:2000]
            yield from self._next("Noted.")
            return
        elif not (ack or extra or answer):
            count = self.state.attempts.get(field, 0) + 1
            self.state.attempts[field] = count
            if count >= FIELD_ATTEMPTS:
                yield from self._give_up_on(field)
                return
            question = prompts.FIELD_PROMPTS[field][0]
            if failed is not None:
                reason = failed.reason[:1].upper() + failed.reason[1:]
                if not reason.endswith((".", "?", "!")):
                    reason += "."
                yield from self._say(f"Sorry. {reason}", prompt=question)
                return
            yield from self._say(f"Sorry, I didn't get that. {question}", prompt=question)
            return
        if spelled and f.get("last_name") and "last_name_spelled" not in f and \
                spelled.replace(" ", "").lower() == f["last_name"].lower():
            f["last_name_spelled"] = f["last_name"]  # "Jordan Pike. P I K E."
        self._note_inquiry()
        if "we accept" in answer:  # the answer already said so
            ack, extra = (re.sub(r"Great, we accept [^.]+\.\s*", "", x) for x in (ack, extra))
        lead = " ".join(p for p in (answer, ack, extra) if p)
        yield from self._next(lead)

    def _note_inquiry(self) -> None:
        """The caller is identifiable (a name and a phone): the inquiry is a lead now, so a
        call that drops still leaves it; noted again as more is learned."""
        f = self.state.fields
        phone = f.get("phone") or self.state.caller_id
        if self.state.intent != intents.BOOK or not (f.get("first_name") and phone):
            return
        learned = sum(1 for v in f.values() if v)
        if self.state.attempts.get("noted", 0) >= learned:
            return
        self.state.attempts["noted"] = learned
        self.backend.note_inquiry(IntakeRecord.from_fields(f), self.state.channel, phone)

    _FITS: dict[str, tuple[Shape, ...]] = {
        "full_name": (Shape.NAME,),
        "last_name_spelled": (Shape.SPELLING, Shape.NAME, Shape.OTHER),
        "dob": (Shape.DATE,),
        "phone": (Shape.PHONE, Shape.OTHER),
        "member_id": (Shape.IDENTIFIER, Shape.PHONE, Shape.SPELLING),
        "claim_number": (Shape.IDENTIFIER, Shape.PHONE, Shape.SPELLING),
        "adjuster_phone": (Shape.PHONE, Shape.OTHER),
        "date_of_injury": (Shape.DATE, Shape.OTHER),
        "payer": (Shape.PAYER, Shape.OTHER),
        "adjuster_name": (Shape.NAME,),
    }

    def _fits(self, field: str, shape: Shape, u: Understanding) -> bool:
        """Whether the words can be the answer to ``field`` at all."""
        if u.question and field not in ("message_body", "when"):
            return False
        if field in self._FITS:
            if field == "last_name_spelled" and shape is Shape.OTHER:
                return glued_spelling(u.text) and not u.values
            if field in ("phone", "adjuster_phone") and shape is Shape.IDENTIFIER:
                return not re.search(r"\b[a-zA-Z]\b", u.text.replace(" a ", " "))
            if field == "phone" and shape is Shape.OTHER:
                return bool(re.search(r"\d|\b(oh|zero|one|two|three|four|five|six|seven|"
                                      r"eight|nine)\b", u.text, re.I)) and "phone" not in \
                    u.values
            if field == "payer" and "payer_named" in u.values:
                return True  # "Blue Cross, X O F 2 2 5 ...": the plan, and its ID after it
            if field == "payer" and shape is Shape.OTHER:
                return "payer_named" in u.values or "coverage_kind" in u.values or \
                    "plan_type" in u.values or _payer_words(u.text)
            return shape in self._FITS[field]
        if field == "message_body":
            return True
        # free text (reason, employer, when, which appointment): not a detail of another kind
        if field in ("reason", "employer") and (u.yes or u.no or re.match(
                r"(?i)(the )?(first|second|third|last|other) one\b", u.text.strip())):
            return False  # "The first one's fine." names no employer
        if field in ("reason", "employer") and set(u.values) & {
                "when", "payer_named", "phone", "dob", "email", "member_id"} and \
                "reason" not in u.values:
            return False  # "Wednesday, any time after one" is no reason for a visit
        return shape in (Shape.OTHER,) or (field == "employer" and shape is Shape.NAME)

    def _field_for(self, shape: Shape) -> str | None:
        """The missing detail an answer of this shape gives."""
        f = self.state.fields
        needed = set(self._needed())
        if shape is Shape.NAME and "full_name" in needed:
            return "full_name"
        if shape is Shape.SPELLING and "full_name" in f and "last_name_spelled" not in f:
            return "last_name_spelled"
        if shape is Shape.DATE and "dob" in needed:
            return "dob"
        if shape is Shape.PHONE and "phone" in needed:
            return "phone"
        if shape is Shape.PHONE:
            shape = Shape.IDENTIFIER  # ten digits, the phone already known: an ID
        if shape is Shape.PAYER and "payer" in needed:
            return "payer"
        if shape is Shape.IDENTIFIER:
            for key in ("member_id", "claim_number"):
                if key in needed:
                    return key
        return None

    def _give_up_on(self, field: str, lead: str = "") -> Iterator[DialogEvent]:
        """A question asked twice without an answer: go on without it where the front desk
        can complete it later, else offer a message."""
        lead = f"{lead} " if lead else ""
        if field in ("last_name_spelled",):
            self.state.fields[field] = self.state.fields.get("last_name", "")
            yield from self._next(f"{lead}No problem, we'll confirm the spelling at your "
                                  "visit.")
            return
        if field in ("reason", "member_id", "claim_number", "adjuster_phone", "date_of_injury",
                     "employer", "adjuster_name"):
            self.state.fields[field] = ""
            self.state.attempts[f"asked:{field}"] = FIELD_ATTEMPTS
            yield from self._next(f"{lead}No problem, the front desk will get that from you "
                                  "before the visit.")
            return
        if field == "when" and self.state.intent in (intents.BOOK, intents.RESCHEDULE):
            self.state.request = {}  # no preference heard twice: the first openings
            yield from self._search(f"{lead}Let me find the first openings.")
            return
        if self.state.intent == intents.MESSAGE:
            # a message without a good phone number still reaches the staff
            self.state.fields.setdefault(field, "unknown")
            yield from self._next(f"{lead}Let's go on.")
            return
        yield from self._start(intents.MESSAGE, "", lead=f"{lead}I'm having trouble with that. "
                               "Let me take a message so the staff can call you back.")

    def _local_now(self) -> datetime:
        return self.backend.now().replace(tzinfo=None)

    # --- booking: search, offer, hold, confirm --------------------------------------------

    def _search(self, lead: str = "") -> Iterator[DialogEvent]:
        request = requested(self.state)
        args: dict[str, Any] = {}
        if request.day:
            args["day"] = request.day.isoformat()
        if request.at:
            args["earliest"] = args["latest"] = request.at.isoformat()
        else:
            if request.earliest:
                args["earliest"] = request.earliest.isoformat()
            if request.latest:
                args["latest"] = request.latest.isoformat()
        target = self._target_appointment()
        if self.state.intent == intents.RESCHEDULE and target is not None:
            args["appointment_type"] = target["appointment_type_id"]  # same kind of visit
        provider = self._preferred_provider()
        if provider is None and self.state.intent == intents.RESCHEDULE and target is not None:
            provider = target.get("provider_id")  # the same therapist, unless asked otherwise
        if provider is not None:
            args["provider_id"] = provider
        skip = set((self.state.request or {}).get("not_weekdays") or [])
        if skip and not request.day:
            day = self._local_now().date()
            for _ in range(14):
                day += timedelta(days=1)
                if day.weekday() not in skip and self.clinic.hours_on(day) is not None:
                    break
            args["day"] = day.isoformat()
        events: list[DialogEvent] = []
        if self.state.patient_id is None and all(
                self.state.fields.get(k) for k in ("first_name", "last_name", "dob")):
            # an existing patient books a follow-up, a new one an evaluation
            try:
                self.state.patient_id = self.backend.match_existing(
                    self.state.fields["first_name"], self.state.fields["last_name"],
                    date.fromisoformat(self.state.fields["dob"]), self.state.fields.get("phone"))
            except Exception:  # only picks evaluation vs follow-up; the search goes on
                log.warning("match_existing_failed", extra={"call_id": self.call_id})
        result = self._tool("find_slots", args, events)
        if not result.ok and "provider_id" in args and self.state.fields.get("provider_pref"):
            # "my first visit with Jordan": a PTA does no evaluation; say so, offer the PTs
            who = next((p.name.split(",")[0] for p in self.clinic.providers
                        if p.id == args["provider_id"]), "that provider")
            lead = (f"{lead} I'm sorry, {who} can't see you for this visit; a first evaluation "
                    "is done by one of our physical therapists. Follow-up visits can be with "
                    f"{who}.").strip()
            self.state.fields.pop("provider_pref", None)
            del args["provider_id"]
            result = self._tool("find_slots", args, events)
        yield from events
        if not result.ok:
            yield from self._start(intents.MESSAGE, "", lead="I'm sorry, I couldn't search the "
                                   "schedule just now. I'll take a message instead.")
            return
        slots = result.data.get("slots", [])
        notes = []
        if result.data.get("closed") and request.day:
            name = result.data["closed"]
            why = "" if name == "closed" else f" for {name}"
            notes.append(f"We're closed on {say_date(request.day)}{why}.")
        elif result.data.get("nearby") and request.day:
            notes.append(f"{say_date(request.day)} is fully booked.")
        if not slots:
            self.state.request = None
            outside = self._outside_hours(request)
            text = " ".join([lead, *notes, outside or "I don't have any openings that match."]
                            ).strip()
            if request.day or request.earliest or request.at:
                yield from self._ask("when", f"{text} Is there another day or time that works?")
                return
            yield from self._start(intents.MESSAGE, "", lead=f"{text} I'll take a message so "
                                   "the front desk can call you with the first opening.")
            return
        if request.at and len(slots) >= 1 and datetime.fromisoformat(
                slots[0]["start"]).time() == request.at and not result.data.get("nearby"):
            self.state.step = steps.OFFER  # the exact time asked for is the one offer
            yield from self._hold(1, " ".join([lead, "That time is open."]).strip())
            return
        if notes:
            notes.append("Here are the nearest openings.")
        self.state.step = steps.OFFER
        self.state.pending = None
        offer_text = prompts.say_offers(slots)
        yield from self._say(" ".join([lead, *notes, offer_text]).strip(), prompt=offer_text)

    def _outside_hours(self, request: AppointmentRequest) -> str | None:
        """"We close at 7 PM on Wednesdays": when the time asked for is outside the hours."""
        wanted = request.at or request.earliest
        if wanted is None:
            return None
        day = request.day or self._local_now().date()
        hours = self.clinic.hours_on(day)
        if hours is None or hours.start <= wanted < hours.end:
            return None
        return (f"We're open {say_time(hours.start)} to {say_time(hours.end)} on "
                f"{day.strftime('%A')}s, so I can't book {say_time(wanted)}.")

    def _preferred_provider(self) -> str | None:
        """The provider the caller asked for, or the one whose specialty or language fits,
        if that provider can see this kind of visit."""
        f = self.state.fields
        if f.get("provider_pref"):
            return f["provider_pref"]
        words = intents.normalize(" ".join(f.get(k, "") for k in ("reason", "body_part")))
        wanted: list[str] = []
        for p in self.clinic.providers:
            if p.role != "PT":
                continue
            if any(s.split()[0] in words for s in getattr(p, "specialties", []) or []
                   if s.split()[0] in ("pelvic", "vestibular")) or (
                    "vestibular" in (getattr(p, "specialties", []) or []) and
                    any(w in words for w in ("vertigo", "dizzy", "dizziness", "balance"))):
                wanted.append(p.id)
        if not wanted and f.get("language") and f["language"] != "en":
            wanted = [p.id for p in self.clinic.providers if p.role == "PT" and
                      f["language"] in (getattr(p, "languages", []) or [])]
        return wanted[0] if len(wanted) == 1 else None

    def _pick_offer(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        offers = self.state.offers
        if u.question and "when" not in u.values:
            answer = self._answer_question(text)
            offer_text = prompts.say_offers(offers)
            yield from self._say(f"{answer} {offer_text}", prompt=offer_text)
            return
        choice = choose_offer(text, offers)
        if choice is not None:
            yield from self._hold(choice)
            return
        if u.yes and offers:
            # "yes, perfect" to a list of times: the first one; the read-back confirms it
            yield from self._hold(1)
            return
        try:
            request = parse_appointment_request(text, self._local_now()).value
        except IntakeError:
            request = None
        offered_days = {datetime.fromisoformat(o["start"]).date() for o in offers}
        if request is not None and request.asap and request.at is None and \
                request.earliest is None and (request.day is None or
                                              offered_days == {request.day}):
            # "Friday then, as early as you can" with Friday's times on the table
            yield from self._hold(1)
            return
        if request is not None:
            store_request(self.state, request, text)
            yield from self._search()
            return
        if u.no or "none" in text.lower() or "other" in text.lower():
            self.state.request = None
            self.state.step = steps.COLLECT
            yield from self._ask("when", "No problem.")
            return
        yield from self._say(f"Sorry, which one? {prompts.say_offers(offers)}",
                             prompt=prompts.say_offers(offers))

    def _hold(self, option: int, lead: str = "") -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self._tool("hold_slot", {"option": option}, events)
        yield from events
        if not result.ok:
            self.state.offers = []
            count = self.state.attempts.get("hold", 0) + 1
            self.state.attempts["hold"] = count
            if count >= MAX_ATTEMPTS:
                yield from self._start(intents.MESSAGE, "", lead="I'm sorry, I couldn't reserve "
                                       "a time just now. I'll take a message so the front desk "
                                       "can call you to book it.")
                return
            if self.state.request is not None:
                self.state.request["at"] = None  # that exact time is gone: offer the nearest
            yield from self._search(f"I'm sorry, {result.reason.split(';')[0]}.")
            return
        self.state.step = steps.CONFIRM
        self.state.pending = None
        question = self._read_back()
        yield from self._say(f"{lead} {question}".strip(), prompt=question)

    def _read_back(self) -> str:
        hold = self.state.hold or {}
        when = prompts.when_text(hold["start"]) if hold else ""
        kind = self.clinic.appointment_type(hold["appointment_type_id"]).name if hold else ""
        f = self.state.fields
        if self.state.intent == intents.RESCHEDULE:
            return f"To confirm, I'll move your appointment to {when} with " \
                   f"{prompts.spoken_name(hold.get('provider_name', ''))}. Shall I go ahead?"
        parts = [f"To confirm: {kind} on {when} with "
                 f"{prompts.spoken_name(hold.get('provider_name', ''))}, for "
                 f"{f.get('first_name', '')} {f.get('last_name', '')}"]
        if f.get("dob"):
            parts.append(f"born {say_date(date.fromisoformat(f['dob']), with_year=True)}")
        if f.get("phone"):
            from voiceagent.intake.tokens import say_chars

            parts.append(f"phone {say_chars(f['phone'][-10:], (3, 3, 4))}")
        return ", ".join(parts) + ". Shall I book it?"

    def _confirm(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        intent = self.state.intent
        if not self.state.caller_confirmed and not u.no:
            # neither a clear yes nor a clear no: understood afresh
            if u.question:
                answer = self._answer_question(text)
                yield from self._say(f"{answer} {self.state.last_prompt}",
                                     prompt=self.state.last_prompt)
                return
            changed = {k for k in u.values if k not in ("when", "reason", "body_part",
                                                         "surgery", "referred")}
            if changed and intent == intents.BOOK:
                u.correction = True
                ack = self._apply(u)
                question = self._read_back()
                yield from self._say(f"{ack} {question}".strip(), prompt=question)
                return
        if self.state.caller_confirmed:
            events: list[DialogEvent] = []
            if intent == intents.BOOK:
                result = self._tool("book_appointment", {}, events)
            elif intent == intents.RESCHEDULE:
                result = self._tool("reschedule_appointment",
                                    {"appointment_id": self.state.target_appointment_id}, events)
            elif intent == intents.CANCEL:
                result = self._tool("cancel_appointment",
                                    {"appointment_id": self.state.target_appointment_id}, events)
            else:
                yield from self._wrap("")
                return
            yield from events
            if result.ok:
                yield from self._wrap(self._done_text(intent))
                return
            code = result.data.get("code")
            if code in ("slot_taken", "hold_expired", "no_room"):
                self.state.step = steps.COLLECT
                yield from self._search("I'm sorry, that time was just taken.")
                return
            yield from self._start(intents.MESSAGE, "", lead="I'm sorry, I couldn't complete "
                                   "that. I'll take a message so the front desk can finish it.")
            return
        if not u.no:
            # neither yes nor no: perhaps a different time
            try:
                request = parse_appointment_request(text, self._local_now()).value
            except IntakeError:
                request = None
            if request is not None and intent in (intents.BOOK, intents.RESCHEDULE):
                store_request(self.state, request, text)
                self.state.step = steps.COLLECT
                yield from self._search()
                return
            yield from self._say(f"Sorry, was that a yes? {self.state.last_prompt}",
                                 prompt=self.state.last_prompt)
            return
        if intent == intents.CANCEL:
            yield from self._wrap("Okay, I won't cancel it.")
            return
        norm = intents.normalize(text)
        for field, words in CORRECTABLE.items():
            if any(w in norm.split() or w in norm for w in words) and field in self.state.fields \
                    or (field == "when" and any(w in norm.split() for w in words)):
                self.state.fields.pop(field, None)
                if field == "full_name":
                    self.state.fields.pop("last_name_spelled", None)
                if field == "when":
                    self.state.request = None
                    self._release_hold()
                self.state.step = steps.COLLECT
                yield from self._next("Let's fix that.")
                return
        self.state.pending = "correction"
        yield from self._say("What should I change: the time, your name, date of birth or "
                             "phone number?", prompt="What should I change?")

    def _done_text(self, intent: str | None) -> str:
        b = self.state.booking or {}
        if intent == intents.BOOK:
            kind = self.clinic.appointment_type(b["appointment_type_id"]).name
            text = f"You're all set: {kind} on {prompts.when_text(b['start'])} with " \
                   f"{prompts.spoken_name(b['provider_name'])}."
            bring = b.get("what_to_bring") or []
            if bring:
                text += f" Please bring {_join(bring)}."
            return text
        if intent == intents.RESCHEDULE:
            return f"Done. Your appointment is now {prompts.when_text(b['start'])} with " \
                   f"{prompts.spoken_name(b['provider_name'])}."
        return "Your appointment is cancelled."

    # --- verified flows: my appointments, reschedule, cancel ------------------------------

    def _verified_flow(self, lead: str = "") -> Iterator[DialogEvent]:
        f = self.state.fields
        events: list[DialogEvent] = []
        if self.state.patient_id is None:
            result = self._tool("verify_identity", {
                "first_name": f["first_name"], "last_name": f["last_name"],
                "date_of_birth": f["dob"], "phone": f.get("phone", ""),
            }, events)
            yield from events
            events = []
            if not result.ok:
                count = self.state.attempts.get("verify", 0) + 1
                if result.data.get("code") == "too_many_attempts":
                    yield from self._transfer("")
                    return
                if count >= 2:
                    yield from self._start(intents.MESSAGE, "", lead="I still can't find a "
                                           "matching record. I'll take a message so the front "
                                           "desk can help.")
                    return
                for key in ("full_name", "first_name", "last_name", "dob", "phone"):
                    f.pop(key, None)
                self.state.attempts["verify"] = count
                yield from self._next("Those details don't match our records. "
                                      "Let's try once more.")
                return
        if not self.state.appointments:
            result = self._tool("find_my_appointments", {}, events)
            yield from events
            if not result.ok:
                yield from self._wrap("I'm sorry, I couldn't look that up right now.")
                return
        appointments = self.state.appointments
        if not appointments:
            yield from self._wrap("I don't see any upcoming appointments for you.")
            return
        intent = self.state.intent
        if intent == intents.MY_APPOINTMENTS:
            listed = _join([self._appointment_text(a) for a in appointments])
            yield from self._wrap(f"{lead} You have {listed}.".strip())
            return
        if self.state.target_appointment_id is None:
            if len(appointments) == 1:
                self.state.target_appointment_id = appointments[0]["appointment_id"]
            else:
                listed = ", ".join(f"{i}: {self._appointment_text(a)}"
                                   for i, a in enumerate(appointments, 1))
                self.state.pending = "which_appointment"
                question = f"You have {len(appointments)} appointments: {listed}. Which one?"
                yield from self._say(question, prompt=question)
                return
        target = next(a for a in appointments
                      if a["appointment_id"] == self.state.target_appointment_id)
        if intent == intents.CANCEL:
            self.state.step = steps.CONFIRM
            said = next((m["content"] for m in reversed(self.state.history)
                         if m["role"] == "user"), "")
            if len(appointments) > 1 and _DO_IT.search(said):
                # "just cancel the Friday one": asked for in so many words; it is read back
                self.state.caller_confirmed = True
                yield from self._confirm(said, understand(said, self.clinic, self.router,
                                                          self._local_now()))
                return
            question = f"Shall I cancel your {self._appointment_text(target)}?"
            yield from self._say(f"{lead} {question}".strip(), prompt=question)
            return
        # reschedule: ask for the new time
        if self.state.request is None:
            self.state.pending = "when"
            self.state.fields.pop("when", None)
            yield from self._ask("when", f"Your current appointment is "
                                 f"{self._appointment_text(target)}.")
            return
        yield from self._search(lead)

    def _target_appointment(self) -> dict[str, Any] | None:
        return next((a for a in self.state.appointments
                     if a["appointment_id"] == self.state.target_appointment_id), None)

    def _appointment_text(self, appt: dict[str, Any]) -> str:
        try:
            kind = self.clinic.appointment_type(appt["appointment_type_id"]).name
        except KeyError:
            kind = "appointment"
        return f"{kind} on {prompts.when_text(appt['start'])}"

    def _take_message(self, lead: str = "") -> Iterator[DialogEvent]:
        f = self.state.fields
        events: list[DialogEvent] = []
        result = self._tool("take_message", {
            "name": f"{f.get('first_name', '')} {f.get('last_name', '')}".strip() or "caller",
            "phone": f.get("phone") if f.get("phone") not in (None, "", "unknown") else "unknown",
            "message": " ".join(p for p in (f.get("topic"), f.get("message_body"))
                                if p) or f.get("reason") or "please call back",
        }, events)
        yield from events
        if result.ok:
            self.state.intent = None
            for key in ("topic", "message_body"):
                f.pop(key, None)
            yield from self._wrap(f"{lead} I've passed your message on, and someone will call "
                                  "you back.".strip())
            return
        yield from self._wrap("I'm sorry, I couldn't save the message. Please call back during "
                              "office hours.")

    # --- capable mode: the LLM chooses tools and words ------------------------------------

    def _capable_turn(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        assert self.llm is not None
        if self.state.step in (steps.INTENT, steps.WRAP_UP):
            route = self.router.route(text)
            if route.intent is not None and route.intent not in (
                    intents.QUESTION, intents.GOODBYE, intents.HUMAN):
                self.state.intent = route.intent
                self.state.step = steps.COLLECT
        self._prefill(text)
        spoke = False
        for _round in range(4):
            box: list[tuple[str, str | None, dict[str, Any]]] = []
            for event in self._llm_action(box):
                spoke = True
                yield event
            if not box:
                if not spoke:
                    yield from self._small_turn(text, u)  # the model failed; templates carry on
                return
            say, tool, arguments = box[0]
            if say:
                self._remember("assistant", say)
                self.state.last_prompt = say
            if tool is None:
                return
            events: list[DialogEvent] = []
            result = self._tool(tool, arguments, events)
            yield from events
            self.state.history.append({"role": "tool", "content": json.dumps(
                {"tool": tool, "ok": result.ok, "data": result.data, "reason": result.reason},
                default=str)})
            if result.ok:
                yield from self._after_capable_tool(tool, result)
                if self.state.step == steps.ENDED:
                    return
        yield from self._say("Let me take a message so the staff can help you.",
                             prompt="")
        self.state.step = steps.COLLECT
        self.state.intent = intents.MESSAGE

    def _prefill(self, text: str) -> None:
        """Run the spoken-form parsers on the caller's words so the model sees clean values
        (E.164 phone, ISO dates, spelled names) instead of guessing them."""
        expected = prompts.expected_from_question(self.state.last_prompt)
        f = self.state.fields
        today = self._local_now().date()
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
        if self.state.step in (steps.COLLECT, steps.OFFER):
            try:
                store_request(self.state, parse_appointment_request(text, self._local_now()).value,
                              text)
            except IntakeError:
                pass

    def _after_capable_tool(self, tool: str, result: ToolResult) -> Iterator[DialogEvent]:
        """Advance the step from what a tool did (the LLM does not choose the step)."""
        if tool == "find_slots" and result.data.get("slots"):
            self.state.step = steps.OFFER
        elif tool == "find_my_appointments" and self.state.intent == intents.CANCEL and \
                result.data.get("appointments"):
            self.state.step = steps.CONFIRM  # the next yes confirms the cancellation
        elif tool == "hold_slot":
            self.state.step = steps.CONFIRM
        elif tool in ("book_appointment", "reschedule_appointment", "cancel_appointment",
                      "take_message", "answer_faq"):
            self.state.step = steps.WRAP_UP
        elif tool == "transfer_call":
            self.state.step = steps.ENDED
            yield Transfer(str(result.data["address"]), summary=self._transfer_summary())
        elif tool == "end_call":
            self.state.step = steps.ENDED
            yield EndCall(self.state.outcome or "completed")

    def _llm_action(
        self, box: list[tuple[str, str | None, dict[str, Any]]]
    ) -> Iterator[DialogEvent]:
        """Ask the model for its next action; speak its ``say`` clause by clause as it is
        generated, and put ``(say, tool, arguments)`` in ``box`` (empty when unusable)."""
        assert self.llm is not None
        schemas = self.tools.schemas()
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
            known, self._local_now().strftime("%A %Y-%m-%d %H:%M"))))
        speech = SayStream()
        raw = ""
        try:
            for piece in self.llm.stream(messages, json_schema=prompts.action_schema(schemas),
                                         max_tokens=256):
                raw += piece
                for clause in speech.feed(piece):
                    yield ReplyText(clause)
            for clause in speech.flush():
                yield ReplyText(clause)
            data = json.loads(raw)
        except Exception:
            log.warning("llm_action_failed", extra={"call_id": self.call_id})
            return
        if not isinstance(data, dict):
            return
        tool = data.get("tool")
        arguments = data.get("tool_arguments") or {}
        if tool is not None and not isinstance(tool, str):
            return
        box.append((str(data.get("say") or "").strip(), tool,
                    arguments if isinstance(arguments, dict) else {}))


_QUESTION_WORDS = ("what", "where", "when", "how", "do", "does", "is", "are", "can", "could",
                   "will", "which", "who", "should", "would", "may")


def _question_shaped(text: str) -> bool:
    """A question by its form, so that an answer like "Linda Park" is not taken for one."""
    words = intents.normalize(text).split()
    return text.rstrip().endswith("?") or bool(words and words[0] in _QUESTION_WORDS)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# the action asked for in so many words: "no, I'll rebook later; just cancel it please"
_DO_IT = re.compile(r"\b(just |please |go ahead and |yes,? )(cancel|book|move|change) (it|that|"
                    r"that one|the \w+ one)\b|\b(cancel|book|move) it,? please\b", re.I)

_BOOKING_SIGNS = {"reason", "referred", "body_part", "surgery", "coverage_kind",
                  "referring_provider"}


def _sounds_like_booking(u: Understanding) -> bool:
    """A caller who describes a problem or a referral wants to come in, even without the
    word "book" ("my doctor sent me over for my knee", "could I come Wednesday at 7?")."""
    signs = set(u.values) & _BOOKING_SIGNS
    if u.question:
        signs -= {"referred"}  # "do I need a referral?" is a question, not a request
        return bool(signs & {"reason", "body_part", "surgery"}) or bool(
            re.search(r"\b(can|could|may) i (come|get|see|book|schedule)", u.text, re.I))
    return bool(signs) or "when" in u.values


_GENERIC = set("""i i'd id i'm like to want would need leave a an message can could you take for
the front desk please someone somebody call me back have speak talk person real human hi
hello hey yes yeah is there with of my it just and so um uh okay""".split())


def _substantive(topic: str) -> bool:
    """Whether what the caller first said says what the message is about ("my bill came
    twice"), not only that they want one ("can I leave a message?")."""
    return len([w for w in intents.normalize(topic).split() if w not in _GENERIC]) >= 3


def _done_words(text: str) -> bool:
    """A caller who is done: "no, that's all", "perfect, thank you", "okay, thanks"."""
    norm = intents.normalize(text)
    if re.search(r"\b(i'?ll|we'?ll|she'?ll|he'?ll|they'?ll|let me) (call|have (her|him|them) "
                 r"call|get back|think|talk|check|see if|ask)\b", norm) and re.search(
            r"\b(thanks|thank you|bye|goodbye)\b", norm):
        return True  # "Okay, I'll have her call back. Thank you!"
    if any(p in norm for p in ("that's all", "that is all", "that's it", "nothing else",
                               "that's everything", "i'm good", "i'm all set", "all set",
                               "no that's", "have a good", "have a nice", "take care")):
        return True
    words = norm.split()
    return len(words) <= 6 and any(w in ("thanks", "thank", "thankyou", "bye", "goodbye")
                                   for w in words)


def _original_medicare(fields: dict[str, str]) -> bool:
    """Original Medicare has an eleven-character MBI; an Advantage plan its own member ID."""
    payer = fields.get("payer", "").lower()
    return (payer == "medicare" or fields.get("plan_type") == "medicare") and \
        "advantage" not in payer


def _payer_words(text: str) -> bool:
    norm = intents.normalize(text)
    return any(w in norm for w in ("insurance", "self pay", "pay cash", "pay myself", "plan",
                                   "don't have", "no insurance", "through my", "medicare",
                                   "medicaid"))
