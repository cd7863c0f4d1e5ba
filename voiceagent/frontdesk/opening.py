"""Opening a request: what the caller wants (router, then the small model to break ties), an
answer to a question, a transfer, and the start of the flow the intent needs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from voiceagent.dialog.protocol import DialogEvent, Transfer
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.answers import parse_field
from voiceagent.frontdesk.conversation import MAX_ATTEMPTS, Flow
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import (
    Shape,
    Understanding,
    answer_shape,
    describes_problem,
    name_in,
)
from voiceagent.llm.choice import choose
from voiceagent.llm.protocol import ChatMessage

log = logging.getLogger(__name__)

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

_BOOKING_SIGNS = {"reason", "referred", "body_part", "surgery", "coverage_kind",
                  "referring_provider"}


class Opening(Flow):
    """Finds out what the caller wants and starts the flow for it."""

    def identify(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """No intent yet (or wrapping up): what does the caller want?"""
        if self.state.pending == "offer_message":
            self.state.pending = None
            if u.yes:
                yield from self.start(intents.MESSAGE, "")
                return
            if u.no and not u.intents and not u.question:
                yield from self.conv.goodbye()
                return
            named = name_in(text, self.clinic)
            if (set(u.values) & {"full_name", "dob", "phone"} or named) and not u.intents:
                # "Andrea Lukas. L, U, K, A, S." after "I can take a message for our records
                # team": the message is being given
                if "full_name" not in u.values and named:
                    parse_field("full_name", named, self.state, self.clinic,
                                self.conv.local_now())
                yield from self.start(intents.MESSAGE, "", lead=self.flows.intake.apply(u),
                                      keep_lead=True)
                return
        if self.state.pending == "confirm_intent" and u.question and not u.no and \
                not [i for i in u.intents if i != intents.QUESTION] and \
                (not u.yes or text.rstrip().endswith("?")):
            # "and each visit after that?", "yeah, I figured. So what would it cost if I paid
            # myself?": answer, and the offer to book still stands
            answer = self.conv.answer_question(text)
            yield from self.conv.say(f"{answer} {self.state.last_prompt}".strip(),
                                     prompt=self.state.last_prompt)
            return
        if self.state.pending == "confirm_intent":
            guess = self.state.fields.pop("guessed_intent", None)
            said = self.state.fields.pop("guessed_from", "")
            self.state.pending = None
            shape = answer_shape(text, self.clinic, self.conv.local_now().date())
            if u.intents[:1] == [intents.GOODBYE] or (done_words(text) and (
                    not u.yes or re.search(r"\bthat'?s (all|everything|it)\b|\ball set\b|"
                                           r"\bnothing else\b", text, re.I))):
                # "great, I'll call back to book, thanks" / "thank you, dear"
                yield from self.conv.goodbye()
                return
            if guess and (u.yes or u.intents[:1] == [guess] or
                          shape in (Shape.NAME, Shape.DATE, Shape.PHONE) or
                          set(u.values) & {"full_name", "dob", "phone", "payer_named"}):
                # details given in answer to "shall I book?" are a yes
                if shape is Shape.NAME and "full_name" not in self.state.fields:
                    parse_field("full_name", text, self.state, self.clinic, self.conv.local_now())
                ack = self.flows.intake.apply(u)
                yield from self.start(guess, said, lead=ack, keep_lead=bool(ack))
                return
        wanted = [i for i in u.intents if i != intents.QUESTION]
        scores = u.scores
        if self.state.step == Step.WRAP_UP and self.state.message_id is not None and \
                not u.question and len(text.split()) >= 4 and not done_words(text) and \
                (not wanted or wanted[0] == intents.MESSAGE):
            # "It was forty dollars, charged twice": more for the message just taken
            self.backend.add_to_message(self.state.message_id, text[:1000])
            yield from self.conv.wrap("Thank you, I've added that to your message.")
            return
        answer = ""
        if u.question and not (wanted and wanted[0] in (intents.HUMAN, intents.MESSAGE,
                                                        intents.MY_APPOINTMENTS) and
                               scores.get(wanted[0], 0) >= 3):
            # ("can you tell me when it is?" is answered by looking up their appointment)
            answer = self.conv.answer_question(text)
        if u.question and wanted and wanted[0] in (intents.GOODBYE, intents.HUMAN) and \
                scores.get(wanted[0], 0) < 3:
            wanted = []
        if not wanted and _sounds_like_booking(u) and not (
                self.state.step == Step.WRAP_UP and set(u.values) & _BOOKING_SIGNS == set()):
            if u.question:
                # "my doctor wants me to do therapy; how long is the first visit?": answer,
                # then offer, rather than start asking for a name
                yield from self._offer_booking(u, text, answer)
                return
            wanted = [intents.BOOK]
        if self.state.step == Step.WRAP_UP and not wanted and not u.question and \
                "when" in u.values and not done_words(text) and \
                re.search(r"\b(open|close|closed|hours)\b", self.state.last_question, re.I):
            # "... from the Friday after." (a transcript of "what about the Friday after?")
            # right after asking about the hours: the hours on that day
            answer = self.conv.answer_question(text)
            if not answer.startswith("I don't have"):
                yield from self.conv.wrap(answer)
                return
        if self.state.step == Step.WRAP_UP and not wanted and not u.question and (
                not u.yes or done_words(text)) and not (set(u.values) & _BOOKING_SIGNS -
                                                          {"when"}):
            # "no, that's all", "okay, I'll call my surgeon now, thanks": the caller is done
            yield from self.conv.goodbye()
            return
        if not wanted:
            if answer:
                yield from self.conv.wrap(answer)
                if re.search(r"\btake a message\b", answer):  # the answer offered one
                    self.state.pending = "offer_message"
                    self.state.fields.setdefault("topic", text[:300])
                return
            if self.state.step == Step.WRAP_UP and re.fullmatch(
                    r"(okay|ok|alright|all right|great|perfect|cool|good|sounds good)[,.!]*"
                    r"(\s+\w+[.!]*)?", text.strip(), re.I):
                # "Okay, thanks." (heard as "Okay, Hank.") to "anything else?": done
                yield from self.conv.goodbye()
                return
            if self.state.step == Step.WRAP_UP and u.yes:
                yield from self.conv.say("Sure, what else can I help with?",
                                         prompt="What else can I help with?")
                return
            shape = answer_shape(text, self.clinic, self.conv.local_now().date())
            named = name_in(text, self.clinic) if shape in (Shape.NAME, Shape.SPELLING) else None
            if self.state.intent is None and self.state.outcome is None and (
                    named or shape in (Shape.DATE, Shape.PHONE) or
                    set(u.values) & {"full_name", "dob", "phone"}) and any(
                    describes_problem(m["content"]) for m in self.state.history
                    if m["role"] == "user"):
                # the problem was told, a question answered, and now the caller gives their
                # name: they are booking ("Dorothy Pfeiffer. That's P, F, E, I, F, F, E, R.")
                if named and "full_name" not in u.values:
                    parse_field("full_name", named, self.state, self.clinic,
                                self.conv.local_now())
                    self.flows.intake.mark_spelling(text)
                yield from self.start(intents.BOOK, text, lead=self.flows.intake.apply(u),
                                      keep_lead=True)
                return
            guess = self._llm_intent(text)
            if guess is not None and guess not in (intents.HUMAN, intents.GOODBYE):
                self.state.fields["guessed_intent"] = guess
                self.state.fields["guessed_from"] = text[:300]
                self.state.pending = "confirm_intent"
                question = f"Just to check, would you like to {prompts.INTENT_WORDS[guess]}?"
                yield from self.conv.say(question, prompt=question)
                return
            count = self.state.attempts.get("intent", 0) + 1
            self.state.attempts["intent"] = count
            if count >= MAX_ATTEMPTS:
                yield from self.start(intents.MESSAGE, text,
                                      lead="I'm sorry, I'm not sure I can help with that, but "
                                      "I can take a message for the staff.")
                return
            yield from self.conv.say(f"Sorry, I'm not sure I understood. {prompts.MENU}",
                                     prompt=prompts.MENU)
            return
        intent = wanted[0]
        if u.question and intent == intents.BOOK and \
                scores.get(intents.BOOK, 0) < 3.5:
            # "do I need a referral for an evaluation?" is a question first: answer, offer
            yield from self._offer_booking(u, text, answer)
            return
        if intent in (intents.GOODBYE,):
            yield from self.conv.goodbye()
            return
        if intent == intents.HUMAN:
            yield from self.transfer(text)
            return
        ack = self.flows.intake.apply(u) if intent in (
            intents.BOOK, intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS,
            intents.MESSAGE) else ""
        if answer and "we accept" in answer:  # the answer already said so
            ack = re.sub(r"Great, we accept [^.]+\.\s*", "", ack)
        lead = " ".join(p for p in (answer, ack) if p)
        yield from self.start(intent, text, lead=lead, keep_lead=bool(lead))

    def _offer_booking(self, u: Understanding, text: str, answer: str
                       ) -> Iterator[DialogEvent]:
        """Answer the question, keep what the turn said, and offer to book."""
        self.state.fields["guessed_intent"] = intents.BOOK
        self.state.fields["guessed_from"] = text[:300]
        self.state.pending = "confirm_intent"
        self.flows.intake.apply(u)
        question = "Would you like me to book an evaluation for you?"
        yield from self.conv.say(f"{answer} {question}".strip(), prompt=question)

    def _llm_intent(self, text: str) -> str | None:
        """Ask the LLM to choose an intent (small mode's one use of it), grammar-bound."""
        if self.conv.llm is None or len(text.split()) < 3:
            return None
        messages = [ChatMessage("system", INTENT_PROMPT), ChatMessage("user", text)]
        try:
            value = choose(self.conv.llm, messages, [*INTENT_LABELS, "other"])
        except Exception:
            log.warning("llm_intent_failed", extra={"call_id": self.conv.call_id})
            return None
        return INTENT_LABELS.get(value or "")

    def start(self, intent: str, text: str, lead: str = "",
               keep_lead: bool = False) -> Iterator[DialogEvent]:
        if intent not in intents.KNOWN_INTENTS:
            intent = intents.MESSAGE
        self.state.attempts.pop("intent", None)
        if intent == intents.GOODBYE:
            yield from self.conv.goodbye()
            return
        if intent == intents.QUESTION:
            yield from self._answer(text)
            return
        if intent == intents.HUMAN:
            yield from self.transfer(text)
            return
        self.state.intent = intent
        self.state.step = Step.COLLECT
        self.state.attempts = {}
        if intent == intents.MESSAGE and text and "topic" not in self.state.fields:
            self.state.fields["topic"] = text[:300]

        if intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS):
            # always a fresh list: an earlier change in this call may have altered it
            self.state.appointments = []
            self.state.target_appointment_id = None
            self.state.cancel_all = False
            self.state.request = None
            self.state.fields.pop("which_appointment", None)
        if intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS) and \
                self.state.patient_id is None:
            lead = (lead + " I can help with that. First I need to confirm who you are.").strip()
        elif not lead or keep_lead:
            opener = {intents.BOOK: "I'd be happy to help you book an appointment.",
                      intents.MESSAGE: "I'll take a message."}.get(intent, "Sure.")
            lead = f"{lead} {opener}".strip() if keep_lead else opener
        yield from self.flows.intake.next(lead)

    def _answer(self, text: str) -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self.conv.tool("answer_faq", {"question": text[:500]}, events)
        yield from events
        if result.ok:
            yield from self.conv.wrap(str(result.data["answer"]))
            return
        self.state.step = Step.WRAP_UP
        self.state.fields["topic"] = text[:300]  # what the message will be about
        yield from self.conv.say("I'm sorry, I don't have that information. I can take a message "
                                 "and someone from the clinic will call you back. Would you like "
                                 "that?", prompt="Would you like to leave a message?")
        self.state.pending = "offer_message"

    def transfer(self, text: str) -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self.conv.tool("transfer_call", {"summary": "caller asked for a person"}, events)
        yield from events
        if result.ok:
            self.conv.release_hold()
            yield from self.conv.say(f"Of course. I'm transferring you to {result.data['name']} "
                                     "now.", prompt="")
            self.state.step = Step.ENDED
            yield Transfer(str(result.data["address"]),
                           summary=self.conv.transfer_summary())
            return
        yield from self.start(intents.MESSAGE, text,
                              lead="Nobody is available to take the call right now, but I "
                              "can take a message and have someone call you back.")


def _sounds_like_booking(u: Understanding) -> bool:
    """A caller who describes a problem or a referral wants to come in, even without the
    word "book" ("my doctor sent me over for my knee", "could I come Wednesday at 7?")."""
    signs = set(u.values) & _BOOKING_SIGNS
    if u.question:
        signs -= {"referred"}  # "do I need a referral?" is a question, not a request
        return bool(signs & {"reason", "body_part", "surgery"}) or bool(
            re.search(r"\b(can|could|may) i (come|get|see|book|schedule)", u.text, re.I))
    return bool(signs) or "when" in u.values


def leaving(text: str) -> bool:
    """A caller taking their leave, whatever was asked: "okay, I'll call my surgeon right now,
    thanks", "have a good day", "bye"."""
    norm = intents.normalize(text)
    if re.search(r"\b(i'?ll|we'?ll|she'?ll|he'?ll|they'?ll|let me) (call|have (her|him|them) "
                 r"call|get back|think|talk|check|see if|ask|wait for|be waiting|look out for|"
                 r"keep an eye)\b", norm) and re.search(
            r"\b(thanks|thank you|bye|goodbye)\b", norm):
        return True  # "Okay, I'll have her call back. Thank you!"
    if re.search(r"\b(i'?ll|i will|i'?m (going to|gonna)) (call|phone|ring|contact) (my|his|her|"
                 r"their|the|dr|doctor)\b.{0,40}\b(now|right now|right away|today|first)\b", norm):
        return True  # "Okay, I'll call his office right now" (after advice to call the surgeon)
    return any(p in norm for p in ("have a good", "have a nice", "take care", "goodbye", "bye bye"))


def done_words(text: str) -> bool:
    """A caller who is done: "no, that's all", "perfect, thank you", "okay, thanks"."""
    if leaving(text):
        return True
    norm = intents.normalize(text)
    if re.search(r"\b(that'?s all|that is all)\b(?! right)|\bthat'?s (it|everything)\b|"
                 r"\bnothing else\b|\bi'?m (good|all set)\b|\ball set\b|\bno,? that'?s\b",
                 norm):  # not "that's all right" (that's fine)
        return True
    words = norm.split()
    return len(words) <= 6 and any(w in ("thanks", "thank", "thankyou", "bye", "goodbye")
                                   for w in words)
