"""The waitlist: callers who found nothing that fits, and offers when a slot frees up.

An entry keeps the caller's windows (days, dates, morning/afternoon, earliest/latest), a
provider preference and the appointment type. When a booking is cancelled or moved, the
freed time is offered, in the same transaction, to the oldest waiting entry it fits (type
the provider may deliver, the caller's windows, every booking rule): the slot is held for
that patient for ``clinic.waitlist.offer_hold_minutes`` and, when the clinic names a message
category, staff get a task to call them. The patient (or staff) then accepts the offer,
which books the held slot, or declines it, which offers it to the next entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import (
    ClinicError,
    InvalidInput,
    InvalidState,
    NotQualified,
    SlotTaken,
    UnknownPatient,
)
from voiceagent.clinic.leads import advance_to_waitlisted, lead_for_booking
from voiceagent.clinic.models import (
    Hold,
    Message,
    MessagePriority,
    Patient,
    WaitlistEntry,
    WaitlistStatus,
)
from voiceagent.clinic.rules import sync_booking_rules
from voiceagent.clinic.scheduling import (
    Booking,
    Preferences,
    Slot,
    _appointment_type,
    _convert_hold,
    _provider,
    insert_hold,
    slot_problem,
)


@dataclass(frozen=True)
class WaitlistReceipt:
    entry_id: int
    patient_id: int
    appointment_type_id: str
    lead_id: int | None = None


@dataclass(frozen=True)
class WaitlistOffer:
    """A freed slot offered to one waitlisted patient; held until ``expires_at`` (None when
    the clinic holds nothing and the first to call back gets it)."""

    entry_id: int
    patient_id: int
    lead_id: int | None
    slot: Slot
    hold_id: str | None
    expires_at: datetime | None


def prefs_json(p: Preferences) -> dict[str, object]:
    return {
        "days": list(p.days),
        "dates": [d.isoformat() for d in p.dates],
        "window": p.window,
        "earliest": p.earliest.isoformat() if p.earliest else None,
        "latest": p.latest.isoformat() if p.latest else None,
        "language": p.language,
        "on_or_after": p.on_or_after.isoformat() if p.on_or_after else None,
    }


def prefs_from_json(data: dict[str, object], provider_id: str | None) -> Preferences:
    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    days = data.get("days") or []
    dates = data.get("dates") or []
    earliest, latest, after = text("earliest"), text("latest"), text("on_or_after")
    return Preferences(
        days=tuple(str(d) for d in days) if isinstance(days, list) else (),
        dates=tuple(date.fromisoformat(str(d)) for d in dates) if isinstance(dates, list) else (),
        window=text("window") or "any",  # type: ignore[arg-type]
        earliest=time.fromisoformat(earliest) if earliest else None,
        latest=time.fromisoformat(latest) if latest else None,
        provider_id=provider_id,
        language=text("language"),
        on_or_after=date.fromisoformat(after) if after else None,
    )


def add_to_waitlist(
    store: Store,
    clinic: ClinicConfig,
    *,
    patient_id: int,
    appointment_type_id: str,
    actor: Actor,
    preferences: Preferences | None = None,
    lead_id: int | None = None,
) -> WaitlistReceipt:
    """Put the patient on the waitlist for a type, with their windows and provider
    preference, when nothing fits. Their lead (found or opened) moves to waitlisted.

    Raises:
        UnknownAppointmentType, UnknownProvider, NotQualified (a preferred provider who may
        not deliver the type), UnknownPatient.
    """
    kind = _appointment_type(clinic, appointment_type_id)
    preferences = preferences or Preferences()
    if preferences.provider_id is not None:
        provider = _provider(clinic, preferences.provider_id)
        problem = clinic.qualification_problem(kind, provider)
        if problem is not None:
            raise NotQualified(f"{provider.name} cannot deliver a {kind.name}: {problem}")
    with store.transaction() as session:
        if session.get(Patient, patient_id) is None:
            raise UnknownPatient()
        if lead_id is None:
            lead_id = lead_for_booking(session, patient_id, actor, clinic.leads)
        advance_to_waitlisted(session, lead_id, actor, clinic.leads)
        entry = WaitlistEntry(
            patient_id=patient_id,
            appointment_type_id=kind.id,
            provider_id=preferences.provider_id,
            preferences=prefs_json(preferences),
            call_id=actor.call_id,
            lead_id=lead_id,
            status=WaitlistStatus.WAITING,
        )
        session.add(entry)
        session.flush()
        audit.record(session, actor, "create", "waitlist", entry.id)
        return WaitlistReceipt(entry.id, patient_id, kind.id, lead_id)


def _candidates(session: Session, now: datetime) -> list[WaitlistEntry]:
    """Entries that may receive an offer: waiting, or offered with the offer run out."""
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(
                or_(
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                    (WaitlistEntry.status == WaitlistStatus.OFFERED)
                    & (WaitlistEntry.offer_expires_at <= now),
                )
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        )
    )


def offer_freed_slot(
    session: Session,
    clinic: ClinicConfig,
    provider_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    actor: Actor,
    *,
    skip_entry: int | None = None,
) -> WaitlistOffer | None:
    """Inside the transaction that freed ``provider_id``'s time [start, end): offer it to
    the oldest waitlist entry it fits, holding it for them. None when nobody matches."""
    try:
        provider = clinic.provider(provider_id)
    except KeyError:
        return None  # a provider no longer in the config: nothing can be offered
    for entry in _candidates(session, now):
        if entry.id == skip_entry:
            continue
        if entry.provider_id not in (None, provider.id):
            continue
        try:
            kind = clinic.appointment_type(entry.appointment_type_id)
        except KeyError:
            continue
        prefs = prefs_from_json(entry.preferences, entry.provider_id)
        if prefs.language is not None and prefs.language not in provider.languages:
            continue
        duration = timedelta(minutes=kind.duration_minutes)
        at = start.astimezone(clinic.tz)
        while at + duration <= end.astimezone(clinic.tz):
            if prefs.allows(at) and slot_problem(clinic, kind, provider, at, now) is None:
                offer = _offer(session, clinic, entry, kind.id, provider.id, at, now, actor)
                if offer is not None:
                    return offer
            at += timedelta(minutes=kind.grid_minutes)
    return None


def _offer(
    session: Session,
    clinic: ClinicConfig,
    entry: WaitlistEntry,
    type_id: str,
    provider_id: str,
    start: datetime,
    now: datetime,
    actor: Actor,
) -> WaitlistOffer | None:
    kind = clinic.appointment_type(type_id)
    provider = clinic.provider(provider_id)
    minutes = clinic.waitlist.offer_hold_minutes
    expires = now + timedelta(minutes=minutes) if minutes else None
    hold_id: str | None = None
    room: str | None = None
    if expires is not None:
        try:
            with session.begin_nested():
                hold_id, room = insert_hold(
                    session,
                    clinic,
                    kind,
                    provider,
                    start,
                    now,
                    expires=expires,
                    call_id=actor.call_id,
                    prefer_room=None,
                )
        except (IntegrityError, ClinicError):
            return None  # the time is not free for this type after all (a room, a rival)
    end = start + timedelta(minutes=kind.duration_minutes)
    entry.status = WaitlistStatus.OFFERED
    entry.offer_hold_id = hold_id
    entry.offer_provider_id = provider.id
    entry.offer_start = start
    entry.offer_end = end
    entry.offered_at = now
    entry.offer_expires_at = expires
    audit.record(session, actor, "offer", "waitlist", entry.id)
    category_id = clinic.waitlist.message_category
    if category_id is not None:
        category = clinic.message_category(category_id)
        patient = session.get(Patient, entry.patient_id)
        until = f"; held until {expires.astimezone(clinic.tz):%a %d %b %H:%M}" if expires else ""
        session.add(
            Message(
                category=category.id,
                priority=MessagePriority.HIGH,
                owner_role=category.owner_role,
                subject=f"Waitlist: a {kind.name} opened",
                body=(
                    f"Offer {start.astimezone(clinic.tz):%a %d %b %H:%M} with {provider.name}"
                    f" to waitlist entry {entry.id}{until}."
                ),
                callback_phone=patient.phone if patient else None,
                patient_id=entry.patient_id,
                lead_id=entry.lead_id,
                call_id=actor.call_id,
            )
        )
    session.flush()
    local = start.astimezone(clinic.tz)
    return WaitlistOffer(
        entry.id,
        entry.patient_id,
        entry.lead_id,
        Slot(kind.id, provider.id, provider.name, local, end.astimezone(clinic.tz), room),
        hold_id,
        expires,
    )


def _as_offer(entry: WaitlistEntry, clinic: ClinicConfig, room: str | None) -> WaitlistOffer:
    provider = clinic.provider(entry.offer_provider_id or "")
    assert entry.offer_start is not None and entry.offer_end is not None
    return WaitlistOffer(
        entry.id,
        entry.patient_id,
        entry.lead_id,
        Slot(
            entry.appointment_type_id,
            provider.id,
            provider.name,
            entry.offer_start.astimezone(clinic.tz),
            entry.offer_end.astimezone(clinic.tz),
            room,
        ),
        entry.offer_hold_id,
        entry.offer_expires_at,
    )


def waitlist_offers(
    store: Store, clinic: ClinicConfig, *, now: datetime, actor: Actor
) -> list[WaitlistOffer]:
    """Offers still open (not yet accepted, declined or run out), oldest first."""
    with store.transaction() as session:
        rows = list(
            session.scalars(
                select(WaitlistEntry)
                .where(
                    WaitlistEntry.status == WaitlistStatus.OFFERED,
                    or_(
                        WaitlistEntry.offer_expires_at.is_(None),
                        WaitlistEntry.offer_expires_at > now,
                    ),
                )
                .order_by(WaitlistEntry.offered_at, WaitlistEntry.id)
            )
        )
        out = []
        for row in rows:
            hold = session.get(Hold, row.offer_hold_id) if row.offer_hold_id else None
            out.append(_as_offer(row, clinic, hold.room_id if hold else None))
        audit.record(session, actor, "read", "waitlist", "offers")
        return out


def _offered_entry(session: Session, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise InvalidInput(f"no waitlist entry {entry_id}")
    if entry.status != WaitlistStatus.OFFERED or entry.offer_start is None:
        raise InvalidState(f"waitlist entry {entry_id} has no open offer")
    return entry


def accept_offer(
    store: Store, clinic: ClinicConfig, *, entry_id: int, now: datetime, actor: Actor
) -> Booking:
    """Book the slot offered to a waitlist entry; its lead moves to scheduled.

    An offer whose hold ran out still books when nobody took the time meanwhile.

    Raises:
        InvalidState: no open offer. SlotTaken / HoldExpired: the time is gone (taken
        after the offer ran out).
    """
    from voiceagent.clinic.scheduling import hold_slot

    sync_booking_rules(store, clinic)
    with store.transaction() as session:
        entry = _offered_entry(session, entry_id)
        hold_id = entry.offer_hold_id
        live = hold_id is not None and session.get(Hold, hold_id) is not None
        patient_id, start, provider_id = (
            entry.patient_id,
            entry.offer_start,
            entry.offer_provider_id,
        )
    if not live:
        assert start is not None
        held = hold_slot(
            store,
            clinic,
            appointment_type_id=entry.appointment_type_id,
            start=start,
            provider_id=provider_id,
            now=now,
            actor=actor,
        )
        hold_id = held.hold_id
    assert hold_id is not None
    try:
        with store.transaction() as session:
            entry = _offered_entry(session, entry_id)
            booking = _convert_hold(
                session, clinic, hold_id, patient_id, now, actor, lead_id=entry.lead_id
            )
            entry.status = WaitlistStatus.BOOKED
            entry.appointment_id = booking.appointment_id
            audit.record(session, actor, "book", "waitlist", entry.id)
            return booking
    except IntegrityError:
        raise SlotTaken() from None


def decline_offer(
    store: Store,
    clinic: ClinicConfig,
    *,
    entry_id: int,
    now: datetime,
    actor: Actor,
    stay_on_waitlist: bool = True,
) -> WaitlistOffer | None:
    """The patient does not take the offered slot: it goes to the next matching entry
    (returned, or None). The entry waits for the next opening unless told otherwise."""
    with store.transaction() as session:
        entry = _offered_entry(session, entry_id)
        start, end = entry.offer_start, entry.offer_end
        provider_id = entry.offer_provider_id
        if entry.offer_hold_id:
            session.execute(delete(Hold).where(Hold.id == entry.offer_hold_id))
        entry.status = WaitlistStatus.WAITING if stay_on_waitlist else WaitlistStatus.REMOVED
        entry.offer_hold_id = None
        entry.offer_expires_at = None
        audit.record(session, actor, "decline", "waitlist", entry.id)
        session.flush()
        assert start is not None and end is not None and provider_id is not None
        return offer_freed_slot(
            session, clinic, provider_id, start, end, now, actor, skip_entry=entry.id
        )


def remove_from_waitlist(store: Store, *, entry_id: int, actor: Actor) -> None:
    """Take an entry off the waitlist (booked elsewhere, no longer interested)."""
    with store.transaction() as session:
        entry = session.get(WaitlistEntry, entry_id)
        if entry is None:
            raise InvalidInput(f"no waitlist entry {entry_id}")
        if entry.offer_hold_id:
            session.execute(delete(Hold).where(Hold.id == entry.offer_hold_id))
        entry.status = WaitlistStatus.REMOVED
        audit.record(session, actor, "remove", "waitlist", entry.id)


def reoffer_expired(
    store: Store, clinic: ClinicConfig, *, now: datetime, actor: Actor
) -> list[WaitlistOffer]:
    """Offers nobody answered in time go to the next matching entry (run periodically)."""
    made: list[WaitlistOffer] = []
    with store.transaction() as session:
        expired = list(
            session.scalars(
                select(WaitlistEntry).where(
                    WaitlistEntry.status == WaitlistStatus.OFFERED,
                    WaitlistEntry.offer_expires_at <= now,
                )
            )
        )
        for entry in expired:
            entry.status = WaitlistStatus.WAITING
            if entry.offer_hold_id:
                session.execute(delete(Hold).where(Hold.id == entry.offer_hold_id))
            entry.offer_hold_id = None
            session.flush()
            assert entry.offer_start and entry.offer_end and entry.offer_provider_id
            offer = offer_freed_slot(
                session,
                clinic,
                entry.offer_provider_id,
                entry.offer_start,
                entry.offer_end,
                now,
                actor,
                skip_entry=entry.id,
            )
            if offer is not None:
                made.append(offer)
    return made
