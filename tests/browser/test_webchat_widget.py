"""The chat snippet in a real Chromium: embedded on an allowed site it opens a chat with the
assistant notice and greeting; embedded on any other site it gets nothing from the agent."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn
from sqlalchemy import func, select

from tests.frontdesk.conftest import MONDAY_10AM, make_clinic
from voiceagent.clinic.db import open_store
from voiceagent.clinic.models import Call
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk

pytestmark = [pytest.mark.browser, pytest.mark.slow]
KEY = "pk_riverside_1234"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site(agent_port: int) -> ThreadingHTTPServer:
    """A clinic website on its own origin that embeds the snippet."""
    page = (f'<!doctype html><html><body><h1>Clinic site</h1>'
            f'<script src="http://127.0.0.1:{agent_port}/webchat/widget.js" data-key="{KEY}" '
            f'data-open="true" async></script></body></html>').encode()

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    server = ThreadingHTTPServer(("127.0.0.1", _port()), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def agent(tmp_path) -> Iterator[tuple[int, FrontDesk, list[int]]]:
    from voiceagent.api.app import create_app

    agent_port = _port()
    sites = [_site(agent_port), _site(agent_port)]
    allowed, other = (s.server_address[1] for s in sites)
    store = open_store(f"sqlite:///{tmp_path / 'agent.db'}")
    frontdesk = FrontDesk(store, make_clinic(), clock=lambda: MONDAY_10AM)
    config = PipelineConfig.model_validate({"webchat": {
        "enabled": True, "site_key": KEY, "allowed_origins": [f"http://127.0.0.1:{allowed}"]}})
    server = uvicorn.Server(uvicorn.Config(create_app(config, frontdesk=frontdesk),
                                           host="127.0.0.1", port=agent_port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield agent_port, frontdesk, [allowed, other]
    finally:
        server.should_exit = True
        thread.join(10)
        for site in sites:
            site.shutdown()
        store.dispose()


def _dom(url: str, profile) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_the_snippet_chats_on_an_allowed_site_and_nowhere_else(agent, tmp_path):
    _agent_port, frontdesk, (allowed, other) = agent
    dom = _dom(f"http://127.0.0.1:{allowed}/", tmp_path / "p1")
    assert 'id="va-chat-btn"' in dom
    assert ("You are chatting with Riverside Physical Therapy's automated assistant, "
            "not a person.") in dom.replace("&#39;", "'")
    assert "How can I help you today?" in dom

    dom = _dom(f"http://127.0.0.1:{other}/", tmp_path / "p2")
    assert 'id="va-chat-btn"' in dom and "The chat is unavailable right now." in dom
    assert "automated assistant, not a person" not in dom
    with frontdesk.store.transaction() as session:
        assert session.scalar(select(func.count(Call.id))) == 1
