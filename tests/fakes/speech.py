"""Fake VAD, STT and TTS for unit tests of the turn logic (no models, instant).

Caller "speech" is synthetic: each word is a burst of a 200 Hz tone whose amplitude codes the
word's index in ``WORDS``; ``FakeSTT`` reads the bursts back into words, so transcripts stay
right however the session cuts the audio into chunks.
"""

from __future__ import annotations

import numpy as np

from voiceagent.speech.stt import STT_RATE, Transcript

WORDS = [
    "hello",
    "what",
    "are",
    "your",
    "hours",
    "i",
    "want",
    "to",
    "book",
    "an",
    "appointment",
    "my",
    "number",
    "is",
    "five",
    "five",
    "five",
    "one",
    "two",
    "three",
    "mm-hm",
    "please",
    "stop",
    "wait",
    "tell",
    "me",
    "about",
    "parking",
    "yes",
    "no",
    "goodbye",
]
_STEP = 800  # amplitude per word index
WORD_MS = 240
GAP_MS = 60


def word_amplitude(word: str) -> int:
    return (WORDS.index(word) + 1) * _STEP


def speech(text: str, rate: int, word_ms: int = WORD_MS, gap_ms: int = GAP_MS) -> np.ndarray:
    """int16 audio standing for ``text`` (words from ``WORDS``), with short gaps."""
    out = []
    n_word = rate * word_ms // 1000
    n_gap = rate * gap_ms // 1000
    for word in text.split():
        amp = word_amplitude(word)
        wave = (np.sin(np.arange(n_word) * 2 * np.pi * 200 / rate) * amp).astype(np.int16)
        out.extend([wave, np.zeros(n_gap, np.int16)])
    return np.concatenate(out) if out else np.zeros(0, np.int16)


def quiet(ms: int, rate: int) -> np.ndarray:
    return np.zeros(rate * ms // 1000, np.int16)


class FakeVAD:
    """Speech wherever the frame is not (nearly) silent."""

    def is_speech(self, frame: bytes, rate: int) -> bool:
        samples = np.frombuffer(frame, dtype="<i2")
        return bool(np.abs(samples.astype(np.int32)).mean() > 300)


class FakeSTT:
    """Reads the amplitude-coded bursts back into words; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.audio_ms: list[float] = []

    def transcribe(self, audio: np.ndarray, prompt: str = "") -> Transcript:
        self.calls += 1
        ms = 1000.0 * audio.size / STT_RATE
        self.audio_ms.append(ms)
        words = []
        level = np.abs(audio.astype(np.int32))
        win = STT_RATE // 100  # 10 ms windows
        peaks = [int(level[i : i + win].max()) for i in range(0, level.size - win + 1, win)]
        run: list[int] = []
        for peak in peaks + [0]:
            if peak > 300:
                run.append(peak)
                continue
            if len(run) >= 5:
                index = round(float(np.median(run)) / _STEP) - 1
                if 0 <= index < len(WORDS):
                    words.append(WORDS[index])
            run = []
        text = " ".join(words)
        return Transcript(text, 0.9 if text else 0.0, not text, ms)


class FakeTTS:
    """A tone of 100 ms per word at 16 kHz; records what it was asked to say. With
    ``delay_s``, synthesizing text that contains ``slow_text`` takes that long (a busy CPU)."""

    sample_rate = 16000

    def __init__(self, delay_s: float = 0.0, slow_text: str = "") -> None:
        self.spoken: list[str] = []
        self.delay_s = delay_s
        self.slow_text = slow_text

    def synthesize(self, text: str) -> np.ndarray:
        self.spoken.append(text)
        if self.delay_s and self.slow_text in text:
            import time

            time.sleep(self.delay_s)
        n = self.sample_rate * 100 // 1000 * max(1, len(text.split()))
        return (np.sin(np.arange(n) * 2 * np.pi * 440 / self.sample_rate) * 8000).astype(np.int16)
