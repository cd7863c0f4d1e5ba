"""Patients: find-or-create without duplicates, identity verification, coverage, referrals.

Identity rule (the clinic's, enforced here, not by the LLM): a caller is verified only when
full name, date of birth and a phone number on file all match one patient. A refusal never
says which part did not match. After ``MAX_FAILED_VERIFICATIONS`` failures in one call the
call is refused further attempts (offer a transfer to staff).
"""

from __future__ import annotations

import re
import unicodedata
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
    Coverage,
    Patient,
    PlanType,
    Referral,
    SubscriberRelationship,
)

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


def verify_identity(
    store: Store, *, name: str, dob: date | None, phone: str | None, actor: Actor
) -> Verification:
    """Verify a caller: full name, date of birth and phone on file must match one patient.

    ``name`` is the full name as spoken/spelled ("Maria Garcia"); small transcription slips
    are tolerated, the DOB and phone must match exactly. Never raises for a non-match.
    """
    if not name or not name_part(name) or dob is None or not phone:
        return Verification(
            False,
            None,
            "missing_details",
            "ask for the full name, date of birth and the phone number on file",
        )
    try:
        _e164, phone_key = normalise_phone(phone)
    except InvalidInput:
        phone_key = None
    with store.transaction() as session:
        if _failed_attempts(session, actor.call_id) >= MAX_FAILED_VERIFICATIONS:
            return Verification(
                False,
                None,
                "too_many_attempts",
                "do not try again on this call; offer a transfer to the front desk",
            )
        spoken = " ".join(name_part(w) for w in name.split())
        found: Patient | None = None
        if phone_key:
            for row in session.scalars(
                select(Patient).where(Patient.dob == dob, Patient.phone_key == phone_key)
            ):
                full = f"{name_part(row.first_name)} {name_part(row.last_name)}"
                if fuzz.token_sort_ratio(spoken, full) >= NAME_MATCH_THRESHOLD:
                    found = row
                    break
        if found is None:
            audit.record(session, actor, "verify_failed", "patient", None)
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


def add_coverage(
    store: Store,
    *,
    patient_id: int,
    payer_name: str,
    actor: Actor,
    member_id: str | None = None,
    group_number: str | None = None,
    subscriber_name: str | None = None,
    subscriber_relationship: str = "self",
    order: int = 1,
    kind: str = "commercial",
    claim_number: str | None = None,
    adjuster_name: str | None = None,
    adjuster_phone: str | None = None,
    date_of_injury: date | None = None,
) -> int:
    """Record an insurance (or workers' comp / auto claim) for a patient; returns its id.

    Raises:
        InvalidInput: unknown relationship/kind, an order below 1, or missing claim details
            for ``workers_comp``/``auto`` (claim number and adjuster are required).
        UnknownPatient.
    """
    if subscriber_relationship not in RELATIONSHIPS:
        raise InvalidInput(f"relationship must be one of {', '.join(RELATIONSHIPS)}")
    if kind not in COVERAGE_KINDS:
        raise InvalidInput(f"coverage kind must be one of {', '.join(COVERAGE_KINDS)}")
    if order < 1:
        raise InvalidInput("coverage order starts at 1 (primary)")
    if kind in ("workers_comp", "auto") and not (claim_number and adjuster_name):
        raise InvalidInput("a claim number and the adjuster's name are needed for this claim")
    if kind not in ("self_pay", "workers_comp", "auto") and not member_id:
        raise InvalidInput("the member ID on the insurance card is needed; ask for it")
    _e164, _key = normalise_phone(adjuster_phone)
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = Coverage(
            patient_id=patient_id,
            kind=kind,
            payer_name=payer_name.strip(),
            member_id=member_id,
            group_number=group_number,
            subscriber_name=subscriber_name,
            subscriber_relationship=subscriber_relationship,
            order=order,
            claim_number=claim_number,
            adjuster_name=adjuster_name,
            adjuster_phone=_e164,
            date_of_injury=date_of_injury,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "coverage", row.id)
        return row.id


def add_referral(
    store: Store,
    *,
    patient_id: int,
    actor: Actor,
    referring_provider_name: str | None = None,
    referring_provider_npi: str | None = None,
    reason: str | None = None,
    body_part: str | None = None,
    diagnosis: str | None = None,
) -> int:
    """Record a physician's referral for a patient; returns its id.

    Raises:
        InvalidInput: an NPI that fails the check digit. UnknownPatient.
    """
    if referring_provider_npi is not None and not npi_is_valid(referring_provider_npi):
        raise InvalidInput("that NPI is not valid (10 digits with a check digit); ask again")
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        row = Referral(
            patient_id=patient_id,
            referring_provider_name=referring_provider_name,
            referring_provider_npi=referring_provider_npi,
            reason=reason,
            body_part=body_part,
            diagnosis=diagnosis,
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "referral", row.id)
        return row.id
