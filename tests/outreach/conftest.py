"""A clinic with follow-up on: a fresh SQLite store, a fake clock, the local SMS provider,
and the HTTP app with the web chat and the SMS webhooks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.frontdesk.conftest import MONDAY_10AM, make_clinic
from tests.outreach.provider import TELNYX_KEY, TWILIO_SID, TWILIO_TOKEN, FakeProvider
from voiceagent.clinic.db import open_store
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.outreach.routes import Outreach, build_outreach
from voiceagent.outreach.settings import Credentials
from voiceagent.outreach.webhooks import twilio_signature

CLINIC_SMS = "+12175550199"
SITE = "https://www.riverside.example"
SITE_KEY = "pk_riverside_1234"
POLICY = {"quiet_hours": "21:00-07:00", "reminder_hours_before": 12, "nudge_after_hours": 24}
BOOKING = ["I'd like to book an appointment", "Lower back pain", "Jane Smith", "S M I T H",
           "March 3rd, 1982", "555-123-4567", "self pay", "Tuesday morning",
           "the first one", "yes"]
JANE = "+15551234567"


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outreach") / "template.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10AM)


@pytest.fixture
def db_url(tmp_path: Path, migrated: Path) -> str:
    shutil.copyfile(migrated, tmp_path / "store.db")
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def frontdesk(db_url: str, clock: FakeClock) -> Iterator[FrontDesk]:
    store = open_store(db_url, migrate=False)
    yield FrontDesk(store, make_clinic(outreach=POLICY), clock=clock)
    store.dispose()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


def pipeline(provider_url: str, kind: str = "twilio", **webchat: Any) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "webchat": {"enabled": True, "site_key": SITE_KEY, "allowed_origins": [SITE],
                    **webchat},
        "outreach": {"sms": {"provider": kind, "from_number": CLINIC_SMS,
                             "api_base_url": provider_url}},
    })


CREDENTIALS = Credentials(twilio_account_sid=TWILIO_SID,
                          twilio_auth_token=SecretStr(TWILIO_TOKEN),
                          telnyx_api_key=SecretStr(TELNYX_KEY))


@pytest.fixture
def outreach(frontdesk: FrontDesk, provider: FakeProvider, clock: FakeClock) -> Outreach:
    return build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                          clock=clock)


@pytest.fixture
def client(frontdesk: FrontDesk, outreach: Outreach) -> TestClient:
    from voiceagent.api.app import create_app

    return TestClient(create_app(outreach.config, frontdesk=frontdesk, outreach=outreach,
                                 allowed_hosts=["testserver"]))


def web_chat(client: TestClient, lines: list[str]) -> tuple[str, list[dict[str, Any]]]:
    headers = {"Origin": SITE, "X-Webchat-Key": SITE_KEY, "X-Webchat-Visitor": "visitor-0001"}
    start = client.post("/webchat/api/sessions", headers=headers)
    assert start.status_code == 200, start.text
    sid = start.json()["session_id"]
    replies = [start.json()]
    for line in lines:
        r = client.post(f"/webchat/api/sessions/{sid}/messages", json={"text": line},
                        headers=headers)
        assert r.status_code == 200, r.text
        replies.append(r.json())
    return sid, replies


def text_in(client: TestClient, sender: str, body: str, *, sid: str | None = None,
            token: str = TWILIO_TOKEN, to: str = CLINIC_SMS) -> Any:
    """The provider posting an inbound text to the Twilio webhook, signed as Twilio does."""
    params = {"MessageSid": sid or f"SM{abs(hash((sender, body))):032x}"[:34],
              "AccountSid": TWILIO_SID, "From": sender, "To": to, "Body": body,
              "NumMedia": "0"}
    signature = twilio_signature("http://testserver/sms/twilio", params, token)
    return client.post("/sms/twilio", content=urlencode(params),
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "X-Twilio-Signature": signature})
