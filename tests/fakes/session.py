"""Build a CallSession on fakes and play a scripted call through it (fast, virtual clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tests.fakes.speech import FakeSTT, FakeTTS, FakeVAD
from voiceagent.channels.file import CallResult, CallScript, FileChannel, play_call
from voiceagent.config.pipeline import EndpointingConfig, PipelineConfig
from voiceagent.dialog.protocol import Dialog
from voiceagent.speech.events import Listener
from voiceagent.speech.memory_log import LoggedCall, MemoryCallLog
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session import CallSession, SessionOptions
from voiceagent.speech.tts import PhraseCache

RATE = 8000


@dataclass
class FakeCall:
    session: CallSession
    log: MemoryCallLog
    channel: FileChannel
    stt: FakeSTT
    tts: FakeTTS
    result: CallResult

    @property
    def record(self) -> LoggedCall:
        return self.log.calls[self.session.call_id]

    def texts(self, role: str) -> list[str]:
        return [t.text for t in self.record.turns if t.role == role]


def fake_config(**endpointing: object) -> PipelineConfig:
    return PipelineConfig(endpointing=EndpointingConfig(**endpointing))  # type: ignore[arg-type]


def run_fake_call(
    dialog: Dialog,
    segments: Sequence[np.ndarray],
    config: PipelineConfig | None = None,
    barge_in_ms: int | None = None,
    options: SessionOptions | None = None,
    tail_ms: int = 500,
    max_s: float = 120.0,
    warm_fillers: bool = False,
    echo: float = 0.0,
    channel: FileChannel | None = None,
    tts: FakeTTS | None = None,
    listener: Listener | None = None,
) -> FakeCall:
    config = config or fake_config()
    stt, tts = FakeSTT(), tts or FakeTTS()
    resources = PipelineResources(stt=stt, tts=tts, phrases=PhraseCache(tts), vad_factory=FakeVAD)
    if warm_fillers:
        resources.phrases.warm(list((options or SessionOptions()).fillers), RATE)
    log = MemoryCallLog()
    channel = channel or FileChannel(rate=RATE)
    session = CallSession(resources, dialog, channel, log, config, options)
    if listener is not None:  # hears the call's events from the start
        session.events.subscribe(listener)
    attach = getattr(channel, "attach", None)
    if attach is not None:  # a channel that talks back to its session (transfer results)
        attach(session)
    script = CallScript(
        segments=segments,
        barge_in_ms=barge_in_ms,
        tail_ms=tail_ms,
        gap_ms=300,
        max_s=max_s,
        echo=echo,
    )
    result = play_call(session, channel, script, fast=True)
    return FakeCall(session, log, channel, stt, tts, result)
