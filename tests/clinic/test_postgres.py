"""The same guarantees on PostgreSQL (a cluster started by the test setup)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.clinic.clinic_fixtures import NOW, TZ, make_clinic
from tests.clinic.clinic_race import race_cancel, race_processes, race_same_hold, race_threads
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store, make_engine, schema_differences
from voiceagent.clinic.models import Appointment
from voiceagent.clinic.patients import find_or_create_patient, verify_identity

pytestmark = pytest.mark.postgres

START = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
AFTERNOON = datetime(2026, 11, 24, 14, 0, tzinfo=TZ)


def booked(store: Store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Appointment)) or 0


def test_migrations_build_the_models_schema_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_hold_book_reschedule_cancel_work_on_postgres(pg_store: Store) -> None:
    clinic = make_clinic()
    actor = Actor("assistant", "call-pg")
    pid = find_or_create_patient(
        pg_store,
        first_name="Maria",
        last_name="Garcia",
        dob=date(1980, 5, 1),
        phone="555-201-0000",
        actor=actor,
    ).patient_id
    slots = sch.find_slots(pg_store, clinic, "evaluation", now=NOW)
    held = sch.hold_slot(
        pg_store,
        clinic,
        appointment_type_id="evaluation",
        start=slots[0].start,
        provider_id=slots[0].provider_id,
        now=NOW,
        actor=actor,
    )
    booking = sch.book(pg_store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor)
    assert booking.slot.start == slots[0].start
    assert slots[0].start not in {
        s.start
        for s in sch.find_slots(pg_store, clinic, "evaluation", now=NOW)
        if s.provider_id == slots[0].provider_id
    }
    check = verify_identity(
        pg_store, name="Maria Garcia", dob=date(1980, 5, 1), phone="5552010000", actor=actor
    )
    assert check.patient_id == pid
    info = sch.cancel(
        pg_store,
        clinic,
        patient_id=pid,
        appointment_id=booking.appointment_id,
        now=NOW,
        actor=actor,
    )
    assert info.status == "cancelled"


def test_six_threads_racing_for_one_slot_exactly_one_wins_on_postgres(pg_store: Store) -> None:
    results = race_threads(pg_store, START, [("evaluation", "pt-a")] * 6)
    assert results.count("won") == 1, results
    assert set(results) == {"won", "slot_taken"}
    assert booked(pg_store) == 1


def test_four_processes_racing_for_one_slot_exactly_one_wins_on_postgres(
    pg_store: Store, pg_url: str
) -> None:
    results = race_processes(pg_url, START, [("evaluation", "pt-a")] * 4)
    assert results.count("won") == 1, results
    assert booked(pg_store) == 1


def test_unique_constraints_alone_stop_a_double_booking_on_postgres(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sch, "load_busy", lambda *args, **kwargs: sch.Busy())
    results = race_threads(pg_store, START, [("evaluation", "pt-a")] * 4)
    assert results.count("won") == 1, results
    seats = race_threads(
        pg_store, AFTERNOON, [("follow-up", "pt-a"), ("follow-up", "pt-b"), ("follow-up", "pta-c")]
    )
    assert seats.count("won") == 2, seats
    assert booked(pg_store) == 3


def test_the_same_hold_booked_twice_at_once_gives_one_appointment_on_postgres(
    pg_store: Store,
) -> None:
    results = race_same_hold(pg_store, START, 4)
    assert sorted(results) == ["hold_expired"] * 3 + ["won"], results
    assert booked(pg_store) == 1


def test_two_cancels_of_one_appointment_at_once_act_once_on_postgres(pg_store: Store) -> None:
    results = race_cancel(pg_store, START, 3)
    assert sorted(results) == ["invalid_state"] * 2 + ["won"], results
