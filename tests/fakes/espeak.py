"""Caller utterances for model tests, generated with espeak-ng (a Debian package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voiceagent.audio.wavfile import read_wav, write_wav


def say(text: str, path: Path, rate: int = 16000, speed: int = 140) -> np.ndarray:
    """Speak ``text`` into ``path`` (WAV at ``rate``); returns the samples."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", str(speed), "-w", str(raw), text], check=True)
    samples, _ = read_wav(raw, rate)
    write_wav(path, samples, rate)
    return samples


def say_in_chunks(chunks: list[str], path: Path, pause_ms: int, rate: int = 16000) -> np.ndarray:
    """Chunks spoken with ``pause_ms`` of silence between them (digits read in groups)."""
    parts = []
    for i, chunk in enumerate(chunks):
        parts.append(say(chunk, path.with_name(f"{path.stem}-{i}.wav"), rate))
        parts.append(np.zeros(rate * pause_ms // 1000, np.int16))
    samples = np.concatenate(parts[:-1])
    write_wav(path, samples, rate)
    return samples
