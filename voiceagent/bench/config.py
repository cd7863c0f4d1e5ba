"""``configs/bench.yaml``: the model matrix, the corpus and the runs of one benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from voiceagent.config.base import StrictModel
from voiceagent.config.yamlfile import read_yaml, validate

DEFAULT_DIALOG = "voiceagent.channels.file:frontdesk_dialog"

VoiceEngine = Literal["espeak", "piper"]


class VoiceSpec(StrictModel):
    """One synthetic caller voice: an espeak-ng voice (``en-us+f3``) or a Piper .onnx."""

    name: str = Field(..., pattern=r"^[a-z0-9_.+-]+$", description="label in file names")
    engine: VoiceEngine
    voice: str = Field(..., description="espeak-ng voice name, or Piper manifest id / .onnx path")
    speed: float = Field(1.0, gt=0.3, lt=3, description="espeak words/min scale or 1/length_scale")


class CorpusConfig(StrictModel):
    voices: list[VoiceSpec] = Field(
        default_factory=lambda: [
            VoiceSpec(name="espeak-us", engine="espeak", voice="en-us"),
            VoiceSpec(name="espeak-gb-f3", engine="espeak", voice="en-gb+f3", speed=0.9),
            VoiceSpec(name="piper-joe", engine="piper", voice="piper-joe-medium"),
        ],
        min_length=1,
    )
    utterances: int = Field(0, ge=0, description="0: all built-in utterances, else the first N")
    telephone: bool = Field(True, description="also make 8 kHz G.711 mu-law versions")
    lead_silence_s: float = Field(0.6, ge=0.1, description="silence before the caller speaks")
    tail_silence_s: float = Field(1.8, ge=0.5, description="silence after; must pass the endpoint")
    latency_turns: int = Field(
        8, ge=1, description="clips per model combination in the latency runs (WER uses all)"
    )


class MatrixEntry(StrictModel):
    """One STT/LLM/voice combination; empty fields keep pipeline.yaml's choice."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.+-]+$")
    stt: str | None = None
    llm: str | None = None
    tts: str | None = None


class ConcurrencyConfig(StrictModel):
    enabled: bool = True
    combos: int = Field(1, ge=0, description="sweep the first N matrix entries (0: all)")
    levels: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16], min_length=1)
    target_ms: float = Field(1000.0, gt=0, description="p95 first content audio to hold")
    turns_per_call: int = Field(3, ge=1, description="calls each simultaneous line places")
    min_levels: int = Field(2, ge=1, description="levels run even when the first misses the target")

    @model_validator(mode="after")
    def _ascending(self) -> ConcurrencyConfig:
        if sorted(set(self.levels)) != self.levels or self.levels[0] < 1:
            raise ValueError("levels must be distinct positive integers in ascending order")
        return self


class SipBenchConfig(StrictModel):
    enabled: bool = True
    peer: Literal["baresip", "sipp"] = "baresip"
    turns: int = Field(4, ge=1, description="clips played over SIP (first matrix entry)")


class BenchConfig(StrictModel):
    matrix: list[MatrixEntry] = Field(
        default_factory=lambda: [
            MatrixEntry(name="tiny-en", stt="whisper-tiny-en"),
            MatrixEntry(name="base", stt="whisper-base"),
        ],
        min_length=1,
    )
    corpus: CorpusConfig = CorpusConfig()
    concurrency: ConcurrencyConfig = ConcurrencyConfig()
    sip: SipBenchConfig = SipBenchConfig()
    baseline: Literal["naive", "none"] = "naive"
    dialog: str = Field(
        DEFAULT_DIALOG,
        description="factory (PipelineConfig, PipelineResources) -> Dialog answering the calls: "
        "the clinic's front desk by default; voiceagent.channels.file:minimal_dialog has the "
        "LLM phrase every reply (the slow case)",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA for STT and LLM when this build and machine have it"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> BenchConfig:
        names = [m.name for m in self.matrix]
        if len(set(names)) != len(names):
            raise ValueError(f"matrix names must be unique, got {names}")
        voices = [v.name for v in self.corpus.voices]
        if len(set(voices)) != len(voices):
            raise ValueError(f"corpus.voices names must be unique, got {voices}")
        return self


def load_bench_config(path: Path | None) -> BenchConfig:
    """``configs/bench.yaml`` when given (errors name file, key and line), else defaults."""
    if path is None:
        return BenchConfig()
    data, lines = read_yaml(Path(path))
    return validate(Path(path), data or {}, lines, BenchConfig)
