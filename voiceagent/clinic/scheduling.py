"""Slot search, hold-then-book, reschedule and cancel (the waitlist: :mod:`.waitlist`).

The flow a caller layer follows:

1. ``find_slots(store, clinic, "evaluation", now=..., preferences=...)`` -> a few :class:`Slot`
   (empty list: offer :func:`voiceagent.clinic.waitlist.add_to_waitlist`).
2. the caller picks one: ``hold_slot(store, clinic, appointment_type_id=..., start=...,
   provider_id=..., now=..., actor=...)`` reserves it for ``clinic.hold_minutes`` while
   details are collected (a caller asking for an exact time goes straight here; the rules are
   checked and a specific :class:`~voiceagent.clinic.errors.ClinicError` says what to offer).
3. ``book(store, clinic, hold_id=..., patient_id=..., now=..., actor=...)`` turns the hold
   into an appointment atomically; the patient's lead (given, found or opened) moves to
   scheduled in the same transaction.

Reschedule and cancel take the ``patient_id`` returned by
:func:`voiceagent.clinic.patients.verify_identity` and touch only that patient's appointments;
the time they free is offered to the waitlist in the same transaction.

Every function takes ``now`` (an aware datetime) so tests are deterministic. Rules honoured:
clinic hours, closures (full or partial days), clinic-wide blocks, provider hours, breaks and
time off, the appointment type's roles, specialties and named providers, its rooms (per
provider where configured; rooms bound to providers; room closures) and their capacity,
start grid, minimum notice and booking horizon. The database makes double booking
impossible (see :mod:`voiceagent.clinic.models`) and refuses a type, provider and room the
clinic does not allow (see :mod:`voiceagent.clinic.rules`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import WEEKDAYS, AppointmentType, ClinicConfig, Provider, TimeRange
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import (
    BeyondHorizon,
    ClinicClosed,
    ClinicError,
    HoldExpired,
    InvalidInput,
    InvalidState,
    NoRoom,
    NotAuthorized,
    NoticeTooShort,
    NotQualified,
    OffGrid,
    OutsideHours,
    SlotTaken,
    UnknownAppointment,
    UnknownAppointmentType,
    UnknownPatient,
    UnknownProvider,
)
from voiceagent.clinic.models import (
    UNIT_MINUTES,
    Appointment,
    AppointmentStatus,
    Hold,
    Patient,
    ProviderTimeUnit,
    RoomTimeUnit,
    TimeBlock,
)
from voiceagent.clinic.rules import RuleViolation, is_rule_violation, sync_booking_rules

Window = Literal["any", "morning", "afternoon", "evening"]
WINDOWS: dict[str, tuple[time, time]] = {
    "any": (time(0), time.max),
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time.max),
}
_RETRIES = 3


# --- results and requests ----------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """What the caller asked for. Everything optional; the defaults mean "anything".

    Attributes:
        days: weekday names ("mon".."sun") the caller can come.
        dates: specific dates (clinic-local); when given, only these.
        window: morning (<12:00), afternoon (12-17), evening (>=17:00) start times.
        earliest / latest: explicit bounds on the start time (local), e.g. 07:30 / 09:00.
        provider_id: a named provider (config id).
        language: a language the provider must speak ("es").
        on_or_after: search from this date (e.g. "next week").
    """

    days: tuple[str, ...] = ()
    dates: tuple[date, ...] = ()
    window: Window = "any"
    earliest: time | None = None
    latest: time | None = None
    provider_id: str | None = None
    language: str | None = None
    on_or_after: date | None = None

    def __post_init__(self) -> None:
        for day in self.days:
            if day not in WEEKDAYS:
                raise InvalidInput(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
        if self.window not in WINDOWS:
            raise InvalidInput(f"unknown time window {self.window!r}; use {', '.join(WINDOWS)}")

    def allows(self, local_start: datetime) -> bool:
        day = local_start.date()
        if self.dates and day not in self.dates:
            return False
        if self.days and WEEKDAYS[day.weekday()] not in self.days:
            return False
        if self.on_or_after and day < self.on_or_after:
            return False
        lo, hi = WINDOWS[self.window]
        at = local_start.time()
        if not lo <= at < hi:
            return False
        if self.earliest and at < self.earliest:
            return False
        return not (self.latest and at > self.latest)


@dataclass(frozen=True)
class Slot:
    """A bookable time: start/end are aware datetimes in the clinic's time zone."""

    appointment_type_id: str
    provider_id: str
    provider_name: str
    start: datetime
    end: datetime
    room_id: str | None = None


@dataclass(frozen=True)
class SlotHold:
    """A slot reserved for one caller until ``expires_at``; pass ``hold_id`` to :func:`book`."""

    hold_id: str
    slot: Slot
    expires_at: datetime


@dataclass(frozen=True)
class Booking:
    appointment_id: int
    patient_id: int
    slot: Slot
    what_to_bring: tuple[str, ...] = ()
    rescheduled_from_id: int | None = None


@dataclass(frozen=True)
class AppointmentInfo:
    """An existing appointment as the caller layer may show it to its verified patient."""

    appointment_id: int
    patient_id: int
    appointment_type_id: str
    provider_id: str
    room_id: str | None
    start: datetime
    end: datetime
    status: str


@dataclass
class Busy:
    """Booked or held time: provider units, and how many seats of each room unit are used."""

    provider_units: set[tuple[str, datetime]] = field(default_factory=set)
    room_units: Counter[tuple[str, datetime]] = field(default_factory=Counter)


# --- pure rules --------------------------------------------------------------------------


def units(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute UTC units covering [start, end)."""
    out = []
    at = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while at < stop:
        out.append(at)
        at += timedelta(minutes=UNIT_MINUTES)
    return out


def _appointment_type(clinic: ClinicConfig, type_id: str) -> AppointmentType:
    try:
        return clinic.appointment_type(type_id)
    except KeyError:
        known = ", ".join(t.id for t in clinic.appointment_types)
        raise UnknownAppointmentType(
            f"unknown appointment type {type_id!r}; use one of: {known}"
        ) from None


def _provider(clinic: ClinicConfig, provider_id: str) -> Provider:
    try:
        return clinic.provider(provider_id)
    except KeyError:
        raise UnknownProvider(
            f"unknown provider {provider_id!r}; offer any available provider"
        ) from None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise InvalidInput(f"{name} must include a time zone")


def slot_problem(
    clinic: ClinicConfig,
    kind: AppointmentType,
    provider: Provider,
    start: datetime,
    now: datetime,
) -> ClinicError | None:
    """Why ``provider`` cannot start ``kind`` at ``start`` (ignoring other bookings), or None."""
    local = start.astimezone(clinic.tz)
    day = local.date()
    end = local + timedelta(minutes=kind.duration_minutes)
    why_not = clinic.qualification_problem(kind, provider)
    if why_not is not None:
        return NotQualified(f"{provider.name} cannot deliver a {kind.name}: {why_not}")
    if local < now + timedelta(hours=kind.min_notice_hours):
        return NoticeTooShort(
            f"a {kind.name} needs {kind.min_notice_hours:g} hours' notice; offer a later time"
        )
    today = now.astimezone(clinic.tz).date()
    if day > today + timedelta(days=kind.horizon_days):
        return BeyondHorizon(
            f"bookings open {kind.horizon_days} days ahead; offer an earlier date or the waitlist"
        )
    opening = clinic.hours_on(day)
    if opening is None:
        closure = clinic.closure_on(day)
        why = f" for {closure.name}" if closure else ""
        return ClinicClosed(
            f"the clinic is closed on {day:%A %B} {day.day}{why}; offer another day"
        )
    midnight = datetime.combine(day, time(0), clinic.tz)
    minutes = int((local - midnight).total_seconds() // 60)
    if local.second or local.microsecond or minutes % kind.grid_minutes:
        return OffGrid(
            f"{kind.name} appointments start every {kind.grid_minutes} minutes; "
            "offer the nearest grid time"
        )
    span = TimeRange(local.time(), end.time() if end.date() == day else time.max)
    if not opening.contains(span):
        return OutsideHours(f"the clinic is open {opening} that day; offer a time within hours")
    hours = provider.hours.on(day)
    if hours is None or day in provider.time_off:
        return OutsideHours(
            f"{provider.name} does not work that day; offer another provider or day"
        )
    if not hours.contains(span):
        return OutsideHours(f"{provider.name} works {hours} that day; offer a time within it")
    for pause in provider.breaks_on(day):
        if span.start < pause.end and pause.start < span.end:
            return OutsideHours(f"{provider.name} is on a break then; offer another time")
    for block in clinic.blocks_on(day, provider.id):
        if span.start < block.time.end and block.time.start < span.end:
            return OutsideHours(f"{provider.name} is at the {block.name} then; offer another time")
    if clinic.needs_room(kind, provider.id) and not _open_rooms(clinic, kind, provider, day, span):
        return NoRoom(f"the room a {kind.name} needs is closed then; offer another time")
    return None


def _open_rooms(
    clinic: ClinicConfig, kind: AppointmentType, provider: Provider, day: date, span: TimeRange
) -> list[str]:
    """Rooms ``kind`` may use with ``provider`` that are not closed during ``span``."""
    return [
        r for r in clinic.rooms_for(kind, provider.id) if clinic.room_closed(r, day, span) is None
    ]


def _free_room(
    clinic: ClinicConfig,
    kind: AppointmentType,
    provider: Provider,
    needed: Sequence[datetime],
    busy: Busy,
    prefer: str | None = None,
    only: str | None = None,
) -> str | None | Literal[False]:
    """A room ``kind`` may use with ``provider``, open and with a free seat for every unit
    (``only``: that room or none); None if no room is needed; False if none is free."""
    if not clinic.needs_room(kind, provider.id) and only is None:
        return None
    local = needed[0].astimezone(clinic.tz)
    last = (needed[-1] + timedelta(minutes=UNIT_MINUTES)).astimezone(clinic.tz)
    span = TimeRange(local.time(), last.time() if last.date() == local.date() else time.max)
    rooms = _open_rooms(clinic, kind, provider, local.date(), span)
    if only is not None:
        rooms = [r for r in rooms if r == only]
    order = sorted(rooms, key=lambda r: r != prefer)
    for room_id in order:
        capacity = clinic.room(room_id).capacity
        if all(busy.room_units[(room_id, u)] < capacity for u in needed):
            return room_id
    return False


def candidate_slots(
    clinic: ClinicConfig,
    appointment_type_id: str,
    *,
    now: datetime,
    busy: Busy,
    preferences: Preferences = Preferences(),
    limit: int = 3,
    distinct_times: bool = True,
) -> list[Slot]:
    """Open slots in time order (pure: ``busy`` says what is taken).

    With ``distinct_times`` each start time is offered once (by the first free provider in
    config order), so the choices a caller hears differ in time.
    """
    _require_aware(now, "now")
    kind = _appointment_type(clinic, appointment_type_id)
    providers = clinic.providers_for(kind)
    if preferences.provider_id is not None:
        wanted = _provider(clinic, preferences.provider_id)
        why_not = clinic.qualification_problem(kind, wanted)
        if why_not is not None:
            others = ", ".join(p.name for p in providers) or "nobody"
            raise NotQualified(
                f"{wanted.name} cannot deliver a {kind.name}: {why_not}; offer {others}"
            )
        providers = [wanted]
    if preferences.language is not None:
        providers = [p for p in providers if preferences.language in p.languages]
    out: list[Slot] = []
    taken_starts: set[datetime] = set()
    today = now.astimezone(clinic.tz).date()
    first = max(today, preferences.on_or_after or today)
    duration = timedelta(minutes=kind.duration_minutes)
    for offset in range((today + timedelta(days=kind.horizon_days) - first).days + 1):
        day = first + timedelta(days=offset)
        opening = clinic.hours_on(day)
        if opening is None:
            continue
        working = [p for p in providers if p.hours.on(day) is not None and day not in p.time_off]
        if not working:
            continue
        # Walk the wall-clock grid from the first grid time at or after opening.
        open_minute = opening.start.hour * 60 + opening.start.minute
        minute = -(-open_minute // kind.grid_minutes) * kind.grid_minutes
        last_minute = (
            24 * 60 if opening.end == time.max else opening.end.hour * 60 + opening.end.minute
        )
        while minute + kind.duration_minutes <= last_minute:
            start = datetime.combine(day, time(minute // 60, minute % 60), clinic.tz)
            minute += kind.grid_minutes
            if not preferences.allows(start) or (distinct_times and start in taken_starts):
                continue
            for provider in working:
                if slot_problem(clinic, kind, provider, start, now) is not None:
                    continue
                needed = units(start, start + duration)
                if any((provider.id, u) in busy.provider_units for u in needed):
                    continue
                room = _free_room(clinic, kind, provider, needed, busy)
                if room is False:
                    continue
                out.append(Slot(kind.id, provider.id, provider.name, start, start + duration, room))
                taken_starts.add(start)
                if len(out) >= limit:
                    return out
                if distinct_times:
                    break
    return out


# --- store-backed search -------------------------------------------------------------------


def _live_hold(now: datetime):  # type: ignore[no-untyped-def]
    """Filter: a unit belongs to an appointment or to a hold that has not expired."""
    live = select(Hold.id).where(Hold.expires_at > now)
    return or_(ProviderTimeUnit.hold_id.is_(None), ProviderTimeUnit.hold_id.in_(live)), or_(
        RoomTimeUnit.hold_id.is_(None), RoomTimeUnit.hold_id.in_(live)
    )


def load_busy(session: Session, start: datetime, end: datetime, now: datetime) -> Busy:
    """Booked and held (unexpired) units between ``start`` and ``end``."""
    provider_live, room_live = _live_hold(now)
    busy = Busy()
    rows = session.execute(
        select(ProviderTimeUnit.provider_id, ProviderTimeUnit.unit_start).where(
            ProviderTimeUnit.unit_start >= start, ProviderTimeUnit.unit_start < end, provider_live
        )
    )
    busy.provider_units = {(p, u) for p, u in rows}
    room_rows = session.execute(
        select(RoomTimeUnit.room_id, RoomTimeUnit.unit_start, func.count())
        .where(RoomTimeUnit.unit_start >= start, RoomTimeUnit.unit_start < end, room_live)
        .group_by(RoomTimeUnit.room_id, RoomTimeUnit.unit_start)
    )
    busy.room_units = Counter({(r, u): n for r, u, n in room_rows})
    return busy


def find_slots(
    store: Store,
    clinic: ClinicConfig,
    appointment_type_id: str,
    *,
    now: datetime,
    preferences: Preferences = Preferences(),
    limit: int = 3,
) -> list[Slot]:
    """The first ``limit`` open slots matching the preferences, in time order.

    An empty list means nothing fits: offer other days/times or :func:`add_to_waitlist`.

    Raises:
        UnknownAppointmentType, UnknownProvider, NotQualified (a named provider who cannot
        deliver this type), InvalidInput.
    """
    _require_aware(now, "now")
    kind = _appointment_type(clinic, appointment_type_id)
    horizon_end = now + timedelta(days=kind.horizon_days + 2)
    with store.transaction() as session:
        busy = load_busy(session, now - timedelta(days=1), horizon_end, now)
    return candidate_slots(
        clinic, appointment_type_id, now=now, busy=busy, preferences=preferences, limit=limit
    )


# --- writes -------------------------------------------------------------------------------


def _reserve(
    session: Session,
    clinic: ClinicConfig,
    kind: AppointmentType,
    provider: Provider,
    start: datetime,
    now: datetime,
    *,
    prefer_room: str | None,
    only_room: str | None = None,
    hold_id: str | None = None,
    appointment_id: int | None = None,
    end: datetime | None = None,
) -> str | None:
    """Insert the provider and room units for one booking or hold; returns the room used.

    The UNIQUE constraints are the real guard; the pre-check only picks free seats and
    gives a clear error in the common (non-racing) case.
    """
    end = end or start + timedelta(minutes=kind.duration_minutes)
    needed = units(_floor_unit(start), end)
    session.execute(delete(Hold).where(Hold.expires_at <= now))
    busy = load_busy(session, needed[0], end, now)
    if any((provider.id, u) in busy.provider_units for u in needed):
        raise SlotTaken()
    room = _free_room(clinic, kind, provider, needed, busy, prefer=prefer_room, only=only_room)
    if room is False:
        # On PostgreSQL each query sees the latest commits: a rival booking may have landed
        # between the two reads above. Re-read so the caller hears the real reason.
        fresh = load_busy(session, needed[0], end, now)
        if any((provider.id, u) in fresh.provider_units for u in needed):
            raise SlotTaken()
        raise NoRoom()
    for unit in needed:
        session.add(
            ProviderTimeUnit(
                provider_id=provider.id,
                unit_start=unit,
                hold_id=hold_id,
                appointment_id=appointment_id,
            )
        )
    if room is not None:
        used = _used_seats(session, room, needed)
        capacity = clinic.room(room).capacity
        for unit in needed:
            seat = next((s for s in range(capacity) if s not in used.get(unit, set())), None)
            if seat is None:
                raise NoRoom()
            session.add(
                RoomTimeUnit(
                    room_id=room,
                    seat=seat,
                    unit_start=unit,
                    hold_id=hold_id,
                    appointment_id=appointment_id,
                )
            )
    session.flush()
    return room


def _floor_unit(value: datetime) -> datetime:
    value = value.astimezone(UTC).replace(second=0, microsecond=0)
    return value - timedelta(minutes=value.minute % UNIT_MINUTES)


def reserve_for_appointment(
    session: Session, clinic: ClinicConfig, row: Appointment, *, exact_room: bool = False
) -> str | None:
    """Reserve time for an appointment created outside hold-then-book (imports).

    No time rules are applied (an imported past visit is fine); overlap is still refused by
    the database, and so is a provider or room the clinic's rules do not allow. With
    ``exact_room`` the row's room is used or the import fails (NoRoom); otherwise it is
    only preferred. Returns the room used.
    """
    kind = _appointment_type(clinic, row.appointment_type_id)
    provider = _provider(clinic, row.provider_id)
    return _reserve(
        session,
        clinic,
        kind,
        provider,
        row.start,
        datetime.now(UTC),
        prefer_room=row.room_id,
        only_room=row.room_id if exact_room else None,
        appointment_id=row.id,
        end=row.end,
    )


def block_time(
    store: Store,
    clinic: ClinicConfig,
    *,
    provider_id: str,
    start: datetime,
    end: datetime,
    actor: Actor,
    reason: str = "busy",
    external_uid: str | None = None,
) -> bool:
    """Make a provider's time unbookable (meeting, leave, imported calendar event).

    Returns False when a block with this ``external_uid`` already exists (re-import).

    Raises:
        SlotTaken: an appointment or hold already uses part of that time; move it first.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    provider = _provider(clinic, provider_id)
    if end <= start:
        raise InvalidInput("a block must end after it starts")
    try:
        with store.transaction() as session:
            if (
                external_uid is not None
                and session.scalars(
                    select(TimeBlock.id).where(
                        TimeBlock.provider_id == provider.id, TimeBlock.external_uid == external_uid
                    )
                ).first()
            ):
                return False
            block = TimeBlock(
                provider_id=provider.id,
                start=start,
                end=end,
                reason=reason[:100],
                external_uid=external_uid,
            )
            session.add(block)
            session.flush()
            for unit in units(_floor_unit(start), end):
                session.add(
                    ProviderTimeUnit(provider_id=provider.id, unit_start=unit, block_id=block.id)
                )
            session.flush()
            audit.record(session, actor, "create", "time_block", block.id)
    except IntegrityError:
        raise SlotTaken(
            "that time already has appointments; move them before blocking it"
        ) from None
    return True


def _used_seats(session: Session, room_id: str, needed: list[datetime]) -> dict[datetime, set[int]]:
    used: dict[datetime, set[int]] = {}
    rows = session.execute(
        select(RoomTimeUnit.unit_start, RoomTimeUnit.seat).where(
            RoomTimeUnit.room_id == room_id,
            RoomTimeUnit.unit_start >= needed[0],
            RoomTimeUnit.unit_start <= needed[-1],
        )
    )
    for unit, seat in rows:
        used.setdefault(unit, set()).add(seat)
    return used


def _choose_providers(
    clinic: ClinicConfig, kind: AppointmentType, provider_id: str | None
) -> list[Provider]:
    if provider_id is not None:
        return [_provider(clinic, provider_id)]
    return clinic.providers_for(kind)


def hold_slot(
    store: Store,
    clinic: ClinicConfig,
    *,
    appointment_type_id: str,
    start: datetime,
    now: datetime,
    actor: Actor,
    provider_id: str | None = None,
    room_id: str | None = None,
) -> SlotHold:
    """Reserve a slot for ``clinic.hold_minutes`` while the caller's details are collected.

    Without ``provider_id`` the first qualified provider free at ``start`` is used.

    Raises:
        SlotTaken / NoRoom: someone else has it; offer the next open slot.
        ClinicClosed, OutsideHours, OffGrid, NoticeTooShort, BeyondHorizon, NotQualified,
        UnknownAppointmentType, UnknownProvider: the rule broken, with what to offer instead.
    """
    _require_aware(now, "now")
    _require_aware(start, "start")
    kind = _appointment_type(clinic, appointment_type_id)
    sync_booking_rules(store, clinic)
    candidates = _choose_providers(clinic, kind, provider_id)
    problems: list[ClinicError] = []
    for provider in candidates:
        problem = slot_problem(clinic, kind, provider, start, now)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            return _hold_with(store, clinic, kind, provider, start, now, actor, room_id)
        except (SlotTaken, NoRoom) as exc:
            problems.append(exc)
    # Report the most useful reason: a taken slot beats "that provider is off that day".
    for wanted in (SlotTaken, NoRoom, ClinicClosed, NoticeTooShort, BeyondHorizon, OffGrid):
        for problem in problems:
            if isinstance(problem, wanted):
                raise problem
    raise problems[0] if problems else NotQualified()


def insert_hold(
    session: Session,
    clinic: ClinicConfig,
    kind: AppointmentType,
    provider: Provider,
    start: datetime,
    now: datetime,
    *,
    expires: datetime,
    call_id: str | None,
    prefer_room: str | None,
) -> tuple[str, str | None]:
    """Inside a transaction: a hold on ``start`` with ``provider`` until ``expires``, its
    units reserved; returns (hold id, room). Rules are the caller's to check first."""
    hold_id = str(uuid.uuid4())
    session.add(
        Hold(
            id=hold_id,
            appointment_type_id=kind.id,
            provider_id=provider.id,
            start=start,
            end=start + timedelta(minutes=kind.duration_minutes),
            expires_at=expires,
            call_id=call_id,
        )
    )
    session.flush()
    room = _reserve(
        session, clinic, kind, provider, start, now, prefer_room=prefer_room, hold_id=hold_id
    )
    session.execute(update(Hold).where(Hold.id == hold_id).values(room_id=room))
    return hold_id, room


def _hold_with(
    store: Store,
    clinic: ClinicConfig,
    kind: AppointmentType,
    provider: Provider,
    start: datetime,
    now: datetime,
    actor: Actor,
    room_id: str | None,
) -> SlotHold:
    for attempt in range(_RETRIES):
        expires = now + timedelta(minutes=clinic.hold_minutes)
        try:
            with store.transaction() as session:
                hold_id, room = insert_hold(
                    session,
                    clinic,
                    kind,
                    provider,
                    start,
                    now,
                    expires=expires,
                    call_id=actor.call_id,
                    prefer_room=room_id,
                )
        except IntegrityError as exc:
            if is_rule_violation(exc):
                raise RuleViolation() from None
            # Lost a race for a seat or a unit; re-read and try again (or report taken).
            if attempt == _RETRIES - 1:
                raise SlotTaken() from None
            continue
        local = start.astimezone(clinic.tz)
        slot = Slot(
            kind.id,
            provider.id,
            provider.name,
            local,
            local + timedelta(minutes=kind.duration_minutes),
            room,
        )
        return SlotHold(hold_id, slot, expires)
    raise SlotTaken()


def release_hold(store: Store, hold_id: str) -> None:
    """Give a held slot back (the caller chose another time or hung up)."""
    with store.transaction() as session:
        session.execute(delete(Hold).where(Hold.id == hold_id))


def _info(row: Appointment, clinic: ClinicConfig) -> AppointmentInfo:
    return AppointmentInfo(
        row.id,
        row.patient_id,
        row.appointment_type_id,
        row.provider_id,
        row.room_id,
        row.start.astimezone(clinic.tz),
        row.end.astimezone(clinic.tz),
        row.status,
    )


def _convert_hold(
    session: Session,
    clinic: ClinicConfig,
    hold_id: str,
    patient_id: int,
    now: datetime,
    actor: Actor,
    *,
    lead_id: int | None,
    rescheduled_from_id: int | None = None,
) -> Booking:
    """Turn a hold into an appointment inside the caller's transaction."""
    if session.get(Patient, patient_id) is None:
        raise UnknownPatient()
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise HoldExpired("that held time is no longer reserved; search again and offer a slot")
    kind = _appointment_type(clinic, hold.appointment_type_id)
    provider = _provider(clinic, hold.provider_id)
    appointment = Appointment(
        patient_id=patient_id,
        appointment_type_id=kind.id,
        provider_id=provider.id,
        room_id=hold.room_id,
        start=hold.start,
        end=hold.end,
        lead_id=lead_id,
        call_id=actor.call_id,
        rescheduled_from_id=rescheduled_from_id,
        status=AppointmentStatus.BOOKED,
    )
    session.add(appointment)
    session.flush()
    if hold.expires_at <= now:
        # Expired: the time is ours only if nobody took it meanwhile; re-check every rule.
        problem = slot_problem(clinic, kind, provider, hold.start, now)
        if problem is not None:
            raise problem
        start = hold.start
        session.execute(delete(Hold).where(Hold.id == hold_id))
        room = _reserve(
            session,
            clinic,
            kind,
            provider,
            start,
            now,
            prefer_room=hold.room_id,
            appointment_id=appointment.id,
        )
        appointment.room_id = room
    else:
        # Claim the hold's units with a conditional UPDATE: of two requests booking the same
        # hold at once (a retried tool call), the second finds no units left and stops here.
        claimed = session.execute(
            update(ProviderTimeUnit)
            .where(ProviderTimeUnit.hold_id == hold_id)
            .values(appointment_id=appointment.id, hold_id=None)
        )
        if _rowcount(claimed) != len(units(_floor_unit(hold.start), hold.end)):
            raise HoldExpired("that held time was already booked; list the caller's appointments")
        session.execute(
            update(RoomTimeUnit)
            .where(RoomTimeUnit.hold_id == hold_id)
            .values(appointment_id=appointment.id, hold_id=None)
        )
        session.execute(delete(Hold).where(Hold.id == hold_id))
    session.flush()
    audit.record(session, actor, "create", "appointment", appointment.id)
    from voiceagent.clinic.leads import advance_on_booking, lead_for_booking

    if lead_id is None:
        # Every booking belongs to a lead, so the pipeline counts it.
        lead_id = lead_for_booking(session, patient_id, actor, clinic.leads)
        appointment.lead_id = lead_id
    advance_on_booking(session, lead_id, actor, clinic.leads)
    local = appointment.start.astimezone(clinic.tz)
    slot = Slot(
        kind.id,
        provider.id,
        provider.name,
        local,
        appointment.end.astimezone(clinic.tz),
        appointment.room_id,
    )
    return Booking(appointment.id, patient_id, slot, tuple(kind.what_to_bring), rescheduled_from_id)


def book(
    store: Store,
    clinic: ClinicConfig,
    *,
    hold_id: str,
    patient_id: int,
    now: datetime,
    actor: Actor,
    lead_id: int | None = None,
) -> Booking:
    """Book the held slot for ``patient_id`` in one transaction.

    A hold that expired still books if nobody took the time meanwhile. With ``lead_id`` the
    lead moves to ``scheduled`` in the same transaction.

    Raises:
        HoldExpired: the hold is gone; search again.
        SlotTaken / NoRoom: the hold expired and the time was taken; offer the next slot.
        UnknownPatient: ``patient_id`` does not exist.
    """
    _require_aware(now, "now")
    sync_booking_rules(store, clinic)
    try:
        with store.transaction() as session:
            return _convert_hold(session, clinic, hold_id, patient_id, now, actor, lead_id=lead_id)
    except IntegrityError as exc:
        if is_rule_violation(exc):
            raise RuleViolation() from None
        raise SlotTaken() from None


def _own_appointment(
    session: Session, patient_id: int, appointment_id: int, now: datetime
) -> Appointment:
    row = session.get(Appointment, appointment_id)
    if row is None:
        raise UnknownAppointment()
    if row.patient_id != patient_id:
        raise NotAuthorized()
    if row.status != AppointmentStatus.BOOKED:
        raise InvalidState(f"that appointment is already {row.status}; offer to book a new one")
    if row.start <= now:
        raise InvalidState("that appointment has already started; offer to take a message")
    return row


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _claim(session: Session, row: Appointment, status: AppointmentStatus) -> None:
    """Move a booked appointment to ``status`` only if it is still booked (a concurrent
    cancel or reschedule of the same appointment loses here instead of acting twice)."""
    result = session.execute(
        update(Appointment)
        .where(Appointment.id == row.id, Appointment.status == AppointmentStatus.BOOKED)
        .values(status=status.value)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise InvalidState("that appointment was just changed; list the caller's appointments")
    row.status = status.value


def list_appointments(
    store: Store,
    clinic: ClinicConfig,
    *,
    patient_id: int,
    now: datetime,
    actor: Actor,
    upcoming_only: bool = True,
) -> list[AppointmentInfo]:
    """The verified patient's appointments (upcoming booked ones by default), in time order."""
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        query = select(Appointment).where(Appointment.patient_id == patient_id)
        if upcoming_only:
            query = query.where(
                Appointment.start > now, Appointment.status == AppointmentStatus.BOOKED
            )
        rows = list(session.scalars(query.order_by(Appointment.start)))
        audit.record(session, actor, "read", "appointment", f"patient:{patient_id}")
        return [_info(r, clinic) for r in rows]


def reschedule(
    store: Store,
    clinic: ClinicConfig,
    *,
    patient_id: int,
    appointment_id: int,
    hold_id: str,
    now: datetime,
    actor: Actor,
) -> Booking:
    """Move the verified patient's appointment to the held slot, atomically.

    The old appointment becomes ``rescheduled`` and its time is freed in the same transaction.

    Raises:
        NotAuthorized: the appointment belongs to someone else.
        UnknownAppointment, InvalidState (cancelled/past), HoldExpired, SlotTaken.
    """
    _require_aware(now, "now")
    try:
        with store.transaction() as session:
            old = _own_appointment(session, patient_id, appointment_id, now)
            _claim(session, old, AppointmentStatus.RESCHEDULED)
            for table in (ProviderTimeUnit, RoomTimeUnit):
                session.execute(delete(table).where(table.appointment_id == old.id))
            audit.record(session, actor, "reschedule", "appointment", old.id)
            booking = _convert_hold(
                session,
                clinic,
                hold_id,
                patient_id,
                now,
                actor,
                lead_id=old.lead_id,
                rescheduled_from_id=old.id,
            )
            from voiceagent.clinic.waitlist import offer_freed_slot

            offer_freed_slot(session, clinic, old.provider_id, old.start, old.end, now, actor)
            return booking
    except IntegrityError as exc:
        if is_rule_violation(exc):
            raise RuleViolation() from None
        raise SlotTaken() from None


def cancel(
    store: Store,
    clinic: ClinicConfig,
    *,
    patient_id: int,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
) -> AppointmentInfo:
    """Cancel the verified patient's appointment and free its time.

    Raises:
        NotAuthorized, UnknownAppointment, InvalidState.
    """
    _require_aware(now, "now")
    with store.transaction() as session:
        row = _own_appointment(session, patient_id, appointment_id, now)
        _claim(session, row, AppointmentStatus.CANCELLED)
        row.cancel_reason = (reason or "")[:200] or None
        for table in (ProviderTimeUnit, RoomTimeUnit):
            session.execute(delete(table).where(table.appointment_id == row.id))
        audit.record(session, actor, "cancel", "appointment", row.id)
        session.flush()
        if row.lead_id is not None:
            from voiceagent.clinic.leads import step_back_on_cancel

            step_back_on_cancel(session, row.lead_id, actor)
        from voiceagent.clinic.waitlist import offer_freed_slot

        offer_freed_slot(session, clinic, row.provider_id, row.start, row.end, now, actor)
        return _info(row, clinic)


def set_status(
    store: Store, clinic: ClinicConfig, *, appointment_id: int, status: str, actor: Actor
) -> AppointmentInfo:
    """Staff/EMR: mark an appointment fulfilled or no_show (frees nothing: time was used)."""
    if status not in (AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW):
        raise InvalidInput("status must be fulfilled or no_show")
    with store.transaction() as session:
        row = session.get(Appointment, appointment_id)
        if row is None:
            raise UnknownAppointment()
        row.status = status
        audit.record(session, actor, "update", "appointment", row.id)
        session.flush()
        return _info(row, clinic)


def busy_intervals(
    store: Store, provider_id: str, start: datetime, end: datetime
) -> Iterable[tuple[datetime, datetime]]:
    """Booked appointment intervals for one provider (for calendars and feeds)."""
    with store.transaction() as session:
        rows = session.execute(
            select(Appointment.start, Appointment.end).where(
                Appointment.provider_id == provider_id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.start < end,
                Appointment.end > start,
            )
        )
        return [(s, e) for s, e in rows]
