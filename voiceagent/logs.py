"""Structured logging: one event per line, key=value (or JSON), no patient data in the text.

Call sites pass an event name and fields: ``log_event(log, "call.answered", call_id=cid)``.
Only identifiers and measurements belong in fields; transcripts, names, phone numbers and
dates of birth stay in the store, where access is audited.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_FIELDS = "voiceagent_fields"


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, _FIELDS, {})
        message = record.getMessage()
        base = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if self.as_json:
            line = json.dumps({**base, "event": message, **fields}, default=str)
        else:
            parts = [f"{k}={v}" for k, v in base.items()]
            # a message already written as key=value pairs ("event=call_end call_id=...")
            # stays as it is; free text becomes the event
            parts.append(message if message.startswith("event=") else f"event={_kv(message)}")
            parts += [f"{k}={_kv(v)}" for k, v in fields.items()]
            line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _kv(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return json.dumps(text) if (" " in text or "=" in text or not text) else text


def setup_logging(level: str = "INFO", fmt: str = "keyvalue") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json=fmt == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "uvicorn.access", "faster_whisper", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with structured ``fields`` (identifiers and numbers only)."""
    logger.log(level, event, extra={_FIELDS: fields})
