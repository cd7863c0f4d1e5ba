"""The clinic operations the front desk needs, over the clinic store.

A thin adapter over :mod:`voiceagent.clinic` (scheduling, patients, leads, messages) that
fixes the actor (call id for the audit log) and the clock for one conversation. Every method
that writes, or reads a patient's record (an audited read), is an ``@effect``: under a
speculative turn it waits for the endpoint (:mod:`voiceagent.dialog.speculation`); the
schedule and the clinic's hours may be read at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from voiceagent.clinic import leads, messages, patients, scheduling, security
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import ClinicError
from voiceagent.clinic.models import MessagePriority
from voiceagent.clinic.patients import Verification
from voiceagent.dialog.speculation import effect
from voiceagent.intake.dates import AppointmentRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeRecord:
    """What a new caller told us, stored with the booking."""

    reason: str | None = None
    body_part: str | None = None
    payer_name: str | None = None
    member_id: str | None = None
    referring_provider: str | None = None
    referring_npi: str | None = None
    referring_fax: str | None = None  # the referring office's fax, for the signed order
    coverage_kind: str = "commercial"
    claim_number: str | None = None
    adjuster_name: str | None = None
    adjuster_phone: str | None = None
    date_of_injury: date | None = None
    employer: str | None = None
    group_number: str | None = None
    subscriber_name: str | None = None
    subscriber_dob: date | None = None
    subscriber_relationship: str = "self"
    adjuster_extension: str | None = None
    attorney_name: str | None = None
    attorney_phone: str | None = None
    plan_type: str | None = None
    email: str | None = None
    referring_practice: str | None = None
    surgery: str | None = None
    surgery_date: date | None = None
    carrier: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    dob: date | None = None
    phone: str | None = None

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> IntakeRecord:
        """What the conversation collected (``ConversationState.fields``), typed."""

        def day(key: str) -> date | None:
            value = fields.get(key)
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        def text(key: str) -> str | None:
            value = (fields.get(key) or "").strip()
            return value or None

        payer = text("payer")
        plan = text("plan_type")
        kind = "commercial"
        if fields.get("payer_self_pay") == "yes" or payer == "self-pay" or plan == "self_pay":
            payer, kind = None, "self_pay"
        elif fields.get("coverage_kind") in ("workers_comp", "auto"):
            kind = fields["coverage_kind"]
        elif plan in ("medicare", "medicare_advantage", "medicaid", "supplement", "tricare"):
            kind = plan
        elif payer and "medicare" in payer.lower():
            kind = "medicare_advantage" if "advantage" in payer.lower() else "medicare"
        elif payer and "tricare" in payer.lower():
            kind = "tricare"
        relationship = fields.get("subscriber_relationship") or "self"
        return cls(
            reason=text("reason"), body_part=text("body_part"), payer_name=payer,
            member_id=text("member_id"), referring_provider=text("referring_provider"),
            referring_npi=text("referring_npi"), referring_fax=text("referring_fax"),
            coverage_kind=kind,
            claim_number=text("claim_number"), adjuster_name=text("adjuster_name"),
            adjuster_phone=text("adjuster_phone"), date_of_injury=day("date_of_injury"),
            employer=text("employer"), group_number=text("group_number"),
            subscriber_name=text("subscriber_name"), subscriber_dob=day("subscriber_dob"),
            subscriber_relationship=relationship,
            adjuster_extension=text("adjuster_extension"), attorney_name=text("attorney_name"),
            attorney_phone=text("attorney_phone"),
            plan_type=plan or (kind if kind != "commercial" else None), email=text("email"),
            referring_practice=text("referring_practice"), surgery=text("surgery"),
            surgery_date=day("surgery_date"), carrier=text("carrier"),
            first_name=text("first_name"),
            last_name=text("last_name"), dob=day("dob"), phone=text("phone"),
        )

    def summary(self) -> str:
        """The inquiry in a few words for a staff message (stored, never logged)."""
        parts = [f"{self.first_name or ''} {self.last_name or ''}".strip() or "A caller"]
        if self.reason:
            parts.append(f"reason: {self.reason[:200]}")
        if self.referring_provider:
            parts.append(f"referred by {self.referring_provider}")
        if self.payer_name or self.coverage_kind != "commercial":
            parts.append(f"coverage: {self.payer_name or self.coverage_kind}")
        if self.dob:
            parts.append(f"born {self.dob.isoformat()}")
        return "; ".join(parts)


@dataclass
class FrontDeskBackend:
    """Clinic operations for one call; ``actor`` carries the call id into the audit log."""

    store: Store
    clinic: ClinicConfig
    actor: Actor = field(default_factory=lambda: Actor("assistant"))
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.clock().astimezone(self.clinic.tz)

    # --- scheduling ---------------------------------------------------------------------

    def find_slots(
        self,
        appointment_type_id: str,
        request: AppointmentRequest | None,
        provider_id: str | None = None,
        limit: int = 3,
    ) -> list[scheduling.Slot]:
        prefs = scheduling.Preferences(provider_id=provider_id)
        if request is not None:
            prefs = scheduling.Preferences(
                dates=(request.day,) if request.day else (),
                earliest=request.earliest or request.at,
                latest=request.latest if request.latest else request.at,
                provider_id=provider_id,
            )
        return scheduling.find_slots(
            self.store, self.clinic, appointment_type_id, now=self.now(), preferences=prefs,
            limit=limit,
        )

    def find_nearby_slots(
        self, appointment_type_id: str, request: AppointmentRequest, limit: int = 3
    ) -> list[scheduling.Slot]:
        """Open slots from the requested day on, any time (the fallback offer)."""
        prefs = scheduling.Preferences(on_or_after=request.day)
        return scheduling.find_slots(
            self.store, self.clinic, appointment_type_id, now=self.now(), preferences=prefs,
            limit=limit,
        )

    @effect
    def hold(self, slot: scheduling.Slot) -> scheduling.SlotHold:
        return scheduling.hold_slot(
            self.store, self.clinic, appointment_type_id=slot.appointment_type_id,
            start=slot.start, now=self.now(), actor=self.actor, provider_id=slot.provider_id,
        )

    @effect
    def release(self, hold_id: str) -> None:
        scheduling.release_hold(self.store, hold_id)

    @effect
    def book(self, hold_id: str, patient_id: int, lead_id: int | None) -> scheduling.Booking:
        return scheduling.book(
            self.store, self.clinic, hold_id=hold_id, patient_id=patient_id, now=self.now(),
            actor=self.actor, lead_id=lead_id,
        )

    @effect
    def appointments(self, patient_id: int) -> list[scheduling.AppointmentInfo]:
        return scheduling.list_appointments(
            self.store, self.clinic, patient_id=patient_id, now=self.now(), actor=self.actor
        )

    @effect
    def reschedule(self, patient_id: int, appointment_id: int, hold_id: str) -> scheduling.Booking:
        return scheduling.reschedule(
            self.store, self.clinic, patient_id=patient_id, appointment_id=appointment_id,
            hold_id=hold_id, now=self.now(), actor=self.actor,
        )

    @effect
    def cancel(self, patient_id: int, appointment_id: int, reason: str | None) -> None:
        scheduling.cancel(
            self.store, self.clinic, patient_id=patient_id, appointment_id=appointment_id,
            now=self.now(), actor=self.actor, reason=reason,
        )

    # --- patients -----------------------------------------------------------------------

    @effect
    def verify_identity(self, full_name: str, dob: date, phone: str | None) -> Verification:
        """Name, date of birth and the phone on file must match one patient."""
        policy = self.clinic.identity
        return patients.verify_identity(self.store, name=full_name, dob=dob, phone=phone,
                                        actor=self.actor, required=tuple(policy.reschedule),
                                        max_attempts=policy.max_attempts)

    def match_existing(self, first: str, last: str, dob: date, phone: str | None) -> int | None:
        """An existing patient's id for a booking caller (new patients get None)."""
        found = self.verify_identity(f"{first} {last}", dob, phone)
        return found.patient_id if found.verified else None

    @effect
    def find_or_create_patient(self, first: str, last: str, dob: date, phone: str | None) -> int:
        return patients.find_or_create_patient(
            self.store, first_name=first, last_name=last, dob=dob, phone=phone, actor=self.actor
        ).patient_id

    @effect
    def record_intake(self, patient_id: int, intake: IntakeRecord, channel: str) -> int:
        """Store coverage, referral and contact details and record the inquiry's lead
        (one per person across channels); returns the lead's id."""
        referral_id = None
        if intake.reason or intake.referring_provider or intake.body_part or intake.surgery:
            try:
                referral_id = patients.add_referral(
                    self.store, patient_id=patient_id, actor=self.actor,
                    referring_provider_name=intake.referring_provider,
                    referring_provider_npi=intake.referring_npi,
                    referring_practice=intake.referring_practice,
                    referring_fax=intake.referring_fax, reason=intake.reason,
                    body_part=intake.body_part,
                    condition_kind="surgery" if intake.surgery else (
                        "injury" if intake.date_of_injury else None),
                    condition=intake.surgery, condition_date=intake.surgery_date or
                    intake.date_of_injury,
                )
            except ClinicError as exc:  # a bad NPI must not block the booking
                log.info("referral_not_recorded", extra={"call_id": self.actor.call_id,
                                                         "code": exc.code})
        if intake.payer_name or intake.coverage_kind != "commercial":
            try:
                patients.add_coverage(
                    self.store, patient_id=patient_id,
                    payer_name=intake.payer_name or _coverage_label(intake.coverage_kind),
                    member_id=intake.member_id or None, actor=self.actor,
                    kind=intake.coverage_kind, claim_number=intake.claim_number or None,
                    group_number=intake.group_number, subscriber_name=intake.subscriber_name,
                    subscriber_dob=intake.subscriber_dob,
                    adjuster_extension=intake.adjuster_extension,
                    attorney_name=intake.attorney_name, attorney_phone=intake.attorney_phone,
                    subscriber_relationship=intake.subscriber_relationship
                    if intake.subscriber_relationship in patients.RELATIONSHIPS else "other",
                    adjuster_name=intake.adjuster_name or None,
                    adjuster_phone=intake.adjuster_phone or None,
                    date_of_injury=intake.date_of_injury, employer=intake.employer,
                    carrier=intake.carrier,
                )
            except ClinicError as exc:
                # incomplete claim details must not block the booking; the front desk
                # completes them before the visit
                log.info("coverage_not_recorded", extra={"call_id": self.actor.call_id,
                                                         "code": exc.code})
        if intake.email:
            try:
                patients.update_contact(self.store, patient_id=patient_id, actor=self.actor,
                                        email=intake.email)
            except ClinicError as exc:
                log.info("contact_not_recorded", extra={"call_id": self.actor.call_id,
                                                        "code": exc.code})
        lead = self._inquiry(intake, channel, patient_id=patient_id, referral_id=referral_id)
        return lead

    def _inquiry(self, intake: IntakeRecord, channel: str, *, patient_id: int | None,
                 referral_id: int | None = None, phone: str | None = None) -> int:
        source = None
        if intake.coverage_kind == "workers_comp":
            source = "workers_comp"
        elif intake.coverage_kind == "auto":
            source = "auto_injury"
        elif intake.referring_provider:
            source = "physician_referral"
        return leads.record_inquiry(
            self.store, actor=self.actor, channel=_lead_channel(channel) or "phone",
            patient_id=patient_id, first_name=intake.first_name, last_name=intake.last_name,
            phone=phone or intake.phone, email=intake.email, source=source,
            payer_name=intake.payer_name, reason=intake.reason,
            referring_provider_name=intake.referring_provider,
            referring_provider_npi=intake.referring_npi, referral_id=referral_id,
            owners=self.clinic.leads,
        ).lead_id

    @effect
    def note_inquiry(self, intake: IntakeRecord, channel: str, phone: str | None) -> int | None:
        """As soon as the caller is identifiable (a name and a phone or email), the inquiry
        is a lead; called again as more is learned (the same lead is filled in)."""
        try:
            return self._inquiry(intake, channel, patient_id=None, phone=phone)
        except ClinicError as exc:
            log.info("inquiry_not_recorded", extra={"call_id": self.actor.call_id,
                                                    "code": exc.code})
            return None

    @effect
    def log_inquiry(self, intake: IntakeRecord, channel: str, phone: str | None) -> None:
        """An inquiry that ended before a booking: the lead with what was learned (and the
        patient and their details, when name and date of birth are known), plus a call-back
        message for the front desk, so the caller is followed up."""
        patient_id = None
        if intake.first_name and intake.last_name and intake.dob:
            patient_id = self.find_or_create_patient(intake.first_name, intake.last_name,
                                                     intake.dob, phone)
            self.record_intake(patient_id, intake, channel)
        elif (intake.first_name and (phone or intake.email)):
            self.note_inquiry(intake, channel, phone)
        self.take_message(category=_first_category(self.clinic, ("scheduling", "callback")),
                          subject="Inquiry ended before booking: please call back",
                          body=intake.summary(), callback_phone=phone, patient_id=patient_id)

    @effect
    def add_to_message(self, message_id: int, text: str) -> None:
        messages.append_to_message(self.store, message_id=message_id, text=text,
                                   actor=self.actor)

    @effect
    def security_event(self, kind: str, channel: str) -> None:
        """A refused attempt to misuse the assistant or to reach another patient's data,
        for the admin (a short code, never what was said)."""
        security.record_security_event(self.store, kind=kind, actor=self.actor,
                                       channel=_lead_channel(channel))

    # --- messages -----------------------------------------------------------------------

    @effect
    def take_message(
        self,
        *,
        category: str,
        subject: str,
        body: str,
        callback_phone: str | None,
        urgent: bool = False,
        patient_id: int | None = None,
    ) -> int:
        info = messages.create_message(
            self.store, self.clinic, category=category, subject=subject, actor=self.actor,
            body=body, priority=MessagePriority.URGENT if urgent else MessagePriority.NORMAL,
            callback_phone=callback_phone, patient_id=patient_id,
        )
        return info.message_id

    # --- hours --------------------------------------------------------------------------

    def transfer_open(self, target_id: str | None) -> bool:
        """Whether the transfer target (or the clinic) is staffed right now."""
        now = self.now()
        target = next((t for t in self.clinic.transfers if t.id == target_id), None)
        if target is None and self.clinic.transfers:
            target = self.clinic.transfers[0]
        hours = target.hours if target and target.hours else None
        window = hours.on(now.date()) if hours else self.clinic.hours_on(now.date())
        if window is None:
            return False
        end = time(23, 59, 59) if window.end == time.max else window.end
        return window.start <= now.time() < end

    def next_open_day(self) -> date | None:
        day = self.now().date()
        for i in range(1, 15):
            probe = day + timedelta(days=i)
            if self.clinic.hours_on(probe) is not None:
                return probe
        return None


def _first_category(clinic: ClinicConfig, wanted: tuple[str, ...]) -> str:
    ids = [c.id for c in clinic.message_categories]
    return next((w for w in wanted if w in ids), ids[0] if ids else "callback")


def _lead_channel(channel: str) -> str | None:
    mapped = {"chat": "web_chat", "text": "web_chat", "webchat": "web_chat"}.get(channel, channel)
    return mapped if mapped in leads.CHANNELS else None


def _coverage_label(kind: str) -> str:
    return {"self_pay": "self-pay", "workers_comp": "Workers' compensation",
            "auto": "Auto injury claim"}.get(kind, kind.replace("_", " "))
