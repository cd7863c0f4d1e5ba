"""The flows of one conversation, and which of them takes a turn in small mode (router,
state and templates)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from voiceagent.dialog.protocol import DialogEvent
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.appointments import OwnAppointments
from voiceagent.frontdesk.booking import Booking
from voiceagent.frontdesk.capable import CapableMode
from voiceagent.frontdesk.conversation import Conversation
from voiceagent.frontdesk.intake import Intake
from voiceagent.frontdesk.messages import Messages
from voiceagent.frontdesk.opening import Opening, done_words, leaving
from voiceagent.frontdesk.safety import Safety
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import Understanding


class Flows:
    """Each flow of the conversation, built on one shared core; a flow hands the turn to
    another through this."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.opening = Opening(conv, self)
        self.intake = Intake(conv, self)
        self.booking = Booking(conv, self)
        self.appointments = OwnAppointments(conv, self)
        self.messages = Messages(conv, self)
        self.safety = Safety(conv, self)
        self.capable = CapableMode(conv, self)

    def small_turn(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """Small mode: every turn read by every extractor; the step decides what is next."""
        step = self.conv.state.step
        if step == Step.CONFIRM and self.conv.state.caller_confirmed:
            yield from self.booking.confirm(text, u)  # "no, I'll rebook later; just cancel it"
            return
        if step in (Step.INTENT, Step.WRAP_UP):
            yield from self.opening.identify(text, u)
            return
        side = self._side_request(u)
        if side is not None:
            yield from self._handle_side_request(side, text)
            return
        if step == Step.COLLECT:
            yield from self.intake.collect(text, u)
        elif step == Step.OFFER:
            yield from self.booking.pick_offer(text, u)
        elif step == Step.CONFIRM:
            yield from self.booking.confirm(text, u)

    def _side_request(self, u: Understanding) -> str | None:
        """A request that interrupts the current step: a person or goodbye. A question is
        answered inside the step (and the step goes on)."""
        scores = u.scores
        if _CALL_THEM.search(u.text) and self.conv.state.intent == intents.BOOK:
            return "call_back_to_schedule"
        if scores.get(intents.HUMAN, 0) >= 3 and not u.values:
            return intents.HUMAN
        personal = {"full_name", "dob", "phone", "member_id", "email", "payer_named"}
        if (scores.get(intents.GOODBYE, 0) >= 3 or leaving(u.text)) and \
                not set(u.values) & personal and not u.question:
            return intents.GOODBYE
        if self.conv.state.fields.get("urgent_details") and done_words(u.text) and \
                not set(u.values) & personal:
            return intents.GOODBYE  # the urgent message is out; their details were a bonus
        return None

    def _handle_side_request(self, kind: str, text: str) -> Iterator[DialogEvent]:
        if kind == intents.HUMAN:
            yield from self.opening.transfer(text)
            return
        if kind == "call_back_to_schedule":
            # "Can you guys just call him to set up a time?": the lead and a call-back message
            self.intake.keep_inquiry()
            yield from self.conv.wrap("Of course. The front desk will call to set up a time.")
            return
        yield from self._goodbye_or_keep()

    def _goodbye_or_keep(self) -> Iterator[DialogEvent]:
        """A caller who leaves mid-intake: what they told us is kept for a call-back."""
        self.intake.keep_inquiry()
        yield from self.conv.goodbye()


# the caller asks the clinic to call the patient (or them) to schedule, rather than book now
_CALL_THEM = re.compile(r"\b(call|contact|reach out to|ring) (him|her|them|the patient|me)( back)?"
                        r" (to|and) (set up|schedule|book|make|find)\b|\b(just )?(call|contact) "
                        r"(him|her|them|the patient) (directly|to schedule)\b", re.I)
