"""Outbound SMS through the providers' REST APIs (Twilio, Telnyx), off until configured.

Twilio: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form fields ``To``,
``From``, ``Body``, HTTP basic auth (Account SID, Auth Token); the reply's ``sid`` names the
message. Telnyx: ``POST {base}/v2/messages``, JSON ``{"from", "to", "text"}`` (plus
``messaging_profile_id`` when set), ``Authorization: Bearer <API key>``; the reply's
``data.id`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from voiceagent.outreach.settings import Credentials, MissingCredential, SmsConfig

TWILIO_API = "https://api.twilio.com"
TELNYX_API = "https://api.telnyx.com"
MAX_OUTBOUND_CHARS = 1600


class SendRejected(RuntimeError):
    """The provider refused the message for good (bad number, opted out, bad request)."""


class SendFailed(RuntimeError):
    """The provider could not take the message now (network, 5xx, 429): try again later."""


class SendUncertain(RuntimeError):
    """The request left but no answer came (read timeout): it may have been sent."""


def _post(provider: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        return httpx.post(url, **kwargs)  # type: ignore[arg-type]
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise SendFailed(f"{provider} unreachable: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise SendUncertain(f"{provider}: no answer ({type(exc).__name__})") from None


@dataclass(frozen=True)
class SentMessage:
    provider: str
    provider_message_id: str


class SmsSender(Protocol):
    name: str

    def send(self, to: str, body: str) -> SentMessage: ...


def _check(response: httpx.Response, provider: str) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        raise SendFailed(f"{provider} answered HTTP {response.status_code}; will retry")
    if response.status_code >= 400:
        raise SendRejected(f"{provider} refused the message: HTTP {response.status_code}")


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str,
                 base_url: str = TWILIO_API, timeout_s: float = 15) -> None:
        self.account_sid = account_sid
        self._auth = (account_sid, auth_token)
        self.from_number = from_number
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.timeout_s = timeout_s

    def send(self, to: str, body: str) -> SentMessage:
        response = _post(self.name, self.url, auth=self._auth, timeout=self.timeout_s,
                         data={"To": to, "From": self.from_number,
                               "Body": body[:MAX_OUTBOUND_CHARS]})
        _check(response, self.name)
        try:
            sid = str(response.json()["sid"])
        except (ValueError, KeyError, TypeError):
            raise SendFailed("twilio answered without a message sid") from None
        return SentMessage(self.name, sid)


class TelnyxSms:
    name = "telnyx"

    def __init__(self, api_key: str, from_number: str, messaging_profile_id: str | None = None,
                 base_url: str = TELNYX_API, timeout_s: float = 15) -> None:
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.from_number = from_number
        self.messaging_profile_id = messaging_profile_id
        self.url = f"{base_url.rstrip('/')}/v2/messages"
        self.timeout_s = timeout_s

    def send(self, to: str, body: str) -> SentMessage:
        payload = {"from": self.from_number, "to": to, "text": body[:MAX_OUTBOUND_CHARS]}
        if self.messaging_profile_id:
            payload["messaging_profile_id"] = self.messaging_profile_id
        response = _post(self.name, self.url, json=payload, headers=self._headers,
                         timeout=self.timeout_s)
        _check(response, self.name)
        try:
            message_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            raise SendFailed("telnyx answered without a message id") from None
        return SentMessage(self.name, message_id)


def sms_sender(config: SmsConfig, credentials: Credentials) -> SmsSender | None:
    """The configured sender, or None when SMS is off.

    Raises:
        MissingCredential: the provider is set but its credential is not in the environment.
    """
    if config.provider == "none" or config.from_number is None:
        return None
    if config.provider == "twilio":
        if not (credentials.twilio_account_sid and credentials.twilio_auth_token):
            raise MissingCredential("outreach.sms.provider is twilio: set TWILIO_ACCOUNT_SID and "
                                    "TWILIO_AUTH_TOKEN in the environment")
        return TwilioSms(credentials.twilio_account_sid,
                         credentials.twilio_auth_token.get_secret_value(), config.from_number,
                         config.api_base_url or TWILIO_API)
    if not credentials.telnyx_api_key:
        raise MissingCredential("outreach.sms.provider is telnyx: set TELNYX_API_KEY (and "
                                "TELNYX_PUBLIC_KEY for inbound webhooks) in the environment")
    return TelnyxSms(credentials.telnyx_api_key.get_secret_value(), config.from_number,
                     config.messaging_profile_id, config.api_base_url or TELNYX_API)
