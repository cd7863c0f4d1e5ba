"""``voiceagent chat``: the front desk in text, interactive or from a script.

``voiceagent chat`` reads lines from the terminal and prints the replies. With
``--script LINES.txt`` each line of the file is one caller turn (blank lines and ``#``
comments are skipped; ``<silence>`` stands for a turn in which the caller said nothing), and
``--json`` prints every turn, tool call and the final stored state as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from voiceagent.dialog.protocol import (
    DialogEvent,
    EndCall,
    ReplyText,
    ToolCall,
    ToolResult,
    Transfer,
    UserTurn,
)

log = logging.getLogger(__name__)

SILENCE = "<silence>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``voiceagent chat``."""
    parser.add_argument("--script", type=Path, metavar="LINES.txt",
                        help="run a scripted conversation: one caller turn per line")
    parser.add_argument("--json", action="store_true",
                        help="print every turn, tool call and the final state as JSON")
    parser.add_argument("--clinic", type=Path, default=None,
                        help="clinic config (default: the one pipeline.yaml names)")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="database URL (default: the pipeline's, e.g. data/voiceagent.db)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None, metavar="ISO",
                        help="pretend it is this time (aware ISO datetime), for repeatable "
                        "scripts, e.g. 2026-11-23T10:00:00-06:00")
    parser.add_argument("--caller-id", default=None, metavar="NUMBER",
                        help="the number the conversation comes from, as a phone call carries "
                        "it (e.g. +16085550123)")
    parser.add_argument("--no-llm", action="store_true",
                        help="do not load the language model (router and templates only)")
    parser.add_argument("--capability", choices=["small", "capable"], default=None,
                        help="override models.llm.capability")


def build_chat_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``chat`` sub-command to an ``add_subparsers()`` object."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "chat", help="talk to the front desk in text (or run a script)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


# --- turning events into text and JSON --------------------------------------------------


def event_json(event: DialogEvent) -> dict[str, Any]:
    if isinstance(event, ReplyText):
        return {"type": "reply", "text": event.text, "content": event.content}
    if isinstance(event, ToolCall):
        return {"type": "tool_call", "name": event.name, "arguments": event.arguments}
    if isinstance(event, ToolResult):
        return {"type": "tool_result", "name": event.name, "ok": event.ok, "data": event.data,
                "reason": event.reason}
    if isinstance(event, Transfer):
        return {"type": "transfer", "target": event.target, "summary": event.summary,
                "warm": event.warm}
    return {"type": "end_call", "reason": event.reason}


def reply_text(events: Iterable[DialogEvent]) -> str:
    return " ".join(e.text for e in events if isinstance(e, ReplyText))


def read_script(path: Path) -> list[str]:
    """Caller turns from a script file (blank lines and # comments skipped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


# --- running a conversation -------------------------------------------------------------


class ChatRun:
    """One text conversation on a front desk, recorded in the store's call log."""

    def __init__(self, frontdesk: Any, channel: str = "chat",
                 caller_id: str | None = None) -> None:
        from voiceagent.clinic.calllog import StoreCallLog

        self.frontdesk = frontdesk
        self.call_log = StoreCallLog(frontdesk.store)
        self.call_id = self.call_log.open_call(channel, caller_id)
        self.dialog = frontdesk.dialog(channel=channel, call_id=self.call_id,
                                       call_log=self.call_log, caller_id=caller_id)
        self.silences = 0
        self.ended = False

    def greeting(self) -> list[DialogEvent]:
        return self._watch(self.dialog.greeting())

    def say(self, line: str) -> list[DialogEvent]:
        if line == SILENCE:
            self.silences += 1
            return self._watch(self.dialog.silence(self.silences))
        self.silences = 0
        return self._watch(self.dialog.respond(UserTurn(line)))

    def _watch(self, events: Iterator[DialogEvent]) -> list[DialogEvent]:
        out = list(events)
        if any(isinstance(e, EndCall | Transfer) for e in out) and not self.ended:
            self.ended = True
            self.call_log.close_call(self.call_id, self.dialog.state.outcome or "completed")
        return out

    def close(self) -> None:
        if not self.ended:
            left = getattr(self.dialog, "caller_left", None)
            if left is not None:
                left()
            self.ended = True
            self.call_log.close_call(self.call_id, self.dialog.state.outcome or "abandoned")

    def final_state(self) -> dict[str, Any]:
        """The conversation state and what the conversation left in the store."""
        from voiceagent.clinic.models import Appointment, Lead, Message, Patient

        state = self.dialog.state.to_dict()
        state.pop("history", None)
        stored: dict[str, Any] = {"appointments": [], "messages": [], "patient": None,
                                  "lead": None}
        with self.frontdesk.store.transaction() as session:
            for appt in session.scalars(select(Appointment).where(
                    Appointment.call_id == self.call_id).order_by(Appointment.id)):
                stored["appointments"].append({
                    "id": appt.id, "type": appt.appointment_type_id,
                    "provider": appt.provider_id, "start": appt.start.isoformat(),
                    "status": appt.status, "patient_id": appt.patient_id,
                    "lead_id": appt.lead_id,
                })
            for msg in session.scalars(select(Message).where(
                    Message.call_id == self.call_id).order_by(Message.id)):
                stored["messages"].append({
                    "id": msg.id, "category": msg.category, "priority": msg.priority,
                    "subject": msg.subject, "body": msg.body,
                    "callback_phone": msg.callback_phone,
                })
            booking = self.dialog.state.booking or {}
            patient_id = self.dialog.state.patient_id or next(
                (a["patient_id"] for a in stored["appointments"]), None)
            if patient_id is not None:
                p = session.get(Patient, patient_id)
                if p is not None:
                    stored["patient"] = {
                        "id": p.id, "first_name": p.first_name, "last_name": p.last_name,
                        "dob": p.dob.isoformat(), "phone": p.phone,
                        "coverages": [{"payer": c.payer_name, "member_id": c.member_id,
                                       "kind": c.kind} for c in p.coverages],
                        "referrals": [{"reason": r.reason} for r in p.referrals],
                    }
            lead_id = booking.get("lead_id")
            if lead_id is not None:
                lead = session.get(Lead, lead_id)
                if lead is not None:
                    stored["lead"] = {"id": lead.id, "stage": lead.stage,
                                      "channel": lead.channel}
        return {"call_id": self.call_id, "state": state, "stored": stored}


def run_script(frontdesk: Any, lines: list[str],
               caller_id: str | None = None) -> dict[str, Any]:
    """Run a scripted conversation; returns every turn's events and the final state."""
    chat = ChatRun(frontdesk, caller_id=caller_id)
    turns: list[dict[str, Any]] = [
        {"caller": None, "events": [event_json(e) for e in chat.greeting()]}]
    for line in lines:
        if chat.ended:
            break
        events = chat.say(line)
        turns.append({"caller": line, "events": [event_json(e) for e in events]})
    chat.close()
    return {"turns": turns, "final": chat.final_state()}


def _print_events(events: list[DialogEvent], out: TextIO, verbose: bool = True) -> None:
    text = reply_text(events)
    for e in events:
        if verbose and isinstance(e, ToolCall):
            print(f"  [tool] {e.name}({json.dumps(e.arguments, default=str)})", file=out)
        elif verbose and isinstance(e, ToolResult):
            status = "ok" if e.ok else f"refused: {e.reason}"
            print(f"  [tool] {e.name} -> {status}", file=out)
    if text:
        print(f"agent> {text}", file=out)
    for e in events:
        if isinstance(e, Transfer):
            print(f"  [transfer to {e.target}] {e.summary}", file=out)
        elif isinstance(e, EndCall):
            print(f"  [call ended: {e.reason}]", file=out)


def interactive(frontdesk: Any, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout,
                caller_id: str | None = None) -> int:
    chat = ChatRun(frontdesk, caller_id=caller_id)
    _print_events(chat.greeting(), out)
    try:
        while not chat.ended:
            print("you> ", end="", file=out, flush=True)
            line = stdin.readline()
            if not line:
                break
            line = line.strip() or SILENCE
            _print_events(chat.say(line), out)
    finally:
        chat.close()
    return 0


# --- the command ------------------------------------------------------------------------


def _load_frontdesk(args: argparse.Namespace) -> Any:
    from voiceagent.clinic.db import open_store
    from voiceagent.config.pipeline import PipelineConfig, load_pipeline
    from voiceagent.frontdesk.runtime import FrontDesk

    path: Path | None = getattr(args, "config", None)
    if path is None:
        path = Path("configs/pipeline.yaml")
    config = load_pipeline(path) if path.exists() else PipelineConfig()  # type: ignore[call-arg]
    updates: dict[str, Any] = {}
    if args.clinic is not None:
        updates["clinic"] = args.clinic
    if updates:
        config = config.model_copy(update=updates)
    url = args.database or config.database_url()
    llm = None
    if not args.no_llm:
        llm = _load_llm(config)
    frontdesk = FrontDesk.from_config(config, llm=llm, store=open_store(url))
    if args.capability:
        frontdesk.capability = args.capability
    if frontdesk.llm is None:
        frontdesk.capability = "small"
    if args.now is not None:
        fixed: datetime = args.now
        if fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=frontdesk.clinic.tz)
        frontdesk.clock = lambda: fixed
    return frontdesk


def _load_llm(config: Any) -> Any:
    from voiceagent.models.paths import ModelNotInstalled

    try:
        from voiceagent.llm.llama import LlamaLLM

        return LlamaLLM(config.models.llm)
    except (ImportError, ModelNotInstalled) as exc:
        print(f"note: running without the language model ({exc}); the router and templates "
              "still work. Use --no-llm to skip this check.", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    """``voiceagent chat``: returns the exit status."""
    frontdesk = _load_frontdesk(args)
    try:
        if args.script is not None:
            result = run_script(frontdesk, read_script(args.script), args.caller_id)
            if args.json:
                print(json.dumps(result, indent=2, default=str))
            else:
                for turn in result["turns"]:
                    if turn["caller"] is not None:
                        print(f"you> {turn['caller']}")
                    text = " ".join(e["text"] for e in turn["events"] if e["type"] == "reply")
                    if text:
                        print(f"agent> {text}")
                print(f"outcome: {result['final']['state']['outcome']}")
            return 0
        return interactive(frontdesk, caller_id=args.caller_id)
    finally:
        frontdesk.store.dispose()


run_chat = run
