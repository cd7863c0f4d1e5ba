"""Sample-rate conversion with soxr (channel 8/16 kHz, Whisper 16 kHz, Piper 22.05 kHz)."""

from __future__ import annotations

import numpy as np
import soxr

from voiceagent.audio.frames import float_to_int16, int16_to_float


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a whole int16 or float32 signal; the dtype is kept."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    if samples.dtype == np.int16:
        out = soxr.resample(int16_to_float(samples), from_rate, to_rate, quality="HQ")
        return float_to_int16(out)
    return soxr.resample(samples.astype(np.float32), from_rate, to_rate, quality="HQ")


class StreamResampler:
    """Resample a stream chunk by chunk without clicks at chunk edges (soxr keeps state)."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = (
            None
            if from_rate == to_rate
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality="HQ")
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next int16 chunk; ``last`` flushes what soxr holds back."""
        if self._stream is None:
            return samples
        out = self._stream.resample_chunk(int16_to_float(samples), last=last)
        return float_to_int16(out)
