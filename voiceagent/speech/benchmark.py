"""Latency and memory benchmark of the speech pipeline on this machine's bundled models.

    python -m voiceagent.speech.benchmark [--turns 6] [--rate 8000] [--json out.json]

Caller utterances are generated with espeak-ng, played through a real CallSession (file
channel, virtual clock: idle time skipped, processing time real), and the per-turn traces are
summarized: p50/min/max of each stage after the end of caller speech, speculation counts,
LLM time to first token with and without the reused system-prompt state, and process RSS
with every model loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

UTTERANCES = [
    "What are your opening hours?",
    "Do you have parking for patients?",
    "I have a question about my bill.",
    "Can you tell me if you take Blue Cross insurance?",
    "My knee hurts after running, what should I do?",
    "Where is the clinic located?",
    "Is Doctor Patel working on Friday?",
    "How long is a first visit?",
]


def _espeak(text: str, path: Path, rate: int) -> Any:
    from voiceagent.audio.wavfile import read_wav

    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed to make caller audio: apt-get install espeak-ng")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
    return read_wav(path, rate)[0]


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure_ttft(llm: Any, runs: int = 3) -> dict[str, float]:
    """LLM time to first token (ms, min of runs), system prompt state reused vs recomputed."""
    from voiceagent.dialog.minimal import SYSTEM_PROMPT
    from voiceagent.llm.protocol import ChatMessage

    inner = getattr(llm, "inner", llm)
    system = ChatMessage("system", SYSTEM_PROMPT.format(clinic="Riverside Physical Therapy"))
    out: dict[str, float] = {}
    for reuse in (False, True):
        inner.reuse_prefix = reuse
        times = []
        for i in range(runs):
            msgs = [system, ChatMessage("user", f"Question number {i}: do you open on Sunday?")]
            start = time.perf_counter()
            for _ in inner.stream(msgs, max_tokens=1, temperature=0.0):
                break
            times.append((time.perf_counter() - start) * 1000)
        out["ttft_ms_reused" if reuse else "ttft_ms_cold"] = round(min(times), 1)
    inner.reuse_prefix = True
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--rate", type=int, choices=[8000, 16000], default=8000)
    parser.add_argument("--config", type=Path, default=Path("configs/pipeline.yaml"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from voiceagent.channels.file import (
        CallScript,
        FileChannel,
        load_config,
        play_call,
        summarize_latency,
    )
    from voiceagent.dialog.minimal import MinimalDialog
    from voiceagent.speech.memory_log import MemoryCallLog
    from voiceagent.speech.resources import load_resources
    from voiceagent.speech.session import CallSession, SessionOptions

    config = load_config(args.config)
    rss_before = _rss_mb()
    start = time.perf_counter()
    resources = load_resources(config)
    options = SessionOptions()
    resources.phrases.warm(options.phrases(), args.rate)
    load_s = time.perf_counter() - start
    ttft = measure_ttft(resources.llm) if resources.llm is not None else {}

    with tempfile.TemporaryDirectory() as tmp:
        texts = (UTTERANCES * ((args.turns // len(UTTERANCES)) + 1))[: args.turns]
        segments = [_espeak(t, Path(tmp) / f"u{i}.wav", args.rate) for i, t in enumerate(texts)]
    channel = FileChannel(rate=args.rate)
    call_log = MemoryCallLog()
    session = CallSession(
        resources, MinimalDialog(resources.llm), channel, call_log, config, options
    )
    play_call(session, channel, CallScript(segments, gap_ms=400), fast=True)
    rss_after = _rss_mb()
    traces = [t.as_dict() for t in session.turn_traces]
    stages = summarize_latency(traces)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "models": {
            "stt": config.models.stt.model,
            "llm": config.models.llm.model,
            "tts": config.models.tts.voice,
        },
        "channel_rate": args.rate,
        "load_s": round(load_s, 2),
        "rss_mb": {"before_load": round(rss_before), "after_call": round(rss_after)},
        "llm": ttft,
        "turns": len(traces),
        "latency_ms_after_speech_end": stages,
        "stats": session.stats.as_dict(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
