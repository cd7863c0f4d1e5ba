"""Inbound SMS webhooks: Twilio and Telnyx formats and their signature checks.

Twilio posts a form (``From``, ``To``, ``Body``, ``MessageSid``...) and signs it in
``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + each POST parameter's name and
value, sorted by name)). Telnyx posts JSON (``data.event_type == "message.received"``,
``data.payload.from.phone_number``, ``data.payload.to[].phone_number``,
``data.payload.text``) signed with Ed25519: ``telnyx-signature-ed25519`` is base64 of the
signature over ``"{telnyx-timestamp}|{raw body}"``, checked with the account's public key,
and the timestamp must be recent (replays are refused).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class WebhookRejected(ValueError):
    """The request changes nothing; ``reason`` is a short code for the log."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class InboundSms:
    provider: str
    from_number: str
    to_number: str
    body: str
    provider_message_id: str


@dataclass(frozen=True)
class Ignored:
    """A genuine provider event that is not an inbound message (delivery receipts...)."""

    event: str


def twilio_signature(url: str, params: Mapping[str, str] | list[tuple[str, str]],
                     auth_token: str) -> str:
    items = sorted(params.items() if isinstance(params, Mapping) else params)
    data = url + "".join(k + v for k, v in items)
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_twilio(url: str, raw_body: bytes, headers: Mapping[str, str],
                 auth_token: str) -> InboundSms | Ignored:
    """Verify and parse a Twilio messaging webhook.

    Raises:
        WebhookRejected: bad or missing signature (403), malformed body (400).
    """
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("body_not_utf8") from None
    params = parse_qsl(text, keep_blank_values=True)
    given = headers.get("x-twilio-signature", "")
    expected = twilio_signature(url, params, auth_token)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRejected("bad_signature", 403)
    fields = dict(params)
    if "Body" not in fields or "From" not in fields or "To" not in fields:
        return Ignored(fields.get("MessageStatus") or fields.get("SmsStatus") or "unknown")
    return InboundSms("twilio", fields["From"], fields["To"], fields["Body"],
                      fields.get("MessageSid") or fields.get("SmsSid") or "")


def parse_telnyx(raw_body: bytes, headers: Mapping[str, str], public_key: str,
                 now_s: float, tolerance_s: int = 300) -> InboundSms | Ignored:
    """Verify and parse a Telnyx messaging webhook (API v2).

    Raises:
        WebhookRejected: bad, missing or stale signature (403), malformed body (400).
    """
    signature = headers.get("telnyx-signature-ed25519", "")
    timestamp = headers.get("telnyx-timestamp", "")
    if not signature or not timestamp.isdigit():
        raise WebhookRejected("bad_signature", 403)
    if abs(now_s - int(timestamp)) > tolerance_s:
        raise WebhookRejected("stale_timestamp", 403)
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature, validate=True),
                   timestamp.encode() + b"|" + raw_body)
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookRejected("bad_signature", 403) from None
    try:
        data = json.loads(raw_body)["data"]
        event = str(data["event_type"])
        if event != "message.received":
            return Ignored(event)
        payload = data["payload"]
        to = payload["to"][0]["phone_number"]
        return InboundSms("telnyx", str(payload["from"]["phone_number"]), str(to),
                          payload.get("text") or "", str(payload.get("id") or ""))
    except (ValueError, KeyError, IndexError, TypeError):
        raise WebhookRejected("malformed_payload") from None


def body_problem(body: str, max_chars: int) -> str | None:
    """Why an inbound text cannot be taken (``None`` when it can)."""
    if len(body) > max_chars:
        return "body_too_long"
    for ch in body:
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            return "body_binary"
    return None
