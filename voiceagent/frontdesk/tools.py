"""The tools the dialog (and a capable LLM) may call, with validation and authorization.

Each tool has a pydantic argument model (its JSON schema is what the LLM sees) and a
handler. :meth:`ToolBox.call` validates the arguments, checks the tool is allowed in the
current step and that the identity it needs was verified, runs it, records it, and always
returns a :class:`~voiceagent.dialog.protocol.ToolResult`: a refused or failed call has
``ok=False`` and a reason that names the next step. It never raises to the caller.

What the caller says never widens what a tool may do: authorization depends only on the
conversation step and on identity checks done against the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import fuzz

from voiceagent.clinic.errors import ClinicError
from voiceagent.clinic.patients import normalise_phone
from voiceagent.clinic.scheduling import Slot
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import ToolResult
from voiceagent.frontdesk.backend import FrontDeskBackend, IntakeRecord
from voiceagent.frontdesk.clinicfacts import answer_all
from voiceagent.frontdesk.state import ConversationState, Step
from voiceagent.frontdesk.understand import specialties_called_for
from voiceagent.intake.dates import AppointmentRequest

log = logging.getLogger(__name__)


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindSlotsArgs(ToolArgs):
    appointment_type: str | None = Field(None, description="appointment type id")
    day: date | None = None
    earliest: time | None = None
    latest: time | None = None
    provider_id: str | None = None


class HoldSlotArgs(ToolArgs):
    option: int = Field(ge=1, le=5, description="1-based number of an offered slot")


class BookAppointmentArgs(ToolArgs):
    pass


class VerifyIdentityArgs(ToolArgs):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    phone: str = Field(min_length=7, max_length=32, description="the phone number on file")


class FindMyAppointmentsArgs(ToolArgs):
    pass


class RescheduleAppointmentArgs(ToolArgs):
    appointment_id: int


class CancelAppointmentArgs(ToolArgs):
    appointment_id: int
    reason: str | None = Field(None, max_length=200)


class RecordIntakeArgs(ToolArgs):
    reason: str | None = Field(None, max_length=500)
    body_part: str | None = Field(None, max_length=100)
    payer_name: str | None = Field(None, max_length=200)
    member_id: str | None = Field(None, max_length=64)
    referring_provider: str | None = Field(None, max_length=200)
    referring_npi: str | None = Field(None, pattern=r"^\d{10}$")


class AnswerFaqArgs(ToolArgs):
    question: str = Field(min_length=1, max_length=500)


class TakeMessageArgs(ToolArgs):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=1, max_length=32, description="callback number or 'unknown'")
    message: str = Field(min_length=1, max_length=2000)
    category: str | None = None
    urgent: bool = False


class TransferCallArgs(ToolArgs):
    target: str | None = Field(None, description="transfer target id; default the front desk")
    summary: str = Field("", max_length=300)


class EndCallArgs(ToolArgs):
    reason: str = Field("completed", max_length=100)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[ToolArgs]

    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": self.args.model_json_schema()}


SPECS: dict[str, ToolSpec] = {s.name: s for s in (
    ToolSpec("find_slots", "Search open appointment times.", FindSlotsArgs),
    ToolSpec("hold_slot", "Hold one of the offered times while details are confirmed.",
             HoldSlotArgs),
    ToolSpec("book_appointment", "Book the held time after the caller said yes to the "
             "read-back.", BookAppointmentArgs),
    ToolSpec("verify_identity", "Check the caller's name and date of birth against the "
             "patient record.", VerifyIdentityArgs),
    ToolSpec("find_my_appointments", "List the verified caller's upcoming appointments.",
             FindMyAppointmentsArgs),
    ToolSpec("reschedule_appointment", "Move the verified caller's appointment to the held "
             "time.", RescheduleAppointmentArgs),
    ToolSpec("cancel_appointment", "Cancel the verified caller's appointment.",
             CancelAppointmentArgs),
    ToolSpec("record_intake", "Record intake details: reason for visit, insurance, referral.",
             RecordIntakeArgs),
    ToolSpec("answer_faq", "Answer a question from the clinic's own information only.",
             AnswerFaqArgs),
    ToolSpec("take_message", "Take a message for the staff.", TakeMessageArgs),
    ToolSpec("transfer_call", "Transfer the caller to a person.", TransferCallArgs),
    ToolSpec("end_call", "End the conversation politely.", EndCallArgs),
)}

# Which tools exist in which step. Identity checks are enforced inside the tools as well.
ALWAYS = ("answer_faq", "take_message", "transfer_call", "end_call")
STEP_TOOLS: dict[str, tuple[str, ...]] = {
    Step.INTENT: ALWAYS,
    Step.COLLECT: (*ALWAYS, "verify_identity", "record_intake", "find_slots",
                    "find_my_appointments"),
    Step.OFFER: (*ALWAYS, "find_slots", "hold_slot", "find_my_appointments"),
    Step.CONFIRM: (*ALWAYS, "book_appointment", "reschedule_appointment",
                    "cancel_appointment", "hold_slot", "find_slots"),
    Step.WRAP_UP: ALWAYS,
    Step.ENDED: (),
}


def _slot_dict(slot: Any) -> dict[str, Any]:
    return {
        "appointment_type_id": slot.appointment_type_id,
        "provider_id": slot.provider_id,
        "provider_name": slot.provider_name,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
    }


class Refused(Exception):
    """A tool call not allowed now; the message says what must happen first."""

    def __init__(self, reason: str, code: str = "refused") -> None:
        super().__init__(reason)
        self.code = code


class ToolBox:
    """Runs tools for one conversation against the clinic backend."""

    def __init__(
        self,
        backend: FrontDeskBackend,
        state: ConversationState,
        call_log: CallLog | None = None,
        call_id: str | None = None,
    ) -> None:
        self.backend = backend
        self.state = state
        self.call_log = call_log
        self.call_id = call_id
        self.handlers: dict[str, Callable[[Any], dict[str, Any]]] = {
            "find_slots": self._find_slots,
            "hold_slot": self._hold_slot,
            "book_appointment": self._book,
            "verify_identity": self._verify,
            "find_my_appointments": self._my_appointments,
            "reschedule_appointment": self._reschedule,
            "cancel_appointment": self._cancel,
            "record_intake": self._record_intake,
            "answer_faq": self._answer_faq,
            "take_message": self._take_message,
            "transfer_call": self._transfer,
            "end_call": self._end_call,
        }

    def allowed(self) -> tuple[str, ...]:
        return STEP_TOOLS.get(self.state.step, ())

    def schemas(self) -> list[dict[str, Any]]:
        """JSON schemas of the tools allowed in the current step."""
        return [SPECS[name].schema() for name in self.allowed()]

    def call(self, name: str, arguments: dict[str, Any] | None) -> ToolResult:
        """Validate, authorize, run and record one tool call. Never raises."""
        arguments = dict(arguments or {})
        result = self._run(name, arguments)
        log.info("tool_call", extra={"call_id": self.call_id, "tool": name, "ok": result.ok,
                                     "step": self.state.step})
        if self.call_log is not None and self.call_id is not None:
            try:
                self.call_log.add_tool_call(
                    self.call_id, name, arguments,
                    {"ok": result.ok, "data": result.data, "reason": result.reason},
                )
            except Exception:  # the record must not end the call
                log.exception("tool_call_log_failed", extra={"call_id": self.call_id})
        return result

    def _run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        spec = SPECS.get(name)
        if spec is None:
            return ToolResult(name, False, reason=f"there is no tool named {name!r}; "
                              f"use one of {', '.join(self.allowed())}")
        if name not in self.allowed():
            return ToolResult(name, False, reason=f"{name} is not available while "
                              f"{_STEP_WORDS[self.state.step]}; use one of "
                              f"{', '.join(self.allowed()) or 'none'}")
        try:
            args = spec.args.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            return ToolResult(name, False, reason=f"bad argument {where}: {first['msg']}; "
                              "ask the caller again")
        try:
            return ToolResult(name, True, data=self.handlers[name](args))
        except Refused as exc:
            return ToolResult(name, False, data={"code": exc.code}, reason=str(exc))
        except ClinicError as exc:
            return ToolResult(name, False, data={"code": exc.code}, reason=exc.reason)
        except Exception:
            log.exception("tool_failed", extra={"call_id": self.call_id, "tool": name})
            return ToolResult(name, False, data={"code": "internal_error"},
                              reason="the system had a problem; apologise and offer to take "
                              "a message for the front desk")

    # --- handlers -----------------------------------------------------------------------

    def _appointment_type(self, requested: str | None) -> str:
        clinic = self.backend.clinic
        if requested:
            clinic.appointment_type(requested)  # KeyError -> handled below
            return requested
        return choose_appointment_type(clinic, new_patient=self.state.patient_id is None,
                                       text=self.state.fields.get("reason", ""))

    def _find_slots(self, args: FindSlotsArgs) -> dict[str, Any]:
        try:
            type_id = self._appointment_type(args.appointment_type)
        except KeyError:
            known = ", ".join(t.id for t in self.backend.clinic.appointment_types)
            raise Refused(f"unknown appointment type; use one of {known}") from None
        request = AppointmentRequest(day=args.day, earliest=args.earliest, latest=args.latest)
        slots = self.backend.find_slots(type_id, None if request.empty else request,
                                        args.provider_id)
        data: dict[str, Any] = {"appointment_type_id": type_id}
        if not slots and args.day is not None:
            closure = self.backend.clinic.closure_on(args.day)
            if self.backend.clinic.hours_on(args.day) is None:
                data["closed"] = closure.name if closure else "closed"
            nearby = self.backend.find_nearby_slots(type_id, request)
            data["nearby"] = True
            slots = nearby
        self.state.offers = [_slot_dict(s) for s in slots]
        data["slots"] = self.state.offers
        return data

    def _hold_slot(self, args: HoldSlotArgs) -> dict[str, Any]:
        if not self.state.offers:
            raise Refused("no times have been offered yet; search open times first")
        if args.option > len(self.state.offers):
            raise Refused(f"only {len(self.state.offers)} times were offered; ask which one")
        offer = self.state.offers[args.option - 1]
        slot = Slot(offer["appointment_type_id"], offer["provider_id"], offer["provider_name"],
                    datetime.fromisoformat(offer["start"]), datetime.fromisoformat(offer["end"]))
        if self.state.hold is not None:
            self.backend.release(self.state.hold["hold_id"])
            self.state.hold = None
        hold = self.backend.hold(slot)
        self.state.hold = {"hold_id": hold.hold_id, **_slot_dict(hold.slot),
                           "expires_at": hold.expires_at.isoformat()}
        self.state.caller_confirmed = False
        return {"held": _slot_dict(hold.slot)}

    def _book(self, _args: BookAppointmentArgs) -> dict[str, Any]:
        fields = self.state.fields
        if self.state.hold is None:
            raise Refused("no time is held; offer times and hold the one the caller picks")
        missing = [k for k in ("first_name", "last_name", "dob", "phone") if not fields.get(k)]
        if missing:
            raise Refused(f"{', '.join(missing)} needed before booking; ask the caller")
        if not self.state.caller_confirmed:
            raise Refused("the caller has not confirmed the read-back yet; read it back and "
                          "ask for a yes")
        patient_id = self.backend.find_or_create_patient(
            fields["first_name"], fields["last_name"], date.fromisoformat(fields["dob"]),
            fields["phone"],
        )
        intake = IntakeRecord.from_fields(fields)
        lead_id = self.backend.record_intake(patient_id, intake, self.state.channel)
        booking = self.backend.book(self.state.hold["hold_id"], patient_id, lead_id)
        self.state.hold = None
        self.state.caller_confirmed = False
        what = self.backend.clinic.appointment_type(booking.slot.appointment_type_id)
        self.state.booking = {"appointment_id": booking.appointment_id, "lead_id": lead_id,
                              **_slot_dict(booking.slot),
                              "what_to_bring": list(booking.what_to_bring or what.what_to_bring)}
        self.state.outcome = "booked"
        return dict(self.state.booking)

    def _verify(self, args: VerifyIdentityArgs) -> dict[str, Any]:
        found = self.backend.verify_identity(f"{args.first_name} {args.last_name}",
                                             args.date_of_birth, args.phone)
        if not found.verified or found.patient_id is None:
            raise Refused(found.next_step, code=found.reason)
        self.state.patient_id = found.patient_id
        return {"verified": True}

    def _require_verified(self, action: str) -> int:
        if self.state.patient_id is None:
            raise Refused(f"date of birth needed before {action}; verify identity first "
                          "(full name, date of birth and phone on file)", code="not_verified")
        return self.state.patient_id

    def _my_appointments(self, _args: FindMyAppointmentsArgs) -> dict[str, Any]:
        patient_id = self._require_verified("looking up appointments")
        rows = self.backend.appointments(patient_id)
        self.state.appointments = [
            {"appointment_id": r.appointment_id, "appointment_type_id": r.appointment_type_id,
             "provider_id": r.provider_id, "start": r.start.isoformat()} for r in rows
        ]
        return {"appointments": self.state.appointments}

    def _known_appointment(self, appointment_id: int) -> None:
        if not any(a["appointment_id"] == appointment_id for a in self.state.appointments):
            raise Refused("that appointment is not one of the caller's listed appointments; "
                          "list their appointments and ask which one")

    def _reschedule(self, args: RescheduleAppointmentArgs) -> dict[str, Any]:
        patient_id = self._require_verified("rescheduling")
        self._known_appointment(args.appointment_id)
        if self.state.hold is None:
            raise Refused("no new time is held; offer times and hold the one the caller picks")
        if not self.state.caller_confirmed:
            raise Refused("the caller has not confirmed the new time yet; read it back first")
        old = next(a for a in self.state.appointments if a["appointment_id"] == args.appointment_id)
        if old["appointment_type_id"] != self.state.hold["appointment_type_id"]:
            raise Refused("the held time is for a different kind of appointment; search times "
                          f"for {old['appointment_type_id']}")
        booking = self.backend.reschedule(patient_id, args.appointment_id,
                                          self.state.hold["hold_id"])
        self.state.hold = None
        self.state.caller_confirmed = False
        self.state.booking = {"appointment_id": booking.appointment_id,
                              "rescheduled_from_id": args.appointment_id,
                              **_slot_dict(booking.slot)}
        self.state.outcome = "rescheduled"
        return dict(self.state.booking)

    def _cancel(self, args: CancelAppointmentArgs) -> dict[str, Any]:
        patient_id = self._require_verified("cancelling")
        self._known_appointment(args.appointment_id)
        if not self.state.caller_confirmed:
            raise Refused("the caller has not confirmed the cancellation yet; read it back first")
        self.backend.cancel(patient_id, args.appointment_id, args.reason)
        self.state.caller_confirmed = False
        self.state.outcome = "cancelled"
        return {"cancelled": args.appointment_id}

    def _record_intake(self, args: RecordIntakeArgs) -> dict[str, Any]:
        updates = {
            "reason": args.reason, "body_part": args.body_part, "payer": args.payer_name,
            "member_id": args.member_id, "referring_provider": args.referring_provider,
            "referring_npi": args.referring_npi,
        }
        for key, value in updates.items():
            if value:
                self.state.fields[key] = value
        return {"recorded": sorted(k for k, v in updates.items() if v)}

    def _answer_faq(self, args: AnswerFaqArgs) -> dict[str, Any]:
        visit = self.state.booking or self.state.hold
        answer = answer_all(self.backend.clinic, args.question, self.backend.now().date(),
                            previous=self.state.last_question,
                            visit_day=datetime.fromisoformat(visit["start"]).date()
                            if visit and visit.get("start") else None)
        self.state.last_question = args.question
        if answer is None:
            raise Refused("the clinic's information has no answer to that; say so and offer "
                          "to take a message")
        return {"answer": answer}

    def _take_message(self, args: TakeMessageArgs) -> dict[str, Any]:
        categories = {c.id for c in self.backend.clinic.message_categories}
        category = args.category if args.category in categories else choose_category(
            self.backend.clinic, f"{self.state.fields.get('topic', '')} {args.message}")
        phone: str | None = args.phone
        try:
            normalise_phone(phone)
        except ClinicError:
            phone = None  # a message without a usable number still reaches the staff
        message_id = self.backend.take_message(
            category=category, subject=f"Message from {args.name}"[:200], body=args.message,
            callback_phone=phone, urgent=args.urgent, patient_id=self.state.patient_id,
        )
        self.state.message_id = message_id
        self.state.outcome = self.state.outcome or "message"
        return {"message_id": message_id, "category": category}

    def _transfer(self, args: TransferCallArgs) -> dict[str, Any]:
        clinic = self.backend.clinic
        target = next((t for t in clinic.transfers if t.id == args.target), None)
        if target is None:
            target = clinic.transfers[0] if clinic.transfers else None
        if target is None:
            raise Refused("this clinic has no transfer line; offer to take a message")
        if not self.backend.transfer_open(target.id):
            raise Refused("nobody is available to take the call right now; offer to take a "
                          "message")
        self.state.transferred_to = target.id
        self.state.outcome = "transferred"
        return {"target": target.id, "name": target.name,
                "address": target.sip_uri or target.extension or target.id}

    def _end_call(self, args: EndCallArgs) -> dict[str, Any]:
        self.state.outcome = self.state.outcome or args.reason
        return {"reason": args.reason}


_STEP_WORDS = {
    Step.INTENT: "finding out what the caller needs",
    Step.COLLECT: "collecting the caller's details",
    Step.OFFER: "offering times",
    Step.CONFIRM: "confirming with the caller",
    Step.WRAP_UP: "wrapping up",
    Step.ENDED: "the call has ended",
}


CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "referral": ("referral", "referring", "prescription for physical therapy", "refer "),
    "billing": ("bill", "invoice", "payment", "copay", "charge", "balance", "insurance claim"),
    "records": ("records", "medical record", "chart", "notes from my visit"),
    "clinical": ("therapist", "exercise", "pain", "sore", "swelling", "treatment", "home program"),
    "complaint": ("complaint", "complain", "unhappy", "rude", "disappointed"),
    "scheduling": ("appointment", "schedule", "reschedule", "cancel", "opening"),
}


def choose_category(clinic: Any, text: str) -> str:
    """The configured message category a message is about, by its words; else callback."""
    ids = [c.id for c in clinic.message_categories]
    low = f" {text.lower()} "
    for category, words in CATEGORY_WORDS.items():
        if category in ids and any(w in low for w in words):
            return category
    if "callback" in ids or not ids:
        return "callback"
    return ids[0]


def choose_appointment_type(clinic: Any, *, new_patient: bool, text: str = "") -> str:
    """The appointment type for a phone booking: a named match, else an evaluation for a
    new patient, else a follow-up, else the first type bookable by phone."""
    bookable = [t for t in clinic.appointment_types if t.bookable_by_phone] or list(
        clinic.appointment_types
    )
    if text:
        scored = [(fuzz.partial_ratio(t.name.lower(), text.lower()), t) for t in bookable]
        best = max(scored, key=lambda st: st[0])
        if best[0] >= 90:
            return best[1].id
    wanted = specialties_called_for(text)
    for t in bookable:  # a specialty's own evaluation: "leaking since the baby", "BPPV"
        if t.new_patient != new_patient:
            continue
        named = f"{t.id} {t.name} {' '.join(t.specialties)}".lower()
        if any(concept in named for concept in wanted):
            return t.id
    words = ("eval", "initial", "new") if new_patient else ("follow", "visit", "treatment")
    for t in bookable:
        if any(w in t.id.lower() or w in t.name.lower() for w in words):
            return t.id
    return bookable[0].id
