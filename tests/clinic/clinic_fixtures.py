"""Shared test data for the clinic tests: a small clinic whose rules are easy to follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from voiceagent.clinic.config import ClinicConfig, check_consistency

TZ = ZoneInfo("America/New_York")
# Monday 23 November 2026, 07:00 in the clinic's zone.
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)

WEEKDAYS_8_17 = {d: "08:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def clinic_data() -> dict[str, Any]:
    """A small clinic whose every rule is easy to reason about in a test."""
    return {
        "name": "Test PT",
        "address": "1 Main St, Springfield",
        "phone": "+1 555 010 0000",
        "timezone": "America/New_York",
        "hours": {**WEEKDAYS_8_17, "sat": "09:00-12:00"},
        "closures": [
            {"date": "2026-12-25", "name": "Christmas Day"},
            {"date": "2026-12-24", "name": "Christmas Eve", "hours": "08:00-12:00"},
        ],
        "providers": [
            {
                "id": "pt-a",
                "name": "Alex Avery, PT",
                "role": "PT",
                "specialties": ["pelvic health", "orthopedics"],
                "languages": ["en"],
                "hours": WEEKDAYS_8_17,
                "breaks": [{"time": "12:00-13:00"}],
                "time_off": ["2026-11-27"],
            },
            {
                "id": "pt-b",
                "name": "Bea Bravo, PT",
                "role": "PT",
                "specialties": ["vestibular", "orthopedics"],
                "languages": ["en", "es"],
                "hours": {"mon": "12:00-17:00", "tue": "12:00-17:00", "wed": "12:00-17:00"},
            },
            {
                "id": "pta-c",
                "name": "Cy Cole, PTA",
                "role": "PTA",
                "languages": ["en"],
                "hours": WEEKDAYS_8_17,
            },
        ],
        "rooms": [
            {"id": "room-1", "name": "Room 1", "capacity": 1},
            {"id": "gym", "name": "Gym", "capacity": 2},
            # a private room only the pelvic-health PT is booked into
            {"id": "private", "name": "Private room", "capacity": 1, "providers": ["pt-a"]},
        ],
        "appointment_types": [
            {
                "id": "evaluation",
                "name": "evaluation",
                "duration_minutes": 60,
                "roles": ["PT"],
                "rooms": ["room-1"],
                "grid_minutes": 30,
                "min_notice_hours": 4,
                "horizon_days": 45,
                "what_to_bring": ["photo ID"],
            },
            {
                "id": "follow-up",
                "name": "follow-up",
                "duration_minutes": 45,
                "roles": ["PT", "PTA"],
                "rooms": ["gym"],
                "grid_minutes": 15,
                "min_notice_hours": 2,
                "horizon_days": 45,
            },
            {
                "id": "pelvic-eval",
                "name": "pelvic health evaluation",
                "duration_minutes": 60,
                "roles": ["PT"],
                "specialties": ["pelvic health"],
                "rooms": ["private"],
                "grid_minutes": 30,
                "min_notice_hours": 4,
                "horizon_days": 45,
            },
            {
                "id": "vestibular-eval",
                "name": "vestibular evaluation",
                "duration_minutes": 60,
                "roles": ["PT"],
                "providers": ["pt-b"],
                "rooms": ["room-1"],
                "grid_minutes": 30,
                "min_notice_hours": 4,
                "horizon_days": 45,
            },
        ],
        "message_categories": [
            {"id": "callback", "name": "callback", "owner_role": "front_desk"},
            {"id": "billing", "name": "billing", "owner_role": "billing"},
        ],
        "disclosures": {
            "greeting": "Hello.",
            "assistant_identification": "I am automated.",
            "recording_notice": "Calls are recorded.",
        },
        "hold_minutes": 10,
    }


def make_clinic(**changes: Any) -> ClinicConfig:
    data = clinic_data()
    data.update(changes)
    return check_consistency(ClinicConfig.model_validate(data))
