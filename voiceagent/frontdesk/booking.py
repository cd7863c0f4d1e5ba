"""Booking: search the schedule, offer times, hold the one chosen, read it back, confirm."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from voiceagent.dialog.protocol import DialogEvent
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.answers import choose_offer, requested, store_request
from voiceagent.frontdesk.conversation import MAX_ATTEMPTS, Flow, join_words
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import Understanding, specialties_called_for
from voiceagent.intake import IntakeError, parse_appointment_request
from voiceagent.intake.dates import AppointmentRequest, bare_hour, say_date, say_time

log = logging.getLogger(__name__)

CORRECTABLE = {
    "full_name": ("name", "first name"), "last_name_spelled": ("spelling", "last name"),
    "dob": ("birth", "birthday", "born"), "phone": ("phone", "number"),
    "payer": ("insurance", "plan"), "member_id": ("member", "id"),
    "when": ("time", "day", "date", "when"),
}

# the action asked for in so many words: "no, I'll rebook later; just cancel it please"
DO_IT = re.compile(r"\b(just |please |go ahead and |yes,? )(cancel|book|move|change) (it|that|"
                   r"that one|the \w+ one)\b|\b(cancel|book|move) it,? please\b", re.I)


class Booking(Flow):
    """Offers open times, holds one, reads it back and books (or moves, or cancels)."""

    def search(self, lead: str = "") -> Iterator[DialogEvent]:
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
        target = self.flows.appointments.target_appointment()
        if self.state.intent == intents.RESCHEDULE and target is not None:
            args["appointment_type"] = target["appointment_type_id"]  # same kind of visit
        provider = self._preferred_provider()
        if provider is None and self.state.intent == intents.RESCHEDULE and target is not None:
            provider = target.get("provider_id")  # the same therapist, unless asked otherwise
        if provider is not None:
            args["provider_id"] = provider
        skip = set((self.state.request or {}).get("not_weekdays") or [])
        if skip and not request.day:
            day = self.conv.local_now().date()
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
                log.warning("match_existing_failed", extra={"call_id": self.conv.call_id})
        result = self.conv.tool("find_slots", args, events)
        if not result.ok and "provider_id" in args and self.state.fields.get("provider_pref"):
            # "my first visit with Jordan": a PTA does no evaluation; say so, offer the PTs
            who = next((p.name.split(",")[0] for p in self.clinic.providers
                        if p.id == args["provider_id"]), "that provider")
            lead = (f"{lead} I'm sorry, {who} can't see you for this visit; a first evaluation "
                    "is done by one of our physical therapists. Follow-up visits can be with "
                    f"{who}.").strip()
            self.state.fields.pop("provider_pref", None)
            del args["provider_id"]
            result = self.conv.tool("find_slots", args, events)
        yield from events
        if not result.ok:
            yield from self.flows.opening.start(
                intents.MESSAGE, "", lead="I'm sorry, I couldn't search the "
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
            outside = self.outside_hours(request)
            text = " ".join([lead, *notes, outside or "I don't have any openings that match."]
                            ).strip()
            if request.day or request.earliest or request.at:
                yield from self.conv.ask("when", f"{text} Is there another day or time that works?")
                return
            yield from self.flows.opening.start(
                intents.MESSAGE, "", lead=f"{text} I'll take a message so "
                "the front desk can call you with the first opening.")
            return
        if request.at and len(slots) >= 1 and datetime.fromisoformat(
                slots[0]["start"]).time() == request.at and not result.data.get("nearby"):
            self.state.step = Step.OFFER  # the exact time asked for is the one offer
            yield from self._hold(1, " ".join([lead, "That time is open."]).strip())
            return
        if notes:
            notes.append("Here are the nearest openings.")
        self.state.step = Step.OFFER
        self.state.pending = None
        offer_text = prompts.say_offers(slots)
        yield from self.conv.say(" ".join([lead, *notes, offer_text]).strip(), prompt=offer_text)

    def outside_hours(self, request: AppointmentRequest) -> str | None:
        """"We close at 7 PM on Wednesdays": when the time asked for is outside the hours."""
        wanted = request.at or request.earliest
        if wanted is None:
            return None
        day = request.day or self.conv.local_now().date()
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
        called_for = specialties_called_for(
            " ".join(f.get(k, "") for k in ("reason", "body_part")))
        wanted = [p.id for p in self.clinic.providers if p.role == "PT" and any(
            concept in " ".join(getattr(p, "specialties", []) or []).lower()
            for concept in called_for)]
        if not wanted and f.get("language") and f["language"] != "en":
            wanted = [p.id for p in self.clinic.providers if p.role == "PT" and
                      f["language"] in (getattr(p, "languages", []) or [])]
        return wanted[0] if len(wanted) == 1 else None

    def pick_offer(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        offers = self.state.offers
        choice = choose_offer(text, offers)
        if u.question and "when" not in u.values and choice is None:
            answer = self.conv.answer_question(text)
            offer_text = prompts.say_offers(offers)
            yield from self.conv.say(f"{answer} {offer_text}", prompt=offer_text)
            return
        if choice is not None:
            yield from self._hold(choice)
            return
        if u.yes and offers:
            # "yes, perfect" to a list of times: the first one; the read-back confirms it
            yield from self._hold(1)
            return
        try:
            request = parse_appointment_request(text, self.conv.local_now()).value
        except IntakeError:
            request = None
        offered_days = {datetime.fromisoformat(o["start"]).date() for o in offers}
        hour = bare_hour(text)
        if request is None and hour is not None and len(offered_days) == 1:
            # "Ten, if you have it." with only earlier times offered: look at ten that day
            at = time(hour + 12 if hour < 7 else hour)
            request = AppointmentRequest(day=next(iter(offered_days)), at=at)
        if request is not None and request.asap and request.at is None and \
                request.earliest is None and (request.day is None or
                                              offered_days == {request.day}):
            # "Friday then, as early as you can" with Friday's times on the table
            yield from self._hold(1)
            return
        if request is not None:
            store_request(self.state, request, text)
            yield from self.search()
            return
        if u.no or "none" in text.lower() or "other" in text.lower():
            self.state.request = None
            self.state.step = Step.COLLECT
            yield from self.conv.ask("when", "No problem.")
            return
        yield from self.conv.say(f"Sorry, which one? {prompts.say_offers(offers)}",
                                 prompt=prompts.say_offers(offers))

    def _hold(self, option: int, lead: str = "") -> Iterator[DialogEvent]:
        events: list[DialogEvent] = []
        result = self.conv.tool("hold_slot", {"option": option}, events)
        yield from events
        if not result.ok:
            self.state.offers = []
            count = self.state.attempts.get("hold", 0) + 1
            self.state.attempts["hold"] = count
            if count >= MAX_ATTEMPTS:
                yield from self.flows.opening.start(
                    intents.MESSAGE, "", lead="I'm sorry, I couldn't reserve "
                    "a time just now. I'll take a message so the front desk "
                    "can call you to book it.")
                return
            if self.state.request is not None:
                self.state.request["at"] = None  # that exact time is gone: offer the nearest
            yield from self.search(f"I'm sorry, {result.reason.split(';')[0]}.")
            return
        self.state.step = Step.CONFIRM
        self.state.pending = None
        question = self.read_back()
        yield from self.conv.say(f"{lead} {question}".strip(), prompt=question)

    def read_back(self) -> str:
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

    def confirm(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        intent = self.state.intent
        if not self.state.caller_confirmed and not u.no:
            # neither a clear yes nor a clear no: understood afresh
            if u.question:
                answer = self.conv.answer_question(text)
                yield from self.conv.say(f"{answer} {self.state.last_prompt}",
                                         prompt=self.state.last_prompt)
                return
            changed = {k for k in u.values if k not in ("when", "reason", "body_part",
                                                         "surgery", "referred")}
            if changed and intent == intents.BOOK:
                u.correction = True
                ack = self.flows.intake.apply(u)
                question = self.read_back()
                yield from self.conv.say(f"{ack} {question}".strip(), prompt=question)
                return
        if self.state.caller_confirmed:
            events: list[DialogEvent] = []
            if intent == intents.BOOK:
                result = self.conv.tool("book_appointment", {}, events)
            elif intent == intents.RESCHEDULE:
                result = self.conv.tool(
                    "reschedule_appointment",
                    {"appointment_id": self.state.target_appointment_id}, events)
            elif intent == intents.CANCEL:
                ids = [a["appointment_id"] for a in self.state.appointments] \
                    if self.state.cancel_all else [self.state.target_appointment_id]
                for appointment_id in ids:  # each one refused or done on its own
                    self.state.caller_confirmed = True  # the read-back named every one
                    result = self.conv.tool("cancel_appointment",
                                            {"appointment_id": appointment_id}, events)
                    if not result.ok:
                        break
            else:
                yield from self.conv.wrap("")
                return
            yield from events
            if result.ok:
                yield from self.conv.wrap(self._done_text(intent))
                return
            code = result.data.get("code")
            if code in ("slot_taken", "hold_expired", "no_room"):
                self.state.step = Step.COLLECT
                yield from self.search("I'm sorry, that time was just taken.")
                return
            yield from self.flows.opening.start(
                intents.MESSAGE, "", lead="I'm sorry, I couldn't complete "
                "that. I'll take a message so the front desk can finish it.")
            return
        if not u.no:
            # neither yes nor no: perhaps a different time
            try:
                request = parse_appointment_request(text, self.conv.local_now()).value
            except IntakeError:
                request = None
            if request is not None and intent in (intents.BOOK, intents.RESCHEDULE):
                store_request(self.state, request, text)
                self.state.step = Step.COLLECT
                yield from self.search()
                return
            yield from self.conv.say(f"Sorry, was that a yes? {self.state.last_prompt}",
                                     prompt=self.state.last_prompt)
            return
        if intent == intents.CANCEL:
            yield from self.conv.wrap("Okay, I won't cancel it.")
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
                    self.conv.release_hold()
                self.state.step = Step.COLLECT
                yield from self.flows.intake.next("Let's fix that.")
                return
        self.state.pending = "correction"
        yield from self.conv.say("What should I change: the time, your name, date of birth or "
                                 "phone number?", prompt="What should I change?")

    def _done_text(self, intent: str | None) -> str:
        b = self.state.booking or {}
        if intent == intents.BOOK:
            kind = self.clinic.appointment_type(b["appointment_type_id"]).name
            text = f"You're all set: {kind} on {prompts.when_text(b['start'])} with " \
                   f"{prompts.spoken_name(b['provider_name'])}."
            bring = b.get("what_to_bring") or []
            if bring:
                text += f" Please bring {join_words(bring)}."
            return text
        if intent == intents.RESCHEDULE:
            return f"Done. Your appointment is now {prompts.when_text(b['start'])} with " \
                   f"{prompts.spoken_name(b['provider_name'])}."
        if self.state.cancel_all:
            return "Both appointments are cancelled." if len(self.state.appointments) == 2 \
                else "All of those appointments are cancelled."
        return "Your appointment is cancelled."
