from pathlib import Path

import numpy as np
import pytest

from voiceagent.bench.corpus import (
    UTTERANCES,
    Clip,
    Corpus,
    band_limit,
    level,
    telephone,
    trim_silence,
)

pytestmark = pytest.mark.unit
RATE = 16000


def tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 10000).astype(np.int16)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_telephone_band_keeps_voice_frequencies_and_drops_the_rest() -> None:
    assert rms(band_limit(tone(1000), RATE)) == pytest.approx(rms(tone(1000)), rel=0.02)
    assert rms(band_limit(tone(100), RATE)) < 0.01 * rms(tone(100))
    assert rms(band_limit(tone(5000), RATE)) < 0.01 * rms(tone(5000))


def test_telephone_version_is_eight_khz_and_close_to_the_band_limited_signal() -> None:
    narrow = telephone(tone(1000))
    assert narrow.dtype == np.int16
    assert narrow.size == RATE // 2
    # mu-law keeps a 1 kHz tone within a few percent of its level
    assert rms(narrow) == pytest.approx(rms(tone(1000)), rel=0.05)


def test_trim_and_level_leave_speech_at_a_fixed_peak_without_synthesizer_silence() -> None:
    padded = np.concatenate(
        [np.zeros(800, np.int16), tone(300, 0.5) // 4, np.zeros(1600, np.int16)]
    )
    trimmed = trim_silence(padded)
    assert trimmed.size < padded.size - 2000
    peak = int(np.max(np.abs(level(trimmed, -3.0).astype(np.int32))))
    assert peak == pytest.approx(32767 * 10 ** (-3 / 20), rel=0.01)


def test_utterances_cover_every_clinic_category_with_reference_text() -> None:
    categories = {u.category for u in UTTERANCES}
    assert {"booking", "insurance", "reschedule", "numbers", "names"} <= categories
    assert all(u.reference and u.spoken for u in UTTERANCES)
    assert len({u.id for u in UTTERANCES}) == len(UTTERANCES)


def test_latency_set_spreads_turns_over_utterances_voices_and_bands() -> None:
    clips = tuple(
        Clip(
            id=f"{u}-{v}-{b}",
            utterance=u,
            category="x",
            reference="r",
            voice=v,
            band=b,
            rate=16000 if b == "wide" else 8000,
            path="/dev/null",
            speech_s=1.0,
            duration_s=3.0,
            lead_s=0.5,
        )
        for u in ("u1", "u2", "u3", "u4")
        for v in ("v1", "v2")
        for b in ("wide", "tel")
    )
    chosen = Corpus(Path("/tmp"), clips).latency_set(6)
    assert len(chosen) == len(set(chosen)) == 6
    assert {c.voice for c in chosen} == {"v1", "v2"}
    assert {c.band for c in chosen} == {"wide", "tel"}
    assert len({c.utterance for c in chosen}) == 4
