"""Calls through the real pipeline in process, on the session seam the file channel uses.

A caller line here is a channel of its own (``CallSession``'s docstring names the benchmark
as one): it owns the media clock and feeds 20 ms frames at wire speed. Each call waits for
the (short) greeting, plays its clips as caller turns and, for the last one, hangs up as soon
as the answer's first content audio is out: the rest of the reply measures nothing, and
hanging up keeps the run short. Wideband clips play on a 16 kHz channel; telephone clips,
already through G.711 mu-law, on an 8 kHz channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from voiceagent.audio.frames import frame_bytes, split_frames
from voiceagent.audio.wavfile import read_wav
from voiceagent.bench.corpus import Clip
from voiceagent.bench.dialogs import DialogFactory, short_greeting
from voiceagent.bench.samples import PathName, TurnSample, stages_from_trace
from voiceagent.channels.file import FileChannel
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.speech.memory_log import MemoryCallLog
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session import CallSession, SessionOptions

GAP_MS = 300  # caller's pause after the agent went quiet
TURN_LIMIT_S = 45.0  # give up on a turn whose answer never comes


def _answers(trace: dict[str, Any]) -> bool:
    """A trace of a released turn whose answer was heard (not a discarded speculation)."""
    return "endpoint" in trace and "first_audio_out" in trace


class CallStalled(RuntimeError):
    """The pipeline did not answer a turn in time; the run records it and goes on."""


@dataclass
class CallOutcome:
    clips: list[Clip]
    traces: list[dict[str, Any]]
    turns_per_clip: list[int]  # turns the endpointer found in each clip
    caller_texts: list[str]
    agent_texts: list[str]
    wall_s: float
    stats: dict[str, int] = field(default_factory=dict)

    def caller_text(self) -> str:
        return " ".join(t for t in self.caller_texts if t)


class _Line:
    """The media clock of one call: feed a frame, read a frame, sleep to wire time."""

    def __init__(self, session: CallSession, rate: int) -> None:
        self.session = session
        self.rate = rate
        self.frame_ms = session.frame_ms
        self.silence = bytes(frame_bytes(rate, self.frame_ms))
        self.t0 = time.monotonic()
        self.tick = 0

    def step(self, frame: bytes | None = None) -> None:
        self.session.feed(frame or self.silence)
        self.session.read()
        self.tick += 1
        delay = self.t0 + self.tick * self.frame_ms / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def wait(self, done: Any, limit_s: float) -> bool:
        deadline = self.tick + int(limit_s * 1000 / self.frame_ms)
        while self.tick < deadline:
            if self.session.ended.is_set():
                return False
            if done():
                return True
            self.step()
        return False


@dataclass
class FileCallRunner:
    """Places benchmark calls on one set of loaded models (thread-safe: one call per thread)."""

    config: PipelineConfig
    resources: PipelineResources
    dialog_factory: DialogFactory
    options: SessionOptions = field(default_factory=SessionOptions)

    def call(self, clips: Sequence[Clip]) -> CallOutcome:
        """One call in which the caller says ``clips`` in turn (all of one band)."""
        if len({c.rate for c in clips}) != 1:
            raise ValueError("all clips of one call must share a sample rate (one band)")
        rate = clips[0].rate
        dialog = short_greeting(self.dialog_factory(self.config, self.resources))
        call_log = MemoryCallLog()
        channel = FileChannel(rate=rate, caller_id="bench")
        session = CallSession(self.resources, dialog, channel, call_log, self.config, self.options)
        line = _Line(session, rate)
        turns_per_clip: list[int] = []
        t0 = time.monotonic()
        session.start()
        try:
            for clip in clips:
                if not line.wait(session.agent_idle, TURN_LIMIT_S):
                    raise CallStalled(f"agent never went quiet before clip {clip.id}")
                for _ in range(GAP_MS // line.frame_ms):
                    line.step()
                turns_before = session.stats.turns
                barge_ins_before = session.stats.barge_ins
                traces_before = len(session.turn_traces)
                pcm = read_wav(clip.path, rate)[0].astype("<i2").tobytes()

                def answered(
                    tb: int = turns_before, bb: int = barge_ins_before, cb: int = traces_before
                ) -> bool:
                    # every turn the endpointer closed has logged its trace (the session
                    # does so once the answer's first content audio is out), except
                    # replies a later part of the same clip barged into
                    turns = session.stats.turns - tb
                    interrupted = session.stats.barge_ins - bb
                    logged = session.turn_traces[cb:]
                    return (
                        turns > 0
                        and len(logged) >= max(1, turns - interrupted)
                        and _answers(logged[-1].as_dict())
                        and not session.endpointer.in_turn
                    )

                speech_over_ms = 1000.0 * (clip.lead_s + clip.speech_s)
                for number, frame in enumerate(split_frames(pcm, rate, line.frame_ms)):
                    # the clip's tail is silence: once the answer is out, stop feeding it
                    if number * line.frame_ms > speech_over_ms and answered():
                        break
                    line.step(frame)

                done = line.wait(answered, TURN_LIMIT_S)
                turns_per_clip.append(session.stats.turns - turns_before)
                if not done:
                    break
        finally:
            session.hangup()
            session.close()
        call = call_log.calls.get(session.call_id)
        caller = [t.text for t in call.turns if t.role == "caller"] if call else []
        agent = [t.text for t in call.turns if t.role == "agent"] if call else []
        return CallOutcome(
            clips=list(clips),
            traces=[t.as_dict() for t in session.turn_traces],
            turns_per_clip=turns_per_clip,
            caller_texts=caller,
            agent_texts=agent,
            wall_s=time.monotonic() - t0,
            stats=session.stats.as_dict(),
        )


def samples_from_call(
    outcome: CallOutcome,
    combo: str,
    path: PathName,
    concurrency: int = 1,
    call: int = 0,
    sweep: bool = False,
) -> list[TurnSample]:
    """One sample per clip. When the pipeline split a clip into several turns (a pause
    inside the utterance longer than the endpoint silence), the clip's sample is its last
    turn, the one that answers the whole utterance; ``extra.turns_detected`` says so."""
    traces = [t for t in outcome.traces if _answers(t)]
    samples: list[TurnSample] = []
    if len(outcome.clips) == 1:
        detected = outcome.turns_per_clip[0] if outcome.turns_per_clip else 0
        pairs = [(outcome.clips[0], traces[-1] if traces else None, detected)]
    elif len(traces) == len(outcome.clips):
        pairs = [(clip, trace, 1) for clip, trace in zip(outcome.clips, traces, strict=True)]
    else:  # turns do not line up with clips: keep every trace, attributed to the call
        joined = outcome.clips[0]
        pairs = [(joined, trace, len(traces)) for trace in traces]
    for clip, trace, detected in pairs:
        if trace is None:
            continue
        samples.append(
            TurnSample(
                combo=combo,
                path=path,
                clip=clip.id,
                voice=clip.voice,
                band=clip.band,
                speech_s=clip.speech_s,
                stages=stages_from_trace(trace),
                concurrency=concurrency,
                call=call,
                sweep=sweep,
                transcript=outcome.caller_text() if len(outcome.clips) == 1 else None,
                llm_used=bool(trace.get("llm_used")) if "llm_used" in trace else None,
                extra={
                    "turns_detected": float(detected),
                    "speculative": float(trace.get("speculative", 0.0)),
                },
            )
        )
    return samples


def run_simultaneous(
    runner: FileCallRunner, calls: Sequence[Sequence[Sequence[Clip]]], stagger_s: float
) -> list[list[CallOutcome]]:
    """Run ``len(calls)`` caller lines at once, in real time; line ``i`` places the calls
    ``calls[i]`` one after the other and starts ``i * stagger_s`` after the first."""
    results: list[list[CallOutcome]] = [[] for _ in calls]
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def line(index: int) -> None:
        try:
            start.wait()
            time.sleep(index * stagger_s)
            for clips in calls[index]:
                results[index].append(runner.call(clips))
        except CallStalled:
            pass  # this line's remaining calls are lost; the level has fewer samples
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)

    threads = [
        threading.Thread(target=line, args=(i,), name=f"bench-line-{i}", daemon=True)
        for i in range(len(calls))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
