"""Read and write 16-bit mono WAV files (the file channel, tests and benchmarks)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from voiceagent.audio.frames import pcm_to_array
from voiceagent.audio.resample import resample


class WavFormatError(ValueError):
    """A WAV file the pipeline cannot use; the message says what to convert it to."""


def read_wav(path: Path | str, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a PCM16 WAV as int16 mono; stereo is mixed down; optionally resampled to ``rate``.

    Returns (samples, rate).
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            width = wav.getsampwidth()
            channels = wav.getnchannels()
            file_rate = wav.getframerate()
            data = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as err:
        raise WavFormatError(
            f"{path}: not a readable WAV file ({err}); convert it with `sox IN -b 16 -c 1 OUT.wav`"
        ) from err
    if width != 2:
        raise WavFormatError(
            f"{path}: {8 * width}-bit samples; convert to 16-bit with `sox IN -b 16 OUT.wav`"
        )
    samples = pcm_to_array(data)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate is not None and rate != file_rate:
        samples = resample(samples, file_rate, rate)
        file_rate = rate
    return samples, file_rate


def write_wav(path: Path | str, samples: np.ndarray | bytes, rate: int) -> None:
    """Write int16 samples (or PCM16 bytes) as a mono WAV."""
    data = samples if isinstance(samples, bytes) else samples.astype("<i2").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data)
