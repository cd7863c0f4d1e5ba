"""The website chat's public API: origins, site key, rate limits, the assistant notice."""

from __future__ import annotations

import shutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.frontdesk.conftest import MONDAY_10AM, make_clinic
from voiceagent.channels.conversations import TextConversations
from voiceagent.channels.webchat.app import webchat_app
from voiceagent.clinic.db import open_store
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.outreach.settings import WebChatConfig

pytestmark = pytest.mark.unit

SITE = "https://www.riverside.example"
KEY = "pk_riverside_1234"
HEADERS = {"Origin": SITE, "X-Webchat-Key": KEY, "X-Webchat-Visitor": "visitor-0001"}


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frontdesk(tmp_path, tmp_path_factory):
    template = tmp_path_factory.getbasetemp() / "webchat-template.db"
    if not template.exists():
        open_store(f"sqlite:///{template}").dispose()
    shutil.copyfile(template, tmp_path / "chat.db")
    store = open_store(f"sqlite:///{tmp_path / 'chat.db'}", migrate=False)
    yield FrontDesk(store, make_clinic(), clock=lambda: MONDAY_10AM)
    store.dispose()


def make(frontdesk, ticks=None, **changes):
    config = WebChatConfig(enabled=True, site_key=KEY, allowed_origins=[SITE], **changes)
    app = FastAPI()
    app.mount("/webchat", webchat_app(TextConversations(frontdesk), config,
                                      clock=ticks or Ticks()))
    return TestClient(app)


def test_a_chat_opens_with_the_automated_assistant_notice_and_cors_for_the_site(frontdesk):
    r = make(frontdesk).post("/webchat/api/sessions", headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["notice"].startswith("You are chatting with Riverside Physical Therapy's "
                                     "automated assistant, not a person.")
    assert body["reply"] and r.headers["access-control-allow-origin"] == SITE


def test_other_origins_and_wrong_keys_are_refused_before_anything_is_stored(frontdesk):
    client = make(frontdesk)
    evil = client.post("/webchat/api/sessions", headers={**HEADERS, "Origin": "https://evil.example"})
    no_origin = client.post("/webchat/api/sessions",
                            headers={k: v for k, v in HEADERS.items() if k != "Origin"})
    wrong_key = client.post("/webchat/api/sessions", headers={**HEADERS, "X-Webchat-Key": "nope"})
    assert [evil.status_code, no_origin.status_code, wrong_key.status_code] == [403, 403, 403]
    assert "access-control-allow-origin" not in evil.headers
    pre = client.options("/webchat/api/sessions", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    ok = client.options("/webchat/api/sessions", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and "X-Webchat-Key" in ok.headers["access-control-allow-headers"]
    with frontdesk.store.transaction() as session:
        from sqlalchemy import func, select

        from voiceagent.clinic.models import Call
        assert session.scalar(select(func.count(Call.id))) == 0


def test_a_visitor_sending_too_fast_is_slowed_down(frontdesk):
    ticks = Ticks()
    client = make(frontdesk, ticks, messages_per_minute_per_visitor=3)
    sid = client.post("/webchat/api/sessions", headers=HEADERS).json()["session_id"]
    codes = [client.post(f"/webchat/api/sessions/{sid}/messages", json={"text": "hi"},
                         headers=HEADERS).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    ticks.now += 61
    assert client.post(f"/webchat/api/sessions/{sid}/messages", json={"text": "hi"},
                       headers=HEADERS).status_code == 200


def test_one_ip_cannot_open_endless_sessions(frontdesk):
    client = make(frontdesk, sessions_per_hour_per_ip=2)
    codes = [client.post("/webchat/api/sessions", headers=HEADERS).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


def test_replies_carry_text_only_never_tool_results(frontdesk):
    client = make(frontdesk)
    sid = client.post("/webchat/api/sessions", headers=HEADERS).json()["session_id"]
    r = client.post(f"/webchat/api/sessions/{sid}/messages",
                    json={"text": "When is my next appointment?"}, headers=HEADERS)
    assert set(r.json()) == {"session_id", "reply", "ended", "notice"}


def test_the_script_and_the_demo_page_are_served(frontdesk):
    client = make(frontdesk)
    js = client.get("/webchat/widget.js")
    assert js.status_code == 200 and "X-Webchat-Key" in js.text
    page = client.get("/webchat/demo")
    assert page.status_code == 200
    assert f'<script src="/webchat/widget.js" data-key="{KEY}" async></script>' in page.text


def test_behind_a_trusted_proxy_each_visitor_ip_has_its_own_limit(frontdesk):
    client = make(frontdesk, sessions_per_hour_per_ip=1, trusted_proxies=["testclient"])
    codes = [client.post("/webchat/api/sessions",
                         headers={**HEADERS, "X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in (1, 2, 1)]
    assert codes == [200, 200, 429]
