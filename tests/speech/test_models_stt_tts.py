"""Whisper and Piper on the bundled models: transcripts, G.711 lines, broken model files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.fakes.espeak import say
from voiceagent.audio import g711
from voiceagent.audio.resample import resample
from voiceagent.config.pipeline import STTConfig, TTSConfig
from voiceagent.models.paths import ModelNotInstalled, models_dir
from voiceagent.speech.stt import WhisperSTT
from voiceagent.speech.tts import PiperTTS

pytestmark = pytest.mark.models

SENTENCE = "I would like to book an appointment with the physical therapist on Tuesday."


@pytest.fixture(scope="module")
def stt():
    return WhisperSTT(STTConfig(), vocabulary=["Riverside Physical Therapy", "Aetna"])


@pytest.fixture(scope="module")
def tts():
    return PiperTTS(TTSConfig())


def words(text):
    return set(text.lower().replace(".", "").replace(",", "").split())


def test_whisper_transcribes_a_spoken_sentence(stt, tmp_path):
    audio = say(SENTENCE, tmp_path / "a.wav", 16000)
    result = stt.transcribe(audio)
    assert {"appointment", "tuesday", "physical"} <= words(result.text)
    assert not result.no_speech and result.confidence > 0.3


@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
def test_speech_stays_intelligible_through_a_g711_phone_line(stt, tmp_path, codec):
    audio8k = say(SENTENCE, tmp_path / "a.wav", 8000)
    line = g711.decode(g711.encode(audio8k.tobytes(), codec), codec)
    back = resample(np.frombuffer(line, dtype="<i2").copy(), 8000, 16000)
    result = stt.transcribe(back)
    assert {"appointment", "tuesday"} <= words(result.text)


def test_silence_and_noise_are_no_speech_not_invented_words(stt):
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 60, 16000 * 2)).astype(np.int16)
    assert stt.transcribe(np.zeros(16000 * 2, np.int16)).no_speech
    result = stt.transcribe(noise)
    assert result.no_speech or result.text == ""


def test_piper_speaks_what_whisper_understands(tts, stt):
    audio = tts.synthesize("Our clinic is open on Saturday morning.")
    assert tts.sample_rate == 22050
    assert audio.size > tts.sample_rate // 2 and np.abs(audio).max() > 3000
    result = stt.transcribe(resample(audio, tts.sample_rate, 16000))
    assert {"clinic", "saturday"} <= words(result.text)


def test_missing_whisper_weights_fail_with_the_file_and_the_fix(tmp_path):
    folder = tmp_path / "whisper"
    shutil.copytree(models_dir() / "whisper-tiny-en", folder)
    (folder / "model.bin").unlink()
    with pytest.raises(ModelNotInstalled, match="model.bin.*voiceagent models install"):
        WhisperSTT(STTConfig(model=str(folder)))


def test_corrupt_whisper_weights_fail_with_a_clear_error(tmp_path):
    folder = tmp_path / "whisper"
    shutil.copytree(models_dir() / "whisper-tiny-en", folder)
    (folder / "model.bin").write_bytes(b"\0" * 1024)
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        WhisperSTT(STTConfig(model=str(folder)))


def test_corrupt_piper_voice_fails_with_a_clear_error(tmp_path):
    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(b"garbage" * 100)
    shutil.copy(
        models_dir() / "piper-joe-medium" / "en_US-joe-medium.onnx.json",
        tmp_path / "voice.onnx.json",
    )
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        PiperTTS(TTSConfig(voice=str(onnx)))


def test_piper_voice_without_its_json_fails_naming_it(tmp_path):
    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ModelNotInstalled, match="voice.onnx.json"):
        PiperTTS(TTSConfig(voice=str(onnx)))


def test_unknown_model_id_lists_the_known_ones():
    with pytest.raises(ModelNotInstalled, match="whisper-tiny-en"):
        WhisperSTT(STTConfig(model="whisper-huge"))
