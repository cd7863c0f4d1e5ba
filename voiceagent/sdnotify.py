"""systemd's service notifications, without a dependency: READY=1 once the agent answers,
WATCHDOG=1 while it is healthy, STOPPING=1 on the way out (``sip/systemd/voiceagent.service``).

The watchdog ping is not a timer alone: it is sent only while ``healthy()`` says the process
still works (the SIP loop went round recently), so a wedged agent is restarted by systemd.
Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        self.address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        wanted = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_s = int(usec) / 1e6 if wanted else None
        self._stop = threading.Event()

    def send(self, message: str) -> bool:
        if self.address is None:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self.address)
            except OSError:
                return False
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self._stop.set()
        self.send("STOPPING=1")

    def start_watchdog(self, healthy: Callable[[], bool]) -> None:
        """Ping at half the watchdog interval while ``healthy()``; nothing without one."""
        if self.watchdog_s is None or self.address is None:
            return
        interval = self.watchdog_s / 2

        def run() -> None:
            while not self._stop.wait(interval):
                if healthy():
                    self.send("WATCHDOG=1")

        threading.Thread(target=run, name="sd-watchdog", daemon=True).start()
