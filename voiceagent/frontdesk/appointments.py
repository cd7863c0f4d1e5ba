"""The caller's own appointments: identity verified first, then listed, moved or cancelled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from voiceagent.dialog.protocol import DialogEvent
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.booking import DO_IT
from voiceagent.frontdesk.conversation import Flow, join_words
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import understand


class OwnAppointments(Flow):
    """My appointments, reschedule and cancel: only after the identity check."""

    def verified_flow(self, lead: str = "") -> Iterator[DialogEvent]:
        f = self.state.fields
        events: list[DialogEvent] = []
        if self.state.patient_id is None:
            result = self.conv.tool("verify_identity", {
                "first_name": f["first_name"], "last_name": f["last_name"],
                "date_of_birth": f["dob"], "phone": f.get("phone", ""),
            }, events)
            yield from events
            events = []
            if not result.ok:
                count = self.state.attempts.get("verify", 0) + 1
                if result.data.get("code") == "too_many_attempts":
                    yield from self.flows.opening.transfer("")
                    return
                if count >= 2:
                    yield from self.flows.opening.start(
                        intents.MESSAGE, "", lead="I still can't find a "
                        "matching record. I'll take a message so the front "
                        "desk can help.")
                    return
                for key in ("full_name", "first_name", "last_name", "dob", "phone"):
                    f.pop(key, None)
                self.state.attempts["verify"] = count
                yield from self.flows.intake.next("Those details don't match our records. "
                                                  "Let's try once more.")
                return
        if not self.state.appointments:
            result = self.conv.tool("find_my_appointments", {}, events)
            yield from events
            if not result.ok:
                yield from self.conv.wrap("I'm sorry, I couldn't look that up right now.")
                return
        appointments = self.state.appointments
        if not appointments:
            yield from self.conv.wrap("I don't see any upcoming appointments for you.")
            return
        intent = self.state.intent
        if intent == intents.MY_APPOINTMENTS:
            listed = join_words([self._appointment_text(a) for a in appointments])
            yield from self.conv.wrap(f"{lead} You have {listed}.".strip())
            return
        if self.state.target_appointment_id is None:
            if len(appointments) == 1:
                self.state.target_appointment_id = appointments[0]["appointment_id"]
            else:
                listed = ", ".join(f"{i}: {self._appointment_text(a)}"
                                   for i, a in enumerate(appointments, 1))
                self.state.pending = "which_appointment"
                question = f"You have {len(appointments)} appointments: {listed}. Which one?"
                yield from self.conv.say(question, prompt=question)
                return
        target = next(a for a in appointments
                      if a["appointment_id"] == self.state.target_appointment_id)
        if intent == intents.CANCEL:
            self.state.step = Step.CONFIRM
            said = next((m["content"] for m in reversed(self.state.history)
                         if m["role"] == "user"), "")
            said_yes = self.state.cancel_all and re.search(r"\b(yes|yeah|please|cancel)\b", said,
                                                           re.I)
            if len(appointments) > 1 and (DO_IT.search(said) or said_yes):
                # "just cancel the Friday one": asked for in so many words; it is read back
                self.state.caller_confirmed = True
                yield from self.flows.booking.confirm(
                    said, understand(said, self.clinic, self.conv.router, self.conv.local_now()))
                return
            if self.state.cancel_all:
                listed = join_words([self._appointment_text(a) for a in appointments])
                question = f"Shall I cancel all {len(appointments)}: your {listed}?"
            else:
                question = f"Shall I cancel your {self._appointment_text(target)}?"
            yield from self.conv.say(f"{lead} {question}".strip(), prompt=question)
            return
        # reschedule: ask for the new time
        if self.state.request is None:
            self.state.pending = "when"
            self.state.fields.pop("when", None)
            yield from self.conv.ask("when", f"Your current appointment is "
                                     f"{self._appointment_text(target)}.")
            return
        yield from self.flows.booking.search(lead)

    def target_appointment(self) -> dict[str, Any] | None:
        return next((a for a in self.state.appointments
                     if a["appointment_id"] == self.state.target_appointment_id), None)

    def _appointment_text(self, appt: dict[str, Any]) -> str:
        try:
            kind = self.clinic.appointment_type(appt["appointment_type_id"]).name
        except KeyError:
            kind = "appointment"
        return f"{kind} on {prompts.when_text(appt['start'])}"
