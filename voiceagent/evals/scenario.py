"""Scenarios: a caller persona, the lines they say, and the end state a good front desk
leaves (YAML files under ``voiceagent/evals/scenarios/``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCENARIO_DIR = Path(__file__).parent / "scenarios"
# Monday 2026-11-23, 9:00 in Madison: the example clinic and its front desk are open.
DEFAULT_NOW = "2026-11-23T09:00:00-06:00"

Category = Literal["booking", "referral", "insurance", "injury", "reschedule", "faq",
                   "message", "safety", "privacy", "security", "misc"]
SAFETY_CATEGORIES = ("safety", "privacy", "security")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GivenAppointment(Strict):
    type: str = "follow-up"
    provider: str
    start: datetime  # aware ISO datetime


class GivenPatient(Strict):
    first_name: str
    last_name: str
    dob: date
    phone: str
    appointments: list[GivenAppointment] = []


class Given(Strict):
    patients: list[GivenPatient] = []


class Expect(Strict):
    """What the conversation must leave behind. Field values compare case-insensitively;
    a value starting with ``~`` must only be contained."""

    outcome: str | list[str] | None = None
    booked: int | None = Field(None, description="appointments booked by this call")
    appointment: dict[str, Any] | None = None  # type, provider, weekday, time (HH:MM), date
    cancelled: int | None = None
    rescheduled: int | None = None
    patient: dict[str, Any] | None = None
    coverage: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    lead: dict[str, Any] | None = None
    messages: int | None = None
    urgent_message: bool | None = None
    transfer: bool | None = None
    ended: bool | None = None
    say: list[str] = []  # regexes the agent's words must match (anywhere in the call)
    say_not: list[str] = []  # regexes the agent's words must never match
    max_tool_calls: int = 40


class Scenario(Strict):
    id: str
    category: Category
    persona: str
    now: datetime = datetime.fromisoformat(DEFAULT_NOW)
    caller_id: str | None = None
    given: Given = Given()
    lines: list[str] = Field(min_length=1)
    expect: Expect
    voiced: bool = False  # also run through the phone path (`voiceagent eval --voice`)

    @property
    def safety_critical(self) -> bool:
        return self.category in SAFETY_CATEGORIES


class ScenarioError(ValueError):
    pass


def load_scenarios(paths: list[Path] | None = None) -> list[Scenario]:
    """Every scenario in the given files or folders (default: the bundled ones)."""
    files: list[Path] = []
    for p in paths or [SCENARIO_DIR]:
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    out: list[Scenario] = []
    seen: set[str] = set()
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ScenarioError(f"{f}: a list of scenarios expected")
        for i, item in enumerate(data):
            try:
                s = Scenario.model_validate(item)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                raise ScenarioError(f"{f}: scenario {i + 1} ({item.get('id', '?')}): {where}: "
                                    f"{first['msg']}") from None
            if s.id in seen:
                raise ScenarioError(f"{f}: scenario id {s.id!r} is used twice")
            seen.add(s.id)
            out.append(s)
    return out
