"""The store's tables (SQLAlchemy 2 ORM). Times are stored as naive UTC and read back aware.

Providers, rooms and appointment types live in the clinic config; rows refer to them by
their config ids. Double booking is prevented by the database: every booked or held
5-minute unit of a provider's time is a row in ``provider_time_units`` (UNIQUE provider +
unit) and every unit of a room seat a row in ``room_time_units`` (UNIQUE room + unit +
seat, seat < capacity). They are written in the same transaction as the appointment or hold.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UNIT_MINUTES = 5


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC in the column, aware UTC out (same on SQLite and PG)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    FULFILLED = "fulfilled"
    RESCHEDULED = "rescheduled"


class LeadStage(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    WAITLISTED = "waitlisted"
    SCHEDULED = "scheduled"
    EVALUATED = "evaluated"
    IN_PLAN_OF_CARE = "in_plan_of_care"
    DISCHARGED = "discharged"
    LOST = "lost"


class LostReason(enum.StrEnum):
    NO_RESPONSE = "no_response"
    PAYER_NOT_ACCEPTED = "payer_not_accepted"
    CHOSE_ANOTHER_CLINIC = "chose_another_clinic"
    COST = "cost"
    SENT_TO_ER_OR_PHYSICIAN = "sent_to_er_or_physician"
    CANCELLED_BEFORE_EVALUATION = "cancelled_before_evaluation"
    NO_SHOW = "no_show"
    NOT_A_CANDIDATE = "not_a_candidate"
    DUPLICATE = "duplicate"
    NO_AVAILABILITY = "no_availability"
    AUTHORIZATION_DENIED = "authorization_denied"
    NO_REFERRAL = "no_referral"
    DECLINED = "declined"
    OUT_OF_AREA = "out_of_area"
    UNREACHABLE = "unreachable"
    SPAM = "spam"


class LeadSource(enum.StrEnum):
    """How the inquiry found the clinic (what a referral-source report groups by)."""

    SELF_REFERRAL = "self_referral"
    PHYSICIAN_REFERRAL = "physician_referral"
    WORD_OF_MOUTH = "word_of_mouth"
    WEB = "web"
    WORKERS_COMP = "workers_comp"
    AUTO_INJURY = "auto_injury"
    RETURNING_PATIENT = "returning_patient"
    OTHER = "other"


class PlanType(enum.StrEnum):
    """The kind of coverage (``coverages.kind``)."""

    COMMERCIAL = "commercial"
    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    SUPPLEMENT = "supplement"
    TRICARE = "tricare"
    WORKERS_COMP = "workers_comp"
    AUTO = "auto"
    SELF_PAY = "self_pay"


class SubscriberRelationship(enum.StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"


class ContactMethod(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"


class CallOutcome(enum.StrEnum):
    """How a call or chat ended (``calls.outcome``). The front desk also writes
    ``red_flag:<id>`` for an emergency it escalated; that counts as emergency_escalation."""

    COMPLETED = "completed"
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    MESSAGE = "message"
    TRANSFERRED = "transferred"
    ANSWERED = "answered"
    WAITLISTED = "waitlisted"
    LEAD_LOGGED = "lead_logged"
    WRONG_NUMBER = "wrong_number"
    SPAM = "spam"
    PRIVACY_REFUSAL = "privacy_refusal"
    SECURITY_REFUSAL = "security_refusal"
    EMERGENCY_ESCALATION = "emergency_escalation"
    SILENCE = "silence"
    ABANDONED = "abandoned"
    ABANDONED_CRASH = "abandoned_crash"
    MAX_DURATION = "max_duration"
    ERROR = "error"
    SYSTEM_ERROR = "system_error"


class SecurityEventKind(enum.StrEnum):
    """Why a request for patient data was refused or flagged."""

    VERIFICATION_FAILED = "verification_failed"
    VERIFICATION_LOCKOUT = "verification_lockout"
    THIRD_PARTY_REQUEST = "third_party_request"
    SECURITY_REFUSAL = "security_refusal"
    PRIVACY_REFUSAL = "privacy_refusal"
    SUSPICIOUS_CALLER = "suspicious_caller"


class MessagePriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MessageStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    REMOVED = "removed"


# Constraint names are fixed so that migrations work the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


class Patient(Base):
    __tablename__ = "patients"
    # Same normalised name + date of birth is the same person: the database refuses a second
    # record even when two calls create it at the same moment.
    __table_args__ = (UniqueConstraint("name_key", "dob"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Normalised keys used for dedupe and identity checks (lower-case letters only).
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    dob: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_key: Mapped[str | None] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    preferred_language: Mapped[str] = mapped_column(String(16), default="en")
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    preferred_contact: Mapped[str | None] = mapped_column(String(16))
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(32))
    emergency_contact_relationship: Mapped[str | None] = mapped_column(String(32))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_phone: Mapped[str | None] = mapped_column(String(32))
    representative_relationship: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    coverages: Mapped[list[Coverage]] = relationship(back_populates="patient")
    referrals: Mapped[list[Referral]] = relationship(back_populates="patient")
    appointments: Mapped[list[Appointment]] = relationship(back_populates="patient")


class Coverage(Base):
    __tablename__ = "coverages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), default="commercial")
    payer_name: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(64))
    group_number: Mapped[str | None] = mapped_column(String(64))
    subscriber_name: Mapped[str | None] = mapped_column(String(200))
    subscriber_relationship: Mapped[str] = mapped_column(String(16), default="self")
    order: Mapped[int] = mapped_column(Integer, default=1)
    claim_number: Mapped[str | None] = mapped_column(String(64))
    adjuster_name: Mapped[str | None] = mapped_column(String(200))
    adjuster_phone: Mapped[str | None] = mapped_column(String(32))
    date_of_injury: Mapped[date | None] = mapped_column(Date)
    subscriber_dob: Mapped[date | None] = mapped_column(Date)
    adjuster_extension: Mapped[str | None] = mapped_column(String(16))
    employer: Mapped[str | None] = mapped_column(String(200))
    carrier: Mapped[str | None] = mapped_column(String(200))
    attorney_name: Mapped[str | None] = mapped_column(String(200))
    attorney_phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="coverages")

    @property
    def member_id_pending(self) -> bool:
        """Known coverage whose member ID the caller still owes (they will call back)."""
        return self.member_id is None and self.kind not in (
            PlanType.SELF_PAY,
            PlanType.WORKERS_COMP,
            PlanType.AUTO,
        )


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    referring_provider_name: Mapped[str | None] = mapped_column(String(200))
    referring_provider_npi: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    body_part: Mapped[str | None] = mapped_column(String(100))
    diagnosis: Mapped[str | None] = mapped_column(String(200))
    referring_practice: Mapped[str | None] = mapped_column(String(200))
    referring_phone: Mapped[str | None] = mapped_column(String(32))
    referring_fax: Mapped[str | None] = mapped_column(String(32))
    # "surgery" or "injury": what brought the patient, what it was and when
    condition_kind: Mapped[str | None] = mapped_column(String(16))
    condition: Mapped[str | None] = mapped_column(String(200))
    condition_date: Mapped[date | None] = mapped_column(Date)
    order_text: Mapped[str | None] = mapped_column(Text)
    written_order_on_file: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="referrals")


class ProviderRule(Base):
    """An (appointment type, provider) pair the clinic config allows, kept in step with the
    config by :func:`voiceagent.clinic.rules.sync_booking_rules`. Appointments and holds
    reference it, so the database refuses a type with a provider who may not deliver it."""

    __tablename__ = "booking_rule_providers"

    appointment_type_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class RoomRule(Base):
    """An (appointment type, provider, room) triple the config allows (room bindings)."""

    __tablename__ = "booking_rule_rooms"
    __table_args__ = (
        ForeignKeyConstraint(
            ["appointment_type_id", "provider_id"],
            ["booking_rule_providers.appointment_type_id", "booking_rule_providers.provider_id"],
        ),
    )

    appointment_type_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64), primary_key=True)


def _rule_keys(table: str) -> tuple[ForeignKeyConstraint, ForeignKeyConstraint]:
    return (
        ForeignKeyConstraint(
            ["appointment_type_id", "provider_id"],
            ["booking_rule_providers.appointment_type_id", "booking_rule_providers.provider_id"],
            name=f"fk_{table}_provider_rule",
        ),
        ForeignKeyConstraint(
            ["appointment_type_id", "provider_id", "room_id"],
            [
                "booking_rule_rooms.appointment_type_id",
                "booking_rule_rooms.provider_id",
                "booking_rule_rooms.room_id",
            ],
            name=f"fk_{table}_room_rule",
        ),
    )


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = _rule_keys("appointments")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_type_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(64), index=True)
    room_id: Mapped[str | None] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED)
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    call_id: Mapped[str | None] = mapped_column(String(36))
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="appointments")


class Hold(Base):
    """A slot offered to a caller and reserved until ``expires_at`` (then free again)."""

    __tablename__ = "holds"
    __table_args__ = _rule_keys("holds")

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    appointment_type_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str | None] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    call_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimeBlock(Base):
    """Provider time that is not bookable: a meeting, leave, an event from an imported calendar."""

    __tablename__ = "time_blocks"
    __table_args__ = (UniqueConstraint("provider_id", "external_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(100), default="busy")
    external_uid: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_ONE_OF_THREE = (
    "(CASE WHEN appointment_id IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN hold_id IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN block_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class ProviderTimeUnit(Base):
    """One booked, held or blocked 5-minute unit of a provider's time; UNIQUE stops overlap."""

    __tablename__ = "provider_time_units"
    __table_args__ = (
        UniqueConstraint("provider_id", "unit_start"),
        CheckConstraint(_ONE_OF_THREE, name="one_owner"),
        Index(None, "unit_start"),  # slot search reads all providers over a date range
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    unit_start: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    hold_id: Mapped[str | None] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), index=True
    )
    block_id: Mapped[int | None] = mapped_column(
        ForeignKey("time_blocks.id", ondelete="CASCADE"), index=True
    )


class RoomTimeUnit(Base):
    """One booked or held 5-minute unit of one seat of a room (seat < the room's capacity)."""

    __tablename__ = "room_time_units"
    __table_args__ = (
        UniqueConstraint("room_id", "unit_start", "seat"),
        CheckConstraint("(appointment_id IS NULL) <> (hold_id IS NULL)", name="one_owner"),
        CheckConstraint("seat >= 0", name="seat_non_negative"),
        Index(None, "unit_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64))
    seat: Mapped[int] = mapped_column(Integer)
    unit_start: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    hold_id: Mapped[str | None] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), index=True
    )


class WaitlistEntry(Base):
    __tablename__ = "waitlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_type_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=WaitlistStatus.WAITING)
    call_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    # The slot offered when one freed up (a cancellation); held until offer_expires_at.
    offer_hold_id: Mapped[str | None] = mapped_column(String(36))
    offer_provider_id: Mapped[str | None] = mapped_column(String(64))
    offer_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))


class Lead(Base):
    """One inquiry (a referral, a call, a web form) followed from first contact to discharge."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    stage: Mapped[str] = mapped_column(String(32), default=LeadStage.NEW)
    lost_reason: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    referring_provider_name: Mapped[str | None] = mapped_column(String(200))
    referring_provider_npi: Mapped[str | None] = mapped_column(String(10))
    owner_role: Mapped[str] = mapped_column(String(32), default="front_desk")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # What the source was called before source types were fixed, or a detail ("Google").
    source_detail: Mapped[str | None] = mapped_column(String(200))
    # An inquirer not (yet) a patient: how to reach them, and what was learned.
    contact_first_name: Mapped[str | None] = mapped_column(String(100))
    contact_last_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_phone_key: Mapped[str | None] = mapped_column(String(16), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    appointment_type_id: Mapped[str | None] = mapped_column(String(64))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(String(36))
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    history: Mapped[list[LeadStageChange]] = relationship(
        back_populates="lead", order_by="LeadStageChange.id"
    )


class LeadStageChange(Base):
    __tablename__ = "lead_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    lost_reason: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    why: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="history")


class Message(Base):
    """A message or task for staff (callback, billing question, records request...)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    priority: Mapped[str] = mapped_column(String(16), default=MessagePriority.NORMAL)
    owner_role: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.OPEN, index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    callback_phone: Mapped[str | None] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    call_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    caller_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(64))
    recording_path: Mapped[str | None] = mapped_column(String(500))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    # end of caller speech to the first reply audio sent, per turn, measured at the SIP
    # media port (ms); the pipeline's own per-turn traces are on the turns
    wire_latency_ms: Mapped[list[float] | None] = mapped_column(JSON)

    turns: Mapped[list[CallTurn]] = relationship(order_by="CallTurn.seq")
    tool_calls: Mapped[list[ToolCallRecord]] = relationship(order_by="ToolCallRecord.seq")


class CallTurn(Base):
    __tablename__ = "call_turns"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    latency: Mapped[dict[str, float] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ToolCallRecord(Base):
    __tablename__ = "tool_calls"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who read or wrote which patient record, when, in which call. Never the data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)


class SecurityEvent(Base):
    """A refused or suspicious request for patient data (never the data itself)."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    detail: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))


class ChatSession(Base):
    """A text conversation's state, so any node sharing the database can continue it."""

    __tablename__ = "frontdesk_chat_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Optimistic concurrency: a write names the version it read; a stale write changes nothing.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the staff workspace (voiceagent/web): accounts, sessions, message activity -------------
# Kept in this metadata so that migrations and schema_differences see every table; the
# workspace reads and writes them only through voiceagent/web.


class StaffUser(Base):
    """A person who signs in to the workspace; the password is an argon2 hash."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"),
                                         index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class MessageActivity(Base):
    """Who assigned, commented on or changed a message; the assignee is the latest assign."""

    __tablename__ = "message_activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- follow-up tables (issue 14): imported here so that the metadata is complete ----------
from voiceagent.outreach import records as _outreach_records  # noqa: E402, F401
