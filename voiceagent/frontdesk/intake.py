"""Intake: the details an intent needs, asked one at a time; every turn's volunteered values
kept, corrections applied, an answer of another shape put where it fits."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from voiceagent.clinic.nicknames import same_first_name
from voiceagent.dialog.protocol import DialogEvent
from voiceagent.frontdesk import prompts
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.answerfit import FITS, fits
from voiceagent.frontdesk.answers import INJURY_FIELDS, parse_field, requested, store_request
from voiceagent.frontdesk.backend import IntakeRecord
from voiceagent.frontdesk.conversation import Flow
from voiceagent.frontdesk.state import Step
from voiceagent.frontdesk.understand import (
    Shape,
    Understanding,
    answer_shape,
    dob_plausible,
    letter_run,
    name_in,
    sentences,
    spelled_names,
    without_spellings,
)
from voiceagent.intake import IntakeError, parse_appointment_request, parse_phone
from voiceagent.intake.dates import after_correction
from voiceagent.intake.identifiers import is_mbi

log = logging.getLogger(__name__)

FIELDS_FOR: dict[str, tuple[str, ...]] = {
    intents.BOOK: ("reason", "full_name", "last_name_spelled", "dob", "phone", "payer",
                   "plan_type", "member_id", "claim_number", "adjuster_name", "adjuster_phone",
                   "date_of_injury", "employer", "when"),
    intents.MESSAGE: ("full_name", "phone", "message_body"),
    intents.RESCHEDULE: ("full_name", "dob", "phone"),
    intents.CANCEL: ("full_name", "dob", "phone"),
    intents.MY_APPOINTMENTS: ("full_name", "dob", "phone"),
}

FIELD_ATTEMPTS = 2  # no question is asked more than twice before another way is offered


class Intake(Flow):
    """Collects the details the intent needs and hands over when they are complete."""

    def keep_inquiry(self) -> None:
        """Whatever an unfinished inquiry learned becomes a lead (or a message), so nobody
        who gave their details is forgotten."""
        f = self.state.fields
        if self.state.outcome or not (f.get("phone") or self.state.caller_id):
            return
        if not (f.get("first_name") or f.get("reason") or f.get("payer")):
            return
        try:
            self.backend.log_inquiry(IntakeRecord.from_fields(f), self.state.channel,
                                     phone=self._callback_phone())
            self.state.outcome = "lead_logged"
        except Exception as exc:  # the class only: the message may quote what was said
            log.warning("inquiry_not_logged", extra={"call_id": self.conv.call_id,
                                                     "error": type(exc).__name__})

    def apply(self, u: Understanding, pending_done: str | None = None) -> str:
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
            if key == "dob" and not dob_plausible(v.value, self.conv.local_now().date()):
                continue
            if key == "unknown_answer":
                continue
            f[key] = v.value
            if key in ("dob", "phone", "member_id", "email", "date_of_injury",
                       "adjuster_phone", "claim_number") and v.readback:
                acks.append(f"I have {v.readback}.")
            elif key == "referring_provider":
                acks.append(f"Thank you, I've noted {v.value}.")
            elif key in ("employer", "adjuster_name", "group_number", "subscriber_name",
                         "subscriber_dob", "referring_npi"):
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
                                        self.conv.local_now()))
            except IntakeError:
                pass
        if "when" in values and pending_done != "when" and self.state.intent in (
                intents.BOOK, intents.RESCHEDULE, None):
            try:
                store_request(self.state, parse_appointment_request(
                    u.text, self.conv.local_now()).value, u.text)
                outside = self.flows.booking.outside_hours(requested(self.state))
                if outside:  # "seven thirty at night": say so now, not after the intake
                    acks.append(outside)
                    self.state.request = None
                elif self.state.intent is not None and values["when"].readback:
                    acks.append(f"{values['when'].readback[:1].upper()}"
                                f"{values['when'].readback[1:]}, noted.")
            except IntakeError:
                pass
        return " ".join(dict.fromkeys(a for a in acks if a))  # each acknowledgement once

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
            if f == "message_body" and (substantive(have.get("topic", "")) or
                                        have.get("urgent_details")):
                continue  # what they called about is the message (or it went out already)
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

    def next(self, lead: str = "") -> Iterator[DialogEvent]:
        needed = self._needed()
        if needed and self.state.attempts.get(f"asked:{needed[0]}", 0) >= FIELD_ATTEMPTS:
            yield from self._give_up_on(needed[0], lead)
            return
        if needed:
            yield from self.conv.ask(needed[0], lead)
            return
        intent = self.state.intent
        if intent == intents.BOOK and self.state.hold is not None:
            # a corrected detail: the held time still stands, read back again
            self.state.step = Step.CONFIRM
            question = self.flows.booking.read_back()
            yield from self.conv.say(f"{lead} {question}".strip(), prompt=question)
        elif intent == intents.BOOK:
            yield from self.flows.booking.search(lead)
        elif intent == intents.MESSAGE:
            yield from self.flows.messages.take_message(lead)
        elif intent in (intents.RESCHEDULE, intents.CANCEL, intents.MY_APPOINTMENTS):
            yield from self.flows.appointments.verified_flow(lead)

    def collect(self, text: str, u: Understanding) -> Iterator[DialogEvent]:
        """The answer to the pending question, if it is one; and whatever else the turn
        says. A value that does not parse as the pending field is never stored in it: an
        answer shaped like another missing detail (a date when the name was asked) fills
        that detail, and the pending question is asked again."""
        field = self.state.pending
        if field is None:
            yield from self.next(self.apply(u))
            return
        if "unknown_answer" in u.values and field in (
                "member_id", "claim_number", "adjuster_name", "adjuster_phone", "employer",
                "date_of_injury", "last_name_spelled", "reason"):
            # "I don't have a claim number yet": go on without it
            self.apply(u)
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
        if field == "last_name_spelled" and spelled and "member_id" in u.values:
            spelled = None  # "Member ID is Z G P, eight one four...": the card's letters
        if field == "last_name_spelled" and spelled:
            text = spelled  # "B R E N N A N, two Ns in the middle there": the letters
        shape = answer_shape(text, self.clinic, self.conv.local_now().date())
        if shape is Shape.OTHER and field in ("member_id", "claim_number", "phone", "dob"):
            # "Hold on, let me get my glasses. Okay. H four five one ...", "Q Z H 2 2 1.
            # It's just the regular card.": the sentence that has the shape asked for; when
            # the caller corrects themselves, what follows the correction ("oh three, twelve,
            # eighty... no wait, that's my husband's. Mine is oh three, twenty-one, eighty-two")
            parts = sentences(text)
            # what follows a lead-in, whole ("Hang on, my wife's got the card. It's three, Q,
            # W, seven... H, N, two... R, T, five, eight"), then each sentence
            candidates = [" ".join(parts[i:]) for i in range(1, len(parts))] + parts
            corrected = after_correction(text)
            if corrected is not None:
                candidates.insert(0, corrected.strip(" ,.:"))
            for sentence in candidates:
                found = answer_shape(sentence, self.clinic, self.conv.local_now().date())
                if sentence != text.strip() and found in FITS[field] and found is not Shape.OTHER:
                    text, shape = sentence, found
                    break
        failed: IntakeError | None = None
        ack = ""
        answered = False
        named = name_in(text, self.clinic) or name_in(without_spellings(text), self.clinic) \
            if field == "full_name" and shape is not Shape.NAME and not u.question else None
        doctor = u.values.get("referring_provider")
        if named and doctor and named.split()[-1].lower() in doctor.value.lower():
            named = None  # "It's from Dr. Okeke, Samuel Okeke": the doctor, not the patient
        labelled = u.values.get(field)
        if labelled is not None and field in ("member_id", "claim_number", "phone",
                                              "adjuster_phone", "dob"):
            # "the member ID is X, and the group is Y": only X is the member ID
            self.state.fields[field] = labelled.value
            ack = f"I have {labelled.readback}." if labelled.readback else ""
            answered = True
        elif named is not None:
            ack = parse_field(field, named, self.state, self.clinic, self.conv.local_now())
            answered = True
        elif fits(field, shape, u):
            try:
                ack = parse_field(field, text, self.state, self.clinic, self.conv.local_now())
                answered = True
            except IntakeError as exc:
                failed = exc
        elif "full_name" in self._needed() and shape in (Shape.NAME, Shape.SPELLING) and \
                name_in(text, self.clinic) is not None:
            # "Harold Lindgren, L I N D G R E N" while another question was pending
            ack = parse_field("full_name", name_in(text, self.clinic) or "", self.state,
                              self.clinic, self.conv.local_now())
            if shape is Shape.SPELLING:
                try:
                    parse_field("last_name_spelled", text.split(",", 1)[-1], self.state,
                                self.clinic, self.conv.local_now())
                except IntakeError:
                    pass
        else:
            other = self._field_for(shape)
            if other is not None and other not in u.values:  # a labelled value is stored below
                said = spelled if other == "last_name_spelled" and spelled else text
                try:
                    ack = parse_field(other, said, self.state, self.clinic, self.conv.local_now())
                except IntakeError:
                    ack = ""
        before = dict(self.state.fields)
        extra = self.apply(u, pending_done=field if answered else None)
        answer = self.conv.answer_question(text) if u.question and "when" not in u.values else ""
        told = {k for k, v in self.state.fields.items() if before.get(k) != v}
        if not (ack or extra or answer) and told and told <= _TOLD_ABOUT_THE_PROBLEM:
            extra = "Got it."  # "it's my right shoulder": taken, though not what was asked
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
            yield from self.next("Noted.")
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
                yield from self.conv.say(f"Sorry. {reason}", prompt=question)
                return
            yield from self.conv.say(f"Sorry, I didn't get that. {question}", prompt=question)
            return
        self.mark_spelling(text)
        self._note_inquiry()
        if "we accept" in answer:  # the answer already said so
            ack, extra = (re.sub(r"Great, we accept [^.]+\.\s*", "", x) for x in (ack, extra))
        lead = " ".join(p for p in (answer, ack, extra) if p)
        yield from self.next(lead)

    def _callback_phone(self) -> str | None:
        """The number the caller gave, else the caller ID when it is a number."""
        return self.state.fields.get("phone") or _dialable(self.state.caller_id)

    def mark_spelling(self, text: str) -> None:
        """A spelling said with the name ("Jordan Pike. P I K E.", "It's Mariah Betts. M, A,
        R, I, A, H. Betts, B, E, T, T, S."): once the name is known, the last name counts as
        spelled when the letters spell it."""
        f = self.state.fields
        if not f.get("last_name") or "last_name_spelled" in f or "as in" in text.lower():
            return
        run = letter_run(text, f.get("first_name", ""), f["last_name"])
        if run and run.replace(" ", "").lower() == f["last_name"].lower():
            f["last_name_spelled"] = f["last_name"]

    def _note_inquiry(self) -> None:
        """The caller is identifiable (a name and a phone): the inquiry is a lead now, so a
        call that drops still leaves it; noted again as more is learned."""
        f = self.state.fields
        phone = self._callback_phone()
        if self.state.intent != intents.BOOK or not (f.get("first_name") and phone):
            return
        learned = sum(1 for v in f.values() if v)
        if self.state.attempts.get("noted", 0) >= learned:
            return
        self.state.attempts["noted"] = learned
        self.backend.note_inquiry(IntakeRecord.from_fields(f), self.state.channel, phone)

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
            yield from self.next(f"{lead}No problem, we'll confirm the spelling at your "
                                 "visit.")
            return
        if field in ("reason", "member_id", "claim_number", "adjuster_phone", "date_of_injury",
                     "employer", "adjuster_name"):
            self.state.fields[field] = ""
            self.state.attempts[f"asked:{field}"] = FIELD_ATTEMPTS
            yield from self.next(f"{lead}No problem, the front desk will get that from you "
                                 "before the visit.")
            return
        if field == "when" and self.state.intent in (intents.BOOK, intents.RESCHEDULE):
            self.state.request = {}  # no preference heard twice: the first openings
            yield from self.flows.booking.search(f"{lead}Let me find the first openings.")
            return
        if self.state.intent == intents.MESSAGE:
            # a message without a good phone number still reaches the staff
            self.state.fields.setdefault(field, "unknown")
            yield from self.next(f"{lead}Let's go on.")
            return
        yield from self.flows.opening.start(
            intents.MESSAGE, "", lead=f"{lead}I'm having trouble with that. "
            "Let me take a message so the staff can call you back.")


# what a caller tells of their problem, taken without a read-back
_TOLD_ABOUT_THE_PROBLEM = frozenset({"body_part", "reason", "surgery", "surgery_date",
                                     "referring_practice", "referred"})

# words that only ask for a message, or say whom it is for ("for Doctor Okafor, I'm one of her
# patients"), not what it says
_GENERIC = set("""i i'd id i'm like to want would need leave a an message can could you take for
the front desk please someone somebody call me back have speak talk person real human hi
hello hey yes yeah is there with of my it just and so um uh okay
doctor dr therapist patient patients one her his their she he am are was""".split())


def substantive(topic: str) -> bool:
    """Whether what the caller first said says what the message is about ("my bill came
    twice"), not only that they want one ("can I leave a message?")."""
    return len([w for w in intents.normalize(topic).split() if w not in _GENERIC]) >= 3


def _dialable(caller_id: str | None) -> str | None:
    """The caller ID as a number to call back, when it is one (not "anonymous", not a SIP
    user name)."""
    try:
        return parse_phone(caller_id).value if caller_id else None
    except IntakeError:
        return None
