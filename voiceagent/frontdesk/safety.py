"""Safety and social turns: red-flag symptoms, requests for medical advice, prompt injection,
questions about another person, wrong numbers and spam."""

from __future__ import annotations

from collections.abc import Iterator

from voiceagent.dialog.protocol import DialogEvent, Transfer
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.conversation import Flow
from voiceagent.frontdesk.redflags import RedFlagRule, Severity
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import Social, Understanding

MEDICAL_ADVICE = (
    "should i take", "should i ice", "ice or heat", "heat or ice", "is it normal", "is it broken",
    "is it torn", "is it serious", "what medication", "which medication", "painkiller",
    "ibuprofen", "tylenol", "advil", "diagnose", "diagnosis for", "what exercises should",
    "is that normal", "is this normal", "should i back off", "should i stop", "should i keep",
    "should i be worried", "is it okay to", "is it ok to", "can i still run",
    "can i still work out", "can i still exercise", "can i still play", "can i still lift",
    "can i still walk on",
    "what exercise should", "what should i do about my", "do i need surgery", "is it safe to",
)


class Safety(Flow):
    """Turns that come before clinic business, whatever the step."""

    def red_flag(self, flag: RedFlagRule) -> Iterator[DialogEvent]:
        """Advice first, then an urgent message to the clinical owners. An emergency ends
        the call (a transfer only where the config allows it: the caller needs 911, not the
        desk); after urgent advice the caller may go on."""
        self.state.fields["red_flag"] = flag.id
        yield from self.conv.say(flag.advice, prompt="")
        emergency = flag.severity is Severity.EMERGENCY
        if emergency:
            self.state.outcome = "emergency_escalation"
        if flag.transfer:
            events: list[DialogEvent] = []
            result = self.conv.tool("transfer_call", {"summary": f"red flag: {flag.id}"}, events)
            yield from events
            if result.ok:
                self.state.outcome = "emergency_escalation"
                yield from self.conv.say("I'm connecting you with our staff now.", prompt="")
                self.state.step = Step.ENDED
                yield Transfer(str(result.data["address"]), summary=f"Red flag: {flag.id}.")
                return
        events = []
        phone = self.state.fields.get("phone")
        if not emergency:
            self.state.outcome = "urgent_symptoms"
        self.conv.tool("take_message", {  # at once: the caller may hang up any moment now
                "name": self.conv.caller_name() or "caller", "phone": phone or "unknown",
                "message": f"Red flag reported ({flag.id}, {flag.severity.value}); the caller was "
                               "given the advice. Please call back urgently.",
                "urgent": True, "category": flag.message_category or self.conv.clinical_category(),
        }, events)
        yield from events
        if emergency:
            yield from self.conv.end("I've also let our clinical team know. Please don't wait: "
                                     "get help now. Goodbye.", outcome="emergency_escalation")
            return
        if not self.conv.caller_name() or not phone:
            # the clinical team must be able to call back: the name and number go onto the
            # message just sent (Messages.take_message)
            self.state.fields["urgent_details"] = "yes"
            yield from self.flows.opening.start(
                intents.MESSAGE, "", lead="I've let our clinical team know. So they can call you "
                "back today, I'll take your details.")
            return
        yield from self.conv.wrap("I've let our clinical team know, and someone will call you back "
                                  "today.")

    def clinical_context(self) -> str:
        """What earlier turns said that changes what a symptom means ("after my surgery")."""
        f = self.state.fields
        return "after my surgery" if f.get("surgery") or f.get("surgery_date") else ""

    def social(self, u: Understanding) -> Iterator[DialogEvent]:
        """Turns that are not clinic business: handled in role, nothing else changes."""
        kind = u.social
        if kind is Social.INJECTION:
            self.state.outcome = "security_refusal"
            self.backend.security_event("security_refusal", self.state.channel)
            resume = self.state.last_prompt if self.state.step != Step.INTENT else \
                prompts.HOW_CAN_I_HELP
            yield from self.conv.say("I can't do that. I'm the clinic's assistant: I can book, "
                                     "change or cancel your own appointments, answer questions "
                                     f"about the clinic, or take a message. {resume}".strip(),
                                     prompt=resume)
            return
        if kind is Social.THIRD_PARTY:
            self.state.outcome = "privacy_refusal"
            self.backend.security_event("third_party_request", self.state.channel)
            self.state.fields["privacy_refused"] = "yes"
            yield from self.conv.say(
                "To protect our patients' privacy, I can't share anything about another "
                "person's appointments or care, even with family. They're welcome to call us "
                "themselves, or I can take a message and have the clinic follow up with them.",
                prompt="Would you like to leave a message?")
            self.state.step = Step.WRAP_UP
            self.state.intent = None
            self.state.pending = "offer_message"
            return
        if kind is Social.WRONG_NUMBER:
            yield from self.conv.end(f"No problem. You've reached {self.clinic.name}. Have a good "
                                     "day. Goodbye.", outcome="wrong_number")
            return
        yield from self.conv.end("Thank you, but we're not interested. Goodbye.", outcome="spam")

    def medical_advice(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """A request for medical advice: none is given; at the start or the end of a
        call it becomes a booking or a message for the clinical team."""
        if self.state.step == Step.INTENT and set(u.values) & {"referred", "surgery",
                                                                "referring_provider"}:
            # "I was referred after surgery; my fingers go numb, is that normal?": no
            # advice, and the evaluation they were sent for is booked
            self.flows.intake.apply(u)
            yield from self.flows.opening.start(
                intents.BOOK, text, lead="I can't give medical advice, "
                "but your therapist will go over that at your "
                "evaluation.", keep_lead=True)
            return
        if self.state.step in (Step.INTENT, Step.WRAP_UP):
            # a clinical question: no advice, a message for the clinical team instead
            self.state.fields["message_category"] = self.conv.clinical_category() or ""
            yield from self.flows.opening.start(intents.MESSAGE, text, lead="I'm not able to give "
                                                "medical advice, but I'll take a message for your "
                                                "therapist and they'll call you back.")
            return
        if self.state.pending == "message_body":
            # the question for the therapist is the message being taken
            self.state.fields["message_category"] = self.conv.clinical_category() or ""
            yield from self.flows.intake.collect(text, u)
            return
        yield from self.conv.say(f"{prompts.NO_MEDICAL_ADVICE} {self.state.last_prompt}".strip(),
                                 prompt=self.state.last_prompt)


def asks_medical_advice(text: str) -> bool:
    norm = intents.normalize(text)
    return any(p in norm for p in MEDICAL_ADVICE)
