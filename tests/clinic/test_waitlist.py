"""The waitlist: entries keep the caller's windows, and a cancellation offers the freed slot
to the first matching entry, held for them; accepting books it, declining passes it on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.clinic.clinic_fixtures import NOW, TZ, make_clinic
from voiceagent.clinic import leads, waitlist
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidState, NotQualified, SlotTaken
from voiceagent.clinic.models import Message, WaitlistEntry
from voiceagent.clinic.patients import find_or_create_patient

ACTOR = Actor("assistant", "call-wait")
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


def clinic_with_offers() -> ClinicConfig:
    return make_clinic(waitlist={"offer_hold_minutes": 60, "message_category": "callback"})


def person(store: Store, n: int) -> int:
    return find_or_create_patient(
        store,
        first_name=f"Wait{chr(65 + n)}",
        last_name="Lister",
        dob=date(1970, 1, 1 + n),
        phone=f"608-555-01{n:02d}",
        actor=ACTOR,
    ).patient_id


def booked_at(store: Store, clinic: ClinicConfig, pid: int, start: datetime) -> sch.Booking:
    held = sch.hold_slot(
        store,
        clinic,
        appointment_type_id="evaluation",
        start=start,
        provider_id="pt-a",
        now=NOW,
        actor=ACTOR,
    )
    return sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)


def test_a_cancellation_offers_the_slot_to_the_first_matching_entry_and_holds_it(
    any_store: Store,
) -> None:
    clinic = clinic_with_offers()
    holder, afternoon_only, morning = (
        person(any_store, 0),
        person(any_store, 1),
        person(any_store, 2),
    )
    booking = booked_at(any_store, clinic, holder, TUESDAY_9)
    waitlist.add_to_waitlist(
        any_store,
        clinic,
        patient_id=afternoon_only,
        appointment_type_id="evaluation",
        actor=ACTOR,
        preferences=sch.Preferences(window="afternoon"),
    )
    entry = waitlist.add_to_waitlist(
        any_store,
        clinic,
        patient_id=morning,
        appointment_type_id="evaluation",
        actor=ACTOR,
        preferences=sch.Preferences(days=("tue",), window="morning"),
    )
    assert leads.get_lead(any_store, entry.lead_id or 0, actor=ACTOR).stage == "waitlisted"
    later = NOW + timedelta(hours=1)
    sch.cancel(
        any_store,
        clinic,
        patient_id=holder,
        appointment_id=booking.appointment_id,
        now=later,
        actor=ACTOR,
    )
    [offer] = waitlist.waitlist_offers(any_store, clinic, now=later, actor=ACTOR)
    assert (offer.entry_id, offer.slot.start, offer.slot.provider_id) == (
        entry.entry_id,
        TUESDAY_9,
        "pt-a",
    )
    assert offer.expires_at == later + timedelta(minutes=60)
    # Held for the waitlisted patient: nobody else is offered or can take it meanwhile.
    assert TUESDAY_9 not in {
        s.start for s in sch.find_slots(any_store, clinic, "evaluation", now=later, limit=50)
    }
    with pytest.raises(SlotTaken):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="evaluation",
            start=TUESDAY_9,
            provider_id="pt-a",
            now=later,
            actor=ACTOR,
        )
    with any_store.transaction() as session:
        task = session.scalars(select(Message)).one()
        assert (task.owner_role, task.patient_id, task.priority) == ("front_desk", morning, "high")
        assert "Lister" not in task.subject + task.body
    booking2 = waitlist.accept_offer(
        any_store, clinic, entry_id=entry.entry_id, now=later, actor=ACTOR
    )
    assert (booking2.patient_id, booking2.slot.start) == (morning, TUESDAY_9)
    assert leads.get_lead(any_store, entry.lead_id or 0, actor=ACTOR).stage == "scheduled"
    with any_store.transaction() as session:
        row = session.get(WaitlistEntry, entry.entry_id)
        assert row is not None and (row.status, row.appointment_id) == (
            "booked",
            booking2.appointment_id,
        )
    with pytest.raises(InvalidState):
        waitlist.accept_offer(any_store, clinic, entry_id=entry.entry_id, now=later, actor=ACTOR)


def test_a_declined_offer_passes_to_the_next_entry_and_provider_preference_is_kept(
    any_store: Store,
) -> None:
    clinic = clinic_with_offers()
    holder, first, other_pt, second = (person(any_store, n) for n in range(4))
    booking = booked_at(any_store, clinic, holder, TUESDAY_9)
    one = waitlist.add_to_waitlist(
        any_store, clinic, patient_id=first, appointment_type_id="evaluation", actor=ACTOR
    )
    waitlist.add_to_waitlist(  # wants pt-b only: a pt-a slot is not for them
        any_store,
        clinic,
        patient_id=other_pt,
        appointment_type_id="evaluation",
        actor=ACTOR,
        preferences=sch.Preferences(provider_id="pt-b"),
    )
    two = waitlist.add_to_waitlist(
        any_store, clinic, patient_id=second, appointment_type_id="evaluation", actor=ACTOR
    )
    sch.cancel(
        any_store,
        clinic,
        patient_id=holder,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=ACTOR,
    )
    assert [
        o.entry_id for o in waitlist.waitlist_offers(any_store, clinic, now=NOW, actor=ACTOR)
    ] == [one.entry_id]
    passed = waitlist.decline_offer(any_store, clinic, entry_id=one.entry_id, now=NOW, actor=ACTOR)
    assert passed is not None and passed.entry_id == two.entry_id
    assert passed.slot.start == TUESDAY_9
    with any_store.transaction() as session:
        first_row = session.get(WaitlistEntry, one.entry_id)
        assert first_row is not None and first_row.status == "waiting"


def test_an_unanswered_offer_runs_out_and_goes_to_the_next_entry(any_store: Store) -> None:
    clinic = clinic_with_offers()
    holder, first, second = (person(any_store, n) for n in range(3))
    booking = booked_at(any_store, clinic, holder, TUESDAY_9)
    one = waitlist.add_to_waitlist(
        any_store, clinic, patient_id=first, appointment_type_id="evaluation", actor=ACTOR
    )
    two = waitlist.add_to_waitlist(
        any_store, clinic, patient_id=second, appointment_type_id="evaluation", actor=ACTOR
    )
    sch.cancel(
        any_store,
        clinic,
        patient_id=holder,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=ACTOR,
    )
    after = NOW + timedelta(minutes=61)
    assert waitlist.waitlist_offers(any_store, clinic, now=after, actor=ACTOR) == []
    [again] = waitlist.reoffer_expired(any_store, clinic, now=after, actor=ACTOR)
    assert again.entry_id == two.entry_id and again.slot.start == TUESDAY_9
    with any_store.transaction() as session:
        row = session.get(WaitlistEntry, one.entry_id)
        assert row is not None and row.status == "waiting"


def test_a_waitlist_preference_for_a_provider_who_cannot_deliver_the_type_is_refused(
    any_store: Store,
) -> None:
    with pytest.raises(NotQualified, match="pelvic health"):
        waitlist.add_to_waitlist(
            any_store,
            make_clinic(),
            patient_id=person(any_store, 0),
            appointment_type_id="pelvic-eval",
            actor=ACTOR,
            preferences=sch.Preferences(provider_id="pt-b"),
        )


def test_a_freed_slot_is_not_offered_for_a_type_its_provider_may_not_deliver(
    any_store: Store,
) -> None:
    clinic = clinic_with_offers()
    holder, pelvic = person(any_store, 0), person(any_store, 1)
    held = sch.hold_slot(
        any_store,
        clinic,
        appointment_type_id="evaluation",
        start=datetime(2026, 11, 24, 14, 0, tzinfo=TZ),
        provider_id="pt-b",
        now=NOW,
        actor=ACTOR,
    )
    booking = sch.book(
        any_store, clinic, hold_id=held.hold_id, patient_id=holder, now=NOW, actor=ACTOR
    )
    waitlist.add_to_waitlist(
        any_store, clinic, patient_id=pelvic, appointment_type_id="pelvic-eval", actor=ACTOR
    )
    sch.cancel(
        any_store,
        clinic,
        patient_id=holder,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=ACTOR,
    )
    assert waitlist.waitlist_offers(any_store, clinic, now=NOW, actor=ACTOR) == []


def test_an_offer_accepted_after_its_hold_ran_out_books_only_if_the_time_is_still_free(
    any_store: Store,
) -> None:
    clinic = clinic_with_offers()
    holder, waiting = (person(any_store, n) for n in range(2))
    booking = booked_at(any_store, clinic, holder, TUESDAY_9)
    entry = waitlist.add_to_waitlist(
        any_store, clinic, patient_id=waiting, appointment_type_id="evaluation", actor=ACTOR
    )
    sch.cancel(
        any_store,
        clinic,
        patient_id=holder,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=ACTOR,
    )
    late = NOW + timedelta(minutes=90)  # the 60-minute hold has run out
    # a rival caller takes the time meanwhile
    held = sch.hold_slot(
        any_store,
        clinic,
        appointment_type_id="evaluation",
        start=TUESDAY_9,
        provider_id="pt-a",
        now=late,
        actor=ACTOR,
    )
    with pytest.raises(SlotTaken):
        waitlist.accept_offer(any_store, clinic, entry_id=entry.entry_id, now=late, actor=ACTOR)
    sch.release_hold(any_store, held.hold_id)  # the rival chose another time
    booked = waitlist.accept_offer(
        any_store, clinic, entry_id=entry.entry_id, now=late, actor=ACTOR
    )
    assert (booked.patient_id, booked.slot.start) == (waiting, TUESDAY_9)
