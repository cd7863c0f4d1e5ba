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
from voiceagent.clinic.patients import (
    CONTACT_METHODS,
    add_coverage,
    add_referral,
    find_or_create_patient,
    name_key,
    normalise_phone,
    update_contact,
)
from voiceagent.clinic.rules import is_rule_violation, sync_booking_rules
from voiceagent.clinic.scheduling import Slot, block_time, reserve_for_appointment

PRODID = "-//voiceagent//clinic feed//EN"
X_PATIENT = "X-VOICEAGENT-PATIENT-ID"
X_PATIENT_EXTERNAL = "X-PATIENT-EXTERNAL-ID"
X_TYPE = "X-VOICEAGENT-APPOINTMENT-TYPE"
X_STATUS = "X-VOICEAGENT-STATUS"
X_ROOM = "X-VOICEAGENT-ROOM"
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


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


def _flag(row: dict[str, str], key: str) -> bool | None:
    value = row.get(key, "").lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidInput(f"{key} must be yes or no")


def _date(row: dict[str, str], key: str) -> date | None:
    value = row.get(key, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{key} is not YYYY-MM-DD") from None


CONTACT_COLUMNS = (
    "preferred_contact",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "representative_name",
    "representative_phone",
    "representative_relationship",
)


def _check_contact(row: dict[str, str], consent: bool | None) -> None:
    """Refuse a row's contact details before anything of it is stored."""
    method = row.get("preferred_contact", "")
    if method and method not in CONTACT_METHODS:
        raise InvalidInput(f"preferred_contact must be one of {', '.join(CONTACT_METHODS)}")
    if method == "sms" and consent is not True:
        raise InvalidInput("preferred_contact sms needs sms_consent yes")
    for key in ("phone", "emergency_contact_phone", "representative_phone"):
        normalise_phone(row.get(key) or None)


def import_patients_csv(store: Store, path: Path | str, *, actor: Actor) -> ImportReport:
    """Import patients. Columns: first_name, last_name, dob (YYYY-MM-DD) required; phone,
    email, external_id, preferred_language, preferred_contact (phone/sms/email), sms_consent
    (yes/no; texting as preferred contact needs yes), emergency_contact_name/_phone/
    _relationship, representative_name/_phone/_relationship optional. A row with a bad
    detail is skipped whole. Existing people are matched, not copied; their contact details
    are brought up to date from the file.
    """
    report = ImportReport()
    for line, row in _rows(path):
        try:
            dob = date.fromisoformat(row.get("dob", ""))
        except ValueError:
            report.skipped.append((f"line {line}", "dob is not YYYY-MM-DD"))
            continue
        try:
            consent = _flag(row, "sms_consent")
            _check_contact(row, consent)
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
            contact = {k: row[k] for k in CONTACT_COLUMNS if row.get(k)}
            if contact or consent is not None:
                update_contact(
                    store,
                    patient_id=record.patient_id,
                    actor=actor,
                    sms_consent=consent,
                    **contact,
                )
        except ClinicError as exc:
            report.skipped.append((f"line {line}", str(exc)))
            continue
        if record.created:
            report.applied += 1
        else:
            report.unchanged += 1
    return report


def import_coverages_csv(store: Store, path: Path | str, *, actor: Actor) -> ImportReport:
    """Import insurance and claims. The patient by ``patient_external_id`` or
    ``first_name``/``last_name``/``dob``; ``payer`` and ``plan_type`` (commercial, medicare,
    medicare_advantage, medicaid, supplement, tricare, workers_comp, auto, self_pay);
    optional ``member_id`` (may follow later), ``group_number``, ``subscriber_name``,
    ``subscriber_dob``, ``subscriber_relationship``, ``order`` (1 primary, 2 secondary),
    ``claim_number``, ``adjuster_name``, ``adjuster_phone``, ``adjuster_extension``,
    ``employer``, ``carrier``, ``attorney_name``, ``attorney_phone``, ``date_of_injury``.
    A row identical to a stored coverage (patient, payer, plan type, member ID, order) is
    left as it is."""
    report = ImportReport()
    for line, row in _rows(path):
        where = f"line {line}"
        try:
            patient_id = _find_patient(store, row)
        except ValueError:
            report.skipped.append((where, "dob is not YYYY-MM-DD"))
            continue
        if patient_id is None:
            report.skipped.append((where, "no matching patient; import patients first"))
            continue
        try:
            order = int(row.get("order") or 1)
        except ValueError:
            report.skipped.append((where, "order must be 1 (primary), 2 (secondary)..."))
            continue
        payer = row.get("payer", "")
        kind = row.get("plan_type") or "commercial"
        member_id = row.get("member_id") or None
        if not payer:
            report.skipped.append((where, "payer is empty"))
            continue
        with store.transaction() as session:
            same = session.scalars(
                select(Coverage.id).where(
                    Coverage.patient_id == patient_id,
                    Coverage.payer_name == payer,
                    Coverage.kind == kind,
                    Coverage.member_id == member_id if member_id else Coverage.member_id.is_(None),
                    Coverage.order == order,
                )
            ).first()
        if same is not None:
            report.unchanged += 1
            continue
        try:
            add_coverage(
                store,
                patient_id=patient_id,
                payer_name=payer,
                kind=kind,
                member_id=member_id,
                group_number=row.get("group_number") or None,
                subscriber_name=row.get("subscriber_name") or None,
                subscriber_dob=_date(row, "subscriber_dob"),
                subscriber_relationship=row.get("subscriber_relationship") or "self",
                order=order,
                claim_number=row.get("claim_number") or None,
                adjuster_name=row.get("adjuster_name") or None,
                adjuster_phone=row.get("adjuster_phone") or None,
                adjuster_extension=row.get("adjuster_extension") or None,
                employer=row.get("employer") or None,
                carrier=row.get("carrier") or None,
                attorney_name=row.get("attorney_name") or None,
                attorney_phone=row.get("attorney_phone") or None,
                date_of_injury=_date(row, "date_of_injury"),
                actor=actor,
            )
        except ClinicError as exc:
            report.skipped.append((where, str(exc)))
            continue
        report.applied += 1
    return report


def import_referrals_csv(store: Store, path: Path | str, *, actor: Actor) -> ImportReport:
    """Import physicians' referrals. The patient as for coverages; optional
    ``referring_provider``, ``npi`` (check digit verified), ``practice``, ``phone``, ``fax``,
    ``reason``, ``body_part``, ``diagnosis``, ``condition_kind`` (surgery/injury),
    ``condition``, ``condition_date``, ``order_text``, ``written_order_on_file`` (yes/no)."""
    report = ImportReport()
    for line, row in _rows(path):
        where = f"line {line}"
        try:
            patient_id = _find_patient(store, row)
        except ValueError:
            report.skipped.append((where, "dob is not YYYY-MM-DD"))
            continue
        if patient_id is None:
            report.skipped.append((where, "no matching patient; import patients first"))
            continue
        npi = "".join(c for c in row.get("npi", "") if c.isdigit()) or None
        with store.transaction() as session:
            same = session.scalars(
                select(Referral.id).where(
                    Referral.patient_id == patient_id,
                    Referral.referring_provider_npi == npi
                    if npi
                    else Referral.referring_provider_npi.is_(None),
                    Referral.referring_provider_name == (row.get("referring_provider") or None)
                    if row.get("referring_provider")
                    else Referral.referring_provider_name.is_(None),
                    Referral.condition == row["condition"]
                    if row.get("condition")
                    else Referral.condition.is_(None),
                    Referral.reason == row["reason"]
                    if row.get("reason")
                    else Referral.reason.is_(None),
                )
            ).first()
        if same is not None:
            report.unchanged += 1
            continue
        try:
            add_referral(
                store,
                patient_id=patient_id,
                referring_provider_name=row.get("referring_provider") or None,
                referring_provider_npi=row.get("npi") or None,
                referring_practice=row.get("practice") or None,
                referring_phone=row.get("phone") or None,
                referring_fax=row.get("fax") or None,
                reason=row.get("reason") or None,
                body_part=row.get("body_part") or None,
                diagnosis=row.get("diagnosis") or None,
                condition_kind=row.get("condition_kind") or None,
                condition=row.get("condition") or None,
                condition_date=_date(row, "condition_date"),
                order_text=row.get("order_text") or None,
                written_order_on_file=bool(_flag(row, "written_order_on_file")),
                actor=actor,
            )
        except ClinicError as exc:
            report.skipped.append((where, str(exc)))
            continue
        report.applied += 1
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
    room_id: str | None = None,
) -> bool:
    """Insert one imported appointment; False when that external id is already present.

    With ``room_id`` the appointment takes exactly that room (the EMR's schedule says where
    it is); without, a free room the type may use is chosen."""
    try:
        kind = clinic.appointment_type(type_id)
    except KeyError:
        raise InvalidInput(f"unknown appointment type {type_id!r}") from None
    try:
        clinic.provider(provider_id)
    except KeyError:
        raise InvalidInput(f"unknown provider {provider_id!r}") from None
    if room_id is not None:
        known_rooms = {r.id for r in clinic.rooms}
        if room_id not in known_rooms:
            raise InvalidInput(f"unknown room {room_id!r}; known rooms: {sorted(known_rooms)}")
        if room_id not in clinic.rooms_for(kind, provider_id):
            raise InvalidInput(
                f"room {room_id!r} is not used for {type_id!r} with {provider_id}"
                f" (allowed: {clinic.rooms_for(kind, provider_id) or 'no room'})"
            )
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
                room_id=room_id,
                start=start,
                end=end,
                status=status,
                external_id=external_id,
                call_id=actor.call_id,
            )
            session.add(row)
            session.flush()
            if status == AppointmentStatus.BOOKED:
                row.room_id = reserve_for_appointment(
                    session, clinic, row, exact_room=room_id is not None
                )
            audit.record(session, actor, "import", "appointment", row.id)
    except IntegrityError as exc:
        if is_rule_violation(exc):
            raise InvalidInput(
                f"{provider_id} may not deliver {type_id!r} (or not in that room)"
                " under the clinic's rules"
            ) from None
        raise InvalidInput("overlaps an existing booking for that provider or room") from None
    except SlotTaken:
        raise InvalidInput("overlaps an existing booking for that provider or room") from None
    except NoRoom:
        where = f"room {room_id!r}" if room_id else "a room"
        raise InvalidInput(f"{where} is already in use (or closed) at that time") from None
    return True


def import_appointments_csv(
    store: Store, clinic: ClinicConfig, path: Path | str, *, actor: Actor
) -> ImportReport:
    """Import appointments. Columns: ``start`` (ISO, clinic-local unless it has an offset),
    ``appointment_type``, ``provider_id``; the patient by ``patient_external_id`` or
    ``first_name``/``last_name``/``dob``; optional ``end``, ``status`` (default booked),
    ``room`` (the room it is in; else a free room the type may use), ``external_id`` (makes
    re-imports idempotent).
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
                room_id=row.get("room") or row.get("room_id") or None,
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


def _event_room(clinic: ClinicConfig, event: icalendar.cal.Component) -> str | None:
    """The room an event names: X-VOICEAGENT-ROOM, else a LOCATION that is a room's id or
    name (a free-text location such as an address is not a room)."""
    explicit = event.get(X_ROOM)
    if explicit is not None:
        return str(explicit)
    location = str(event.get("LOCATION") or "").strip().lower()
    for room in clinic.rooms:
        if location in (room.id, room.name.lower()):
            return room.id
    return None


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
    :func:`provider_ical_feed`) become appointments, in the room named by
    ``X-VOICEAGENT-ROOM`` or a LOCATION that is a room's id or name; every other event blocks
    the provider's time (meetings, leave), so it is never offered. The UID makes a re-import
    a no-op.
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
                    room_id=_event_room(clinic, event),
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
                try:
                    event.add("location", clinic.room(row.room_id).name)
                except KeyError:
                    event.add("location", row.room_id)
                event.add(X_ROOM, row.room_id)
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


_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# plan type -> the v3 ActCode coverage type where one fits (the exact type is coded too)
_COVERAGE_TYPE = {
    "commercial": (_ACT_CODE, "HIP", "health insurance plan policy"),
    "medicare": (_ACT_CODE, "PUBLICPOL", "public healthcare"),
    "medicare_advantage": (_ACT_CODE, "MCPOL", "managed care policy"),
    "medicaid": (_ACT_CODE, "PUBLICPOL", "public healthcare"),
    "supplement": (_ACT_CODE, "HIP", "health insurance plan policy"),
    "tricare": (_ACT_CODE, "PUBLICPOL", "public healthcare"),
    "workers_comp": (_ACT_CODE, "WCBPOL", "worker's compensation"),
    "auto": (_ACT_CODE, "AUTOPOL", "automobile"),
    "self_pay": ("http://terminology.hl7.org/CodeSystem/coverage-selfpay", "pay", "Pay"),
}
PLAN_TYPE_SYSTEM = "urn:voiceagent:plan-type"


def fhir_coverage(row: Coverage) -> dict[str, Any]:
    """Coverage with its plan type (a standard coverage type and the exact plan type),
    subscriber (the patient, or a contained RelatedPerson with name and birth date), member
    and group numbers; ``draft`` while the member ID is still owed; a claim's number, and
    the employer as policy holder of a workers' comp claim."""
    system, code, display = _COVERAGE_TYPE.get(row.kind, (PLAN_TYPE_SYSTEM, row.kind, row.kind))
    relationship = _RELATIONSHIP.get(row.subscriber_relationship, "other")
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": str(row.id),
        "status": "draft" if row.member_id_pending else "active",
        "beneficiary": {"reference": f"Patient/{row.patient_id}"},
        "payor": [{"display": row.carrier or row.payer_name}],
        "order": row.order,
        "relationship": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                    "code": relationship,
                }
            ]
        },
        "type": {
            "coding": [
                {"system": system, "code": code, "display": display},
                {"system": PLAN_TYPE_SYSTEM, "code": row.kind},
            ],
            "text": row.kind,
        },
    }
    if relationship == "self":
        resource["subscriber"] = {"reference": f"Patient/{row.patient_id}"}
    elif row.subscriber_name or row.subscriber_dob:
        person: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": "subscriber",
            "patient": {"reference": f"Patient/{row.patient_id}"},
            "relationship": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                            "code": relationship,
                        }
                    ]
                }
            ],
        }
        if row.subscriber_name:
            person["name"] = [{"text": row.subscriber_name}]
        if row.subscriber_dob:
            person["birthDate"] = row.subscriber_dob.isoformat()
        resource["contained"] = [person]
        resource["subscriber"] = {"reference": "#subscriber", "display": row.subscriber_name}
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
    if row.employer and row.kind == "workers_comp":
        resource["policyHolder"] = {"display": row.employer}
    if row.date_of_injury:
        resource["period"] = {"start": row.date_of_injury.isoformat()}
    return _validated(resource)


def fhir_service_request(row: Referral) -> dict[str, Any]:
    """The referral as a ServiceRequest: the requester a contained Practitioner with NPI,
    practice, phone and fax (and the NPI on the reference too); the surgery or injury and
    its date as a reason; the order text, and whether a written order is on file, as notes."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(row.id),
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "code": {"text": "physical therapy evaluation and treatment"},
        "authoredOn": _iso(row.created_at),
    }
    if row.referring_provider_name or row.referring_provider_npi or row.referring_practice:
        practitioner: dict[str, Any] = {"resourceType": "Practitioner", "id": "requester"}
        requester: dict[str, Any] = {"reference": "#requester"}
        if row.referring_provider_name:
            practitioner["name"] = [{"text": row.referring_provider_name}]
            requester["display"] = row.referring_provider_name
        if row.referring_provider_npi:
            npi = {"system": "http://hl7.org/fhir/sid/us-npi", "value": row.referring_provider_npi}
            practitioner["identifier"] = [npi]
            requester["identifier"] = npi
        telecom = []
        if row.referring_phone:
            telecom.append({"system": "phone", "value": row.referring_phone, "use": "work"})
        if row.referring_fax:
            telecom.append({"system": "fax", "value": row.referring_fax, "use": "work"})
        if telecom:
            practitioner["telecom"] = telecom
        if row.referring_practice:
            practitioner["address"] = [{"text": row.referring_practice}]
            requester.setdefault("display", row.referring_practice)
        resource["contained"] = [practitioner]
        resource["requester"] = requester
    reasons = []
    if row.diagnosis or row.reason:
        reasons.append({"text": row.diagnosis or row.reason})
    if row.condition:
        when = f" on {row.condition_date.isoformat()}" if row.condition_date else ""
        reasons.append({"text": f"{row.condition_kind or 'condition'}: {row.condition}{when}"})
    if reasons:
        resource["reasonCode"] = reasons
    if row.body_part:
        resource["bodySite"] = [{"text": row.body_part}]
    notes = []
    if row.reason and row.diagnosis:
        notes.append({"text": row.reason})
    if row.order_text:
        notes.append({"text": f"order: {row.order_text}"})
    notes.append(
        {"text": "written order on file" if row.written_order_on_file else "no written order yet"}
    )
    resource["note"] = notes
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
