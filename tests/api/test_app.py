"""The HTTP API on a temporary SQLite database, through FastAPI's TestClient."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.frontdesk.conftest import MONDAY_10AM, make_clinic
from voiceagent.api.guard import ChatSecrets
from voiceagent.clinic.db import open_store
from voiceagent.frontdesk.runtime import FrontDesk

pytestmark = pytest.mark.unit

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api") / "template.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def frontdesk(tmp_path: Path, migrated: Path):
    shutil.copyfile(migrated, tmp_path / "api.db")
    store = open_store(f"sqlite:///{tmp_path / 'api.db'}", migrate=False)
    yield FrontDesk(store, make_clinic(), clock=lambda: MONDAY_10AM)
    store.dispose()


CHAT_KEY = ChatSecrets(b"k" * 32)  # what nodes sharing one database share


def make_client(frontdesk, token=None, host="127.0.0.1"):
    from voiceagent.api.app import create_app

    return TestClient(create_app(frontdesk=frontdesk, api_token=token, chat_secrets=CHAT_KEY),
                      base_url=f"http://{host}")


def secret_of(sid: str) -> dict[str, str]:
    return {"X-Chat-Secret": CHAT_KEY.secret_for(sid)}


def chat(client, lines, headers=None):
    start = client.post("/api/chat/sessions", headers=headers)
    assert start.status_code == 200, start.text
    sid = start.json()["session_id"]
    assert start.json()["session_secret"] == CHAT_KEY.secret_for(sid)
    replies = [start.json()]
    for line in lines:
        r = client.post(f"/api/chat/sessions/{sid}/messages", json={"text": line},
                        headers={**(headers or {}), **secret_of(sid)})
        assert r.status_code == 200, r.text
        replies.append(r.json())
    return sid, replies


BOOKING = ["I'd like to book an appointment", "Lower back pain", "Jane Smith", "S M I T H",
           "March 3rd, 1982", "555-123-4567", "self pay", "Tuesday morning",
           "the first one", "yes"]


def test_health_reports_the_database(frontdesk):
    body = make_client(frontdesk).get("/api/health").json()
    assert body == {"status": "ok", "database": "ok", "clinic": "Riverside Physical Therapy"}


def test_openapi_docs_are_served(frontdesk):
    client = make_client(frontdesk)
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/chat/sessions/{session_id}/messages" in paths and "/api/leads" in paths


def test_chat_books_and_the_read_apis_show_it(frontdesk):
    client = make_client(frontdesk)
    sid, replies = chat(client, BOOKING)
    assert replies[0]["reply"].startswith("Hi! You're chatting with Riverside Physical Therapy")
    last = replies[-1]
    assert last["outcome"] == "booked"
    assert any(a["type"] == "tool_result" and a["name"] == "book_appointment" and a["ok"]
               for a in last["actions"])
    appts = client.get("/api/appointments", params={"date_from": "2026-11-24",
                                                    "date_to": "2026-11-24"}).json()
    assert len(appts) == 1 and appts[0]["start"] == "2026-11-24T08:00:00-06:00"
    assert appts[0]["call_id"] == sid
    assert client.get("/api/appointments", params={"date_from": "2026-11-25"}).json() == []
    patients = client.get("/api/patients", params={"q": "smith"}).json()
    assert [(p["first_name"], p["dob"]) for p in patients] == [("Jane", "1982-03-03")]
    assert [lead["stage"] for lead in client.get("/api/leads",
                                                  params={"stage": "scheduled"}).json()] == [
        "scheduled"]
    assert client.get("/api/leads", params={"stage": "lost"}).json() == []
    calls = client.get("/api/calls").json()
    assert calls[0]["id"] == sid and calls[0]["turns"] >= 2 * len(BOOKING)


def test_expected_input_is_reported_per_turn(frontdesk):
    _sid, replies = chat(make_client(frontdesk), BOOKING[:4])
    assert [r["expected_input"] for r in replies] == ["free", "free", "free", "spelling",
                                                      "date"]


def test_sessions_survive_a_new_app_instance(frontdesk):
    """Two nodes share one database: the second continues the first one's chat."""
    first, second = make_client(frontdesk), make_client(frontdesk)
    sid, _ = chat(first, BOOKING[:5])
    for line in BOOKING[5:]:
        r = second.post(f"/api/chat/sessions/{sid}/messages", json={"text": line},
                        headers=secret_of(sid))
        assert r.status_code == 200
    assert r.json()["outcome"] == "booked"


def test_message_via_chat_shows_in_messages_api(frontdesk):
    client = make_client(frontdesk)
    chat(client, ["I want to leave a message", "John Doe", "212 555 0142",
                  "Please call me about my invoice"])
    msgs = client.get("/api/messages", params={"status": "open",
                                               "date_from": date.today().isoformat()}).json()
    assert len(msgs) == 1 and msgs[0]["callback_phone"] == "+12125550142"
    assert client.get("/api/messages", params={"category": "clinical"}).json() == []


def test_unknown_session_is_404_and_empty_text_is_422(frontdesk):
    client = make_client(frontdesk)
    assert client.post("/api/chat/sessions/nope/messages", json={"text": "hi"}).status_code == 404
    sid = client.post("/api/chat/sessions").json()["session_id"]
    assert client.post(f"/api/chat/sessions/{sid}/messages", json={"text": ""},
                       headers=secret_of(sid)).status_code == 422


def test_ended_chat_refuses_more_messages(frontdesk):
    client = make_client(frontdesk)
    sid, replies = chat(client, ["bye"])
    assert replies[-1]["ended"]
    r = client.post(f"/api/chat/sessions/{sid}/messages", json={"text": "hello?"},
                    headers=secret_of(sid))
    assert r.status_code == 409


def test_token_is_required_on_every_api_route_when_configured(frontdesk):
    client = make_client(frontdesk, token=TOKEN)
    for path in ("/api/health", "/api/appointments", "/api/patients", "/api/leads",
                 "/api/messages", "/api/calls", "/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/chat/sessions").status_code == 401
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/health", headers=ok).status_code == 200
    _sid, replies = chat(client, ["Where do I park?"], headers=ok)
    assert "Free parking" in replies[-1]["reply"]


def test_create_app_needs_a_config_or_a_frontdesk():
    from voiceagent.api.app import create_app

    with pytest.raises(ValueError):
        create_app()


def test_create_app_from_the_pipeline_config_takes_the_token_from_it(tmp_path):
    from voiceagent.api.app import create_app
    from voiceagent.config.pipeline import PipelineConfig

    example = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    config = PipelineConfig.model_validate(
        {"data_dir": str(tmp_path), "clinic": str(example), "http": {"api_token": TOKEN}})
    app = create_app(config)
    client = TestClient(app, base_url="http://localhost")
    assert client.get("/api/health").status_code == 401
    body = client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert body["clinic"] == "Riverbend Physical Therapy"
    app.state.frontdesk.store.dispose()


def test_foreign_host_header_gets_no_patient_data_even_without_a_token(frontdesk):
    chat(make_client(frontdesk), BOOKING)
    rebound = make_client(frontdesk, host="attacker.example")
    for path in ("/api/patients", "/api/calls", "/api/health", "/docs"):
        r = rebound.get(path)
        assert r.status_code == 421 and "Jane" not in r.text
    for name in ("localhost", "127.0.0.1", "localhost:8080"):
        assert make_client(frontdesk, host=name).get("/api/health").status_code == 200


def test_configured_host_names_are_served(frontdesk):
    from voiceagent.api.app import create_app

    app = create_app(frontdesk=frontdesk, chat_secrets=CHAT_KEY,
                     allowed_hosts=["agent.clinic.example"])
    assert TestClient(app, base_url="http://agent.clinic.example").get(
        "/api/health").status_code == 200
    assert TestClient(app, base_url="http://other.example").get(
        "/api/health").status_code == 421


def test_another_visitors_chat_is_neither_readable_nor_writable_by_its_id(frontdesk):
    client = make_client(frontdesk)
    sid, _ = chat(client, ["My name is Jane Smith"])
    for headers in ({}, {"X-Chat-Secret": "guess"},
                    {"X-Chat-Secret": CHAT_KEY.secret_for("another-session")}):
        read = client.get(f"/api/chat/sessions/{sid}", headers=headers)
        write = client.post(f"/api/chat/sessions/{sid}/messages", json={"text": "hi"},
                            headers=headers)
        assert read.status_code == write.status_code == 404
        assert "Jane" not in read.text
    mine = client.get(f"/api/chat/sessions/{sid}", headers=secret_of(sid))
    assert mine.status_code == 200 and "Jane Smith" in mine.text


def test_lone_surrogates_are_no_error_and_no_patient_text_reaches_the_log(frontdesk, caplog):
    client = make_client(frontdesk)
    sid = client.post("/api/chat/sessions").json()["session_id"]
    body = '{"text": "I am Jane Smith, born 3/3/1982 \\ud800\\udfff\\ud83d"}'
    r = client.post(f"/api/chat/sessions/{sid}/messages", content=body,
                    headers={"Content-Type": "application/json", **secret_of(sid)})
    assert r.status_code == 200, r.text
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "Jane" not in logged and "1982" not in logged


def test_an_unexpected_error_is_a_plain_500_without_the_patient_text(frontdesk, caplog,
                                                                     monkeypatch):
    from voiceagent.frontdesk.sessions import SessionStore

    def broken(self, state, version):
        raise ValueError(f"cannot save {state.history!r}")

    monkeypatch.setattr(SessionStore, "save", broken)
    client = make_client(frontdesk)
    sid = client.post("/api/chat/sessions").json()["session_id"]
    r = client.post(f"/api/chat/sessions/{sid}/messages", json={"text": "I am Jane Smith"},
                    headers=secret_of(sid))
    assert r.status_code == 500 and "Jane" not in r.text
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "Jane" not in logged
    assert "ValueError" in logged, "the error's type and place are logged"


def test_localhost_is_accepted_as_the_bind_address_and_the_host_name(tmp_path):
    from voiceagent.api.app import create_app
    from voiceagent.config.pipeline import PipelineConfig

    example = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    config = PipelineConfig.model_validate(
        {"data_dir": str(tmp_path), "clinic": str(example), "http": {"host": "localhost"},
         "sip": {"bind": "localhost"}})
    assert config.sip.bind == "127.0.0.1"
    app = create_app(config)
    assert TestClient(app, base_url="http://localhost:8080").get(
        "/api/health").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get(
        "/api/health").status_code == 421
    app.state.frontdesk.store.dispose()
