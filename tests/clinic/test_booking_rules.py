"""Specialty, named-provider and room rules: in slot search, in booking, and in the database
itself (a write that breaks them is refused like a double booking), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.clinic.clinic_fixtures import NOW, TZ, make_clinic
from tests.clinic.clinic_race import race_processes, race_threads
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import NoRoom, NotQualified, OutsideHours
from voiceagent.clinic.models import Appointment, Hold
from voiceagent.clinic.patients import find_or_create_patient
from voiceagent.clinic.rules import RuleViolation, sync_booking_rules

ACTOR = Actor("assistant", "call-rules")
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
TUESDAY_14 = datetime(2026, 11, 24, 14, 0, tzinfo=TZ)


def patient(store: Store, n: int = 0) -> int:
    return find_or_create_patient(
        store,
        first_name=f"Pat{chr(65 + n)}",
        last_name="Rule",
        dob=date(1985, 3, 1 + n),
        actor=ACTOR,
    ).patient_id


def appointments(store: Store) -> list[tuple[str, str, str | None]]:
    with store.transaction() as session:
        rows = session.execute(
            select(Appointment.appointment_type_id, Appointment.provider_id, Appointment.room_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_search_offers_a_specialty_type_only_with_the_specialist_in_their_room(
    any_store: Store,
) -> None:
    clinic = make_clinic()
    slots = sch.find_slots(any_store, clinic, "pelvic-eval", now=NOW, limit=20)
    assert slots and {(s.provider_id, s.room_id) for s in slots} == {("pt-a", "private")}
    vestibular = sch.find_slots(any_store, clinic, "vestibular-eval", now=NOW, limit=10)
    assert vestibular and {(s.provider_id, s.room_id) for s in vestibular} == {("pt-b", "room-1")}


def test_a_named_provider_without_the_specialty_is_refused_with_who_can(any_store: Store) -> None:
    clinic = make_clinic()
    with pytest.raises(NotQualified, match="pelvic health.*Alex Avery"):
        sch.find_slots(
            any_store,
            clinic,
            "pelvic-eval",
            now=NOW,
            preferences=sch.Preferences(provider_id="pt-b"),
        )
    with pytest.raises(NotQualified, match="only Bea Bravo"):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="vestibular-eval",
            start=TUESDAY_9,
            provider_id="pt-a",
            now=NOW,
            actor=ACTOR,
        )


def test_a_room_bound_to_a_provider_is_never_used_by_another(any_store: Store) -> None:
    clinic = make_clinic(
        appointment_types=[
            *make_clinic().model_dump(mode="json")["appointment_types"][:2],
            {
                "id": "quiet-visit",
                "name": "quiet visit",
                "duration_minutes": 30,
                "roles": ["PT"],
                "rooms": ["private", "room-1"],
                "grid_minutes": 30,
                "min_notice_hours": 1,
            },
        ]
    )
    pid = patient(any_store)
    free = sch.find_slots(any_store, clinic, "quiet-visit", now=NOW, limit=40)
    assert ("pt-b", "private") not in {(s.provider_id, s.room_id) for s in free}
    held = sch.hold_slot(
        any_store,
        clinic,
        appointment_type_id="quiet-visit",
        start=TUESDAY_14,
        provider_id="pt-a",
        room_id="room-1",
        now=NOW,
        actor=ACTOR,
    )
    assert held.slot.room_id == "room-1"
    sch.book(any_store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)
    # room-1 is taken at 14:00 and the free private room is pt-a's: pt-b has no room
    with pytest.raises(NoRoom):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="quiet-visit",
            start=TUESDAY_14,
            provider_id="pt-b",
            now=NOW,
            actor=ACTOR,
        )
    assert appointments(any_store) == [("quiet-visit", "pt-a", "room-1")]


def test_type_and_provider_rooms_override_the_type_rooms(any_store: Store) -> None:
    data = make_clinic().model_dump(mode="json")
    follow_up = data["appointment_types"][1]
    follow_up["provider_rooms"] = {"pt-a": ["private"]}
    clinic = make_clinic(appointment_types=data["appointment_types"])
    slots = sch.find_slots(any_store, clinic, "follow-up", now=NOW, limit=40)
    rooms = {(s.provider_id, s.room_id) for s in slots}
    assert ("pt-a", "private") in rooms and ("pt-a", "gym") not in rooms
    assert all(room == "gym" for provider, room in rooms if provider != "pt-a")


def test_clinic_wide_block_and_room_closure_take_their_time_out(any_store: Store) -> None:
    clinic = make_clinic(
        blocks=[{"name": "staff meeting", "time": "08:00-10:00", "days": ["tue"]}],
        room_closures=[{"room": "private", "date": "2026-11-25", "reason": "repairs"}],
    )
    tuesday = sch.find_slots(
        any_store,
        clinic,
        "evaluation",
        now=NOW,
        limit=20,
        preferences=sch.Preferences(dates=(date(2026, 11, 24),)),
    )
    assert tuesday and min(s.start.time() for s in tuesday) >= time(10)
    with pytest.raises(OutsideHours, match="staff meeting"):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="evaluation",
            start=TUESDAY_9,
            provider_id="pt-a",
            now=NOW,
            actor=ACTOR,
        )
    wednesday = sch.find_slots(
        any_store,
        clinic,
        "pelvic-eval",
        now=NOW,
        preferences=sch.Preferences(dates=(date(2026, 11, 25),)),
    )
    assert wednesday == []
    with pytest.raises(NoRoom, match="closed"):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="pelvic-eval",
            start=datetime(2026, 11, 25, 9, 0, tzinfo=TZ),
            now=NOW,
            actor=ACTOR,
        )


def test_the_database_refuses_a_type_with_a_provider_the_rules_do_not_allow(
    any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = make_clinic()
    sync_booking_rules(any_store, clinic)
    # A code path that skips every check in Python still cannot write the booking.
    monkeypatch.setattr(sch, "slot_problem", lambda *args, **kwargs: None)
    monkeypatch.setattr(ClinicConfig, "needs_room", lambda *args, **kwargs: False)
    with pytest.raises(RuleViolation):
        sch.hold_slot(
            any_store,
            clinic,
            appointment_type_id="pelvic-eval",
            start=TUESDAY_14,
            provider_id="pt-b",
            now=NOW,
            actor=ACTOR,
        )
    with any_store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Hold)) == 0


def test_the_database_refuses_a_room_the_rules_do_not_allow(any_store: Store) -> None:
    clinic = make_clinic()
    sync_booking_rules(any_store, clinic)
    pid = patient(any_store)
    with pytest.raises(IntegrityError), any_store.transaction() as session:
        session.add(
            Appointment(
                patient_id=pid,
                appointment_type_id="pelvic-eval",
                provider_id="pt-a",
                room_id="room-1",
                start=TUESDAY_14,
                end=TUESDAY_14.replace(hour=15),
            )
        )
        session.flush()
    with pytest.raises(IntegrityError), any_store.transaction() as session:
        session.add(
            Appointment(
                patient_id=pid,
                appointment_type_id="evaluation",
                provider_id="pta-c",
                start=TUESDAY_14,
                end=TUESDAY_14.replace(hour=15),
            )
        )
        session.flush()
    assert appointments(any_store) == []


def test_rules_follow_the_config_but_keep_what_existing_bookings_use(any_store: Store) -> None:
    clinic = make_clinic()
    pid = patient(any_store)
    held = sch.hold_slot(
        any_store,
        clinic,
        appointment_type_id="vestibular-eval",
        start=TUESDAY_14,
        now=NOW,
        actor=ACTOR,
    )
    sch.book(any_store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=ACTOR)
    data = clinic.model_dump(mode="json")
    data["appointment_types"][3]["providers"] = ["pt-a"]
    moved = make_clinic(appointment_types=data["appointment_types"])
    sync_booking_rules(any_store, moved)
    assert appointments(any_store) == [("vestibular-eval", "pt-b", "room-1")]
    later = sch.find_slots(any_store, moved, "vestibular-eval", now=NOW)
    assert later and {s.provider_id for s in later} == {"pt-a"}


def test_concurrent_callers_for_the_one_specialist_slot_get_one_booking(
    any_store: Store,
) -> None:
    # Six callers ask for the same pelvic-health time without naming a therapist: only the
    # pelvic-health PT may see them, in her room, so exactly one books and the rest hear it
    # is taken; nobody lands with another therapist.
    results = race_threads(any_store, TUESDAY_14, [("pelvic-eval", None)] * 6)
    assert results.count("won:pt-a:private") == 1, results
    assert set(results) == {"won:pt-a:private", "slot_taken"}, results
    assert appointments(any_store) == [("pelvic-eval", "pt-a", "private")]


def test_concurrent_bookings_of_a_restricted_type_and_a_general_one_share_the_room_rules(
    any_store: Store,
) -> None:
    # At 14:00 on Tuesday, pt-a (pelvic) and pt-b (vestibular) are both free: the restricted
    # types go to their own provider and room, never swapped, even when booked at once.
    results = race_threads(
        any_store,
        TUESDAY_14,
        [("pelvic-eval", None), ("vestibular-eval", None), ("pelvic-eval", None)],
    )
    assert sorted(results) == ["slot_taken", "won:pt-a:private", "won:pt-b:room-1"], results
    assert sorted(appointments(any_store)) == [
        ("pelvic-eval", "pt-a", "private"),
        ("vestibular-eval", "pt-b", "room-1"),
    ]


@pytest.mark.postgres
def test_four_processes_racing_for_the_specialist_slot_book_it_once_on_postgres(
    pg_store: Store, pg_url: str
) -> None:
    results = race_processes(pg_url, TUESDAY_14, [("pelvic-eval", None)] * 4)
    assert sorted(results) == ["slot_taken"] * 3 + ["won:pt-a:private"], results
    assert appointments(pg_store) == [("pelvic-eval", "pt-a", "private")]
