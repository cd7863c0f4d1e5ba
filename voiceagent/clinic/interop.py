"""Moving data in and out: CSV and iCalendar imports, a per-provider iCalendar feed, FHIR R4.

Imports never drop a row silently: each returns an :class:`ImportReport` with the rows
applied and, for each row skipped, its line (CSV) or event UID (iCalendar) and why.
Imported appointments reserve provider and room time like any booking, so the database
still refuses an overlap; a re-import of the same rows (same external id / UID) is a no-op.

FHIR output is validated with ``fhir.resources`` (its R4B models, which for Patient,
Coverage, ServiceRequest, Appointment and Slot match R4) before it is returned.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import ClinicError, InvalidInput, NoRoom, SlotTaken, UnknownPatient
from voiceagent.clinic.models import (
    Appointment,
    AppointmentStatus,
    Coverage,
    Patient,
    Referral,
)
from voiceagent.clinic.patients import find_or_create_patient, name_key
from voiceagent.clinic.rules import is_rule_violation, sync_booking_rules
from voiceagent.clinic.scheduling import Slot, block_time, reserve_for_appointment

PRODID = "-//voiceagent//clinic feed//EN"
X_PATIENT = "X-VOICEAGENT-PATIENT-ID"
X_PATIENT_EXTERNAL = "X-PATIENT-EXTERNAL-ID"
X_TYPE = "X-VOICEAGENT-APPOINTMENT-TYPE"
X_STATUS = "X-VOICEAGENT-STATUS"
_OWN_UID = re.compile(r"appointment-(\d+)@voiceagent")


@dataclass
class ImportReport:
    """Rows applied, rows already present, and (line or UID, reason) for each row skipped."""

    applied: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --- CSV ---------------------------------------------------------------------------------------


def _rows(path: Path | str) -> list[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return [
            (line, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k})
            for line, row in enumerate(reader, start=2)
        ]


def import_patients_csv(store: Store, path: Path | str, *, actor: Actor) -> ImportReport:
    """Import patients. Columns: first_name, last_name, dob (YYYY-MM-DD) required; phone,
    email, external_id, preferred_language optional. Existing people are matched, not copied.
    """
    report = ImportReport()
    for line, row in _rows(path):
        try:
            dob = date.fromisoformat(row.get("dob", ""))
        except ValueError:
            report.skipped.append((f"line {line}", "dob is not YYYY-MM-DD"))
            continue
        try:
            record = find_or_create_patient(
                store,
                first_name=row.get("first_name", ""),
                last_name=row.get("last_name", ""),
                dob=dob,
                phone=row.get("phone") or None,
                email=row.get("email") or None,
                external_id=row.get("external_id") or None,
                preferred_language=row.get("preferred_language") or "en",
                actor=actor,
            )
        except ClinicError as exc:
            report.skipped.append((f"line {line}", str(exc)))
            continue
        if record.created:
            report.applied += 1
        else:
            report.unchanged += 1
    return report


def _local_datetime(clinic: ClinicConfig, text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=clinic.tz)


def _find_patient(store: Store, row: dict[str, str]) -> int | None:
    with store.transaction() as session:
        if row.get("patient_external_id"):
            found = session.scalars(
                select(Patient.id).where(Patient.external_id == row["patient_external_id"])
            ).first()
            return found
        if row.get("patient_id"):
            pid = int(row["patient_id"])
            return pid if session.get(Patient, pid) is not None else None
        dob = date.fromisoformat(row.get("dob", ""))
        key = name_key(row.get("first_name", ""), row.get("last_name", ""))
        return session.scalars(
            select(Patient.id).where(Patient.name_key == key, Patient.dob == dob)
        ).first()


def _import_appointment(
    store: Store,
    clinic: ClinicConfig,
    *,
    patient_id: int,
    type_id: str,
    provider_id: str,
    start: datetime,
    end: datetime | None,
    status: str,
    external_id: str | None,
    actor: Actor,
) -> bool:
    """Insert one imported appointment; False when that external id is already present."""
    try:
        kind = clinic.appointment_type(type_id)
    except KeyError:
        raise InvalidInput(f"unknown appointment type {type_id!r}") from None
    try:
        clinic.provider(provider_id)
    except KeyError:
        raise InvalidInput(f"unknown provider {provider_id!r}") from None
    if status not in {s.value for s in AppointmentStatus}:
        raise InvalidInput(f"unknown status {status!r}")
    end = end or start + timedelta(minutes=kind.duration_minutes)
    sync_booking_rules(store, clinic)
    try:
        with store.transaction() as session:
            if (
                external_id
                and session.scalars(
                    select(Appointment.id).where(Appointment.external_id == external_id)
                ).first()
            ):
                return False
            own = _OWN_UID.fullmatch(external_id or "")
            if own and session.get(Appointment, int(own[1])) is not None:
                return False  # our own feed read back in
            row = Appointment(
                patient_id=patient_id,
                appointment_type_id=kind.id,
                provider_id=provider_id,
                start=start,
                end=end,
                status=status,
                external_id=external_id,
                call_id=actor.call_id,
            )
            session.add(row)
            session.flush()
            if status == AppointmentStatus.BOOKED:
                row.room_id = reserve_for_appointment(session, clinic, row)
            audit.record(session, actor, "import", "appointment", row.id)
    except IntegrityError as exc:
        if is_rule_violation(exc):
            raise InvalidInput(
                f"{provider_id} may not deliver {type_id!r} (or not in that room)"
                " under the clinic's rules"
            ) from None
        raise InvalidInput("overlaps an existing booking for that provider or room") from None
    except (SlotTaken, NoRoom):
        raise InvalidInput("overlaps an existing booking for that provider or room") from None
    return True


def import_appointments_csv(
    store: Store, clinic: ClinicConfig, path: Path | str, *, actor: Actor
) -> ImportReport:
    """Import appointments. Columns: ``start`` (ISO, clinic-local unless it has an offset),
    ``appointment_type``, ``provider_id``; the patient by ``patient_external_id`` or
    ``first_name``/``last_name``/``dob``; optional ``end``, ``status`` (default booked),
    ``external_id`` (makes re-imports idempotent).
    """
    report = ImportReport()
    for line, row in _rows(path):
        where = f"line {line}"
        try:
            start = _local_datetime(clinic, row.get("start", ""))
            end = _local_datetime(clinic, row["end"]) if row.get("end") else None
            patient_id = _find_patient(store, row)
        except ValueError:
            report.skipped.append((where, "start, end or dob is not an ISO date/time"))
            continue
        if patient_id is None:
            report.skipped.append((where, "no matching patient; import patients first"))
            continue
        try:
            added = _import_appointment(
                store,
                clinic,
                patient_id=patient_id,
                type_id=row.get("appointment_type", ""),
                provider_id=row.get("provider_id", ""),
                start=start,
                end=end,
                status=row.get("status") or "booked",
                external_id=row.get("external_id") or None,
                actor=actor,
            )
        except ClinicError as exc:
            report.skipped.append((where, str(exc)))
            continue
        if added:
            report.applied += 1
        else:
            report.unchanged += 1
    return report


# --- iCalendar ----------------------------------------------------------------------------------


def _as_datetime(value: Any, clinic: ClinicConfig) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=clinic.tz)
    if isinstance(value, date):  # an all-day event blocks the whole local day
        return datetime.combine(value, datetime.min.time(), clinic.tz)
    raise InvalidInput("event time is not a date or date-time")


def import_ical(
    store: Store,
    clinic: ClinicConfig,
    data: bytes | str,
    *,
    provider_id: str,
    actor: Actor,
) -> ImportReport:
    """Import a provider's calendar.

    Events carrying ``X-VOICEAGENT-PATIENT-ID`` or ``X-PATIENT-EXTERNAL-ID`` (as written by
    :func:`provider_ical_feed`) become appointments; every other event blocks the provider's
    time (meetings, leave), so it is never offered. The UID makes a re-import a no-op.
    """
    try:
        clinic.provider(provider_id)
    except KeyError:
        raise InvalidInput(f"unknown provider {provider_id!r}") from None
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise InvalidInput(f"not an iCalendar file: {exc}") from None
    report = ImportReport()
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID") or "")
        where = f"UID {uid or '(none)'}"
        try:
            start = _as_datetime(event.decoded("DTSTART"), clinic)
            if event.get("DTEND") is not None:
                end = _as_datetime(event.decoded("DTEND"), clinic)
            elif event.get("DURATION") is not None:
                end = start + event.decoded("DURATION")
            else:  # RFC 5545: a date lasts one day, a date-time without an end is an instant
                all_day = not isinstance(event.decoded("DTSTART"), datetime)
                end = start + timedelta(days=1 if all_day else 0)
            if end <= start:
                raise InvalidInput("the event ends before it starts")
            patient_ref = event.get(X_PATIENT)
            external_ref = event.get(X_PATIENT_EXTERNAL)
            if patient_ref is not None or external_ref is not None:
                row = (
                    {"patient_id": str(patient_ref)}
                    if patient_ref is not None
                    else {"patient_external_id": str(external_ref)}
                )
                patient_id = _find_patient(store, row)
                if patient_id is None:
                    raise UnknownPatient("no matching patient; import patients first")
                added = _import_appointment(
                    store,
                    clinic,
                    patient_id=patient_id,
                    type_id=str(event.get(X_TYPE) or ""),
                    provider_id=provider_id,
                    start=start,
                    end=end,
                    status=str(event.get(X_STATUS) or "booked"),
                    external_id=uid or None,
                    actor=actor,
                )
            else:
                added = block_time(
                    store,
                    clinic,
                    provider_id=provider_id,
                    start=start,
                    end=end,
                    reason="calendar",
                    external_uid=uid or None,
                    actor=actor,
                )
        except ClinicError as exc:
            report.skipped.append((where, str(exc)))
            continue
        except (KeyError, ValueError) as exc:
            report.skipped.append((where, f"unreadable event ({exc})"))
            continue
        if added:
            report.applied += 1
        else:
            report.unchanged += 1
    return report


def provider_ical_feed(
    store: Store,
    clinic: ClinicConfig,
    *,
    provider_id: str,
    start: datetime,
    end: datetime,
    actor: Actor,
) -> bytes:
    """An iCalendar feed of one provider's booked appointments between ``start`` and ``end``.

    Summaries name the appointment type and the patient's record number, not the patient:
    a calendar feed travels to phones and third-party apps.
    """
    try:
        provider = clinic.provider(provider_id)
    except KeyError:
        raise InvalidInput(f"unknown provider {provider_id!r}") from None
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{clinic.name}: {provider.name}")
    cal.add("x-wr-timezone", clinic.timezone)
    with store.transaction() as session:
        rows = session.scalars(
            select(Appointment)
            .where(
                Appointment.provider_id == provider_id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.start < end,
                Appointment.end > start,
            )
            .order_by(Appointment.start)
        ).all()
        audit.record(session, actor, "export", "appointment", f"ical:{provider_id}")
        for row in rows:
            try:
                kind_name = clinic.appointment_type(row.appointment_type_id).name
            except KeyError:
                kind_name = row.appointment_type_id
            event = icalendar.Event()
            event.add("uid", row.external_id or f"appointment-{row.id}@voiceagent")
            event.add("dtstamp", row.updated_at.astimezone(UTC))
            event.add("dtstart", row.start.astimezone(UTC))
            event.add("dtend", row.end.astimezone(UTC))
            event.add("summary", f"{kind_name} (patient #{row.patient_id})")
            if row.room_id:
                event.add("location", row.room_id)
            event.add(X_PATIENT, str(row.patient_id))
            event.add(X_TYPE, row.appointment_type_id)
            event.add(X_STATUS, row.status)
            cal.add_component(event)
    return bytes(cal.to_ical())


# --- FHIR R4 ----------------------------------------------------------------------------------

_APPOINTMENT_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "no_show": "noshow",
    "fulfilled": "fulfilled",
    "rescheduled": "cancelled",
}
_RELATIONSHIP = {
    "self": "self",
    "spouse": "spouse",
    "child": "child",
    "parent": "parent",
    "other": "other",
}


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate a FHIR resource dict with fhir.resources; return its canonical JSON form."""
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    out: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return out


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fhir_patient(row: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(row.id),
        "name": [{"use": "official", "family": row.last_name, "given": [row.first_name]}],
        "birthDate": row.dob.isoformat(),
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": row.preferred_language}]
                }
            }
        ],
    }
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone, "use": "mobile"})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    if telecom:
        resource["telecom"] = telecom
    if row.external_id:
        resource["identifier"] = [{"system": "urn:voiceagent:emr", "value": row.external_id}]
    return _validated(resource)


def fhir_coverage(row: Coverage) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": str(row.id),
        "status": "active",
        "beneficiary": {"reference": f"Patient/{row.patient_id}"},
        "payor": [{"display": row.payer_name}],
        "order": row.order,
        "relationship": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                    "code": _RELATIONSHIP.get(row.subscriber_relationship, "other"),
                }
            ]
        },
        "type": {"text": row.kind},
    }
    if row.member_id:
        resource["subscriberId"] = row.member_id
    if row.group_number:
        resource["class"] = [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                            "code": "group",
                        }
                    ]
                },
                "value": row.group_number,
            }
        ]
    if row.claim_number:
        resource["identifier"] = [{"system": "urn:voiceagent:claim", "value": row.claim_number}]
    return _validated(resource)


def fhir_service_request(row: Referral) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(row.id),
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "code": {"text": "physical therapy evaluation and treatment"},
        "authoredOn": _iso(row.created_at),
    }
    if row.referring_provider_name or row.referring_provider_npi:
        requester: dict[str, Any] = {}
        if row.referring_provider_name:
            requester["display"] = row.referring_provider_name
        if row.referring_provider_npi:
            requester["identifier"] = {
                "system": "http://hl7.org/fhir/sid/us-npi",
                "value": row.referring_provider_npi,
            }
        resource["requester"] = requester
    if row.diagnosis or row.reason:
        resource["reasonCode"] = [{"text": row.diagnosis or row.reason}]
    if row.body_part:
        resource["bodySite"] = [{"text": row.body_part}]
    if row.reason and row.diagnosis:
        resource["note"] = [{"text": row.reason}]
    return _validated(resource)


def fhir_appointment(row: Appointment, clinic: ClinicConfig) -> dict[str, Any]:
    try:
        kind = clinic.appointment_type(row.appointment_type_id)
        type_text, minutes = kind.name, kind.duration_minutes
    except KeyError:
        type_text, minutes = row.appointment_type_id, None
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{row.patient_id}"}, "status": "accepted"},
        {"actor": {"reference": f"Practitioner/{row.provider_id}"}, "status": "accepted"},
    ]
    if row.room_id:
        participants.append({"actor": {"display": row.room_id}, "status": "accepted"})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(row.id),
        "status": _APPOINTMENT_STATUS.get(row.status, "booked"),
        "appointmentType": {"text": type_text},
        "start": _iso(row.start),
        "end": _iso(row.end),
        "created": _iso(row.created_at),
        "participant": participants,
    }
    if minutes:
        resource["minutesDuration"] = minutes
    if row.cancel_reason:
        resource["cancelationReason"] = {"text": row.cancel_reason}
    return _validated(resource)


def fhir_slot(slot: Slot) -> dict[str, Any]:
    """A free Slot (from :func:`~voiceagent.clinic.scheduling.find_slots`) as FHIR."""
    resource = {
        "resourceType": "Slot",
        "schedule": {"reference": f"Schedule/{slot.provider_id}"},
        "status": "free",
        "start": _iso(slot.start),
        "end": _iso(slot.end),
        "appointmentType": {"text": slot.appointment_type_id},
    }
    return _validated(resource)


def export_patient_bundle(
    store: Store, clinic: ClinicConfig, patient_id: int, *, actor: Actor
) -> dict[str, Any]:
    """A FHIR collection Bundle: the patient, their coverages, referrals and appointments."""
    with store.transaction() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise UnknownPatient()
        resources = [fhir_patient(patient)]
        resources += [fhir_coverage(c) for c in sorted(patient.coverages, key=lambda c: c.order)]
        resources += [fhir_service_request(r) for r in patient.referrals]
        resources += [
            fhir_appointment(a, clinic) for a in sorted(patient.appointments, key=lambda a: a.start)
        ]
        audit.record(session, actor, "export", "patient", patient.id)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _iso(datetime.now(UTC)),
        "entry": [
            {"fullUrl": f"urn:voiceagent:{r['resourceType']}/{r.get('id', '')}", "resource": r}
            for r in resources
        ],
    }
    return _validated(bundle)
