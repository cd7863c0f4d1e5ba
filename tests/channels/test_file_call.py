"""``voiceagent call`` end to end on the bundled models (Whisper, SmolLM2, Piper)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.espeak import say, say_in_chunks
from tests.fast_models import FAST_LLM, FAST_LLM_MODELS
from voiceagent.audio.wavfile import read_wav
from voiceagent.channels.file import (
    CallScript,
    FileChannel,
    add_call_arguments,
    play_call,
    run_call,
)
from voiceagent.clinic.calllog import StoreCallLog
from voiceagent.clinic.db import open_store
from voiceagent.config.pipeline import PipelineConfig, load_pipeline
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.speech.latency import TurnLatency
from voiceagent.speech.memory_log import MemoryCallLog
from voiceagent.speech.resources import load_resources
from voiceagent.speech.session import CallSession, SessionOptions

pytestmark = pytest.mark.models

RATE = 8000


@pytest.fixture(scope="module")
def resources():
    res = load_resources(PipelineConfig.model_validate({"models": FAST_LLM_MODELS}))
    res.phrases.warm(SessionOptions().phrases(), RATE)
    yield res
    res.close()


def run(resources, dialog, segments, barge_in_ms=None, config=None, options=None):
    config = config or PipelineConfig.model_validate({"models": FAST_LLM_MODELS})
    log = MemoryCallLog()
    channel = FileChannel(rate=RATE)
    session = CallSession(resources, dialog, channel, log, config, options)
    result = play_call(
        session, channel, CallScript(segments, barge_in_ms=barge_in_ms, codec="pcmu"), fast=True
    )
    return session, log.calls[session.call_id], result


def call_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_call_arguments(parser)
    return parser.parse_args(list(argv))


def test_call_command_writes_transcript_agent_speech_and_a_full_latency_trace(tmp_path):
    caller = tmp_path / "caller.wav"
    say("I would like to book an appointment for my knee", caller)
    args = call_args(
        "--wav", str(caller), "--out", str(tmp_path / "agent.wav"),
        "--report", str(tmp_path / "report.json"), "--fast",
        "--config", str(tmp_path / "absent.yaml"), "--dialog", "minimal",
    )
    (tmp_path / "absent.yaml").write_text(f"models:\n  llm:\n    max_reply_tokens: 32\n"
                                          f"    model: {FAST_LLM}\n")
    assert run_call(args) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    [turn] = report["turns"][-1:]
    assert {"book", "appointment"} <= set(turn["caller"].lower().strip(".").split())
    assert "phone number" in turn["agent"]
    for stage in TurnLatency.STAGES:
        assert turn["latency_ms"][stage] is not None, stage
    assert report["stats"]["speculations"] >= 1
    agent, rate = read_wav(tmp_path / "agent.wav")
    assert rate == 16000
    loud = np.abs(agent.reshape(-1, rate // 50)).max(axis=1) > 2000
    assert loud.sum() * 20 > 2000  # greeting and answer: seconds of speech


def test_call_answered_by_the_front_desk_lands_in_the_clinic_store(tmp_path):
    caller = tmp_path / "caller.wav"
    say("I would like to book an appointment for my knee", caller)
    config = tmp_path / "pipeline.yaml"
    clinic = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nclinic: {clinic}\n"
                      f"models: {{llm: {{model: {FAST_LLM}}}}}\n")
    report_path = tmp_path / "report.json"
    args = call_args("--wav", str(caller), "--out", str(tmp_path / "agent.wav"),
                     "--report", str(report_path), "--fast", "--config", str(config))
    assert run_call(args) == 0  # the front desk is the default dialog
    report = json.loads(report_path.read_text())
    assert report["stored"] is True
    store = open_store(load_pipeline(config).database_url())
    try:
        record = StoreCallLog(store).get_call(report["call_id"])
    finally:
        store.dispose()
    assert record is not None and record.outcome and record.ended_at is not None
    said_by_caller = [text for role, text, _ in record.turns if role == "caller"]
    assert "appointment" in said_by_caller[-1].lower()
    traces = [latency for role, _, latency in record.turns if role == "agent" and latency]
    assert traces and all(traces[-1].get(stage) is not None for stage in TurnLatency.STAGES)
    # the front desk's reply was prepared in the pause, its effects held for the endpoint
    assert report["stats"]["speculations_used"] >= 1


def test_barge_in_stops_the_agent_and_trims_what_it_did_not_say(resources, tmp_path):
    dialog = MinimalDialog(resources.llm)
    dialog.hours = (
        "We are open Monday to Friday from eight in the morning until six in the "
        "evening, and on Saturday mornings from nine until noon, except holidays."
    )
    first = say("What are your opening hours?", tmp_path / "a.wav", RATE)
    second = say("Sorry, I need to book an appointment", tmp_path / "b.wav", RATE)
    # no filler: the barge-in offset then counts from the start of the answer itself
    session, call, _ = run(
        resources, dialog, [first, second], barge_in_ms=1500, options=SessionOptions(fillers=())
    )
    assert session.stats.barge_ins == 1
    said = [m.content for m in dialog.state.history if m.role == "assistant"]
    hours_reply = said[1]
    assert hours_reply and dialog.hours.startswith(hours_reply)
    assert len(hours_reply) < len(dialog.hours) / 2
    callers = [t.text.lower() for t in call.turns if t.role == "caller"]
    assert "appointment" in callers[-1]


def test_endpointing_waits_through_a_phone_number_read_in_groups(resources, tmp_path):
    dialog = MinimalDialog(resources.llm)
    ask = say("I want to book an appointment", tmp_path / "a.wav", RATE)
    number = say_in_chunks(
        ["six one seven", "two one three", "four four seven eight"],
        tmp_path / "n.wav",
        pause_ms=700,
        rate=RATE,
    )
    session, call, _ = run(resources, dialog, [ask, number])
    callers = [t.text for t in call.turns if t.role == "caller"]
    assert len(callers) == 2, callers
    # one turn holds all three groups (the STT may still mishear a digit or two)
    digits = "".join(c for c in callers[1] if c.isdigit())
    assert len(digits) >= 8, callers[1]
    assert digits.startswith("61") and "213" in digits and "44" in digits, callers[1]
