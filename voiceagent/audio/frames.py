"""16-bit mono PCM frames: conversions and fixed-size framing.

Everything in the pipeline moves audio as little-endian signed 16-bit mono PCM (``bytes``
for the wire, ``numpy.int16`` arrays for processing). A channel delivers frames of
``frame_ms`` (20 ms by default) at its rate (8 or 16 kHz).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

SAMPLE_WIDTH = 2


def frame_samples(rate: int, frame_ms: int) -> int:
    """Samples in one frame, e.g. 320 for 20 ms at 16 kHz."""
    return rate * frame_ms // 1000


def frame_bytes(rate: int, frame_ms: int) -> int:
    """Bytes in one PCM16 frame, e.g. 640 for 20 ms at 16 kHz."""
    return frame_samples(rate, frame_ms) * SAMPLE_WIDTH


def pcm_to_array(pcm: bytes) -> np.ndarray:
    """PCM16 bytes to an int16 array (a copy, safe to modify)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


def array_to_pcm(samples: np.ndarray) -> bytes:
    """int16 (or float in [-1, 1]) samples to PCM16 bytes; floats are clipped."""
    if samples.dtype != np.int16:
        samples = float_to_int16(samples)
    return samples.astype("<i2").tobytes()


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    """int16 samples to float32 in [-1, 1)."""
    return samples.astype(np.float32) / 32768.0


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] to int16, clipped."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def silence(rate: int, frame_ms: int) -> bytes:
    """One frame of digital silence."""
    return bytes(frame_bytes(rate, frame_ms))


def split_frames(pcm: bytes, rate: int, frame_ms: int, pad: bool = True) -> Iterator[bytes]:
    """Cut PCM16 into frames; the last partial frame is zero-padded (or dropped)."""
    size = frame_bytes(rate, frame_ms)
    for start in range(0, len(pcm), size):
        chunk = pcm[start : start + size]
        if len(chunk) < size:
            if not pad:
                return
            chunk = chunk + bytes(size - len(chunk))
        yield chunk


def rms_dbfs(pcm: bytes) -> float:
    """Level of a frame in dBFS (-100 for digital silence)."""
    samples = pcm_to_array(pcm).astype(np.float64)
    if samples.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(samples * samples)))
    if rms < 1e-9:
        return -100.0
    return max(-100.0, 20.0 * float(np.log10(rms / 32768.0)))


class FrameAssembler:
    """Collects PCM of any length and hands back whole frames (for uneven producers)."""

    def __init__(self, rate: int, frame_ms: int) -> None:
        self._size = frame_bytes(rate, frame_ms)
        self._buffer = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """Add PCM; return every whole frame now available."""
        self._buffer.extend(pcm)
        frames = []
        while len(self._buffer) >= self._size:
            frames.append(bytes(self._buffer[: self._size]))
            del self._buffer[: self._size]
        return frames

    def flush(self) -> list[bytes]:
        """The remainder, zero-padded to a whole frame (empty list if nothing is left)."""
        if not self._buffer:
            return []
        frame = bytes(self._buffer) + bytes(self._size - len(self._buffer))
        self._buffer.clear()
        return [frame]


def trim_silence(
    audio: np.ndarray, rate: int, threshold: int = 300, keep_ms: int = 30
) -> np.ndarray:
    """``audio`` (int16) without its leading and trailing silence, ``keep_ms`` kept each side.

    TTS pads every phrase with ~0.2 s of silence; a filler ("Okay.") followed at once by the
    answer sounds natural without it, and the answer starts that much sooner.
    """
    loud = np.nonzero(np.abs(audio.astype(np.int32)) > threshold)[0]
    if loud.size == 0:
        return audio[:0]
    keep = rate * keep_ms // 1000
    return audio[max(0, loud[0] - keep) : min(len(audio), loud[-1] + 1 + keep)]
