"""Scheduling rules: hours, breaks, closures, roles, rooms, grid, notice, horizon, preferences,
hold-then-book, reschedule/cancel authorization and the waitlist."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.clinic.clinic_fixtures import NOW, TZ
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic import waitlist
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import (
    BeyondHorizon,
    ClinicClosed,
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
)
from voiceagent.clinic.models import Appointment, AuditEntry, ProviderTimeUnit, WaitlistEntry
from voiceagent.clinic.patients import find_or_create_patient

pytestmark = pytest.mark.unit

ACTOR = Actor("assistant", "call-1")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def patient(store: Store, first: str = "Maria", last: str = "Garcia") -> int:
    return find_or_create_patient(
        store,
        first_name=first,
        last_name=last,
        dob=date(1980, 5, 1),
        phone="555-201-0000" if first == "Maria" else "555-201-0001",
        actor=ACTOR,
    ).patient_id


def hold(
    store: Store,
    clinic: ClinicConfig,
    start: datetime,
    type_id: str = "evaluation",
    provider: str | None = None,
    now: datetime = NOW,
) -> sch.SlotHold:
    return sch.hold_slot(
        store,
        clinic,
        appointment_type_id=type_id,
        start=start,
        provider_id=provider,
        now=now,
        actor=ACTOR,
    )


def book_at(
    store: Store,
    clinic: ClinicConfig,
    pid: int,
    start: datetime,
    type_id: str = "evaluation",
    provider: str | None = None,
) -> sch.Booking:
    held = hold(store, clinic, start, type_id, provider)
    return sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)


def all_slots(
    store: Store, clinic: ClinicConfig, type_id: str = "evaluation", **prefs: object
) -> list[sch.Slot]:
    return sch.find_slots(
        store,
        clinic,
        type_id,
        now=NOW,
        preferences=sch.Preferences(**prefs),  # type: ignore[arg-type]
        limit=10_000,
    )


# --- search rules ---------------------------------------------------------------------------


def test_slots_lie_within_clinic_and_provider_hours_on_the_grid(store, clinic) -> None:
    slots = all_slots(store, clinic)
    assert slots
    for slot in slots:
        provider = clinic.provider(slot.provider_id)
        hours = provider.hours.on(slot.start.date())
        assert hours is not None
        assert hours.start <= slot.start.time() and slot.end.time() <= hours.end
        assert slot.start.minute in (0, 30)
        assert slot.end - slot.start == timedelta(minutes=60)
        assert slot.start.weekday() < 5  # providers do not work Saturdays


def test_no_slot_overlaps_a_providers_break(store, clinic) -> None:
    for slot in all_slots(store, clinic, provider_id="pt-a"):
        assert not (slot.start.time() < time(13) and time(12) < slot.end.time())
    with pytest.raises(OutsideHours, match="break"):
        hold(store, clinic, at(24, 11, 30), provider="pt-a")


def test_first_slot_respects_minimum_notice(store, clinic) -> None:
    first = sch.find_slots(store, clinic, "evaluation", now=NOW, limit=1)[0]
    assert first.start == at(23, 11, 0)  # 07:00 + 4 h notice
    with pytest.raises(NoticeTooShort):
        hold(store, clinic, at(23, 9, 0))


def test_no_slot_beyond_the_booking_horizon(store, clinic) -> None:
    slots = all_slots(store, clinic, "follow-up")
    assert max(s.start.date() for s in slots) <= NOW.date() + timedelta(days=45)
    with pytest.raises(BeyondHorizon):
        hold(store, clinic, datetime(2027, 1, 15, 9, 0, tzinfo=TZ))


def test_closed_holiday_has_no_slots_and_says_why(store, clinic) -> None:
    assert all_slots(store, clinic, dates=(date(2026, 12, 25),)) == []
    with pytest.raises(ClinicClosed, match="Christmas Day"):
        hold(store, clinic, at(25, 9, 0, month=12))


def test_partial_closure_day_offers_only_the_open_hours(store, clinic) -> None:
    slots = all_slots(store, clinic, "follow-up", dates=(date(2026, 12, 24),))
    assert slots
    assert max(s.end.time() for s in slots) <= time(12)
    with pytest.raises(OutsideHours):
        hold(store, clinic, at(24, 14, 0, month=12), "follow-up")


def test_weekend_and_provider_time_off_are_excluded(store, clinic) -> None:
    assert all_slots(store, clinic, dates=(date(2026, 11, 28),)) == []  # Saturday: no PT works
    friday = all_slots(store, clinic, dates=(date(2026, 11, 27),))
    assert friday == []  # pt-a is off that Friday and pt-b never works Fridays
    with pytest.raises(OutsideHours, match="does not work"):
        hold(store, clinic, at(27, 9, 0), provider="pt-a")


def test_only_a_pt_evaluates(store, clinic) -> None:
    assert {s.provider_id for s in all_slots(store, clinic)} <= {"pt-a", "pt-b"}
    with pytest.raises(NotQualified, match="PTA"):
        hold(store, clinic, at(24, 9, 0), provider="pta-c")
    with pytest.raises(NotQualified):
        all_slots(store, clinic, provider_id="pta-c")
    assert {s.provider_id for s in all_slots(store, clinic, "follow-up", provider_id="pta-c")} == {
        "pta-c"
    }


def test_off_grid_start_is_refused(store, clinic) -> None:
    with pytest.raises(OffGrid, match="every 30 minutes"):
        hold(store, clinic, at(24, 9, 15))


def test_unknown_appointment_type_lists_the_known_ones(store, clinic) -> None:
    with pytest.raises(UnknownAppointmentType, match="evaluation, follow-up"):
        sch.find_slots(store, clinic, "massage", now=NOW)


def test_preferences_day_window_language_and_explicit_times(store, clinic) -> None:
    wednesdays = all_slots(store, clinic, days=("wed",))
    assert wednesdays and {s.start.weekday() for s in wednesdays} == {2}
    afternoons = all_slots(store, clinic, window="afternoon")
    assert afternoons and all(time(12) <= s.start.time() < time(17) for s in afternoons)
    mornings = all_slots(store, clinic, window="morning")
    assert mornings and all(s.start.time() < time(12) for s in mornings)
    spanish = all_slots(store, clinic, language="es")
    assert spanish and {s.provider_id for s in spanish} == {"pt-b"}
    early = all_slots(store, clinic, "follow-up", earliest=time(8), latest=time(8, 30))
    assert early and {s.start.time() for s in early} <= {time(8), time(8, 15), time(8, 30)}
    assert all_slots(store, clinic, window="evening") == []  # nobody evaluates after 17:00
    with pytest.raises(InvalidInput):
        sch.Preferences(days=("funday",))


def test_room_capacity_is_honoured(store, clinic) -> None:
    a, b, c = patient(store), patient(store, "Ben", "Ortiz"), patient(store, "Cara", "Lee")
    start = at(24, 14, 0)
    book_at(store, clinic, a, start, "follow-up", "pt-a")
    book_at(store, clinic, b, start, "follow-up", "pt-b")  # the gym seats two
    with pytest.raises(NoRoom):
        book_at(store, clinic, c, start, "follow-up", "pta-c")
    assert start not in {s.start for s in all_slots(store, clinic, "follow-up")}
    # One evaluation room: a second PT cannot evaluate at the same time.
    book_at(store, clinic, c, at(25, 14, 0), "evaluation", "pt-a")
    with pytest.raises(NoRoom):
        book_at(store, clinic, a, at(25, 14, 0), "evaluation", "pt-b")


def test_full_day_returns_no_slots_so_the_caller_can_offer_the_waitlist(store, clinic) -> None:
    day = date(2026, 11, 25)
    pids = [patient(store, f"P{i}x", "Full") for i in range(12)]
    for i in range(len(pids)):
        open_slots = all_slots(store, clinic, dates=(day,))
        if not open_slots:
            break
        book_at(store, clinic, pids[i], open_slots[0].start, provider=open_slots[0].provider_id)
    assert i >= 2  # several evaluations fitted before the day was full
    assert all_slots(store, clinic, dates=(day,)) == []
    with pytest.raises((SlotTaken, NoRoom)):
        hold(store, clinic, datetime.combine(day, time(14), TZ))
    receipt = waitlist.add_to_waitlist(
        store,
        clinic,
        patient_id=pids[0],
        appointment_type_id="evaluation",
        actor=ACTOR,
        preferences=sch.Preferences(dates=(day,), window="morning"),
    )
    with store.transaction() as session:
        entry = session.get(WaitlistEntry, receipt.entry_id)
        assert entry is not None and entry.status == "waiting"
        assert entry.preferences["window"] == "morning"


# --- hold then book ---------------------------------------------------------------------------


def test_hold_reserves_the_slot_until_it_expires(store, clinic) -> None:
    start = at(24, 9, 0)
    first = hold(store, clinic, start, provider="pt-a")
    assert first.expires_at == NOW + timedelta(minutes=10)
    with pytest.raises(SlotTaken):
        hold(store, clinic, start, provider="pt-a")
    assert all(not (s.provider_id == "pt-a" and s.start == start) for s in all_slots(store, clinic))
    later = NOW + timedelta(minutes=11)
    second = hold(store, clinic, start, provider="pt-a", now=later)
    assert second.slot.start == start
    # The first caller's hold lapsed and the time went to someone else.
    with pytest.raises(HoldExpired):
        sch.book(
            store, clinic, hold_id=first.hold_id, patient_id=patient(store), now=later, actor=ACTOR
        )


def test_book_turns_a_hold_into_an_appointment(store, clinic) -> None:
    pid = patient(store)
    held = hold(store, clinic, at(24, 9, 0), provider="pt-a")
    booking = sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)
    assert booking.slot == held.slot
    assert booking.what_to_bring == ("photo ID",)
    with store.transaction() as session:
        row = session.get(Appointment, booking.appointment_id)
        assert row is not None and row.status == "booked" and row.patient_id == pid
        units = session.scalars(
            select(ProviderTimeUnit).where(ProviderTimeUnit.appointment_id == row.id)
        ).all()
        assert len(units) == 12 and all(u.hold_id is None for u in units)
    with pytest.raises(HoldExpired):
        sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)


def test_expired_hold_still_books_when_nobody_took_the_time(store, clinic) -> None:
    held = hold(store, clinic, at(24, 9, 0), provider="pt-a")
    booking = sch.book(
        store,
        clinic,
        hold_id=held.hold_id,
        patient_id=patient(store),
        now=NOW + timedelta(minutes=30),
        actor=ACTOR,
    )
    assert booking.slot.start == at(24, 9, 0)


def test_booking_for_an_unknown_patient_is_refused_and_keeps_the_hold(store, clinic) -> None:
    held = hold(store, clinic, at(24, 9, 0), provider="pt-a")
    with pytest.raises(UnknownPatient):
        sch.book(store, clinic, hold_id=held.hold_id, patient_id=999, now=NOW, actor=ACTOR)
    booking = sch.book(
        store, clinic, hold_id=held.hold_id, patient_id=patient(store), now=NOW, actor=ACTOR
    )
    assert booking.slot.provider_id == "pt-a"


def test_released_hold_frees_the_time(store, clinic) -> None:
    held = hold(store, clinic, at(24, 9, 0), provider="pt-a")
    sch.release_hold(store, held.hold_id)
    assert hold(store, clinic, at(24, 9, 0), provider="pt-a").slot.start == at(24, 9, 0)


def test_any_provider_hold_picks_a_free_qualified_one(store, clinic) -> None:
    first = hold(store, clinic, at(24, 14, 0))
    second = hold(store, clinic, at(24, 15, 0))
    assert first.slot.provider_id in {"pt-a", "pt-b"}
    assert second.slot.provider_id in {"pt-a", "pt-b"}


def test_database_rejects_overlapping_units_even_bypassing_the_service(store, clinic) -> None:
    book_at(store, clinic, patient(store), at(24, 9, 0), provider="pt-a")
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(
            ProviderTimeUnit(provider_id="pt-a", unit_start=at(24, 9, 30), appointment_id=1)
        )
        session.flush()


# --- reschedule / cancel ------------------------------------------------------------------------


def test_reschedule_moves_only_the_verified_patients_own_appointment(store, clinic) -> None:
    maria, ben = patient(store), patient(store, "Ben", "Ortiz")
    original = book_at(store, clinic, maria, at(24, 9, 0), provider="pt-a")
    new_hold = hold(store, clinic, at(25, 10, 0), provider="pt-a")
    with pytest.raises(NotAuthorized):
        sch.reschedule(
            store,
            clinic,
            patient_id=ben,
            appointment_id=original.appointment_id,
            hold_id=new_hold.hold_id,
            now=NOW,
            actor=ACTOR,
        )
    moved = sch.reschedule(
        store,
        clinic,
        patient_id=maria,
        appointment_id=original.appointment_id,
        hold_id=new_hold.hold_id,
        now=NOW,
        actor=ACTOR,
    )
    assert moved.slot.start == at(25, 10, 0)
    assert moved.rescheduled_from_id == original.appointment_id
    upcoming = sch.list_appointments(store, clinic, patient_id=maria, now=NOW, actor=ACTOR)
    assert [a.appointment_id for a in upcoming] == [moved.appointment_id]
    # The old time is free again.
    assert hold(store, clinic, at(24, 9, 0), provider="pt-a").slot.start == at(24, 9, 0)
    with store.transaction() as session:
        old = session.get(Appointment, original.appointment_id)
        assert old is not None and old.status == "rescheduled"


def test_failed_reschedule_leaves_the_original_appointment_booked(store, clinic) -> None:
    maria = patient(store)
    original = book_at(store, clinic, maria, at(24, 9, 0), provider="pt-a")
    with pytest.raises(HoldExpired):
        sch.reschedule(
            store,
            clinic,
            patient_id=maria,
            appointment_id=original.appointment_id,
            hold_id="no-such-hold",
            now=NOW,
            actor=ACTOR,
        )
    upcoming = sch.list_appointments(store, clinic, patient_id=maria, now=NOW, actor=ACTOR)
    assert [(a.appointment_id, a.status) for a in upcoming] == [(original.appointment_id, "booked")]


def test_cancel_frees_the_time_and_only_for_the_owner(store, clinic) -> None:
    maria, ben = patient(store), patient(store, "Ben", "Ortiz")
    booking = book_at(store, clinic, maria, at(24, 9, 0), provider="pt-a")
    with pytest.raises(NotAuthorized):
        sch.cancel(
            store,
            clinic,
            patient_id=ben,
            appointment_id=booking.appointment_id,
            now=NOW,
            actor=ACTOR,
        )
    with pytest.raises(UnknownAppointment):
        sch.cancel(store, clinic, patient_id=maria, appointment_id=4242, now=NOW, actor=ACTOR)
    info = sch.cancel(
        store,
        clinic,
        patient_id=maria,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=ACTOR,
        reason="feeling better",
    )
    assert info.status == "cancelled"
    with pytest.raises(InvalidState, match="already cancelled"):
        sch.cancel(
            store,
            clinic,
            patient_id=maria,
            appointment_id=booking.appointment_id,
            now=NOW,
            actor=ACTOR,
        )
    assert hold(store, clinic, at(24, 9, 0), provider="pt-a").slot.provider_id == "pt-a"


def test_past_appointment_cannot_be_cancelled(store, clinic) -> None:
    maria = patient(store)
    booking = book_at(store, clinic, maria, at(24, 9, 0), provider="pt-a")
    with pytest.raises(InvalidState, match="already started"):
        sch.cancel(
            store,
            clinic,
            patient_id=maria,
            appointment_id=booking.appointment_id,
            now=at(24, 9, 30),
            actor=ACTOR,
        )


def test_bookings_and_changes_are_audited_with_actor_and_call(store, clinic) -> None:
    maria = patient(store)
    booking = book_at(store, clinic, maria, at(24, 9, 0), provider="pt-a")
    sch.cancel(
        store,
        clinic,
        patient_id=maria,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=Actor("assistant", "call-2"),
    )
    with store.transaction() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "appointment").order_by(AuditEntry.id)
        ).all()
        assert [(r.action, r.call_id, r.entity_id) for r in rows] == [
            ("create", "call-1", str(booking.appointment_id)),
            ("cancel", "call-2", str(booking.appointment_id)),
        ]


def test_naive_now_is_refused(store, clinic) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        sch.find_slots(store, clinic, "evaluation", now=datetime(2026, 11, 23, 7))
