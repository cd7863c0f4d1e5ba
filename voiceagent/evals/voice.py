"""The phone path of the eval: a scenario's lines spoken by a generated voice, through G.711
at 8 kHz, into the real speech pipeline (VAD, endpointing, Whisper, the front desk, Piper),
as ``voiceagent call --codec pcmu`` plays them; then the same checks as the text path."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceagent.audio.resample import resample
from voiceagent.bench.corpus import Synth, band_limit, level, trim_silence
from voiceagent.channels.file import CallScript, FileChannel, play_call
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import open_store
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.evals.runner import ScenarioResult, Turn, check, seed
from voiceagent.evals.scenario import Scenario
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session import CallSession, SessionOptions

PHONE_RATE = 8000


@dataclass
class PhoneCall:
    """What the checks read of a call (the text path's ChatRun has the same names)."""

    call_id: str
    dialog: Any
    frontdesk: FrontDesk


def speak(synth: Synth, text: str, rate: int = PHONE_RATE) -> np.ndarray:
    """One caller line as a phone line carries it: trimmed, levelled, band-limited, 8 kHz."""
    samples, native = synth(text)
    wide = resample(level(trim_silence(samples)), native, 16000)
    return resample(band_limit(wide, 16000), 16000, rate)


def run_voiced(scenario: Scenario, clinic: ClinicConfig, workdir: Path,
               resources: PipelineResources, config: PipelineConfig, synth: Synth,
               capability: str = "small") -> ScenarioResult:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"{scenario.id}.voice.db"
    db.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    try:
        known = seed(store, clinic, scenario.given)
        now = scenario.now
        frontdesk = FrontDesk(store=store, clinic=clinic, llm=resources.llm,
                              capability=capability,  # type: ignore[arg-type]
                              clock=lambda: now)
        call_log = StoreCallLog(store)
        dialog = frontdesk.dialog(channel="phone")
        channel = FileChannel(rate=PHONE_RATE)
        session = CallSession(resources, dialog, channel, call_log, config, SessionOptions())
        segments = [speak(synth, line) for line in scenario.lines]
        play_call(session, channel, CallScript(segments=segments, codec="pcmu"), fast=True)
        session.ended.wait(5.0)
        session.close()
        record = call_log.get_call(session.call_id)
        turns = [Turn(None if role == "agent" else text, text if role == "agent" else "")
                 for role, text, _latency in (record.turns if record else [])]
        calls = record.tool_calls if record else []
        tools = [name for name, _args, _result in calls]
        if any(name == "transfer_call" and (result or {}).get("ok") for name, _a, result in calls):
            tools.append("<transfer>")
        if turns and tools:
            turns[-1].tools = tools  # the checks count them; where they fell does not matter
        call = PhoneCall(session.call_id, dialog, frontdesk)
        checks = check(scenario.expect, store, call, turns, known,  # type: ignore[arg-type]
                       session.ended.is_set())
        outcome, error = dialog.state.outcome, None
    except Exception as exc:  # a crash is a failed scenario, with its reason
        checks, outcome, error, turns = [], None, f"{type(exc).__name__}: {exc}", []
    finally:
        store.dispose()
    return ScenarioResult(scenario.id, scenario.category, scenario.safety_critical, checks,
                          turns, outcome, time.perf_counter() - started, error)
