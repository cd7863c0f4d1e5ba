"""Streaming transcription of one caller turn: decode at the caller's pauses.

Whisper decodes a whole window per call, so the cheap way to stream is to cut the turn at
the caller's own pauses: each time the endpointer reports a ``PAUSE`` the audio since the
last cut is decoded in the background. If the caller goes on, that text is kept (the cut
was at a pause, so no word is split) and only new audio is decoded later; if the pause
becomes the endpoint, the tail is already decoding or done. Either way the end of the turn
needs at most one short decode.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import Executor, Future

import numpy as np

from voiceagent.audio.frames import pcm_to_array
from voiceagent.audio.resample import StreamResampler
from voiceagent.speech.stt import STT, STT_RATE, Transcript

_PROMPT_WORDS = 40


class StreamingTranscriber:
    """One turn's audio, decoded piecewise on ``executor`` (a single worker keeps order)."""

    def __init__(self, stt: STT, channel_rate: int, executor: Executor) -> None:
        self._stt = stt
        self._executor = executor
        self._resampler = StreamResampler(channel_rate, STT_RATE)
        self._audio: list[np.ndarray] = []
        self._samples = 0
        self._cut = 0  # samples already handed to a decode
        self._chunks: list[Future[Transcript]] = []
        self._pending: Future[Transcript] | None = None  # decode of audio up to a pause
        self._lock = threading.Lock()  # the media thread adds while a worker takes

    @property
    def audio_ms(self) -> float:
        return 1000.0 * self._samples / STT_RATE

    def add(self, frame: bytes) -> None:
        """Append one caller frame (PCM16 at the channel rate)."""
        samples = self._resampler.process(pcm_to_array(frame))
        with self._lock:
            if samples.size:
                self._audio.append(samples)
                self._samples += samples.size

    def decode_to_pause(self) -> Future[Transcript]:
        """Decode everything since the last cut (call at a PAUSE)."""
        with self._lock:
            if self._pending is None:
                self._pending = self._submit(self._take())
            return self._pending

    def keep_pending(self) -> None:
        """The caller went on after the pause: the paused decode becomes settled text."""
        with self._lock:
            if self._pending is not None:
                self._chunks.append(self._pending)
                self._pending = None

    def final(self) -> Transcript:
        """The whole turn's transcript; decodes only what no earlier decode covered."""
        with self._lock:
            tail = self._take()
            if self._pending is not None:
                # nothing but the pause followed the last decode (a resume would have kept
                # it already): decoding that silence only invites Whisper to invent words
                self._chunks.append(self._pending)
                self._pending = None
            elif tail.size >= STT_RATE // 5 or not self._chunks:
                self._chunks.append(self._submit(tail))
            chunks = list(self._chunks)
        results = [f.result() for f in chunks]
        return _join(results, self.audio_ms)

    def _take(self) -> np.ndarray:
        joined = np.concatenate(self._audio) if self._audio else np.zeros(0, np.int16)
        audio = joined[self._cut :]
        self._cut = joined.size
        return audio

    def _submit(self, audio: np.ndarray) -> Future[Transcript]:
        previous = list(self._chunks)

        def run() -> Transcript:
            # earlier chunks ran first on the single worker, so their text is ready
            before = " ".join(f.result().text for f in previous if f.done()).split()
            return self._stt.transcribe(audio, prompt=" ".join(before[-_PROMPT_WORDS:]))

        return self._executor.submit(run)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def _drop_echoes(parts: list[Transcript]) -> list[Transcript]:
    """Whisper, prompted with the turn's earlier text and given a short chunk of audio (a
    breath, a pause), sometimes writes that earlier text again ("Hi? Hi? Hi?", "What are
    your hours? What are your hours?"). A chunk whose words only repeat the end of what came
    before it is such an echo, not speech."""
    kept: list[Transcript] = []
    before: list[str] = []
    for part in parts:
        words = _words(part.text)
        if kept and words and before[-len(words):] == words:
            continue
        kept.append(part)
        before += words
    return kept


def _collapse_repeats(text: str) -> str:
    """A sentence Whisper wrote twice in a row (its repetition loop) is said once."""
    sentences = re.findall(r"[^.?!]+[.?!]*\s*", text)
    out: list[str] = []
    for s in sentences:
        if out and _words(s) and _words(s) == _words(out[-1]):
            continue
        out.append(s)
    return "".join(out).strip()


def _join(parts: list[Transcript], audio_ms: float) -> Transcript:
    spoken = _drop_echoes([p for p in parts if not p.no_speech and p.text])
    if not spoken:
        return Transcript("", 0.0, True, audio_ms)
    text = _collapse_repeats(" ".join(p.text for p in spoken))
    weight = sum(max(p.audio_ms, 1.0) for p in spoken)
    confidence = sum(p.confidence * max(p.audio_ms, 1.0) for p in spoken) / weight
    return Transcript(text, confidence, False, audio_ms)
