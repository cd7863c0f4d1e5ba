"""Filling the clinic's message templates (clinic.yaml ``outreach.templates``)."""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.models import Appointment, Patient
from voiceagent.outreach.records import Channel, JobKind


@dataclass(frozen=True)
class Rendered:
    body: str
    subject: str | None = None


def facts(clinic: ClinicConfig, appointment: Appointment | None,
          patient: Patient | None) -> dict[str, str]:
    values = {"clinic": clinic.name, "clinic_phone": clinic.phone, "address": clinic.address,
              "first_name": patient.first_name if patient else "there",
              "appointment_type": "your visit", "provider": "your therapist", "when": "",
              "date": "", "time": "", "what_to_bring": "a photo ID and your insurance card"}
    if appointment is not None:
        local = appointment.start.astimezone(clinic.tz)
        clock = local.strftime("%I:%M %p").lstrip("0")
        values.update(date=f"{local:%A, %B} {local.day}", time=clock)
        values["when"] = f"{values['date']} at {clock}"
        try:
            kind = clinic.appointment_type(appointment.appointment_type_id)
            values["appointment_type"] = kind.name
            if kind.what_to_bring:
                values["what_to_bring"] = " and ".join(kind.what_to_bring)
        except Exception:  # noqa: BLE001 - a type removed from the config keeps the default
            pass
        try:
            values["provider"] = clinic.provider(appointment.provider_id).name
        except Exception:  # noqa: BLE001 - likewise for a provider who left
            pass
    return values


_SMS = {JobKind.CONFIRMATION: "confirmation_sms", JobKind.REMINDER: "reminder_sms",
        JobKind.NUDGE: "nudge_sms", JobKind.MISSED_CALL: "missed_call_sms",
        JobKind.NO_SHOW: "no_show_sms"}
_EMAIL = {JobKind.CONFIRMATION: ("confirmation_email_subject", "confirmation_email"),
          JobKind.REMINDER: ("reminder_email_subject", "reminder_email")}


def has_template(kind: JobKind, channel: Channel) -> bool:
    return kind in (_SMS if channel == Channel.SMS else _EMAIL)


def render(clinic: ClinicConfig, kind: JobKind, channel: Channel,
           values: dict[str, str]) -> Rendered:
    """The message for ``kind`` on ``channel`` (KeyError: no template for that pair)."""
    templates = clinic.outreach.templates
    if channel == Channel.EMAIL:
        subject_key, body_key = _EMAIL[kind]
        return Rendered(getattr(templates, body_key).format_map(values),
                        getattr(templates, subject_key).format_map(values))
    return Rendered(getattr(templates, _SMS[kind]).format_map(values))


def keyword_text(clinic: ClinicConfig, name: str) -> str:
    """``stop_reply``, ``start_reply``, ``help_reply`` or ``webchat_notice``, filled in."""
    text: str = getattr(clinic.outreach.templates, name)
    return text.format_map(facts(clinic, None, None))
