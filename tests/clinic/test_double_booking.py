"""Two callers can never get the same provider or room time: the database guarantees it (SQLite)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.clinic.clinic_fixtures import TZ
from tests.clinic.clinic_race import race_cancel, race_processes, race_same_hold, race_threads
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.db import Store
from voiceagent.clinic.models import Appointment

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
AFTERNOON = datetime(2026, 11, 24, 14, 0, tzinfo=TZ)


def booked(store: Store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Appointment)) or 0


def test_six_threads_racing_for_one_slot_exactly_one_wins(store: Store) -> None:
    results = race_threads(store, START, [("evaluation", "pt-a")] * 6)
    assert results.count("won") == 1, results
    assert set(results) == {"won", "slot_taken"}
    assert booked(store) == 1


def test_threads_racing_for_gym_seats_fill_exactly_its_capacity(store: Store) -> None:
    plan = [("follow-up", "pt-a"), ("follow-up", "pt-b"), ("follow-up", "pta-c")]
    results = race_threads(store, AFTERNOON, plan)
    assert results.count("won") == 2, results  # the gym seats two
    assert booked(store) == 2


def test_four_processes_racing_for_one_slot_exactly_one_wins(store: Store, db_url: str) -> None:
    results = race_processes(db_url, START, [("evaluation", "pt-a")] * 4)
    assert results.count("won") == 1, results
    assert set(results) == {"won", "slot_taken"}
    assert booked(store) == 1


def test_unique_constraints_alone_stop_a_double_booking(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blind the service's own availability check: only the database can refuse now.
    monkeypatch.setattr(sch, "load_busy", lambda *args, **kwargs: sch.Busy())
    results = race_threads(store, START, [("evaluation", "pt-a")] * 4)
    assert results.count("won") == 1, results
    assert booked(store) == 1
    seats = race_threads(
        store, AFTERNOON, [("follow-up", "pt-a"), ("follow-up", "pt-b"), ("follow-up", "pta-c")]
    )
    assert seats.count("won") == 2, seats
    assert booked(store) == 3


def test_the_same_hold_booked_twice_at_once_gives_one_appointment(store: Store) -> None:
    results = race_same_hold(store, START, 4)
    assert sorted(results) == ["hold_expired"] * 3 + ["won"], results
    assert booked(store) == 1


def test_two_cancels_of_one_appointment_at_once_act_once(store: Store) -> None:
    results = race_cancel(store, START, 3)
    assert sorted(results) == ["invalid_state"] * 2 + ["won"], results
