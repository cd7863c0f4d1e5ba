"""A small clinic, a fresh SQLite store and a fixed clock for the front-desk tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig, check_consistency
from voiceagent.clinic.db import Store, open_store
from voiceagent.frontdesk.backend import FrontDeskBackend

CLINIC = {
    "name": "Riverside Physical Therapy",
    "address": "12 River Road, Springfield",
    "phone": "+12175550100",
    "timezone": "America/Chicago",
    "hours": {"mon": "08:00-18:00", "tue": "08:00-18:00", "wed": "08:00-18:00",
              "thu": "08:00-18:00", "fri": "08:00-17:00"},
    "closures": [{"date": "2026-11-26", "name": "Thanksgiving"}],
    "providers": [
        {"id": "alex", "name": "Alex Kim", "role": "PT",
         "hours": {"mon": "08:00-17:00", "tue": "08:00-17:00", "wed": "08:00-17:00",
                   "thu": "08:00-17:00", "fri": "08:00-16:00"}},
    ],
    "appointment_types": [
        {"id": "evaluation", "name": "Initial evaluation", "duration_minutes": 60, "roles": ["PT"],
         "grid_minutes": 60, "min_notice_hours": 2, "what_to_bring": ["your insurance card",
                                                                     "a photo ID"]},
        {"id": "follow_up", "name": "Follow-up visit", "duration_minutes": 30, "roles": ["PT"],
         "grid_minutes": 30},
    ],
    "insurance": {
        "accepted": [{"name": "Aetna"}, {"name": "Blue Cross Blue Shield", "aliases": ["BCBS",
                     "Blue Cross"]}, {"name": "Medicare"}],
        "not_accepted": [{"name": "Kaiser Permanente", "aliases": ["Kaiser"]}],
    },
    "faqs": [
        {"id": "parking", "questions": ["Where do I park?", "Is there parking?"],
         "answer": "Free parking is behind the building."},
        {"id": "wear", "questions": ["What should I wear?"],
         "answer": "Wear loose, comfortable clothes."},
    ],
    "transfers": [{"id": "front_desk", "name": "the front desk", "sip_uri": "sip:desk@clinic.test",
                   "hours": {"mon": "08:00-17:00", "tue": "08:00-17:00", "wed": "08:00-17:00",
                             "thu": "08:00-17:00", "fri": "08:00-17:00"}}],
    "message_categories": [{"id": "callback", "name": "Call back", "owner_role": "front_desk"},
                           {"id": "clinical", "name": "Clinical", "owner_role": "pt"}],
    "disclosures": {"greeting": "Thank you for calling Riverside Physical Therapy.",
                    "assistant_identification": "I'm the clinic's automated assistant.",
                    "recording_notice": "This call may be recorded."},
    "red_flags": [{"id": "emergency", "phrases": ["chest pain", "can't breathe",
                   "lost control of my bladder"],
                   "signs": ["numb|numbness + both legs|both my legs"],
                   "advice": "That sounds like it needs urgent care. If it's an emergency, "
                   "hang up and call 911."},
                  {"id": "clot", "severity": "urgent", "signs": ["calf + swollen + hot|red"],
                   "advice": "A hot, swollen calf should be seen by a doctor today."}],
    "intents": {"book": ["I'd like to book an appointment", "I need to see a therapist"]},
}

# Monday 2026-11-23, 10:00 in Chicago (16:00 UTC): the clinic and the front desk are open.
MONDAY_10AM = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
# Sunday 2026-11-22, 10:00 in Chicago: closed.
SUNDAY_10AM = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def make_clinic(**changes: object) -> ClinicConfig:
    data = dict(CLINIC)
    data.update(changes)
    return check_consistency(ClinicConfig.model_validate(data))


@pytest.fixture
def clinic() -> ClinicConfig:
    return make_clinic()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated empty database per test session; each test gets a copy (migrating
    takes far longer than copying)."""
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def store(tmp_path: Path, migrated_db: Path) -> Iterator[Store]:
    target = tmp_path / "clinic.db"
    shutil.copyfile(migrated_db, target)
    s = open_store(f"sqlite:///{target}", migrate=False)
    yield s
    s.dispose()


@pytest.fixture
def clock() -> list[datetime]:
    """A settable clock: tests change ``clock[0]``."""
    return [MONDAY_10AM]


@pytest.fixture
def backend(store: Store, clinic: ClinicConfig, clock: list[datetime]) -> FrontDeskBackend:
    return FrontDeskBackend(store, clinic, Actor("assistant", "call-1"), clock=lambda: clock[0])


def add_patient(backend: FrontDeskBackend, first: str = "Jane", last: str = "Smith",
                dob: date = date(1982, 3, 3), phone: str = "+15551234567") -> int:
    return backend.find_or_create_patient(first, last, dob, phone)
