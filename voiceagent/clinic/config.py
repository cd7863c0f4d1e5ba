"""The clinic's configuration: hours, providers, rooms, appointment types, payers, scripts.

``load_clinic(path)`` reads ``configs/clinic.yaml``; every problem, including the cross-checks
between sections (an appointment type no provider may deliver, a provider working outside
clinic hours, an unknown room), is one :class:`~voiceagent.config.ConfigError` that names the
file, the key path and the line to edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PlainSerializer, PlainValidator, field_validator, model_validator

from voiceagent.config.base import StrictModel
from voiceagent.config.errors import ConfigError
from voiceagent.config.yamlfile import KeyPath, format_key, read_yaml, validate
from voiceagent.outreach.settings import OutreachPolicy

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Role = Literal["PT", "PTA"]
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, order=True)
class TimeRange:
    """A wall-clock interval within one day, e.g. 08:00-18:00 (end exclusive)."""

    start: time
    end: time

    @classmethod
    def parse(cls, value: Any) -> TimeRange:
        """Parse ``"HH:MM-HH:MM"``; raise ValueError naming the expected form."""
        if isinstance(value, TimeRange):
            return value
        text = value.strip() if isinstance(value, str) else value
        match = _RANGE.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM")
        start = time(int(match[1]), int(match[2]))
        end = time.max if match[3] == "24" else time(int(match[3]), int(match[4]))
        if match[3] == "24" and match[4] != "00":
            raise ValueError(f"{value!r} is not HH:MM-HH:MM")
        if not start < end:
            raise ValueError(f"{value!r}: the start must be before the end")
        return cls(start, end)

    def contains(self, other: TimeRange) -> bool:
        return self.start <= other.start and other.end <= self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


Hours = Annotated[TimeRange, PlainValidator(TimeRange.parse), PlainSerializer(str)]


class WeeklyHours(StrictModel):
    """Opening hours per weekday; a day left out (or null) is closed."""

    mon: Hours | None = None
    tue: Hours | None = None
    wed: Hours | None = None
    thu: Hours | None = None
    fri: Hours | None = None
    sat: Hours | None = None
    sun: Hours | None = None

    def on(self, day: date) -> TimeRange | None:
        """The hours for ``day``'s weekday, or None when closed."""
        value: TimeRange | None = getattr(self, WEEKDAYS[day.weekday()])
        return value


class Closure(StrictModel):
    """A holiday or closure. With ``hours`` the clinic opens only then (a partial day)."""

    date: date
    name: str
    hours: Hours | None = None


class Break(StrictModel):
    """A recurring break (lunch, admin time); ``days`` defaults to every day."""

    time: Hours
    days: list[Weekday] = list(WEEKDAYS)


class Provider(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    role: Role
    specialties: list[str] = []
    languages: list[str] = ["en"]
    hours: WeeklyHours
    breaks: list[Break] = []
    time_off: list[date] = []

    def breaks_on(self, day: date) -> list[TimeRange]:
        weekday = WEEKDAYS[day.weekday()]
        return [b.time for b in self.breaks if weekday in b.days]


class Room(StrictModel):
    """A room or shared resource; ``capacity`` patients can use it at once (a gym: several)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    capacity: int = Field(1, ge=1, le=50)


class AppointmentType(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    duration_minutes: int = Field(ge=5, le=480, multiple_of=5)
    roles: list[Role] = Field(min_length=1, description="who may deliver it; only a PT evaluates")
    rooms: list[str] = Field([], description="any one of these rooms is needed; [] = none")
    grid_minutes: int = Field(15, ge=5, le=240, multiple_of=5, description="start-time grid")
    min_notice_hours: float = Field(2, ge=0)
    horizon_days: int = Field(60, ge=1, le=730)
    what_to_bring: list[str] = []
    bookable_by_phone: bool = True


class Payer(StrictModel):
    name: str
    aliases: list[str] = []
    notes: str = ""


class InjuryClaimRules(StrictModel):
    """Workers' compensation or auto injury: whether accepted and what must be collected."""

    accepted: bool = True
    required: list[str] = ["claim_number", "adjuster_name", "adjuster_phone"]
    notes: str = ""


class Insurance(StrictModel):
    accepted: list[Payer] = []
    not_accepted: list[Payer] = []
    self_pay: dict[str, float] = Field(default_factory=dict, description="USD by appointment type")
    workers_comp: InjuryClaimRules = InjuryClaimRules()
    auto_injury: InjuryClaimRules = InjuryClaimRules()


class FAQ(StrictModel):
    id: str
    questions: list[str] = Field(min_length=1)
    answer: str


class TransferTarget(StrictModel):
    id: str
    name: str
    extension: str | None = None
    sip_uri: str | None = None
    hours: WeeklyHours | None = None

    @field_validator("sip_uri")
    @classmethod
    def _sip(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sip:", "sips:", "tel:")):
            raise ValueError(f"{value!r} is not a sip:, sips: or tel: URI")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> TransferTarget:
        if (self.extension is None) == (self.sip_uri is None):
            raise ValueError("give exactly one of extension or sip_uri")
        return self


class MessageCategory(StrictModel):
    id: str
    name: str
    owner_role: str


class Disclosures(StrictModel):
    greeting: str
    assistant_identification: str
    recording_notice: str


class RedFlag(StrictModel):
    """Symptoms that end booking and get the advice and an urgent message to the clinical
    owners. ``phrases`` match as whole words; each of ``signs`` is a combination of concepts
    that must all be said in one sentence (``"chest + pain|pressure|tight"``), so that "pain"
    or a body part alone never fires. A concept the caller negates does not count."""

    id: str
    severity: Literal["emergency", "urgent"] = "emergency"
    phrases: list[str] = []
    signs: list[str] = []
    advice: str
    transfer: bool = Field(False, description="transfer to staff after the advice (emergencies "
                           "are not transferred unless this is set)")
    message_category: str | None = Field(None, description="category of the urgent message; "
                                         "default: the first clinical one")

    @field_validator("signs")
    @classmethod
    def _signs(cls, value: list[str]) -> list[str]:
        for spec in value:
            parts = [p.strip() for p in spec.split("+")]
            if any(not p or any(not a.strip() for a in p.split("|")) for p in parts):
                raise ValueError(f"{spec!r}: write a sign as 'a|b + c|d' (concepts joined by "
                                 "+, alternatives by |)")
        return value

    @model_validator(mode="after")
    def _something_fires(self) -> RedFlag:
        if not self.phrases and not self.signs:
            raise ValueError("give phrases or signs (or both)")
        return self


class ClinicConfig(StrictModel):
    """Everything the receptionist may say and do for one clinic."""

    name: str
    address: str
    phone: str
    timezone: str
    hours: WeeklyHours
    closures: list[Closure] = []
    providers: list[Provider] = Field(min_length=1)
    rooms: list[Room] = []
    appointment_types: list[AppointmentType] = Field(min_length=1)
    insurance: Insurance = Insurance()
    faqs: list[FAQ] = []
    transfers: list[TransferTarget] = []
    message_categories: list[MessageCategory] = []
    disclosures: Disclosures
    red_flags: list[RedFlag] = []
    intents: dict[str, list[str]] = {}
    hold_minutes: int = Field(10, ge=1, le=120, description="how long an offered slot is held")
    # follow-up by SMS and email (issue 14): quiet hours, limits, message templates
    outreach: OutreachPolicy = OutreachPolicy()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return value

    # --- lookups used by scheduling and the tools -------------------------------------

    def vocabulary(self) -> list[str]:
        """Words the speech recogniser should expect: the clinic's, providers' and payers'
        names and the street, spelled the clinic's way."""
        words = [self.name, self.address.split(",")[0]]
        words += [p.name.split(",")[0] for p in self.providers]  # "Dr. X, PT, DPT" -> "Dr. X"
        words += [p.name for p in self.insurance.accepted + self.insurance.not_accepted]
        return list(dict.fromkeys(w for w in words if w))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def provider(self, provider_id: str) -> Provider:
        """The provider with this id; KeyError if none."""
        for p in self.providers:
            if p.id == provider_id:
                return p
        raise KeyError(provider_id)

    def room(self, room_id: str) -> Room:
        for r in self.rooms:
            if r.id == room_id:
                return r
        raise KeyError(room_id)

    def appointment_type(self, type_id: str) -> AppointmentType:
        for t in self.appointment_types:
            if t.id == type_id:
                return t
        raise KeyError(type_id)

    def hours_on(self, day: date) -> TimeRange | None:
        """Clinic opening hours on a date, after closures; None when closed."""
        for closure in self.closures:
            if closure.date == day:
                return closure.hours
        return self.hours.on(day)

    def closure_on(self, day: date) -> Closure | None:
        return next((c for c in self.closures if c.date == day), None)

    def is_open(self, at: datetime) -> bool:
        """Whether the clinic is open at an aware datetime (closures included)."""
        local = at.astimezone(self.tz)
        hours = self.hours_on(local.date())
        return hours is not None and hours.start <= local.time() < hours.end

    def transfer_available(self, transfer_id: str, at: datetime) -> bool:
        """Whether a transfer target takes calls at ``at``: within its hours (if it has
        any) and never on a full closure day. KeyError for an unknown id."""
        target = next((t for t in self.transfers if t.id == transfer_id), None)
        if target is None:
            raise KeyError(transfer_id)
        local = at.astimezone(self.tz)
        if self.hours_on(local.date()) is None and self.closure_on(local.date()) is not None:
            return False
        if target.hours is None:
            return True
        hours = target.hours.on(local.date())
        return hours is not None and hours.start <= local.time() < hours.end

    def match_provider(self, spoken: str) -> Provider | None:
        """The provider a caller means ("Dr. Reyes", "Jordan", "doctor okafor"), if clear.

        Returns None when no name matches or when the words fit several providers.
        """
        ignore = {"dr", "doctor", "pt", "pta", "dpt", "the", "therapist", "with", "mr", "ms", "mrs"}
        words = {w for w in re.findall(r"[a-z]+", spoken.lower()) if w not in ignore}
        if not words:
            return None
        hits = [
            p
            for p in self.providers
            if words & {w for w in re.findall(r"[a-z]+", p.name.lower()) if w not in ignore}
            or p.id in spoken.lower()
        ]
        return hits[0] if len(hits) == 1 else None

    def local(self, day: date, at: time) -> datetime:
        """A clinic-local wall-clock time as an aware datetime."""
        if at == time.max:
            return datetime.combine(day + timedelta(days=1), time(0), self.tz)
        return datetime.combine(day, at, self.tz)


def consistency_problems(clinic: ClinicConfig) -> list[tuple[KeyPath, str]]:
    """Cross-section checks; each problem is (key path, message). Empty when consistent."""
    problems: list[tuple[KeyPath, str]] = []

    def dupes(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                problems.append(((kind, i, "id"), f"id {ident!r} is used twice; ids must differ"))
            seen.add(ident)

    dupes("providers", [p.id for p in clinic.providers])
    dupes("rooms", [r.id for r in clinic.rooms])
    dupes("appointment_types", [t.id for t in clinic.appointment_types])
    dupes("faqs", [f.id for f in clinic.faqs])
    dupes("transfers", [t.id for t in clinic.transfers])
    dupes("message_categories", [m.id for m in clinic.message_categories])

    roles = {p.role for p in clinic.providers}
    room_ids = {r.id for r in clinic.rooms}
    for i, kind in enumerate(clinic.appointment_types):
        for j, role in enumerate(kind.roles):
            if role not in roles:
                problems.append(
                    (
                        ("appointment_types", i, "roles", j),
                        f"no provider has role {role!r}; add one or remove the role",
                    )
                )
        for j, room in enumerate(kind.rooms):
            if room not in room_ids:
                problems.append(
                    (
                        ("appointment_types", i, "rooms", j),
                        f"unknown room {room!r}; known rooms: {sorted(room_ids) or 'none'}",
                    )
                )
    type_ids = {t.id for t in clinic.appointment_types}
    for type_id in clinic.insurance.self_pay:
        if type_id not in type_ids:
            problems.append(
                (
                    ("insurance", "self_pay", type_id),
                    f"unknown appointment type {type_id!r}; known: {sorted(type_ids)}",
                )
            )
    for i, provider in enumerate(clinic.providers):
        for day in WEEKDAYS:
            ph: TimeRange | None = getattr(provider.hours, day)
            ch: TimeRange | None = getattr(clinic.hours, day)
            if ph is None:
                continue
            if ch is None:
                problems.append((("providers", i, "hours", day), f"the clinic is closed on {day}"))
            elif not ch.contains(ph):
                problems.append(
                    (("providers", i, "hours", day), f"{ph} is outside clinic hours {ch} on {day}")
                )
    accepted = {p.name.lower() for p in clinic.insurance.accepted}
    for i, payer in enumerate(clinic.insurance.not_accepted):
        if payer.name.lower() in accepted:
            problems.append(
                (
                    ("insurance", "not_accepted", i, "name"),
                    f"{payer.name!r} is listed as both accepted and not accepted",
                )
            )
    return problems


class ClinicConsistencyError(ValueError):
    """A clinic built in code failed the cross-checks (files raise ConfigError instead)."""


def check_consistency(clinic: ClinicConfig) -> ClinicConfig:
    """Raise ClinicConsistencyError for the first cross-check problem; return the clinic."""
    problems = consistency_problems(clinic)
    if problems:
        key, message = problems[0]
        raise ClinicConsistencyError(f"{format_key(key)}: {message}")
    return clinic


def load_clinic(path: Path | str) -> ClinicConfig:
    """Load and validate ``clinic.yaml``.

    Raises:
        ConfigError: naming the file, key path and line of the first problem.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    clinic = validate(path, data, lines, ClinicConfig)
    problems = consistency_problems(clinic)
    if problems:
        key, message = problems[0]
        line = None
        for end in range(len(key), -1, -1):
            if key[:end] in lines:
                line = lines[key[:end]]
                break
        more = f" ({len(problems) - 1} more problem(s) after this one)" if len(problems) > 1 else ""
        raise ConfigError(path, format_key(key), line, message + more)
    return clinic
