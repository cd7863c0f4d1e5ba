"""Spoken-form intake: turn what a caller says into typed values plus a read-back string.

Every parser takes the transcript text (as Whisper writes it: "5-5-5, 1-2-3", "March 3rd,
1982", "S as in Sam") and returns a result with ``value`` and ``readback``, or raises
:class:`IntakeError` whose ``reason`` can be said to the caller as a next step.
"""

from voiceagent.intake.dates import (
    AppointmentRequest,
    parse_appointment_request,
    parse_date_of_birth,
    parse_past_date,
)
from voiceagent.intake.errors import IntakeError
from voiceagent.intake.identifiers import parse_mbi, parse_member_id, parse_npi
from voiceagent.intake.names import FullName, parse_full_name
from voiceagent.intake.phone import parse_phone
from voiceagent.intake.result import Parsed
from voiceagent.intake.spelling import parse_spelled_name

__all__ = [
    "AppointmentRequest",
    "FullName",
    "IntakeError",
    "Parsed",
    "parse_appointment_request",
    "parse_date_of_birth",
    "parse_full_name",
    "parse_mbi",
    "parse_member_id",
    "parse_npi",
    "parse_past_date",
    "parse_phone",
    "parse_spelled_name",
]
