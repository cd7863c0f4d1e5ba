"""Calls left open by a process that died (SIGKILL, OOM, a pjsua abort) are closed at the next
start, and their callers are not forgotten: each gets a callback message for the front desk
built from what the call had learned (its turns are committed as they happen).

Which calls were whose: every process keeps a marker file per live call in a folder of its
own under ``<data_dir>/live-calls``, holding an advisory lock on that folder for as long as it
runs. The kernel drops the lock when the process dies, however it dies, so a folder whose lock
can be taken belongs to a dead process, and only its calls are closed (another node sharing the
database, or another live process on this host, keeps its calls).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from voiceagent.clinic import audit
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.clinic.errors import InvalidInput
from voiceagent.clinic.messages import create_message
from voiceagent.clinic.models import Call, CallTurn, utcnow
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

CRASHED = "agent_crashed"
_ACTOR = Actor("recovery")


class LiveCalls:
    """This process's markers: one empty file per call it has open."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.dir = root / f"{os.getpid()}-{os.urandom(4).hex()}"
        self.dir.mkdir()
        self._lock = open(self.dir / "lock", "w")  # noqa: SIM115 (held for the process's life)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def opened(self, call_id: str) -> None:
        (self.dir / call_id).touch()

    def closed(self, call_id: str) -> None:
        (self.dir / call_id).unlink(missing_ok=True)

    def release(self) -> None:
        """A clean stop: nothing of ours is left to recover."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self._lock.close()


def _dead_owner_dirs(root: Path) -> list[Path]:
    dead = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        lock_path = folder / "lock"
        try:
            with open(lock_path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
        except BlockingIOError:
            continue  # a live process holds it
        except OSError:
            pass  # no lock file: its owner never got going
        dead.append(folder)
    return dead


@dataclass(frozen=True)
class Recovered:
    call_id: str
    message_id: int | None


def recover_crashed_calls(store: Store, clinic: ClinicConfig, root: Path) -> list[Recovered]:
    """Close the calls of dead processes (outcome ``agent_crashed``, ended at their last turn)
    and leave the front desk a callback message for each caller who had said anything."""
    recovered = []
    for folder in _dead_owner_dirs(root):
        for marker in sorted(folder.iterdir()):
            if marker.name == "lock":
                continue
            result = _recover_call(store, clinic, marker.name)
            if result is not None:
                recovered.append(result)
        shutil.rmtree(folder, ignore_errors=True)
    if recovered:
        log_event(log, "calls.recovered_after_crash", logging.WARNING, count=len(recovered),
                  messages=sum(1 for r in recovered if r.message_id is not None))
    return recovered


def _recover_call(store: Store, clinic: ClinicConfig, call_id: str) -> Recovered | None:
    with store.transaction() as session:
        call = session.get(Call, call_id)
        if call is None or call.outcome is not None:
            return None
        last = session.scalar(select(func.max(CallTurn.at)).where(CallTurn.call_id == call_id))
        turns = [(t.role, t.text) for t in call.turns]
        caller_id, patient_id, channel = call.caller_id, call.patient_id, call.channel
        session.execute(update(Call).where(Call.id == call_id)
                        .values(outcome=CRASHED, ended_at=last or call.started_at or utcnow()))
        audit.record(session, _ACTOR, "close", "call", call_id)
    said = [text for role, text in turns if role in ("caller", "user") and text.strip()]
    if not said:
        return Recovered(call_id, None)
    return Recovered(call_id, _leave_message(store, clinic, call_id, caller_id, patient_id,
                                             channel, turns))


def _callback_number(caller_id: str | None, turns: list[tuple[str, str]]) -> str | None:
    candidates = []
    if caller_id:
        user = re.sub(r"^.*?sips?:", "", caller_id).split("@", 1)[0]
        candidates.append(user)
    candidates += [m.group(0) for _role, text in turns
                   for m in re.finditer(r"\+?\d[\d\s().-]{8,}\d", text)]
    for candidate in candidates:
        digits = re.sub(r"[^\d+]", "", candidate)
        if len(digits.lstrip("+")) >= 10:
            return digits
    return None


def _leave_message(store: Store, clinic: ClinicConfig, call_id: str, caller_id: str | None,
                   patient_id: int | None, channel: str,
                   turns: list[tuple[str, str]]) -> int | None:
    categories = [c.id for c in clinic.message_categories]
    if not categories:
        return None
    category = "callback" if "callback" in categories else categories[0]
    transcript = "\n".join(f"{'Caller' if role in ('caller', 'user') else 'Agent'}: {text}"
                           for role, text in turns)
    body = ("This call was cut off when the agent stopped unexpectedly. Please call the "
            f"caller back. What was said ({channel}):\n{transcript}")
    actor = Actor("recovery", call_id)
    phone = _callback_number(caller_id, turns)
    for callback in (phone, None):
        try:
            info = create_message(store, clinic, category=category, actor=actor,
                                  subject="Call cut off: please call back", body=body,
                                  priority="high", callback_phone=callback,
                                  patient_id=patient_id)
            return info.message_id
        except InvalidInput:
            continue  # a number that does not parse: leave the message without it
    return None
