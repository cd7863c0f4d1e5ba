"""The raw measurements of a benchmark run: one :class:`TurnSample` per caller turn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PathName = Literal["file", "sip", "naive"]

# Figure name in the report -> field of voiceagent.speech.latency.TurnLatency.
STAGES: dict[str, str] = {
    "endpoint": "endpoint",
    "stt_final": "stt_final",
    "llm_first_token": "llm_first_token",
    "first_clause": "first_clause_ready",
    "tts_first_audio": "tts_first_audio",
    "first_audio": "first_audio_out",
    "first_content_audio": "first_content_audio_out",
}
PER_STAGE = tuple(STAGES)[:5]  # the pipeline's stages, in order
END_TO_END = tuple(STAGES)[5:]  # what the caller hears, stamped by the agent's media clock
# SIP path only: first agent audio at the agent's RTP media port (the endpoint's meter), and
# as heard by the phone (its own recordings: codec, RTP and both jitter buffers included)
WIRE = ("media_port_first_audio", "peer_first_audio")
STAGE_NAMES = (*PER_STAGE, *END_TO_END, *WIRE)


def stages_from_trace(trace: Mapping[str, Any]) -> dict[str, float]:
    """Report stage names from a ``TurnLatency.as_dict()`` (ms after the caller stopped)."""
    out: dict[str, float] = {}
    for name, key in STAGES.items():
        value = trace.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


@dataclass
class TurnSample:
    """One caller turn through one path: stage times in ms after the end of speech."""

    combo: str  # matrix entry name
    path: PathName
    clip: str
    voice: str
    band: str
    speech_s: float
    stages: dict[str, float]
    concurrency: int = 1
    call: int = 0  # which simultaneous call (0..concurrency-1)
    sweep: bool = False  # measured in the concurrency sweep (not the one-call latency runs)
    transcript: str | None = None
    llm_used: bool | None = None
    extra: dict[str, float] = field(default_factory=dict)  # path-specific (wire delay...)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def value(self, stage: str) -> float | None:
        return self.stages.get(stage)
