"""Speech to text: the STT protocol and faster-whisper behind it.

Models load from local paths only (``resolve_model``; ``local_files_only=True``; the
Hugging Face hub is switched off with ``HF_HUB_OFFLINE=1``), so a missing model fails at
start-up with the file and the fix, never with a download attempt.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voiceagent.audio.frames import int16_to_float
from voiceagent.config.pipeline import STTConfig
from voiceagent.models.paths import ModelNotInstalled, resolve_model

STT_RATE = 16000

# What Whisper says over noise or silence when it has nothing to transcribe.
_HALLUCINATIONS = {"you", "thank you", "thanks for watching", "bye", "thank you very much", "so"}


@dataclass(frozen=True)
class Transcript:
    """One decoded stretch of audio."""

    text: str
    confidence: float  # 0..1, exp of the mean token log-probability
    no_speech: bool  # the model heard no words
    audio_ms: float


class STT(Protocol):
    """Decodes 16 kHz int16 audio; ``prompt`` carries vocabulary and the text so far."""

    def transcribe(self, audio: np.ndarray, prompt: str = "") -> Transcript: ...


def vocabulary_prompt(words: Sequence[str]) -> str:
    """The clinic vocabulary as a Whisper initial prompt (names spelled the clinic's way)."""
    words = [w.strip() for w in words if w.strip()]
    return ", ".join(words) + "." if words else ""


def _device_for(config: STTConfig) -> tuple[str, str]:
    """``auto`` takes a CUDA GPU when CTranslate2 sees one (int8 weights, float16 compute)."""
    if config.device != "auto":
        return config.device, config.compute_type
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        compute = "int8_float16" if config.compute_type == "int8" else config.compute_type
        return "cuda", compute
    return "cpu", config.compute_type


class WhisperSTT:
    """faster-whisper (CTranslate2). Thread-safe; one instance is shared by all calls."""

    def __init__(self, config: STTConfig, vocabulary: Sequence[str] = ()) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = resolve_model(config.model, "stt")
        _check_whisper_folder(path)
        device, compute_type = _device_for(config)
        try:
            self.model = _short_window_model()(
                str(path),
                device=device,
                compute_type=compute_type,
                cpu_threads=config.cpu_threads or (os.cpu_count() or 1),
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelNotInstalled(
                f"stt model {path} could not be loaded ({err}); it is corrupt or not a "
                "faster-whisper (CTranslate2) folder: reinstall it with `voiceagent models install`"
            ) from err
        self.config = config
        self.vocabulary = vocabulary_prompt(vocabulary)
        self.hotwords = " ".join(vocabulary) or None
        self.english_only = path.name.endswith(".en") or path.name.endswith("-en")
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, prompt: str = "") -> Transcript:
        audio_ms = 1000.0 * audio.size / STT_RATE
        if audio.size < STT_RATE // 10:
            return Transcript("", 0.0, True, audio_ms)
        full_prompt = " ".join(p for p in (self.vocabulary, prompt) if p) or None
        with self._lock:  # CTranslate2 would queue anyway; the lock keeps memory flat
            frames = audio.size // 160 + _WINDOW_MARGIN_FRAMES
            self.model.window_frames = min(_FULL_WINDOW, max(_MIN_WINDOW, -(-frames // 100) * 100))
            segments, _info = self.model.transcribe(
                int16_to_float(audio),
                language=None if self.english_only else self.config.language,
                beam_size=self.config.beam_size,
                initial_prompt=full_prompt,
                hotwords=self.hotwords if full_prompt is None else None,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
                temperature=0.0,
            )
            segments = list(segments)
        texts = []
        logprobs = []
        no_speech = True
        for seg in segments:
            if seg.no_speech_prob > self.config.no_speech_threshold and seg.avg_logprob < -1.0:
                continue
            no_speech = False
            texts.append(seg.text.strip())
            logprobs.append(seg.avg_logprob)
        text = " ".join(t for t in texts if t).strip()
        if not text:
            return Transcript("", 0.0, True, audio_ms)
        mean_logprob = sum(logprobs) / len(logprobs)
        confidence = math.exp(mean_logprob)
        if _normal(text) in _HALLUCINATIONS and mean_logprob < -0.7:
            return Transcript("", confidence, True, audio_ms)
        return Transcript(text, confidence, no_speech, audio_ms)


# Whisper's encoder always sees a 30 s window (3000 mel frames), padded with silence, and
# that fixed cost dominates on a CPU. CTranslate2 accepts a shorter window; 10 s or the turn's
# length plus 1 s transcribed our test utterances as well as the full window at 3-5x less
# cost (shorter windows lost single words such as "yes").
_FULL_WINDOW = 3000
_MIN_WINDOW = 1000
_WINDOW_MARGIN_FRAMES = 100


def _short_window_model() -> type:
    from faster_whisper import WhisperModel

    class ShortWindowWhisper(WhisperModel):  # type: ignore[misc]
        window_frames = _FULL_WINDOW

        def encode(self, features: np.ndarray) -> Any:
            if features.ndim == 2:
                features = np.expand_dims(features, 0)
            return super().encode(np.ascontiguousarray(features[..., : self.window_frames]))

    return ShortWindowWhisper


def _normal(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c == " ").strip()


def _check_whisper_folder(path: Path) -> None:
    missing = [n for n in ("model.bin", "config.json") if not (path / n).exists()]
    if missing:
        raise ModelNotInstalled(
            f"stt model folder {path} lacks {', '.join(missing)}; point models.stt.model at a "
            "faster-whisper folder or run `voiceagent models install`"
        )
