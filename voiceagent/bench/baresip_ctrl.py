"""baresip's ``ctrl_tcp`` wire format: JSON messages framed as netstrings (``LEN:JSON,``)."""

from __future__ import annotations

import json
from typing import Any


def encode_command(command: str, params: str = "") -> bytes:
    """One command as a netstring; the token echoes the command in baresip's response."""
    body = json.dumps({"command": command, "params": params, "token": command}).encode()
    return str(len(body)).encode() + b":" + body + b","


class NetstringReader:
    """Reassembles messages from the byte stream; feed it what ``recv`` returns."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The complete messages that ``chunk`` finished (a partial one waits for more)."""
        self._buf += chunk
        messages = []
        while b":" in self._buf:
            head, rest = self._buf.split(b":", 1)
            length = int(head)
            if len(rest) < length + 1:
                break
            body, self._buf = rest[:length], rest[length + 1 :]
            messages.append(json.loads(body))
        return messages
