"""The ``call`` front-end: an offline phone call from WAV files, through the real pipeline.

The caller's WAV(s) are played into a :class:`~voiceagent.speech.session.CallSession` frame by
frame: the first after the greeting, each further one after the agent finished its reply
(or ``barge_in_ms`` after the reply started, to interrupt it). Everything the agent said is
written as one WAV on the same timeline as the caller (silence where it was silent), and a
JSON report holds both sides' turns, tool calls, the latency trace and speculation counts.

``--fast`` runs on a virtual clock: silence nobody is working through is skipped, but while
a worker computes (STT, LLM, TTS) the clock runs in real time, so the timeline and every
latency figure are real processing time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from voiceagent.audio import g711
from voiceagent.audio.frames import frame_bytes, split_frames
from voiceagent.audio.wavfile import WavFormatError, read_wav, write_wav
from voiceagent.config.pipeline import PipelineConfig, default_pipeline_path, load_pipeline
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import Dialog, Transfer
from voiceagent.speech.events import DtmfDigit
from voiceagent.speech.latency import TurnLatency
from voiceagent.speech.memory_log import MemoryCallLog
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session import CallSession, SessionOptions

log = logging.getLogger("voiceagent.channels.file")


@dataclass
class FileChannel:
    """The ``ChannelIO`` of an offline call."""

    rate: int
    channel: str = "file"
    caller_id: str | None = "file"
    recording_path: str | None = None
    call_id: str | None = None
    ended_reason: str | None = None
    transfers: list[tuple[str, str]] = field(default_factory=list)
    blind_transfers: int = 0

    def end_call(self, reason: str) -> None:
        self.ended_reason = reason

    def transfer(self, request: Transfer) -> None:
        self.transfers.append((request.target, request.summary))
        self.blind_transfers += not request.warm


@dataclass(frozen=True)
class KeyPresses:
    """A caller turn made of keys (DTMF), one pressed every ``every_ms`` over silence."""

    keys: str
    every_ms: int = 200


@dataclass(frozen=True)
class CallScript:
    """What the caller plays and when."""

    # one per caller turn: int16 audio at the channel rate, or keys pressed
    segments: Sequence[np.ndarray | KeyPresses]
    gap_ms: int = 500  # pause between the agent's reply and the caller's next segment
    barge_in_ms: int | None = None  # start the next segment this long into the agent's reply
    tail_ms: int = 1000  # listen this long after the last reply
    max_s: float = 300.0  # safety stop on the call's media time
    codec: g711.Codec = "l16"  # pass both directions through G.711 like a phone line
    echo: float = 0.0  # gain of the agent's audio leaking back into the caller's (speakerphone)


@dataclass
class CallResult:
    agent_audio: bytes
    caller_audio: bytes
    duration_ms: float
    wall_s: float


def play_call(
    session: CallSession, channel: FileChannel, script: CallScript, fast: bool
) -> CallResult:
    """Drive ``session`` through ``script``; returns both sides' audio on one timeline."""
    frame_ms = session.frame_ms
    silence = bytes(frame_bytes(channel.rate, frame_ms))
    agent: list[bytes] = []
    caller: list[bytes] = []
    queue: list[tuple[bytes, str]] = []  # frames of the segment being played, key pressed
    next_segment = 0
    waiting_since: float | None = 0.0  # media ms when we started waiting for the agent
    turns_before = 0
    reply_started_at: float | None = None
    t0 = time.monotonic()
    session.start()
    tick = 0
    while True:
        now = tick * frame_ms
        if now >= script.max_s * 1000 or session.ended.is_set():
            break
        if not queue and waiting_since is not None:
            if next_segment < len(script.segments) and _caller_may_speak(
                session,
                script,
                now,
                waiting_since,
                turns_before,
                reply_started_at,
                first=next_segment == 0,
            ):
                queue = _caller_frames(script.segments[next_segment], script, channel.rate,
                                       frame_ms, silence)
                next_segment += 1
                waiting_since = None
                reply_started_at = None
                turns_before = session.stats.turns  # the endpoint may come before its end
            elif next_segment >= len(script.segments) and _finished(
                session, now, waiting_since, turns_before, script.tail_ms
            ):
                break
        frame, key = queue.pop(0) if queue else (silence, "")
        if not queue and waiting_since is None:  # the caller's turn was just played out
            waiting_since = now + frame_ms
        if key:
            session.key(DtmfDigit(key))
        if script.echo and agent:
            frame = _mix(frame, agent[-1], script.echo)
        session.feed(frame)
        out = session.read()
        if script.codec != "l16":
            out = g711.decode(g711.encode(out, script.codec), script.codec)
        if reply_started_at is None and waiting_since is not None and session.player.audible():
            if session.stats.turns > turns_before or next_segment == 0:
                reply_started_at = now
        caller.append(frame)
        agent.append(out)
        tick += 1
        if fast:
            if session.busy():
                time.sleep(frame_ms / 1000.0)
            elif session.has_jobs():
                time.sleep(0.001)  # let a waiting worker see what this frame changed
        else:
            delay = t0 + tick * frame_ms / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    if not session.ended.is_set():
        session.hangup()
    session.close()
    return CallResult(b"".join(agent), b"".join(caller), tick * frame_ms, time.monotonic() - t0)


def _caller_frames(segment: np.ndarray | KeyPresses, script: CallScript, rate: int,
                   frame_ms: int, silence: bytes) -> list[tuple[bytes, str]]:
    """One caller turn as frames, each with the key pressed just before it ("" for none)."""
    if isinstance(segment, KeyPresses):
        every = max(1, segment.every_ms // frame_ms)
        frames: list[tuple[bytes, str]] = []
        for key in segment.keys:
            frames.append((silence, key))
            frames.extend((silence, "") for _ in range(every - 1))
        return frames
    pcm = g711.decode(g711.encode(segment.astype("<i2").tobytes(), script.codec), script.codec)
    return [(frame, "") for frame in split_frames(pcm, rate, frame_ms)]


def _mix(frame: bytes, echo: bytes, gain: float) -> bytes:
    mixed = np.frombuffer(frame, "<i2").astype(np.int32) + (
        np.frombuffer(echo, "<i2").astype(np.float64) * gain
    ).astype(np.int32)
    return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()


def _caller_may_speak(
    session: CallSession,
    script: CallScript,
    now: float,
    waiting_since: float,
    turns_before: int,
    reply_started_at: float | None,
    first: bool,
) -> bool:
    if script.barge_in_ms is not None and not first and reply_started_at is not None:
        return now - reply_started_at >= script.barge_in_ms
    replied = first or session.stats.turns > turns_before
    if replied and session.agent_idle():
        # the agent finished: start after the gap (measured from when it went quiet)
        if session.idle_since_ms is None:
            return False
        return now - session.idle_since_ms >= script.gap_ms
    # the pause produced no turn (noise, a backchannel): do not wait for ever
    return not replied and now - waiting_since >= 8000 and session.agent_idle()


def _finished(
    session: CallSession, now: float, waiting_since: float, turns_before: int, tail_ms: int
) -> bool:
    if not session.agent_idle() or session.busy():
        return False
    idle = session.idle_since_ms
    if session.stats.turns > turns_before and idle is not None:
        return now - idle >= tail_ms
    return now - waiting_since >= max(8000, tail_ms)


# --------------------------------------------------------------------------- report


def build_report(
    session: CallSession, call_log: MemoryCallLog, result: CallResult, channel: FileChannel
) -> dict[str, Any]:
    """Both sides' transcript per turn, tool calls, latency traces and speculation counts."""
    call = call_log.calls[session.call_id]
    turns: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for index, turn in enumerate(call.turns):
        if turn.role == "caller":
            current = {"caller": turn.text, "agent": None, "latency_ms": None, "tool_calls": []}
            turns.append(current)
        elif current is not None and current["agent"] is None:
            current["agent"] = turn.text
            current["latency_ms"] = turn.latency
        else:
            turns.append(
                {"caller": None, "agent": turn.text, "latency_ms": turn.latency, "tool_calls": []}
            )
        for tool in call.tool_calls:
            if tool.after_turn == index and turns:
                turns[-1]["tool_calls"].append(
                    {"name": tool.name, "arguments": tool.arguments, "result": tool.result}
                )
    traces = [t.as_dict() for t in session.turn_traces]
    return {
        "call_id": session.call_id,
        "stored": call_log.write_through is not None,  # the call is in the clinic store too
        "outcome": call.outcome,
        "transfers": [{"target": t, "summary": s} for t, s in channel.transfers],
        "duration_ms": result.duration_ms,
        "wall_s": round(result.wall_s, 2),
        "channel_rate": channel.rate,
        "turns": turns,
        "latency": traces,
        "latency_summary": summarize_latency(traces),
        "stats": session.stats.as_dict(),
    }


def summarize_latency(traces: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """p50/min/max and count per stage over a call's turns (stages a turn reached)."""
    out: dict[str, dict[str, float]] = {}
    for stage in TurnLatency.STAGES:
        values = [t[stage] for t in traces if stage in t]
        if values:
            out[stage] = {
                "p50": round(float(np.median(values)), 1),
                "min": round(float(min(values)), 1),
                "max": round(float(max(values)), 1),
                "n": len(values),
            }
    return out


# --------------------------------------------------------------------------- CLI


DialogFactory = Callable[[PipelineConfig, PipelineResources], Dialog]


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``voiceagent call``."""
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        metavar="ISO",
        help="pretend it is this time (ISO datetime; clinic-local when no zone), so a voiced "
        "scenario runs against a fixed calendar, e.g. 2026-11-23T09:00:00-06:00",
    )
    parser.add_argument(
        "--wav",
        action="append",
        required=True,
        type=Path,
        metavar="CALLER.wav",
        help="caller audio; repeat for further turns",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="AGENT.wav",
        help="everything the agent said, on the caller's timeline",
    )
    parser.add_argument("--report", type=Path, required=True, metavar="REPORT.json")
    parser.add_argument(
        "--recording",
        type=Path,
        default=None,
        metavar="CALL.wav",
        help="also write both sides mixed, as a recorded phone call, and keep its path on "
        "the call record (staff play it in the workspace)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="skip idle time (latency figures stay real processing time)",
    )
    parser.add_argument(
        "--barge-in-ms",
        type=int,
        default=None,
        help="start each further WAV this long after the agent's first audio of its reply",
    )
    parser.add_argument(
        "--gap-ms", type=int, default=500, help="pause between the agent's reply and the next WAV"
    )
    parser.add_argument(
        "--codec",
        choices=["l16", "pcmu", "pcma"],
        default="l16",
        help="pass both directions through G.711 like a phone line",
    )
    parser.add_argument(
        "--rate",
        type=int,
        choices=[8000, 16000],
        default=None,
        help="channel rate (default: audio.channel_rate)",
    )
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="pipeline config (default: configs/pipeline.yaml)")
    parser.add_argument(
        "--dialog",
        choices=sorted(DIALOGS),
        default="frontdesk",
        help="frontdesk: the clinic's front desk (clinic file and store from the config); "
        "minimal: a small stand-in that needs neither",
    )


def load_config(path: Path) -> PipelineConfig:
    """``pipeline.yaml``; the built-in defaults when the default file is absent."""
    if not path.exists() and path == Path("configs/pipeline.yaml"):
        log.warning("event=config_default path=%s", path)
        return PipelineConfig()
    return load_pipeline(path)


def minimal_dialog(config: PipelineConfig, resources: PipelineResources) -> Dialog:
    from voiceagent.dialog.minimal import MinimalDialog

    return MinimalDialog(resources.llm)


def frontdesk_dialog(config: PipelineConfig, resources: PipelineResources) -> Dialog:
    from voiceagent.frontdesk.runtime import phone_dialog

    return phone_dialog(config, resources)


DIALOGS: dict[str, DialogFactory] = {"frontdesk": frontdesk_dialog, "minimal": minimal_dialog}


def run_call(args: argparse.Namespace, dialog_factory: DialogFactory | None = None) -> int:
    """``voiceagent call``: returns the exit status."""
    from voiceagent.config.errors import ConfigError
    from voiceagent.models.paths import ModelNotInstalled
    from voiceagent.speech.resources import load_resources

    try:
        config = load_config(getattr(args, "config", None) or default_pipeline_path())
        rate = args.rate or config.audio.channel_rate
        segments = [read_wav(p, rate)[0] for p in args.wav]
    except (ConfigError, WavFormatError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    options = SessionOptions()
    name = getattr(args, "dialog", "minimal")
    write_through: CallLog | None = None
    stop_store_monitor: Callable[[], None] | None = None
    dialog: Dialog
    try:
        if dialog_factory is None and name == "frontdesk":
            from voiceagent.serve import load_agent

            # the clinic's store, its vocabulary for the STT and the models, as `serve` has
            # them; the call is recorded in the store like a phone call
            agent = load_agent(config, progress=lambda _message: None)
            fixed: datetime | None = getattr(args, "now", None)
            if fixed is not None:
                if fixed.tzinfo is None:
                    fixed = fixed.replace(tzinfo=agent.frontdesk.clinic.tz)
                agent.frontdesk.clock = lambda: fixed  # type: ignore[assignment,return-value]
            resources, dialog = agent.resources, agent.frontdesk.dialog(channel="phone")
            write_through, stop_store_monitor = agent.call_log, agent.store_health.stop
        else:
            resources = load_resources(config)
            dialog = (dialog_factory or DIALOGS[name])(config, resources)
        resources.phrases.warm(options.phrases(), rate)
    except ModelNotInstalled as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a clinic file or database problem: say so, no traceback
        print(
            f"error: the {name} dialog could not start: {err} "
            "(`--dialog minimal` runs without clinic file and database)",
            file=sys.stderr,
        )
        return 2
    script = CallScript(
        segments=segments, gap_ms=args.gap_ms, barge_in_ms=args.barge_in_ms, codec=args.codec
    )
    try:
        return _play_and_report(args, config, rate, resources, dialog, options, script,
                                MemoryCallLog(write_through=write_through))
    finally:  # the LLM's thread and the store monitor end with the command
        resources.close()
        if stop_store_monitor is not None:
            stop_store_monitor()


def _play_and_report(args: argparse.Namespace, config: PipelineConfig, rate: int,
                     resources: PipelineResources, dialog: Dialog, options: SessionOptions,
                     script: CallScript, call_log: MemoryCallLog) -> int:
    recording = getattr(args, "recording", None)
    channel = FileChannel(rate=rate, recording_path=str(recording.resolve()) if recording else None)
    session = CallSession(resources, dialog, channel, call_log, config, options)
    result = play_call(session, channel, script, fast=args.fast)
    write_wav(args.out, result.agent_audio, rate)
    if recording is not None:
        both = np.frombuffer(result.agent_audio, "<i2").astype(np.int32) + np.frombuffer(
            result.caller_audio, "<i2"
        )
        write_wav(recording, np.clip(both, -32768, 32767).astype(np.int16), rate)
    report = build_report(session, call_log, result, channel)
    args.report.write_text(json.dumps(report, indent=2))
    stored = f"  call record: {session.call_id}" if report["stored"] else ""
    print(f"agent audio: {args.out}  report: {args.report}  turns: {len(report['turns'])}{stored}")
    return 0


# what voiceagent/cli.py looks for
add_arguments = add_call_arguments
run = run_call
