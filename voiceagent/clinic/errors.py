"""Errors the clinic services raise: each carries a short reason the caller layer can act on.

``str(error)`` is safe to show to a tool/LLM and to log: it never holds patient data.
``error.code`` is a stable machine name (``slot_taken``, ``outside_hours`` ...) so the dialog
layer can choose the next step without parsing text.
"""

from __future__ import annotations


class ClinicError(Exception):
    """Base class: a request the clinic cannot fulfil, with the next step in the message."""

    code = "clinic_error"
    default = "that request could not be completed; offer to take a message for the front desk"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.default)

    @property
    def reason(self) -> str:
        return str(self)


class SlotTaken(ClinicError):
    code = "slot_taken"
    default = "that time was just taken; offer the next open slot"


class HoldExpired(ClinicError):
    code = "hold_expired"
    default = "the held time expired; search again and offer the next open slot"


class OutsideHours(ClinicError):
    code = "outside_hours"
    default = "that time is outside opening or provider hours; offer a time within hours"


class ClinicClosed(ClinicError):
    code = "clinic_closed"
    default = "the clinic is closed that day; offer another day"


class NoticeTooShort(ClinicError):
    code = "notice_too_short"
    default = "that time is too soon to book; offer a later time"


class BeyondHorizon(ClinicError):
    code = "beyond_horizon"
    default = "that date is too far ahead to book; offer an earlier date or the waitlist"


class NotQualified(ClinicError):
    code = "not_qualified"
    default = "that provider cannot deliver this appointment type; offer a qualified provider"


class OffGrid(ClinicError):
    code = "off_grid"
    default = "appointments start on the clinic's time grid; offer the nearest grid time"


class NoRoom(ClinicError):
    code = "no_room"
    default = "no room is free at that time; offer the next open slot"


class UnknownAppointmentType(ClinicError):
    code = "unknown_appointment_type"
    default = "unknown appointment type; use one of the configured appointment types"


class UnknownProvider(ClinicError):
    code = "unknown_provider"
    default = "unknown provider; offer any available provider"


class UnknownPatient(ClinicError):
    code = "unknown_patient"
    default = "no patient record matches; check the name and date of birth or take a message"


class IdentityNotVerified(ClinicError):
    code = "identity_not_verified"
    default = "identity not verified; ask for full name, date of birth and phone on file"


class NotAuthorized(ClinicError):
    code = "not_authorized"
    default = "that appointment is not this caller's; only their own appointments can change"


class UnknownAppointment(ClinicError):
    code = "unknown_appointment"
    default = "no such appointment; list the caller's upcoming appointments and ask which one"


class InvalidState(ClinicError):
    code = "invalid_state"
    default = "that appointment cannot be changed any more; offer to take a message"


class InvalidStageMove(ClinicError):
    code = "invalid_stage_move"
    default = "that lead cannot move to this stage"


class InvalidInput(ClinicError):
    code = "invalid_input"
    default = "a value was not understood; ask the caller again"


class StoreBusy(ClinicError):
    code = "store_busy"
    default = "the system is busy; wait a moment and try again"
