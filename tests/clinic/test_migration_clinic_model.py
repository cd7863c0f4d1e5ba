"""The clinic-model migration carries an existing store forward without loss: a store made by
the migrations before it, filled the way the product filled it, upgraded, read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from tests.clinic.clinic_fixtures import NOW, TZ, make_clinic
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import (
    Store,
    alembic_config,
    make_engine,
    open_store,
    schema_differences,
    upgrade_database,
)
from voiceagent.clinic.models import (
    Appointment,
    Coverage,
    Hold,
    Lead,
    Patient,
    ProviderRule,
    ProviderTimeUnit,
    Referral,
    RoomRule,
    RoomTimeUnit,
    WaitlistEntry,
)
from voiceagent.clinic.patients import verify_identity

ACTOR = Actor("staff:test", "call-migrate")
START = datetime(2026, 11, 24, 14, 0, tzinfo=TZ)  # a Tuesday: pt-a and pt-b both work


def before_clinic_model(url: str) -> str:
    """The revision this migration builds on (whatever the chain is when merged)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    for rev in script.walk_revisions():
        if rev.module.__file__ and rev.module.__file__.endswith("_clinic_model.py"):
            down = rev.down_revision
            assert isinstance(down, str)
            return down
    raise AssertionError("no *_clinic_model.py migration")


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def fill_old_store(url: str) -> None:
    """Rows as the previous schema held them, written with plain SQL."""
    engine = make_engine(url)
    start, end = naive(START), naive(START + timedelta(hours=1))
    created = naive(NOW)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (id, first_name, last_name, name_key, dob, phone,"
                " phone_key, email, preferred_language, created_at, updated_at) VALUES"
                " (1, 'Maria', 'Garcia', 'garcia|maria', :dob, '+16085550142', '6085550142',"
                " 'maria@example.com', 'es', :at, :at)"
            ),
            {"dob": date(1980, 5, 1), "at": created},
        )
        conn.execute(
            text(
                "INSERT INTO coverages (id, patient_id, kind, payer_name, member_id,"
                ' subscriber_relationship, "order", created_at) VALUES'
                " (1, 1, 'tricare', 'TRICARE', 'T-1', 'self', 1, :at)"
            ),
            {"at": created},
        )
        conn.execute(
            text(
                "INSERT INTO referrals (id, patient_id, referring_provider_name,"
                " referring_provider_npi, reason, created_at) VALUES"
                " (1, 1, 'Dr. Park', '1234567893', 'knee pain', :at)"
            ),
            {"at": created},
        )
        for lead_id, source in ((1, "friend_or_family"), (2, "physician_referral"), (3, "search")):
            conn.execute(
                text(
                    "INSERT INTO leads (id, patient_id, referral_id, stage, source, channel,"
                    " owner_role, created_at, updated_at) VALUES (:id, :pid, NULL, 'scheduled',"
                    " :source, 'phone', 'front_desk', :at, :at)"
                ),
                {
                    "id": lead_id,
                    "pid": 1 if lead_id == 1 else None,
                    "source": source,
                    "at": created,
                },
            )
        conn.execute(
            text(
                "INSERT INTO appointments (id, patient_id, appointment_type_id, provider_id,"
                ' room_id, start, "end", status, lead_id, created_at, updated_at) VALUES'
                " (1, 1, 'evaluation', 'pt-a', 'room-1', :start, :end, 'booked', 1, :at, :at)"
            ),
            {"start": start, "end": end, "at": created},
        )
        unit = start
        while unit < end:
            conn.execute(
                text(
                    "INSERT INTO provider_time_units (provider_id, unit_start, appointment_id)"
                    " VALUES ('pt-a', :u, 1)"
                ),
                {"u": unit},
            )
            conn.execute(
                text(
                    "INSERT INTO room_time_units (room_id, seat, unit_start, appointment_id)"
                    " VALUES ('room-1', 0, :u, 1)"
                ),
                {"u": unit},
            )
            unit += timedelta(minutes=5)
        conn.execute(
            text(
                'INSERT INTO holds (id, appointment_type_id, provider_id, room_id, start, "end",'
                " expires_at, created_at) VALUES ('h-1', 'follow-up', 'pta-c', 'gym', :s, :e,"
                " :x, :at)"
            ),
            {"s": start, "e": end, "x": naive(NOW + timedelta(days=30)), "at": created},
        )
        conn.execute(
            text(
                "INSERT INTO waitlist (id, patient_id, appointment_type_id, preferences, status,"
                " created_at) VALUES (1, 1, 'evaluation', '{\"window\": \"morning\"}',"
                " 'waiting', :at)"
            ),
            {"at": created},
        )
    engine.dispose()


def upgraded(url: str) -> Store:
    upgrade_database(url, before_clinic_model(url))
    fill_old_store(url)
    upgrade_database(url)
    return open_store(url, migrate=False)


def check_read_back(store: Store) -> None:
    assert schema_differences(store.engine) == []
    with store.transaction() as session:
        patient = session.get(Patient, 1)
        assert patient is not None
        assert (patient.email, patient.preferred_language, patient.sms_consent) == (
            "maria@example.com",
            "es",
            False,
        )
        coverage = session.get(Coverage, 1)
        assert coverage is not None and (coverage.kind, coverage.member_id) == ("tricare", "T-1")
        referral = session.get(Referral, 1)
        assert referral is not None and referral.referring_provider_npi == "1234567893"
        assert referral.written_order_on_file is False
        sources = {
            lead.id: (lead.source, lead.source_detail) for lead in session.scalars(select(Lead))
        }
        assert sources == {
            1: ("word_of_mouth", "friend_or_family"),
            2: ("physician_referral", None),
            3: ("web", "search"),
        }
        appointment = session.get(Appointment, 1)
        assert appointment is not None and appointment.room_id == "room-1"
        # the table rebuilds did not cascade into the booked time
        assert (
            session.scalar(
                select(func.count())
                .select_from(ProviderTimeUnit)
                .where(ProviderTimeUnit.appointment_id == 1)
            )
            == 12
        )
        assert session.scalar(select(func.count()).select_from(RoomTimeUnit)) == 12
        assert session.get(Hold, "h-1") is not None
        entry = session.get(WaitlistEntry, 1)
        assert entry is not None and entry.preferences == {"window": "morning"}
        # what was booked or held was allowed: it became a rule
        assert session.get(ProviderRule, ("evaluation", "pt-a")) is not None
        assert session.get(RoomRule, ("follow-up", "pta-c", "gym")) is not None
    # the upgraded store works: identity, booking rules, double-booking guard
    found = verify_identity(
        store, name="Maria Garcia", dob=date(1980, 5, 1), phone="608 555 0142", actor=ACTOR
    )
    assert found.patient_id == 1
    clinic = make_clinic()
    with pytest.raises(sch.SlotTaken):
        sch.hold_slot(
            store,
            clinic,
            appointment_type_id="evaluation",
            start=START,
            provider_id="pt-a",
            now=NOW,
            actor=ACTOR,
        )
    sch.cancel(store, clinic, patient_id=1, appointment_id=1, now=NOW, actor=ACTOR)
    held = sch.hold_slot(
        store, clinic, appointment_type_id="pelvic-eval", start=START, now=NOW, actor=ACTOR
    )
    assert (held.slot.provider_id, held.slot.room_id) == ("pt-a", "private")


@pytest.mark.unit
def test_a_filled_sqlite_store_is_upgraded_without_loss(tmp_path: Path) -> None:
    store = upgraded(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        check_read_back(store)
    finally:
        store.dispose()


@pytest.fixture
def fresh_pg_url(postgres_server: str) -> Iterator[str]:
    from tests.clinic.clinic_postgres import create_database

    yield create_database(postgres_server)


@pytest.mark.postgres
def test_a_filled_postgres_store_is_upgraded_without_loss(fresh_pg_url: str) -> None:
    store = upgraded(fresh_pg_url)
    try:
        check_read_back(store)
    finally:
        store.dispose()
