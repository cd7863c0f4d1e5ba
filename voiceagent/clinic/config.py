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
    """A room or shared resource; ``capacity`` patients can use it at once (a gym: several).

    ``providers`` binds the room: when given, only these providers may be booked into it
    (a private pelvic-health room kept for the pelvic-health PT).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    capacity: int = Field(1, ge=1, le=50)
    providers: list[str] = Field([], description="only these providers may use it; [] = anyone")
    notes: str = ""


class RoomClosure(StrictModel):
    """A room out of use on a date (repairs, cleaning); with ``hours`` only then."""

    room: str
    date: date
    hours: Hours | None = None
    reason: str = "closed"


class ClinicBlock(StrictModel):
    """Time nobody (or the listed providers) can be booked: a weekly staff meeting, training.

    Recurs on ``days`` (every week) or falls on ``dates``; ``from``/``until`` bound a
    recurring block. ``providers`` defaults to everyone.
    """

    name: str
    time: Hours
    days: list[Weekday] = []
    dates: list[date] = []
    providers: list[str] = Field([], description="[] = every provider")
    starts: date | None = None
    ends: date | None = None

    @model_validator(mode="after")
    def _when(self) -> ClinicBlock:
        if not self.days and not self.dates:
            raise ValueError("give the weekdays (days) or the dates the block falls on")
        return self

    def on(self, day: date, provider_id: str) -> TimeRange | None:
        """The blocked time on ``day`` for ``provider_id``, or None."""
        if self.providers and provider_id not in self.providers:
            return None
        if self.starts and day < self.starts or self.ends and day > self.ends:
            return None
        if day in self.dates or WEEKDAYS[day.weekday()] in self.days:
            return self.time
        return None


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
    specialties: list[str] = Field(
        [], description="the provider must have one of these specialties; [] = any"
    )
    providers: list[str] = Field([], description="only these providers (ids); [] = any qualified")
    provider_rooms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="provider id -> the rooms this type uses with that provider (overrides rooms)",
    )
    new_patient: bool = Field(False, description="a first visit: arrive early, bring forms")

    def rooms_for(self, provider_id: str) -> list[str]:
        """The rooms this type may use with ``provider_id`` (before room bindings)."""
        return self.provider_rooms.get(provider_id, self.rooms)


PlanTypeName = Literal[
    "commercial",
    "medicare",
    "medicare_advantage",
    "medicaid",
    "supplement",
    "tricare",
    "workers_comp",
    "auto",
    "self_pay",
]
IntakeField = Literal[
    "member_id",
    "group_number",
    "subscriber_name",
    "subscriber_dob",
    "subscriber_relationship",
    "plan_type",
    "secondary_coverage",
    "referral",
    "referring_npi",
    "written_order",
    "employer",
    "claim_number",
    "adjuster_name",
    "adjuster_phone",
    "adjuster_extension",
    "carrier",
    "attorney",
    "date_of_injury",
    "date_of_accident",
]


class PayerIntake(StrictModel):
    """What the assistant must collect for this payer (``instructions`` are for the agent
    only, never read to a caller; the payer's ``notes`` are the caller-facing text)."""

    collect: list[IntakeField] = ["member_id"]
    ask_plan_type: bool = Field(
        False, description="ask which of plan_types the caller has (Original vs Advantage)"
    )
    requires_referral: bool = False
    requires_authorization: bool = False
    instructions: str = ""


class Payer(StrictModel):
    name: str
    aliases: list[str] = []
    notes: str = Field("", description="caller-facing text")
    plan_types: list[PlanTypeName] = Field(["commercial"], min_length=1)
    intake: PayerIntake = PayerIntake()


class InjuryClaimRules(StrictModel):
    """Workers' compensation or auto injury: whether accepted and what must be collected."""

    accepted: bool = True
    required: list[IntakeField] = ["claim_number", "adjuster_name", "adjuster_phone"]
    notes: str = Field("", description="caller-facing text")
    instructions: str = Field("", description="for the agent only")


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
    """A person or desk a call may be handed to, with what for and when."""

    id: str
    name: str
    extension: str | None = None
    sip_uri: str | None = None
    hours: WeeklyHours | None = None
    purpose: str = Field("", description="what callers are sent here for")
    staff_name: str | None = None
    never_for_emergencies: bool = Field(
        False, description="never the target of an emergency escalation"
    )

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
    """A kind of message for staff: who owns it (first role first) and how fast to answer.

    Give ``owner_role`` (one) or ``owner_roles`` (several); ``owner_role`` is always the
    first of ``owner_roles`` after loading.
    """

    id: str
    name: str
    owner_role: str = ""
    owner_roles: list[str] = []
    sla_hours: float | None = Field(None, gt=0, description="answer within this many hours")

    @model_validator(mode="before")
    @classmethod
    def _owners(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        one, many = data.get("owner_role"), data.get("owner_roles")
        if not one and not many:
            raise ValueError("give owner_role or owner_roles (who answers these messages)")
        roles = list(many or [])
        if one and one not in roles:
            roles.insert(0, one)
        return {**data, "owner_role": roles[0], "owner_roles": roles}


IdentityFieldName = Literal["name", "dob", "phone", "email"]


class IdentityPolicy(StrictModel):
    """Which details must match a patient on file before each kind of request."""

    reschedule: list[IdentityFieldName] = ["name", "dob", "phone"]
    cancel: list[IdentityFieldName] = ["name", "dob", "phone"]
    appointment_details: list[IdentityFieldName] = ["name", "dob", "phone"]
    max_attempts: int = Field(3, ge=1, le=10)

    @field_validator("reschedule", "cancel", "appointment_details")
    @classmethod
    def _enough(cls, value: list[IdentityFieldName]) -> list[IdentityFieldName]:
        if "name" not in value or "dob" not in value:
            raise ValueError("name and dob are always needed, plus phone or email")
        if not {"phone", "email"} & set(value):
            raise ValueError("add phone or email: name and dob alone do not identify a caller")
        return list(dict.fromkeys(value))


class DayNotes(StrictModel):
    """A note that may differ by weekday; ``default`` applies to days not listed."""

    default: str = ""
    mon: str | None = None
    tue: str | None = None
    wed: str | None = None
    thu: str | None = None
    fri: str | None = None
    sat: str | None = None
    sun: str | None = None

    def on(self, day: date) -> str:
        value: str | None = getattr(self, WEEKDAYS[day.weekday()])
        return self.default if value is None else value


class AfterHours(StrictModel):
    """What the assistant does when the clinic is closed."""

    behaviour: Literal["take_message", "transfer", "book_only"] = "take_message"
    transfer_to: str | None = Field(None, description="a transfer id (on-call line)")
    message: str = Field(
        "", description="caller-facing text: e.g. 'we will call you back the next business day'"
    )


class ClinicFacts(StrictModel):
    """What callers ask about the clinic beyond hours and address."""

    fax: str | None = None
    email: str | None = None
    website: str | None = None
    forms_url: str | None = None
    arrival_minutes_first_visit: int = Field(15, ge=0, le=120)
    arrival_minutes: int = Field(5, ge=0, le=120, description="for a visit that is not a first")
    entrance: DayNotes = DayNotes()
    check_in: DayNotes = DayNotes()
    parking: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("website", "forms_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a web address (https://...)")
        return value


LeadStageName = Literal[
    "new",
    "contacted",
    "waitlisted",
    "scheduled",
    "evaluated",
    "in_plan_of_care",
    "discharged",
    "lost",
]


class LeadPolicy(StrictModel):
    """Who owns a lead at each stage (the role whose work list shows it)."""

    owners: dict[LeadStageName, str] = Field(default_factory=dict)
    default_owner: str = "front_desk"

    def owner_for(self, stage: str) -> str:
        return self.owners.get(stage, self.default_owner)  # type: ignore[call-overload]


class WaitlistPolicy(StrictModel):
    """How a freed slot is offered to the waitlist."""

    offer_hold_minutes: int = Field(
        120, ge=0, le=2880, description="the freed slot is held this long for the first match"
    )
    message_category: str | None = Field(
        None, description="staff task for the offer (a message category id); None = none"
    )


class Disclosures(StrictModel):
    greeting: str
    assistant_identification: str
    recording_notice: str
    text_greeting: str | None = Field(
        None, description="the opening line on web chat and text messages (no call words); "
        "default: '<clinic>'s automated assistant' and what it can do")


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
    blocks: list[ClinicBlock] = []
    room_closures: list[RoomClosure] = []
    identity: IdentityPolicy = IdentityPolicy()
    facts: ClinicFacts = ClinicFacts()
    after_hours: AfterHours = AfterHours()
    leads: LeadPolicy = LeadPolicy()
    waitlist: WaitlistPolicy = WaitlistPolicy()

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

    def qualification_problem(self, kind: AppointmentType, provider: Provider) -> str | None:
        """Why ``provider`` may not deliver ``kind`` (role, named providers, specialty), or
        None when they may."""
        if kind.roles and provider.role not in kind.roles:
            return f"it needs a {' or '.join(kind.roles)}"
        if kind.providers and provider.id not in kind.providers:
            names = ", ".join(self.provider(p).name for p in kind.providers)
            return f"only {names} sees this visit type"
        if kind.specialties and not set(kind.specialties) & set(provider.specialties):
            return f"it needs a therapist specialised in {' or '.join(kind.specialties)}"
        return None

    def providers_for(self, kind: AppointmentType) -> list[Provider]:
        """Providers who may deliver ``kind``, in config order."""
        return [p for p in self.providers if self.qualification_problem(kind, p) is None]

    def rooms_for(self, kind: AppointmentType, provider_id: str) -> list[str]:
        """Rooms ``kind`` may use with ``provider_id``: the type's (or the type-and-provider
        pair's) rooms, less rooms bound to other providers. [] means no room is needed."""
        out = []
        for room_id in kind.rooms_for(provider_id):
            bound = self.room(room_id).providers
            if not bound or provider_id in bound:
                out.append(room_id)
        return out

    def needs_room(self, kind: AppointmentType, provider_id: str) -> bool:
        return bool(kind.rooms_for(provider_id))

    def blocks_on(self, day: date, provider_id: str) -> list[ClinicBlock]:
        """Clinic-wide blocks (staff meeting...) that take ``provider_id``'s time on ``day``
        (each block's ``time`` says when)."""
        return [b for b in self.blocks if b.on(day, provider_id) is not None]

    def room_closed(self, room_id: str, day: date, span: TimeRange) -> RoomClosure | None:
        """The closure that takes ``room_id`` out of use during ``span`` on ``day``, if any."""
        for closure in self.room_closures:
            if closure.room != room_id or closure.date != day:
                continue
            if closure.hours is None or (
                span.start < closure.hours.end and closure.hours.start < span.end
            ):
                return closure
        return None

    def message_category(self, category_id: str) -> MessageCategory:
        for c in self.message_categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def transfer(self, transfer_id: str) -> TransferTarget:
        for t in self.transfers:
            if t.id == transfer_id:
                return t
        raise KeyError(transfer_id)

    def emergency_transfers(self) -> list[TransferTarget]:
        """Transfer targets that may take an emergency escalation."""
        return [t for t in self.transfers if not t.never_for_emergencies]

    def payer(self, name: str) -> Payer | None:
        """The accepted or not-accepted payer with this configured name (exact, any case)."""
        for p in self.insurance.accepted + self.insurance.not_accepted:
            if p.name.lower() == name.lower():
                return p
        return None

    def arrival_minutes(self, kind: AppointmentType) -> int:
        """How early to arrive for ``kind`` (first visits: longer, to fill in forms)."""
        if kind.new_patient:
            return self.facts.arrival_minutes_first_visit
        return self.facts.arrival_minutes

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
    provider_ids = {p.id for p in clinic.providers}
    transfer_ids = {t.id for t in clinic.transfers}
    category_ids = {m.id for m in clinic.message_categories}
    specialties = {s for p in clinic.providers for s in p.specialties}

    def known(path: KeyPath, value: str, ids: set[str], what: str) -> None:
        if value not in ids:
            problems.append((path, f"unknown {what} {value!r}; known: {sorted(ids) or 'none'}"))

    for i, bound_room in enumerate(clinic.rooms):
        for j, pid in enumerate(bound_room.providers):
            known(("rooms", i, "providers", j), pid, provider_ids, "provider")
    for i, kind in enumerate(clinic.appointment_types):
        for j, pid in enumerate(kind.providers):
            known(("appointment_types", i, "providers", j), pid, provider_ids, "provider")
        for j, spec in enumerate(kind.specialties):
            if spec not in specialties:
                problems.append(
                    (
                        ("appointment_types", i, "specialties", j),
                        f"no provider lists specialty {spec!r}; add it to a provider's"
                        f" specialties (known: {sorted(specialties) or 'none'})",
                    )
                )
        for pid, rooms in kind.provider_rooms.items():
            known(("appointment_types", i, "provider_rooms", pid), pid, provider_ids, "provider")
            for j, room in enumerate(rooms):
                known(("appointment_types", i, "provider_rooms", pid, j), room, room_ids, "room")
        rooms_known = all(r in room_ids for r in kind.rooms) and all(
            r in room_ids for rooms in kind.provider_rooms.values() for r in rooms
        )
        if not rooms_known or not all(p in provider_ids for p in kind.providers):
            continue  # reported above
        qualified = clinic.providers_for(kind)
        if not qualified and any(p.role in kind.roles for p in clinic.providers):
            problems.append(
                (
                    ("appointment_types", i),
                    f"no provider may deliver {kind.id!r}; check its roles, providers and"
                    " specialties",
                )
            )
        for p in qualified:
            if kind.rooms_for(p.id) and not clinic.rooms_for(kind, p.id):
                problems.append(
                    (
                        ("appointment_types", i, "rooms"),
                        f"{p.id} may deliver {kind.id!r} but every room it needs is bound to"
                        " other providers; add a room or bind one to them",
                    )
                )
    for i, block in enumerate(clinic.blocks):
        for j, pid in enumerate(block.providers):
            known(("blocks", i, "providers", j), pid, provider_ids, "provider")
        if block.starts and block.ends and block.ends < block.starts:
            problems.append((("blocks", i, "ends"), "the block ends before it starts"))
    for i, closure in enumerate(clinic.room_closures):
        known(("room_closures", i, "room"), closure.room, room_ids, "room")
    if clinic.after_hours.transfer_to is not None:
        known(
            ("after_hours", "transfer_to"), clinic.after_hours.transfer_to, transfer_ids, "transfer"
        )
    elif clinic.after_hours.behaviour == "transfer":
        problems.append(
            (
                ("after_hours", "transfer_to"),
                "behaviour 'transfer' needs transfer_to: a transfer id",
            )
        )
    if clinic.waitlist.message_category is not None:
        known(
            ("waitlist", "message_category"),
            clinic.waitlist.message_category,
            category_ids,
            "message category",
        )
    for group in ("accepted", "not_accepted"):
        for i, payer in enumerate(getattr(clinic.insurance, group)):
            if payer.intake.ask_plan_type and len(payer.plan_types) < 2:
                problems.append(
                    (
                        ("insurance", group, i, "intake", "ask_plan_type"),
                        "asking the plan type needs two or more plan_types to choose from",
                    )
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


def _line(lines: dict[KeyPath, int], key: KeyPath) -> int | None:
    for end in range(len(key), -1, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return None


def clinic_problems(path: Path | str) -> list[ConfigError]:
    """Every problem in a clinic file, each naming its key and line (``voiceagent doctor``
    lists them all; :func:`load_clinic` stops at the first). Empty when the file is good."""
    from pydantic import ValidationError

    from voiceagent.config.yamlfile import validation_error

    path = Path(path)
    try:
        data, lines = read_yaml(path)
    except ConfigError as exc:
        return [exc]
    if not isinstance(data, dict):
        return [ConfigError(path, "", 1, "the file must be a mapping of keys to values")]
    try:
        clinic = ClinicConfig.model_validate(data)
    except ValidationError as exc:
        out = []
        for error in exc.errors():
            single = ValidationError.from_exception_data(exc.title, [error])  # type: ignore[list-item]
            out.append(validation_error(path, lines, single))
        return out
    return [
        ConfigError(path, format_key(key), _line(lines, key), message)
        for key, message in consistency_problems(clinic)
    ]


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
