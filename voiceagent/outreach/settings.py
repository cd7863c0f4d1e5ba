"""Follow-up settings: the clinic's policy and templates (clinic.yaml ``outreach:``) and the
providers (pipeline.yaml ``outreach:`` and ``webchat:``).

Credentials never live in a file: :func:`credentials_from_env` reads them from the
environment (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TELNYX_API_KEY``,
``TELNYX_PUBLIC_KEY``, ``SMTP_USERNAME``, ``SMTP_PASSWORD``).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from voiceagent.config.base import StrictModel

PLACEHOLDERS = frozenset({
    "first_name", "clinic", "clinic_phone", "address", "appointment_type", "provider", "when",
    "date", "time", "what_to_bring",
})
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _check_template(value: str) -> str:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise ValueError(f"template is not valid: {exc}") from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder(s) {unknown}; use {sorted(PLACEHOLDERS)}")
    return value


class Templates(StrictModel):
    """Each message's text. Placeholders: {first_name} {clinic} {clinic_phone} {address}
    {appointment_type} {provider} {when} {date} {time} {what_to_bring}."""

    confirmation_sms: str = (
        "Hi {first_name}, you're booked at {clinic}: {appointment_type} with {provider} on "
        "{when}. Bring {what_to_bring}. Reply STOP to opt out.")
    reminder_sms: str = (
        "Reminder from {clinic}: {appointment_type} with {provider} on {when}, {address}. "
        "Need to change it? Call {clinic_phone}. Reply STOP to opt out.")
    nudge_sms: str = (
        "Hi, this is {clinic}. You asked about physical therapy; we have openings this week. "
        "Reply here or call {clinic_phone} to book. Reply STOP to opt out.")
    missed_call_sms: str = (
        "Sorry we missed you at {clinic}! Reply here to book or ask a question, or call "
        "{clinic_phone}. Reply STOP to opt out.")
    no_show_sms: str = (
        "We missed you today at {clinic}. Reply here or call {clinic_phone} to pick a new "
        "time. Reply STOP to opt out.")
    confirmation_email_subject: str = "Your appointment at {clinic}"
    confirmation_email: str = (
        "Hello {first_name},\n\nYou are booked at {clinic} for {appointment_type} with "
        "{provider} on {when}.\nAddress: {address}\nPlease bring {what_to_bring}.\n\n"
        "To change it, call {clinic_phone}.")
    reminder_email_subject: str = "Reminder: your visit to {clinic}"
    reminder_email: str = (
        "Hello {first_name},\n\nA reminder of your {appointment_type} with {provider} on "
        "{when} at {address}.\n\nTo change it, call {clinic_phone}.")
    stop_reply: str = (
        "You're unsubscribed from {clinic} texts and will get no more. Reply START to "
        "resubscribe.")
    start_reply: str = "You're subscribed to {clinic} texts again. Reply STOP to opt out."
    help_reply: str = (
        "{clinic}: appointment texts. Call {clinic_phone} for help. Reply STOP to opt out. "
        "Msg & data rates may apply.")
    sms_intro: str = "{clinic}'s automated assistant here."
    webchat_notice: str = (
        "You are chatting with {clinic}'s automated assistant, not a person. In an "
        "emergency call 911.")

    @field_validator("*")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _check_template(value)


class OutreachPolicy(StrictModel):
    """When and how often the clinic's patients and leads are contacted."""

    quiet_hours: str = Field("20:00-08:00", description="clinic-local HH:MM-HH:MM, may "
                             "cross midnight; proactive messages wait until it ends")
    confirmation: bool = True
    reminder_hours_before: float = Field(24, ge=0, description="0: no reminder")
    nudge_after_hours: float = Field(24, ge=0, description="a lead that did not book; 0: off")
    missed_call_text_back: bool = True
    no_show_follow_up: bool = True
    max_per_number_per_day: int = Field(3, ge=1, description="proactive messages per number "
                                        "in 24 h (replies in a conversation not counted)")
    max_replies_per_hour: int = Field(30, ge=1, description="conversation replies per number")
    send_opt_out_confirmation: bool = Field(
        True, description="answer STOP once; turn off where the carrier already does")
    templates: Templates = Templates()

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value and not _QUIET.match(value):
            raise ValueError(f"{value!r} is not HH:MM-HH:MM (e.g. 20:00-08:00), or '' for none")
        return value

    def quiet_range(self) -> tuple[time, time] | None:
        if not self.quiet_hours:
            return None
        match = _QUIET.match(self.quiet_hours)
        assert match is not None
        start = time(int(match[1]), int(match[2]))
        end = time(int(match[3]), int(match[4]))
        return None if start == end else (start, end)


class SmsConfig(StrictModel):
    provider: Literal["none", "twilio", "telnyx"] = "none"
    from_number: str | None = Field(None, description="the clinic's SMS number, E.164")
    numbers: list[str] = Field(
        default_factory=list,
        description="every number of ours whose inbound texts are accepted "
        "(default: from_number)")
    messaging_profile_id: str | None = Field(None, description="Telnyx messaging profile")
    api_base_url: str | None = Field(
        None, description="default: https://api.twilio.com or https://api.telnyx.com")
    public_base_url: str | None = Field(
        None, description="the URL the provider calls, e.g. https://agent.clinic.example "
        "(Twilio signs it; needed behind a proxy)")
    max_inbound_chars: int = Field(1600, ge=160, le=10_000)
    timestamp_tolerance_s: int = Field(300, ge=10, description="Telnyx replay window")

    @model_validator(mode="after")
    def _needs_number(self) -> SmsConfig:
        if self.provider != "none" and not self.from_number:
            raise ValueError(f"provider {self.provider!r} needs from_number (E.164)")
        return self

    def our_numbers(self) -> list[str]:
        return list(self.numbers) or ([self.from_number] if self.from_number else [])


class EmailConfig(StrictModel):
    smtp_host: str | None = Field(None, description="off until set")
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    from_address: str | None = None
    timeout_s: float = Field(20, gt=0)

    @model_validator(mode="after")
    def _needs_from(self) -> EmailConfig:
        if self.smtp_host and not self.from_address:
            raise ValueError("smtp_host needs from_address")
        return self


class OutreachConfig(StrictModel):
    """pipeline.yaml ``outreach:``: the providers; everything stays off until configured."""

    sms: SmsConfig = SmsConfig()
    email: EmailConfig = EmailConfig()
    poll_s: float = Field(15, gt=0, description="how often due jobs are looked for")
    lease_s: float = Field(120, gt=5, description="a claimed job returns to the queue after")
    max_attempts: int = Field(5, ge=1)
    sweep_horizon_hours: float = Field(72, gt=0, description="how far back events are "
                                       "looked at for follow-up (older ones are left alone)")
    summary_with_llm: bool = Field(
        False, description="the local LLM writes call summaries (else the template); it "
        "shares the model with live calls, so leave off on a small CPU box")


class WebChatConfig(StrictModel):
    """pipeline.yaml ``webchat:``: the embeddable chat for the clinic's website."""

    enabled: bool = False
    site_key: str = Field("", description="public key in the snippet; not a secret")
    allowed_origins: list[str] = Field(default_factory=list,
                                       description="e.g. https://www.clinic.example")
    demo_page: bool = True
    messages_per_minute_per_visitor: int = Field(12, ge=1)
    messages_per_minute_per_ip: int = Field(40, ge=1)
    sessions_per_hour_per_ip: int = Field(20, ge=1)
    trusted_proxies: list[str] = Field(
        default_factory=list, description="reverse proxies whose X-Forwarded-For names the "
        "visitor's IP (else every visitor behind the proxy shares one limit)")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(f"{origin!r} is not an origin like https://www.clinic.example "
                                 "(scheme and host, no path)")
        return [o.lower() for o in value]

    @model_validator(mode="after")
    def _key_when_enabled(self) -> WebChatConfig:
        if self.enabled and len(self.site_key) < 8:
            raise ValueError("enabled web chat needs a site_key of 8 or more characters")
        return self


@dataclass(frozen=True)
class Credentials:
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    telnyx_api_key: SecretStr | None = None
    telnyx_public_key: str | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None


class MissingCredential(ValueError):
    """A configured provider whose credential is not in the environment."""


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if environ is None else environ

    def secret(name: str) -> SecretStr | None:
        return SecretStr(env[name]) if env.get(name) else None

    return Credentials(
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=secret("TWILIO_AUTH_TOKEN"),
        telnyx_api_key=secret("TELNYX_API_KEY"),
        telnyx_public_key=env.get("TELNYX_PUBLIC_KEY") or None,
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=secret("SMTP_PASSWORD"),
    )
