"""The week calendar per provider or room, and staff booking through the agent's own rules.

Staff book, reschedule and cancel with :mod:`voiceagent.clinic.scheduling` exactly as the
agent does: a hold on the slot (every rule checked: hours, breaks, notice, roles, rooms,
the database's refusal of overlap), then the booking. There is no second path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from voiceagent.clinic import audit, scheduling
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import ClinicError, UnknownAppointment
from voiceagent.clinic.leads import CLOSED
from voiceagent.clinic.models import Appointment, AppointmentStatus, Lead, TimeBlock
from voiceagent.clinic.patients import find_or_create_patient
from voiceagent.web.people import names

SHOWN = (AppointmentStatus.BOOKED, AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW)


@dataclass(frozen=True)
class Block:
    appointment_id: int | None
    start: datetime
    end: datetime
    title: str
    detail: str
    status: str
    by_agent: bool
    provider_id: str | None
    room_id: str | None


@dataclass(frozen=True)
class Day:
    day: date
    hours: str | None  # the provider's (else the clinic's) hours, or None when closed
    note: str | None  # closure name, time off
    blocks: list[Block]
    off: list[tuple[int, int]] = field(default_factory=list)  # the provider's breaks and
    # hours outside their shift, as minutes after midnight


def _minute(at: time) -> int:
    return 24 * 60 if at == time.max else at.hour * 60 + at.minute


@dataclass(frozen=True)
class Week:
    monday: date
    days: list[Day]
    first_minute: int  # earliest opening of the week (minutes after midnight)
    last_minute: int


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(store: Store, clinic: ClinicConfig, *, actor: Actor, monday: date,
         provider_id: str | None = None, room_id: str | None = None) -> Week:
    """Seven days from ``monday`` for one provider or one room, appointments and blocks."""
    tz = clinic.tz
    start = datetime.combine(monday, time(0), tz)
    end = start + timedelta(days=7)
    query = select(Appointment).where(Appointment.start >= start, Appointment.start < end,
                                      Appointment.status.in_([s.value for s in SHOWN]))
    if provider_id:
        query = query.where(Appointment.provider_id == provider_id)
    if room_id:
        query = query.where(Appointment.room_id == room_id)
    types = {t.id: t.name for t in clinic.appointment_types}
    per_day: dict[date, list[Block]] = {}
    with store.transaction() as session:
        rows = list(session.scalars(query.order_by(Appointment.start)))
        who = names(session, (a.patient_id for a in rows))
        audit.record(session, actor, "read", "appointment", f"list:{len(rows)}")
        for a in rows:
            local = a.start.astimezone(tz)
            per_day.setdefault(local.date(), []).append(Block(
                a.id, local, a.end.astimezone(tz), who.get(a.patient_id, "patient"),
                types.get(a.appointment_type_id, a.appointment_type_id), a.status,
                a.call_id is not None, a.provider_id, a.room_id))
        if provider_id:
            for b in session.scalars(select(TimeBlock).where(
                    TimeBlock.provider_id == provider_id, TimeBlock.start < end,
                    TimeBlock.end > start)):
                local = b.start.astimezone(tz)
                per_day.setdefault(local.date(), []).append(Block(
                    None, local, b.end.astimezone(tz), b.reason, "blocked", "blocked", False,
                    provider_id, None))
    provider = clinic.provider(provider_id) if provider_id else None
    days, first, last = [], 24 * 60, 0
    for offset in range(7):
        day = monday + timedelta(days=offset)
        opening = clinic.hours_on(day)
        closure = clinic.closure_on(day)
        note = closure.name if closure else None
        shown = str(opening) if opening else None
        off: list[tuple[int, int]] = []
        if provider is not None and opening is not None:
            worked = provider.hours.on(day)
            if day in provider.time_off:
                note = "time off"
            elif worked is None:
                note = "not working"
            else:
                shown = f"works {worked}"
                off = [(_minute(opening.start), _minute(worked.start)),
                       (_minute(worked.end), _minute(opening.end)),
                       *((_minute(b.start), _minute(b.end)) for b in provider.breaks_on(day))]
                off = [(a, b) for a, b in off if b > a]
        if opening is not None:
            first = min(first, opening.start.hour * 60 + opening.start.minute)
            end_minute = (24 * 60 if opening.end == time.max
                          else opening.end.hour * 60 + opening.end.minute)
            last = max(last, end_minute)
        days.append(Day(day, shown, note,
                        sorted(per_day.get(day, []), key=lambda b: b.start), off))
    if first >= last:
        first, last = 8 * 60, 17 * 60
    return Week(monday, days, first, last)


def day_list(store: Store, clinic: ClinicConfig, *, actor: Actor,
             day: date) -> dict[str, list[Block]]:
    """A printable day: every provider's appointments in time order."""
    tz = clinic.tz
    start = datetime.combine(day, time(0), tz)
    types = {t.id: t.name for t in clinic.appointment_types}
    out: dict[str, list[Block]] = {p.id: [] for p in clinic.providers}
    with store.transaction() as session:
        rows = list(session.scalars(select(Appointment).where(
            Appointment.start >= start, Appointment.start < start + timedelta(days=1),
            Appointment.status.in_([s.value for s in SHOWN])).order_by(Appointment.start)))
        who = names(session, (a.patient_id for a in rows))
        audit.record(session, actor, "read", "appointment", f"list:{len(rows)}")
        for a in rows:
            out.setdefault(a.provider_id, []).append(Block(
                a.id, a.start.astimezone(tz), a.end.astimezone(tz),
                who.get(a.patient_id, "patient"),
                types.get(a.appointment_type_id, a.appointment_type_id), a.status,
                a.call_id is not None, a.provider_id, a.room_id))
    return out


@dataclass(frozen=True)
class NewPatient:
    first_name: str
    last_name: str
    dob: date
    phone: str | None = None


def _open_lead(store: Store, patient_id: int) -> int | None:
    with store.transaction() as session:
        return session.scalars(select(Lead.id).where(
            Lead.patient_id == patient_id, Lead.stage.not_in([s.value for s in CLOSED]))
            .order_by(Lead.id.desc())).first()


def book(store: Store, clinic: ClinicConfig, *, actor: Actor, now: datetime,
         appointment_type_id: str, provider_id: str, start: datetime,
         patient: NewPatient | int) -> scheduling.Booking:
    """Hold the slot, then book it for the patient (found by name + DOB, or created).

    Raises:
        ClinicError: the rule the request breaks (SlotTaken for a double booking).
    """
    if isinstance(patient, int):
        patient_id = patient
    else:
        patient_id = find_or_create_patient(
            store, first_name=patient.first_name, last_name=patient.last_name, dob=patient.dob,
            phone=patient.phone, actor=actor).patient_id
    hold = scheduling.hold_slot(store, clinic, appointment_type_id=appointment_type_id,
                                start=start, provider_id=provider_id, now=now, actor=actor)
    try:
        return scheduling.book(store, clinic, hold_id=hold.hold_id, patient_id=patient_id,
                               now=now, actor=actor, lead_id=_open_lead(store, patient_id))
    except ClinicError:
        scheduling.release_hold(store, hold.hold_id)
        raise


def _appointment(store: Store, appointment_id: int) -> Appointment:
    with store.transaction() as session:
        row = session.get(Appointment, appointment_id)
        if row is None:
            raise UnknownAppointment()
        session.expunge(row)
        return row


def reschedule(store: Store, clinic: ClinicConfig, *, actor: Actor, now: datetime,
               appointment_id: int, start: datetime,
               provider_id: str | None = None) -> scheduling.Booking:
    """Move an appointment to ``start`` (same type; same provider unless another is named)."""
    old = _appointment(store, appointment_id)
    hold = scheduling.hold_slot(store, clinic, appointment_type_id=old.appointment_type_id,
                                start=start, provider_id=provider_id or old.provider_id,
                                now=now, actor=actor)
    try:
        return scheduling.reschedule(store, clinic, patient_id=old.patient_id,
                                     appointment_id=appointment_id, hold_id=hold.hold_id,
                                     now=now, actor=actor)
    except ClinicError:
        scheduling.release_hold(store, hold.hold_id)
        raise


def cancel(store: Store, clinic: ClinicConfig, *, actor: Actor, now: datetime,
           appointment_id: int, reason: str | None = None) -> scheduling.AppointmentInfo:
    old = _appointment(store, appointment_id)
    return scheduling.cancel(store, clinic, patient_id=old.patient_id,
                             appointment_id=appointment_id, now=now, actor=actor, reason=reason)
