"""Text to speech: the TTS protocol, Piper behind it, and a cache for fixed phrases."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from voiceagent.audio.frames import float_to_int16
from voiceagent.audio.resample import resample
from voiceagent.config.pipeline import TTSConfig
from voiceagent.models.paths import ModelNotInstalled, resolve_model


class TTS(Protocol):
    """Synthesizes one clause to int16 audio at ``sample_rate``."""

    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray: ...


class PiperTTS:
    """Piper (onnxruntime). Shared by all calls; synthesis is serialized by a lock."""

    def __init__(self, config: TTSConfig) -> None:
        from piper import PiperVoice, SynthesisConfig

        path = resolve_model(config.voice, "tts")
        config_path = Path(f"{path}.json")
        if not config_path.exists():
            raise ModelNotInstalled(
                f"tts voice {path} has no {config_path.name} beside it; Piper needs both files: "
                "run `voiceagent models install`"
            )
        try:
            self.voice = PiperVoice.load(str(path), config_path=str(config_path))
        except (json.JSONDecodeError, OSError, ValueError, RuntimeError) as err:
            raise ModelNotInstalled(
                f"tts voice {path} could not be loaded ({type(err).__name__}: {err}); the file "
                "is corrupt or not a Piper voice: run `voiceagent models install`"
            ) from err
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelNotInstalled(
                f"tts voice {path} could not be loaded ({type(err).__name__}); the file is "
                "corrupt or not a Piper voice: run `voiceagent models install`"
            ) from err
        self.sample_rate = int(self.voice.config.sample_rate)
        self._syn = SynthesisConfig(
            length_scale=config.length_scale, normalize_audio=False, volume=1.0
        )
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, np.int16)
        with self._lock:
            chunks = [c.audio_float_array for c in self.voice.synthesize(text, self._syn)]
        if not chunks:
            return np.zeros(0, np.int16)
        audio = np.concatenate(chunks)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 0.9:  # keep headroom for the G.711 companding on the line
            audio = audio * (0.9 / peak)
        return float_to_int16(audio)


class PhraseCache:
    """Fixed phrases (greeting, recording notice, "one moment...") synthesized once,
    kept at the channel rate, shared by all calls."""

    def __init__(self, tts: TTS, max_entries: int = 64) -> None:
        self._tts = tts
        self._max = max_entries
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, rate: int) -> np.ndarray | None:
        with self._lock:
            key = (text.strip(), rate)
            audio = self._items.get(key)
            if audio is not None:
                self._items.move_to_end(key)
            return audio

    def put(self, text: str, rate: int, audio: np.ndarray) -> None:
        with self._lock:
            self._items[(text.strip(), rate)] = audio
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def synthesize(self, text: str, rate: int) -> np.ndarray:
        """Audio for ``text`` at ``rate``, from the cache or synthesized and kept."""
        audio = self.get(text, rate)
        if audio is None:
            audio = synthesize_at(self._tts, text, rate)
            self.put(text, rate, audio)
        return audio

    def warm(self, phrases: list[str], rate: int) -> None:
        for phrase in phrases:
            self.synthesize(phrase, rate)


def synthesize_at(tts: TTS, text: str, rate: int) -> np.ndarray:
    """Synthesize and convert to the channel rate."""
    return resample(tts.synthesize(text), tts.sample_rate, rate)
