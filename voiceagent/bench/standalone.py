"""Each model on its own: STT word error rate and real-time factor over the whole corpus,
TTS real-time factor, LLM first-token time and tokens per second."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from voiceagent.bench.corpus import Clip, load_clip_audio
from voiceagent.bench.stats import summarise
from voiceagent.bench.wer import WerScore, score
from voiceagent.llm.protocol import LLM, ChatMessage
from voiceagent.speech.stt import STT, STT_RATE
from voiceagent.speech.tts import TTS

Tick = Callable[[], None]


@dataclass(frozen=True)
class SttSample:
    clip: str
    voice: str
    band: str
    reference: str
    hypothesis: str
    errors: int
    words: int
    decode_ms: float
    audio_ms: float

    @property
    def rtf(self) -> float:
        return self.decode_ms / self.audio_ms if self.audio_ms else 0.0


def _wer_dict(s: WerScore) -> dict[str, float | int]:
    return {"wer": round(s.wer, 4), "errors": s.errors, "words": s.words}


def measure_stt(stt: STT, clips: Sequence[Clip], tick: Tick | None = None) -> list[SttSample]:
    """Decode every clip whole (8 kHz clips upsampled, as the pipeline does)."""
    out = []
    for clip in clips:
        audio = load_clip_audio(clip, STT_RATE)
        t0 = time.perf_counter()
        result = stt.transcribe(audio)
        decode_ms = 1000 * (time.perf_counter() - t0)
        s = score(clip.reference, result.text)
        out.append(
            SttSample(
                clip.id,
                clip.voice,
                clip.band,
                clip.reference,
                result.text,
                s.errors,
                s.words,
                decode_ms,
                1000 * audio.size / STT_RATE,
            )
        )
        if tick:
            tick()
    return out


def wer_summary(samples: Sequence[SttSample]) -> dict[str, Any]:
    """Pooled WER overall, per band and per voice, plus the per-clip rows."""

    def pooled(rows: Sequence[SttSample]) -> dict[str, float | int]:
        return _wer_dict(WerScore(sum(r.errors for r in rows), sum(r.words for r in rows)))

    bands = sorted({s.band for s in samples})
    voices = sorted({s.voice for s in samples})
    return {
        "overall": pooled(samples),
        "by_band": {b: pooled([s for s in samples if s.band == b]) for b in bands},
        "by_voice": {v: pooled([s for s in samples if s.voice == v]) for v in voices},
        "samples": [{**asdict(s), "rtf": round(s.rtf, 4)} for s in samples],
    }


TTS_TEXTS = (
    "Thank you for calling Riverside Physical Therapy.",
    "I have an opening on Tuesday at nine thirty in the morning with Doctor Patel.",
    "Could you spell your last name for me, please?",
    "We are open Monday to Friday, from eight in the morning to six in the evening.",
)


def measure_tts(tts: TTS, texts: Sequence[str] = TTS_TEXTS) -> list[dict[str, float]]:
    """Synthesis time over audio length for a few typical reply sentences."""
    out = []
    tts.synthesize("Warm up.")
    for text in texts:
        t0 = time.perf_counter()
        audio = tts.synthesize(text)
        synth_ms = 1000 * (time.perf_counter() - t0)
        audio_ms = 1000 * audio.size / tts.sample_rate
        out.append(
            {
                "synth_ms": synth_ms,
                "audio_ms": audio_ms,
                "rtf": synth_ms / audio_ms if audio_ms else 0.0,
            }
        )
    return out


LLM_PROMPTS = (
    "Do you take Blue Cross Blue Shield insurance?",
    "Can you tell me what to bring to my first visit?",
)
LLM_SYSTEM = (
    "You are the receptionist of a physical therapy clinic. Answer in one or two "
    "short, friendly sentences."
)


def measure_llm(llm: LLM, max_tokens: int = 32) -> list[dict[str, float]]:
    """First-token time and decode speed for a few caller questions (pieces ~ tokens)."""
    out = []
    for prompt in LLM_PROMPTS:
        messages = [ChatMessage("system", LLM_SYSTEM), ChatMessage("user", prompt)]
        t0 = time.perf_counter()
        first = None
        pieces = 0
        for piece in llm.stream(messages, max_tokens=max_tokens, temperature=0.0):
            if first is None:
                first = time.perf_counter() - t0
            if piece:
                pieces += 1
        total = time.perf_counter() - t0
        decode = total - (first or 0.0)
        out.append(
            {
                "first_token_ms": 1000 * (first or total),
                "total_ms": 1000 * total,
                "tokens": pieces,
                "tokens_per_s": (pieces - 1) / decode if pieces > 1 and decode > 0 else 0.0,
            }
        )
    return out


def measure_prompt_cache(llm: LLM, runs: int = 3) -> dict[str, float]:
    """LLM time to first token (ms, min of ``runs``) with the system prompt's KV state
    reused, as every turn of every call gets it, and recomputed for each prompt."""
    from voiceagent.dialog.minimal import SYSTEM_PROMPT

    inner: Any = getattr(llm, "inner", llm)  # the model behind a TimedLLM
    if not hasattr(inner, "reuse_prefix"):
        return {}
    system = ChatMessage("system", SYSTEM_PROMPT.format(clinic="Riverside Physical Therapy"))
    out: dict[str, float] = {}
    try:
        for reuse in (False, True):
            inner.reuse_prefix = reuse
            times = []
            for i in range(runs):
                messages = [system, ChatMessage("user", f"Question {i}: are you open on Sunday?")]
                start = time.perf_counter()
                for _ in inner.stream(messages, max_tokens=1, temperature=0.0):
                    break
                times.append(1000 * (time.perf_counter() - start))
            out["first_token_ms_reused" if reuse else "first_token_ms_recomputed"] = round(
                min(times), 1
            )
    finally:
        inner.reuse_prefix = True
    return out


def rtf_summary(
    stt: Sequence[SttSample], tts: Sequence[dict[str, float]], llm: Sequence[dict[str, float]]
) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    for name, values in (
        ("stt", [s.rtf for s in stt]),
        ("tts", [t["rtf"] for t in tts]),
        ("llm_tokens_per_s", [x["tokens_per_s"] for x in llm]),
        ("llm_first_token_ms", [x["first_token_ms"] for x in llm]),
    ):
        summary = summarise(values)
        if summary is not None:
            out[name] = {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(summary).items()
            }
    return out
