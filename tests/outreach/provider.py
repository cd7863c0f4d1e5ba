"""A local SMS provider for the tests: speaks Twilio's and Telnyx's send-message REST APIs,
checks their authentication and payloads, and records what it accepted.

Twilio: POST /2010-04-01/Accounts/{sid}/Messages.json, HTTP basic (sid, auth token), form
To/From/Body -> 201 {"sid": "SM...", "status": "queued", ...}. Telnyx: POST /v2/messages,
Authorization: Bearer <key>, JSON from/to/text -> 200 {"data": {"id": ..., ...}}.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_SID = "AC" + "0" * 30 + "1a"
TWILIO_TOKEN = "twilio-test-auth-token"
TELNYX_KEY = "KEY0123456789TEST"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True)
class Delivered:
    provider: str
    to: str
    sender: str
    body: str
    message_id: str


class FakeProvider:
    def __init__(self) -> None:
        self.messages: list[Delivered] = []
        self.refused: list[tuple[int, str]] = []
        self.fail_next: list[int] = []  # HTTP statuses to answer the next requests with
        self.hold = threading.Event()  # when cleared, accepted requests wait (never answered)
        self.hold.set()
        self.received = threading.Event()
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, body = provider.handle(self.path, dict(self.headers.items()), raw)
                if status == 0:  # held: the connection stays open, no answer
                    provider.hold.wait()
                    status, body = 503, {"message": "held"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, to: str | None = None) -> list[str]:
        return [m.body for m in self.messages if to is None or m.to == to]

    def _refuse(self, status: int, why: str) -> tuple[int, dict[str, object]]:
        self.refused.append((status, why))
        return status, {"code": status, "message": why}

    def handle(self, path: str, headers: dict[str, str],
               raw: bytes) -> tuple[int, dict[str, object]]:
        headers = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            if self.fail_next:
                return self._refuse(self.fail_next.pop(0), "told to fail")
        if path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if headers.get("authorization") != f"Basic {expected}":
                return self._refuse(401, "twilio: bad credentials")
            if not headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                return self._refuse(400, "twilio: not a form")
            form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not (E164.match(to) and E164.match(sender)) or not body or len(body) > 1600:
                return self._refuse(400, "twilio: To/From/Body invalid")
            message_id = "SM" + uuid.uuid4().hex
            reply: dict[str, object] = {"sid": message_id, "status": "queued", "to": to,
                                        "from": sender, "body": body,
                                        "account_sid": TWILIO_SID}
            status, provider = 201, "twilio"
        elif path == "/v2/messages":
            if headers.get("authorization") != f"Bearer {TELNYX_KEY}":
                return self._refuse(401, "telnyx: bad credentials")
            try:
                payload = json.loads(raw)
            except ValueError:
                return self._refuse(400, "telnyx: not JSON")
            to, sender, body = payload.get("to", ""), payload.get("from", ""), payload.get(
                "text", "")
            if not (E164.match(to) and E164.match(sender)) or not body:
                return self._refuse(422, "telnyx: from/to/text invalid")
            message_id = str(uuid.uuid4())
            reply = {"data": {"id": message_id, "record_type": "message",
                              "direction": "outbound", "text": body,
                              "from": {"phone_number": sender},
                              "to": [{"phone_number": to, "status": "queued"}]}}
            status, provider = 200, "telnyx"
        else:
            return self._refuse(404, f"unknown path {path}")
        with self._lock:
            self.messages.append(Delivered(provider, to, sender, body, message_id))
        self.received.set()
        if not self.hold.is_set():
            return 0, {}
        return status, reply
