"""The systemd notifications: READY, watchdog pings only while healthy, STOPPING; nothing
at all outside systemd. A real datagram socket plays systemd's notify socket."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from voiceagent.sdnotify import Notifier

pytestmark = pytest.mark.unit


def notify_socket(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    return sock, path


def drain(sock: socket.socket, seconds: float) -> list[str]:
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
    return got


def test_ready_then_pings_only_while_healthy_then_stopping(tmp_path: Path) -> None:
    sock, path = notify_socket(tmp_path)
    healthy = {"yes": True}
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    notifier.ready("answering calls")
    notifier.start_watchdog(lambda: healthy["yes"])
    first = drain(sock, 0.5)
    assert first[0] == "READY=1\nSTATUS=answering calls"
    assert first.count("WATCHDOG=1") >= 3, "pings at half the watchdog interval"
    healthy["yes"] = False
    drain(sock, 0.15)
    assert "WATCHDOG=1" not in drain(sock, 0.5), "a wedged agent is left to the watchdog"
    notifier.stopping()
    assert drain(sock, 0.3) == ["STOPPING=1"]
    sock.close()


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert notifier.send("READY=1") is False
    notifier.start_watchdog(lambda: True)  # no thread, no error
