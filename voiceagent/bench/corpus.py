"""The benchmark corpus, generated on the machine: clinic caller turns in several voices.

Each utterance has the text a synthetic voice reads (``spoken``) and the text a perfect
transcript would show (``reference``). Every utterance is rendered by every configured
voice (espeak-ng variants and Piper) as a 16 kHz wideband clip and, optionally, as an
8 kHz telephone clip: band-limited to 300-3400 Hz and taken through a G.711 mu-law round
trip, as a call from the public phone network arrives. Each clip has silence before and
after the speech so that the VAD and the endpointer see a whole turn.
"""

from __future__ import annotations

import io
import json
import subprocess
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from voiceagent.audio.frames import float_to_int16, pcm_to_array
from voiceagent.audio.g711 import ulaw_decode, ulaw_encode
from voiceagent.audio.resample import resample
from voiceagent.audio.wavfile import read_wav, write_wav
from voiceagent.bench.config import CorpusConfig, VoiceSpec

WIDE_RATE = 16000
TEL_RATE = 8000
Band = Literal["wide", "tel"]


@dataclass(frozen=True)
class Utterance:
    id: str
    category: str  # booking | insurance | reschedule | numbers | names | question
    spoken: str
    reference: str


UTTERANCES: tuple[Utterance, ...] = (
    Utterance(
        "book-tuesday",
        "booking",
        "Hi, I would like to book a physical therapy appointment next Tuesday morning.",
        "Hi, I would like to book a physical therapy appointment next Tuesday morning.",
    ),
    Utterance(
        "phone-number",
        "numbers",
        "My phone number is five five five, eight six seven, five three zero nine.",
        "My phone number is 555 867 5309.",
    ),
    Utterance(
        "insurance-bcbs",
        "insurance",
        "Do you take Blue Cross Blue Shield insurance?",
        "Do you take Blue Cross Blue Shield insurance?",
    ),
    Utterance(
        "reschedule-march",
        "reschedule",
        "I need to reschedule my appointment on March third to the following week.",
        "I need to reschedule my appointment on March 3rd to the following week.",
    ),
    Utterance(
        "name-smith",
        "names",
        "This is John Smith calling about my knee therapy.",
        "This is John Smith calling about my knee therapy.",
    ),
    Utterance(
        "dob",
        "numbers",
        "My date of birth is April twelfth, nineteen eighty five.",
        "My date of birth is April 12th, 1985.",
    ),
    Utterance(
        "book-friday",
        "booking",
        "Do you have anything open on Friday afternoon with doctor Patel?",
        "Do you have anything open on Friday afternoon with Dr. Patel?",
    ),
    Utterance(
        "member-id",
        "insurance",
        "My member ID is W four seven two nine one eight three six.",
        "My member ID is W 4 7 2 9 1 8 3 6.",
    ),
    Utterance(
        "reschedule-thursday",
        "reschedule",
        "Can I move my Thursday session to later in the afternoon?",
        "Can I move my Thursday session to later in the afternoon?",
    ),
    Utterance(
        "name-spelled",
        "names",
        "My last name is Gonzalez, G O N Z A L E Z.",
        "My last name is Gonzalez, G O N Z A L E Z.",
    ),
    Utterance(
        "hours", "question", "What are your hours on Saturday?", "What are your hours on Saturday?"
    ),
    Utterance(
        "referral",
        "booking",
        "I was referred by doctor Nguyen for lower back pain.",
        "I was referred by Dr. Nguyen for lower back pain.",
    ),
)


@dataclass(frozen=True)
class Clip:
    """One caller turn on disk."""

    id: str  # utterance-voice-band
    utterance: str
    category: str
    reference: str
    voice: str
    band: Band
    rate: int
    path: str
    speech_s: float  # length of the spoken part
    duration_s: float  # with the silences
    lead_s: float


@dataclass(frozen=True)
class Corpus:
    folder: Path
    clips: tuple[Clip, ...]

    def manifest(self) -> dict[str, object]:
        return {"folder": str(self.folder), "clips": [asdict(c) for c in self.clips]}

    def latency_set(self, count: int) -> list[Clip]:
        """``count`` clips spread evenly over utterances, voices and bands."""
        utts = list(dict.fromkeys(c.utterance for c in self.clips))
        voices = list(dict.fromkeys(c.voice for c in self.clips))
        bands = list(dict.fromkeys(c.band for c in self.clips))
        index = {(c.utterance, c.voice, c.band): c for c in self.clips}
        chosen: list[Clip] = []
        for i in range(len(self.clips) * 2):
            if len(chosen) >= count:
                break
            key = (
                utts[i % len(utts)],
                voices[i % len(voices)],
                bands[(i // len(voices)) % len(bands)],
            )
            clip = index.get(key)
            if clip is not None and clip not in chosen:
                chosen.append(clip)
        chosen += [c for c in self.clips if c not in chosen][: max(0, count - len(chosen))]
        return chosen


class CorpusError(RuntimeError):
    """A voice could not be synthesised; the message says what to install or fix."""


Synth = Callable[[str], tuple[np.ndarray, int]]


def espeak_synth(spec: VoiceSpec) -> Synth:
    """espeak-ng reading text to int16 samples (its native 22.05 kHz)."""

    def synth(text: str) -> tuple[np.ndarray, int]:
        words_per_minute = str(int(165 * spec.speed))
        try:
            done = subprocess.run(
                ["espeak-ng", "-v", spec.voice, "-s", words_per_minute, "--stdout", text],
                capture_output=True,
                check=True,
                timeout=60,
            )
        except FileNotFoundError as err:
            raise CorpusError("espeak-ng is not installed: apt-get install espeak-ng") from err
        except subprocess.CalledProcessError as err:
            raise CorpusError(
                f"espeak-ng voice {spec.voice!r} failed ({err.stderr.decode(errors='replace')}); "
                "list voices with `espeak-ng --voices=en`"
            ) from err
        with wave.open(io.BytesIO(done.stdout), "rb") as wav:
            rate = wav.getframerate()
            samples = pcm_to_array(wav.readframes(wav.getnframes()))
        return samples, rate

    return synth


def piper_synth(spec: VoiceSpec) -> Synth:
    """Piper (piper-tts) with a bundled voice id or an .onnx path."""
    from piper import PiperVoice, SynthesisConfig

    from voiceagent.models.paths import resolve_model

    voice = PiperVoice.load(str(resolve_model(spec.voice, "tts")))
    config = SynthesisConfig(length_scale=1.0 / spec.speed)

    def synth(text: str) -> tuple[np.ndarray, int]:
        chunks = list(voice.synthesize(text, syn_config=config))
        if not chunks:
            return np.zeros(0, dtype=np.int16), voice.config.sample_rate
        audio = np.concatenate([c.audio_float_array for c in chunks])
        return float_to_int16(audio), chunks[0].sample_rate

    return synth


def synth_for(spec: VoiceSpec) -> Synth:
    return espeak_synth(spec) if spec.engine == "espeak" else piper_synth(spec)


def trim_silence(samples: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut the synthesiser's own leading and trailing silence so padding is exact."""
    if samples.size == 0:
        return samples
    loud = np.flatnonzero(np.abs(samples.astype(np.float32)) > threshold * 32768)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


def level(samples: np.ndarray, peak_dbfs: float = -3.0) -> np.ndarray:
    """Scale to a fixed peak so every voice reaches the VAD at a similar level."""
    peak = float(np.max(np.abs(samples.astype(np.float32)))) if samples.size else 0.0
    if peak == 0:
        return samples
    gain = (10 ** (peak_dbfs / 20) * 32767) / peak
    return np.clip(samples.astype(np.float32) * gain, -32768, 32767).astype(np.int16)


def band_limit(
    samples: np.ndarray, rate: int, low_hz: float = 300.0, high_hz: float = 3400.0
) -> np.ndarray:
    """Telephone band-pass: an FFT mask with 100 Hz cosine edges (no ringing brick wall)."""
    spectrum = np.fft.rfft(samples.astype(np.float32))
    freqs = np.fft.rfftfreq(samples.size, 1.0 / rate)
    edge = 100.0
    mask = np.ones_like(freqs)
    mask[freqs < low_hz - edge] = 0.0
    rising = (freqs >= low_hz - edge) & (freqs < low_hz)
    mask[rising] = 0.5 - 0.5 * np.cos(np.pi * (freqs[rising] - (low_hz - edge)) / edge)
    mask[freqs > high_hz + edge] = 0.0
    falling = (freqs > high_hz) & (freqs <= high_hz + edge)
    mask[falling] = 0.5 + 0.5 * np.cos(np.pi * (freqs[falling] - high_hz) / edge)
    out = np.fft.irfft(spectrum * mask, n=samples.size)
    return np.clip(out, -32768, 32767).astype(np.int16)


def telephone(samples16k: np.ndarray) -> np.ndarray:
    """16 kHz wideband to what an 8 kHz PCMU call delivers (band limit, 8 kHz, mu-law)."""
    narrow = resample(band_limit(samples16k, WIDE_RATE), WIDE_RATE, TEL_RATE)
    return ulaw_decode(ulaw_encode(narrow))


def generate_corpus(
    config: CorpusConfig,
    folder: Path,
    progress: Callable[[int, int], None] | None = None,
    utterances: Sequence[Utterance] = UTTERANCES,
) -> Corpus:
    """Synthesise every utterance in every voice into ``folder`` (plus ``corpus.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = list(utterances[: config.utterances] if config.utterances else utterances)
    total = len(chosen) * len(config.voices)
    clips: list[Clip] = []
    done = 0
    for spec in config.voices:
        synth = synth_for(spec)
        for utt in chosen:
            raw, rate = synth(utt.spoken)
            speech = level(trim_silence(resample(raw, rate, WIDE_RATE)))
            if speech.size == 0:
                raise CorpusError(f"voice {spec.name} produced no audio for {utt.id}")
            lead = np.zeros(int(config.lead_silence_s * WIDE_RATE), dtype=np.int16)
            tail = np.zeros(int(config.tail_silence_s * WIDE_RATE), dtype=np.int16)
            wide = np.concatenate([lead, speech, tail])
            versions: list[tuple[Band, np.ndarray, int]] = [("wide", wide, WIDE_RATE)]
            if config.telephone:
                versions.append(("tel", telephone(wide), TEL_RATE))
            for band, samples, out_rate in versions:
                clip_id = f"{utt.id}-{spec.name}-{band}"
                path = folder / f"{clip_id}.wav"
                write_wav(path, samples, out_rate)
                clips.append(
                    Clip(
                        id=clip_id,
                        utterance=utt.id,
                        category=utt.category,
                        reference=utt.reference,
                        voice=spec.name,
                        band=band,
                        rate=out_rate,
                        path=str(path),
                        speech_s=round(speech.size / WIDE_RATE, 3),
                        duration_s=round(samples.size / out_rate, 3),
                        lead_s=config.lead_silence_s,
                    )
                )
            done += 1
            if progress:
                progress(done, total)
    corpus = Corpus(folder, tuple(clips))
    (folder / "corpus.json").write_text(json.dumps(corpus.manifest(), indent=2))
    return corpus


def load_clip_audio(clip: Clip, rate: int = WIDE_RATE) -> np.ndarray:
    """The clip as int16 samples at ``rate`` (8 kHz clips are upsampled for Whisper)."""
    samples, _ = read_wav(clip.path, rate)
    return samples
