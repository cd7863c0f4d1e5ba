"""Patients: find-or-create without duplicates, identity verification, coverage, referrals.

Identity rule (the clinic's, enforced here, not by the LLM): a caller is verified only when
full name, date of birth and a phone number on file all match one patient. A refusal never
says which part did not match. After ``MAX_FAILED_VERIFICATIONS`` failures in one call the
call is refused further attempts (offer a transfer to staff).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import phonenumbers
from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput, UnknownPatient
from voiceagent.clinic.models import (
    AuditEntry,
    ContactMethod,
    Coverage,
    Patient,
    PlanType,
    Referral,
    SecurityEvent,
    SecurityEventKind,
    SubscriberRelationship,
    utcnow,
)
from voiceagent.clinic.nicknames import same_first_name

MAX_FAILED_VERIFICATIONS = 3
NAME_MATCH_THRESHOLD = 88  # rapidfuzz token_sort_ratio; tolerates one STT slip in a name
RELATIONSHIPS = tuple(r.value for r in SubscriberRelationship)
COVERAGE_KINDS = tuple(k.value for k in PlanType)


# --- normalisation ---------------------------------------------------------------------------


def name_part(text: str) -> str:
    """Lower-case letters only, accents folded: "O'Brien-Smith" -> "obriensmith"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def name_key(first_name: str, last_name: str) -> str:
    return f"{name_part(last_name)}|{name_part(first_name)}"


def normalise_phone(phone: str | None, region: str = "US") -> tuple[str | None, str | None]:
    """(E.164, match key) for a phone number; InvalidInput when it is not a phone number."""
    if phone is None or not phone.strip():
        return None, None
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("that phone number was not understood; ask for it again") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput("that phone number is incomplete; ask for all ten digits")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, str(parsed.national_number)[-10:]


def npi_is_valid(npi: str) -> bool:
    """The NPI check digit (Luhn over "80840" + the first nine digits)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientRecord:
    """A patient id and whether this call created it (False: an existing record was reused)."""

    patient_id: int
    created: bool


@dataclass(frozen=True)
class Verification:
    """Outcome of :func:`verify_identity`: ``patient_id`` when verified, else a refusal reason.

    ``reason`` codes: ``verified``, ``missing_details`` (ask for name, DOB and phone),
    ``no_match`` (do not say which detail failed; offer to try again or take a message),
    ``too_many_attempts`` (offer a transfer to staff).
    """

    verified: bool
    patient_id: int | None
    reason: str
    next_step: str


@dataclass(frozen=True)
class PatientSummary:
    patient_id: int
    first_name: str
    last_name: str
    dob: date
    phone: str | None
    email: str | None
    preferred_language: str


# --- services --------------------------------------------------------------------------------


def _match(session: Session, key: str, dob: date, phone_key: str | None) -> Patient | None:
    conditions = [Patient.name_key == key]
    if phone_key:
        conditions.append(Patient.phone_key == phone_key)
    rows = list(
        session.scalars(
            select(Patient).where(Patient.dob == dob, or_(*conditions)).order_by(Patient.id)
        )
    )
    exact = [r for r in rows if r.name_key == key]
    best = exact or rows
    return best[0] if best else None


def find_or_create_patient(
    store: Store,
    *,
    first_name: str,
    last_name: str,
    dob: date,
    actor: Actor,
    phone: str | None = None,
    email: str | None = None,
    preferred_language: str = "en",
    external_id: str | None = None,
) -> PatientRecord:
    """The patient with this name + DOB (or phone + DOB), creating one only if none exists.

    A missing phone or email on an existing record is filled in; nothing else is changed.

    Raises:
        InvalidInput: an empty name, a future DOB or a phone that is not a phone number.
    """
    if not name_part(first_name) or not name_part(last_name):
        raise InvalidInput("first and last name are both needed; ask the caller to spell them")
    if dob > date.today():
        raise InvalidInput("that date of birth is in the future; ask for it again")
    e164, phone_key = normalise_phone(phone)
    key = name_key(first_name, last_name)
    for _attempt in range(2):
        try:
            with store.transaction() as session:
                existing = _match(session, key, dob, phone_key)
                if existing is not None:
                    if existing.phone is None and e164:
                        existing.phone, existing.phone_key = e164, phone_key
                    if existing.email is None and email:
                        existing.email = email
                    if existing.external_id is None and external_id:
                        existing.external_id = external_id
                    audit.record(session, actor, "read", "patient", existing.id)
                    return PatientRecord(existing.id, created=False)
                patient = Patient(
                    first_name=first_name.strip(),
                    last_name=last_name.strip(),
                    name_key=key,
                    dob=dob,
                    phone=e164,
                    phone_key=phone_key,
                    email=email,
                    preferred_language=preferred_language,
                    external_id=external_id,
                )
                session.add(patient)
                session.flush()
                audit.record(session, actor, "create", "patient", patient.id)
                return PatientRecord(patient.id, created=True)
        except IntegrityError:
            # Another call created the same person a moment ago: reuse that record.
            continue
    raise InvalidInput("the patient record could not be created; take a message for staff")


def _failed_attempts(session: Session, call_id: str | None) -> int:
    if call_id is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.call_id == call_id, AuditEntry.action == "verify_failed")
        )
        or 0
    )


_ASK = {
    "name": "full name",
    "dob": "date of birth",
    "phone": "phone number on file",
    "email": "email on file",
}


def verify_identity(
    store: Store,
    *,
    name: str,
    dob: date | None,
    phone: str | None,
    actor: Actor,
    email: str | None = None,
    required: Sequence[str] = ("name", "dob", "phone"),
    max_attempts: int = MAX_FAILED_VERIFICATIONS,
) -> Verification:
    """Verify a caller: every detail in ``required`` must match one patient on file.

    ``required`` is the clinic's identity policy for the request (``clinic.identity``:
    name and dob always, plus phone and/or email). ``name`` is the full name as spoken or
    spelled ("Maria Garcia"); small transcription slips are tolerated, the other details
    must match exactly. After ``max_attempts`` failures in one call the call is refused
    further attempts and a security event is recorded. Never raises for a non-match.
    """
    wanted = set(required) | {"name", "dob"}
    given = {
        "name": bool(name and name_part(name)),
        "dob": dob is not None,
        "phone": bool(phone),
        "email": bool(email and email.strip()),
    }
    missing = [f for f in ("name", "dob", "phone", "email") if f in wanted and not given[f]]
    if missing:
        return Verification(
            False,
            None,
            "missing_details",
            "ask for the "
            + ", ".join(_ASK[f] for f in ("name", "dob", "phone", "email") if f in wanted),
        )
    phone_key: str | None = None
    if "phone" in wanted:
        try:
            _e164, phone_key = normalise_phone(phone)
        except InvalidInput:
            phone_key = None
    email_key = (email or "").strip().lower()
    with store.transaction() as session:
        if _failed_attempts(session, actor.call_id) >= max_attempts:
            return Verification(
                False,
                None,
                "too_many_attempts",
                "do not try again on this call; offer a transfer to the front desk",
            )
        spoken = " ".join(name_part(w) for w in name.split())
        found: Patient | None = None
        query = select(Patient).where(Patient.dob == dob)
        if "phone" in wanted:
            query = query.where(Patient.phone_key == (phone_key or "-"))
        if "email" in wanted:
            query = query.where(func.lower(Patient.email) == email_key)
        said = spoken.split()
        for row in session.scalars(query.order_by(Patient.id)):
            full = f"{name_part(row.first_name)} {name_part(row.last_name)}"
            if fuzz.token_sort_ratio(spoken, full) >= NAME_MATCH_THRESHOLD or (
                len(said) >= 2
                and same_first_name(said[0], name_part(row.first_name))
                and fuzz.ratio(" ".join(said[1:]), name_part(row.last_name))
                >= NAME_MATCH_THRESHOLD
            ):  # "Walt Brzezinski" is Walter, when the birth date and phone agree
                found = row
                break
        if found is None:
            audit.record(session, actor, "verify_failed", "patient", None)
            if (
                actor.call_id is not None
                and _failed_attempts(session, actor.call_id) >= max_attempts
            ):
                session.add(
                    SecurityEvent(
                        kind=SecurityEventKind.VERIFICATION_LOCKOUT,
                        call_id=actor.call_id,
                        detail=f"{max_attempts} failed identity checks",
                        actor=actor.name,
                    )
                )
            return Verification(
                False,
                None,
                "no_match",
                "say the details do not match our records; offer to try again or take a message",
            )
        audit.record(session, actor, "verify", "patient", found.id)
        return Verification(True, found.id, "verified", "continue with the caller's request")


def get_patient(store: Store, patient_id: int, *, actor: Actor) -> PatientSummary:
    """One patient's demographics (audited read)."""
    with store.transaction() as session:
        row = session.get(Patient, patient_id)
        if row is None:
            raise UnknownPatient()
        audit.record(session, actor, "read", "patient", row.id)
        return PatientSummary(
            row.id,
            row.first_name,
            row.last_name,
            row.dob,
            row.phone,
            row.email,
            row.preferred_language,
        )


INJURY_KINDS = (PlanType.WORKERS_COMP.value, PlanType.AUTO.value)


def add_coverage(
    store: Store,
    *,
    patient_id: int,
    payer_name: str,
    actor: Actor,
    member_id: str | None = None,
    group_number: str | None = None,
    subscriber_name: str | None = None,
    subscriber_dob: date | None = None,
    subscriber_relationship: str = "self",
    order: int = 1,
    kind: str = "commercial",
    claim_number: str | None = None,
    adjuster_name: str | None = None,
    adjuster_phone: str | None = None,
    adjuster_extension: str | None = None,
    date_of_injury: date | None = None,
    employer: str | None = None,
    carrier: str | None = None,
    attorney_name: str | None = None,
    attorney_phone: str | None = None,
) -> int:
    """Record an insurance, or a workers' comp / auto claim, for a patient; returns its id.

    ``kind`` is the plan type (:class:`~voiceagent.clinic.models.PlanType`); ``order`` 1 is
    primary, 2 secondary. The member ID may follow later (the caller will call back with
    it): the coverage is kept with ``member_id_pending`` until :func:`update_coverage`
    fills it. A workers' comp or auto claim needs its claim number.

    Raises:
        InvalidInput: unknown relationship/plan type, an order below 1, a claim without a
            claim number, a subscriber date of birth in the future, a bad phone.
        UnknownPatient.
    """
    if subscriber_relationship not in RELATIONSHIPS:
        raise InvalidInput(f"relationship must be one of {', '.join(RELATIONSHIPS)}")
    if kind not in COVERAGE_KINDS:
        raise InvalidInput(f"plan type must be one of {', '.join(COVERAGE_KINDS)}")
    if order < 1:
        raise InvalidInput("coverage order starts at 1 (primary)")
    if kind in INJURY_KINDS and not claim_number:
        raise InvalidInput("the claim number is needed for this claim; ask for it")
    if subscriber_dob is not None and subscriber_dob > date.today():
        raise InvalidInput("the subscriber's date of birth is in the future; ask again")
    adjuster_e164, _key = normalise_phone(adjuster_phone)
    attorney_e164, _key = normalise_phone(attorney_phone)
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = Coverage(
            patient_id=patient_id,
            kind=kind,
            payer_name=payer_name.strip(),
            member_id=(member_id or "").strip() or None,
            group_number=group_number,
            subscriber_name=subscriber_name,
            subscriber_dob=subscriber_dob,
            subscriber_relationship=subscriber_relationship,
            order=order,
            claim_number=claim_number,
            adjuster_name=adjuster_name,
            adjuster_phone=adjuster_e164,
            adjuster_extension=adjuster_extension,
            date_of_injury=date_of_injury,
            employer=employer,
            carrier=carrier,
            attorney_name=attorney_name,
            attorney_phone=attorney_e164,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "coverage", row.id)
        return row.id


def update_coverage(
    store: Store,
    *,
    coverage_id: int,
    actor: Actor,
    member_id: str | None = None,
    group_number: str | None = None,
    subscriber_name: str | None = None,
    subscriber_dob: date | None = None,
    claim_number: str | None = None,
) -> None:
    """Fill in what the caller brings later (the member ID from the card...). Given
    values replace the stored ones; None leaves a field as it is."""
    with store.transaction() as session:
        row = session.get(Coverage, coverage_id)
        if row is None:
            raise InvalidInput(f"no coverage {coverage_id}")
        for name, value in (
            ("member_id", member_id),
            ("group_number", group_number),
            ("subscriber_name", subscriber_name),
            ("subscriber_dob", subscriber_dob),
            ("claim_number", claim_number),
        ):
            if value is not None:
                setattr(row, name, value)
        audit.record(session, actor, "update", "coverage", row.id)


@dataclass(frozen=True)
class CoverageSummary:
    coverage_id: int
    kind: str
    payer_name: str
    order: int
    member_id_pending: bool


def coverages(store: Store, patient_id: int, *, actor: Actor) -> list[CoverageSummary]:
    """The patient's coverages, primary first (audited read; no member numbers)."""
    with store.transaction() as session:
        rows = session.scalars(
            select(Coverage)
            .where(Coverage.patient_id == patient_id)
            .order_by(Coverage.order, Coverage.id)
        )
        out = [
            CoverageSummary(r.id, r.kind, r.payer_name, r.order, r.member_id_pending) for r in rows
        ]
        audit.record(session, actor, "read", "coverage", f"patient:{patient_id}")
        return out


CONDITION_KINDS = ("surgery", "injury")


def add_referral(
    store: Store,
    *,
    patient_id: int,
    actor: Actor,
    referring_provider_name: str | None = None,
    referring_provider_npi: str | None = None,
    referring_practice: str | None = None,
    referring_phone: str | None = None,
    referring_fax: str | None = None,
    reason: str | None = None,
    body_part: str | None = None,
    diagnosis: str | None = None,
    condition_kind: str | None = None,
    condition: str | None = None,
    condition_date: date | None = None,
    order_text: str | None = None,
    written_order_on_file: bool = False,
) -> int:
    """Record a physician's referral (the order for therapy) for a patient; returns its id.

    ``condition_kind`` is ``surgery`` or ``injury``: what brought the patient (``condition``,
    e.g. "right ACL reconstruction") and when (``condition_date``).

    Raises:
        InvalidInput: an NPI that fails the check digit, a bad phone or fax number, an
            unknown condition kind, a condition date in the future. UnknownPatient.
    """
    if referring_provider_npi is not None:
        referring_provider_npi = re.sub(r"\D", "", referring_provider_npi)
        if not npi_is_valid(referring_provider_npi):
            raise InvalidInput("that NPI is not valid (10 digits with a check digit); ask again")
    if condition_kind is not None and condition_kind not in CONDITION_KINDS:
        raise InvalidInput(f"condition kind must be one of {', '.join(CONDITION_KINDS)}")
    if condition_date is not None and condition_date > date.today():
        raise InvalidInput("the surgery or injury date is in the future; ask again")
    phone, _key = normalise_phone(referring_phone)
    fax, _key = normalise_phone(referring_fax)
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = Referral(
            patient_id=patient_id,
            referring_provider_name=referring_provider_name,
            referring_provider_npi=referring_provider_npi,
            referring_practice=referring_practice,
            referring_phone=phone,
            referring_fax=fax,
            reason=reason,
            body_part=body_part,
            diagnosis=diagnosis,
            condition_kind=condition_kind,
            condition=condition,
            condition_date=condition_date,
            order_text=order_text,
            written_order_on_file=written_order_on_file,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "referral", row.id)
        return row.id


CONTACT_METHODS = tuple(m.value for m in ContactMethod)


def update_contact(
    store: Store,
    *,
    patient_id: int,
    actor: Actor,
    email: str | None = None,
    phone: str | None = None,
    preferred_contact: str | None = None,
    sms_consent: bool | None = None,
    preferred_language: str | None = None,
    emergency_contact_name: str | None = None,
    emergency_contact_phone: str | None = None,
    emergency_contact_relationship: str | None = None,
    representative_name: str | None = None,
    representative_phone: str | None = None,
    representative_relationship: str | None = None,
) -> None:
    """Record how to reach the patient and who else may speak for them. None leaves a
    field as it is; SMS consent records when it was given (or withdrawn).

    Raises:
        InvalidInput: a bad email or phone, an unknown contact method, SMS preferred without
            SMS consent. UnknownPatient.
    """
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip()):
        raise InvalidInput("that email address does not look right; ask the caller to spell it")
    if preferred_contact is not None and preferred_contact not in CONTACT_METHODS:
        raise InvalidInput(f"contact method must be one of {', '.join(CONTACT_METHODS)}")
    e164, phone_key = normalise_phone(phone)
    emergency, _key = normalise_phone(emergency_contact_phone)
    representative, _key = normalise_phone(representative_phone)
    with store.transaction() as session:
        row = session.get(Patient, patient_id)
        if row is None:
            raise UnknownPatient()
        if sms_consent is not None and sms_consent != row.sms_consent:
            row.sms_consent = sms_consent
            row.sms_consent_at = utcnow()
        wants_sms = (preferred_contact or row.preferred_contact) == ContactMethod.SMS
        if wants_sms and not row.sms_consent:
            raise InvalidInput("texts need the patient's consent first; ask whether we may text")
        if e164 is not None:
            row.phone, row.phone_key = e164, phone_key
        for name, value in (
            ("email", email and email.strip()),
            ("preferred_contact", preferred_contact),
            ("preferred_language", preferred_language),
            ("emergency_contact_name", emergency_contact_name),
            ("emergency_contact_phone", emergency),
            ("emergency_contact_relationship", emergency_contact_relationship),
            ("representative_name", representative_name),
            ("representative_phone", representative),
            ("representative_relationship", representative_relationship),
        ):
            if value is not None:
                setattr(row, name, value)
        audit.record(session, actor, "update", "patient", row.id)
