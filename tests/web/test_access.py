"""Who gets in: sign-in, lockout, idle log-off, CSRF, the API token and role rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.web.conftest import PASSWORD, TOKEN, Env, sign_in
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.messages import create_message
from voiceagent.web import api, pages
from voiceagent.web.accounts import set_active

pytestmark = pytest.mark.unit


def workspace_routes() -> list[tuple[str, str]]:
    """Every page and JSON endpoint the workspace declares, path parameters set to 1."""
    out = []
    for route in [*api.router.routes, *pages.router.routes]:
        path = re.sub(r"\{[^}]+\}", "1", getattr(route, "path", ""))
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append((method, "/app" + path))
    return out


def test_nothing_of_the_workspace_is_reachable_without_signing_in(env: Env) -> None:
    client = env.client()
    routes = workspace_routes()
    assert len(routes) >= 20  # every page and every JSON endpoint is walked
    for method, path in routes:
        if path == "/app/login":
            continue  # the way in
        response = client.request(method, path, follow_redirects=False, json={})
        if path.startswith("/app/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/app/login?next="), path
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"


def test_a_wrong_api_token_and_a_forged_session_cookie_are_refused(env: Env) -> None:
    client = env.client()
    assert client.get("/app/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    client.cookies.set("va_session", "made-up")
    assert client.get("/app/api/me").status_code == 401
    assert client.get("/app/calls", follow_redirects=False).status_code == 303


def test_sign_in_lands_where_the_user_was_going_and_sign_out_ends_the_session(env: Env) -> None:
    client = env.client()
    first = client.get("/app/calls?outcome=booked", follow_redirects=False)
    target = first.headers["location"].split("next=")[1]
    response = sign_in(client, "desk", PASSWORD, next_path=target.replace("%2F", "/")
                       .replace("%3F", "?").replace("%3D", "="))
    assert response.headers["location"] == "/app/calls?outcome=booked"
    cookie = response.cookies.get("va_session") or client.cookies.get("va_session")
    assert cookie and "HttpOnly" in response.headers["set-cookie"]
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    page = client.get("/app/")
    assert page.status_code == 200 and "Desk · Front desk" in page.text
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)[1]  # type: ignore[index]
    out = client.post("/app/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.headers["location"] == "/app/login?why=signed_out"
    client.cookies.set("va_session", cookie)  # the old cookie is worthless now
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_sign_in_never_leaves_the_workspace(env: Env) -> None:
    client = env.client()
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = sign_in(client, "desk", PASSWORD, next_path=evil)
        assert response.headers["location"] == "/app/", evil


def test_unknown_user_and_wrong_password_read_the_same(env: Env) -> None:
    client = env.client()
    unknown = sign_in(client, "nobody", PASSWORD)
    wrong = sign_in(client, "desk", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong username or password" in unknown.text
    assert "wrong username or password" in wrong.text


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(env: Env) -> None:
    client = env.client()
    for _ in range(4):
        assert "wrong username or password" in sign_in(client, "desk", "guess").text
    assert "locked for 15 minutes" in sign_in(client, "desk", "guess").text
    locked = sign_in(client, "desk", PASSWORD)  # even the right password
    assert locked.status_code == 401 and "locked" in locked.text
    env.clock[0] += timedelta(minutes=16)
    assert sign_in(client, "desk", PASSWORD).status_code == 303
    audit = env.signed_in("boss").client.get("/app/audit?actor=staff:desk").text
    assert audit.count("sign_in_failed") == 5 and "locked" in audit and ">sign_in<" in audit


def test_a_session_idle_past_the_limit_is_signed_out(env: Env) -> None:
    desk = env.signed_in("desk")
    env.clock[0] += timedelta(minutes=14)
    assert desk.client.get("/app/calls").status_code == 200  # activity keeps it alive
    env.clock[0] += timedelta(minutes=14)
    assert desk.client.get("/app/calls").status_code == 200
    env.clock[0] += timedelta(minutes=15, seconds=1)
    response = desk.client.get("/app/calls", follow_redirects=False)
    assert response.status_code == 303 and "why=idle" in response.headers["location"]
    page = desk.client.get(response.headers["location"])
    assert "signed out after a period without activity" in page.text
    assert desk.post("/app/api/leads/1/stage", {"stage": "contacted"}).status_code == 401


def test_disabling_an_account_ends_its_open_sessions(env: Env) -> None:
    desk = env.signed_in("desk")
    set_active(env.store, "desk", False)
    response = desk.client.get("/app/", follow_redirects=False)
    assert "why=disabled" in response.headers["location"]
    assert sign_in(env.client(), "desk", PASSWORD).status_code == 401


def test_a_write_without_the_sessions_csrf_token_is_refused(env: Env) -> None:
    message = create_message(env.store, env.clinic, category="callback", subject="Call back",
                             actor=Actor("assistant"))
    desk = env.signed_in("desk")
    path = f"/app/api/messages/{message.message_id}/comments"
    assert desk.client.post(path, json={"text": "hi"}).status_code == 403
    assert desk.client.post(path, json={"text": "hi"},
                            headers={"X-CSRF-Token": "guess"}).status_code == 403
    assert desk.post(path, {"text": "hi"}).status_code == 200
    other = env.signed_in("desk2")  # another session's token does not fit
    assert other.client.post(path, json={"text": "x"},
                             headers={"X-CSRF-Token": desk.csrf}).status_code == 403


def test_an_integration_writes_with_the_api_token(env: Env) -> None:
    message = create_message(env.store, env.clinic, category="billing", subject="Invoice",
                             actor=Actor("assistant"))
    client = env.client()
    response = client.post(f"/app/api/messages/{message.message_id}/status",
                           json={"status": "done", "note": "paid"},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.json()["status"] == "done"
    assert response.json()["activity"][-1]["actor"] == "api"


def test_a_therapist_is_refused_a_billing_message_but_works_clinical_ones(env: Env) -> None:
    billing = create_message(env.store, env.clinic, category="billing",
                             subject="Question about my bill", actor=Actor("assistant"))
    clinical = create_message(env.store, env.clinic, category="clinical",
                              subject="Is swelling normal?", actor=Actor("assistant"))
    thera = env.signed_in("thera")
    inbox = thera.client.get("/app/messages").text
    assert "Is swelling normal?" in inbox and "Question about my bill" not in inbox
    page = thera.client.get(f"/app/messages/{billing.message_id}")
    assert page.status_code == 403 and "cannot open billing messages" in page.text
    for action, body in (("status", {"status": "done"}), ("comments", {"text": "x"}),
                         ("assign", {"username": "thera"})):
        refused = thera.post(f"/app/api/messages/{billing.message_id}/{action}", body)
        assert refused.status_code == 403, action
    assert thera.post(f"/app/api/messages/{clinical.message_id}/status",
                      {"status": "done"}).status_code == 200
    # nor can a billing message be handed to a therapist by someone who may see it
    boss = env.signed_in("boss")
    handed = boss.post(f"/app/api/messages/{billing.message_id}/assign", {"username": "thera"})
    assert handed.status_code == 422 and "does not work billing messages" in handed.text


def test_only_the_front_desk_and_admins_read_calls_and_only_admins_the_audit_log(
        env: Env) -> None:
    for user, calls, audit in (("desk", 200, 403), ("thera", 403, 403), ("bill", 403, 403),
                               ("boss", 200, 200)):
        client = env.signed_in(user).client
        assert client.get("/app/calls").status_code == calls, user
        assert client.get("/app/audit").status_code == audit, user
        assert client.get("/app/leads").status_code == calls, user


def test_pages_carry_headers_that_keep_them_out_of_frames_and_caches(env: Env) -> None:
    page = env.signed_in("desk").client.get("/app/")
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce and f'<script nonce="{nonce[1]}">' in page.text  # only the page's own script
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert page.headers["cache-control"] == "no-store"
