import numpy as np
import pytest

from voiceagent.audio.frames import (
    FrameAssembler,
    array_to_pcm,
    frame_bytes,
    pcm_to_array,
    rms_dbfs,
    split_frames,
)
from voiceagent.audio.resample import StreamResampler, resample
from voiceagent.audio.wavfile import WavFormatError, read_wav, write_wav

pytestmark = pytest.mark.unit


def tone(freq, rate, seconds=1.0, amp=10000):
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * amp).astype(np.int16)


def test_a_20_ms_frame_has_the_channel_rates_size():
    assert frame_bytes(8000, 20) == 320
    assert frame_bytes(16000, 20) == 640


def test_split_frames_pads_the_last_frame_with_silence():
    frames = list(split_frames(bytes(700), 16000, 20))
    assert [len(f) for f in frames] == [640, 640]


def test_assembler_turns_uneven_chunks_into_whole_frames():
    assembler = FrameAssembler(8000, 20)
    out = assembler.push(bytes(500)) + assembler.push(bytes(500))
    assert [len(f) for f in out] == [320, 320, 320]
    assert [len(f) for f in assembler.flush()] == [320]


def test_pcm_conversion_round_trips():
    samples = np.array([-32768, -1, 0, 1, 32767], np.int16)
    assert np.array_equal(pcm_to_array(array_to_pcm(samples)), samples)


def test_rms_level_of_silence_and_full_scale():
    assert rms_dbfs(bytes(320)) == -100.0
    square = np.array([32767, -32767] * 80, np.int16).tobytes()
    assert rms_dbfs(square) > -0.1


@pytest.mark.parametrize(
    ("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000), (22050, 16000)]
)
def test_resampling_keeps_duration_and_pitch(src, dst):
    out = resample(tone(440, src), src, dst)
    assert abs(out.size - dst) <= 2
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * dst / out.size
    assert abs(peak_hz - 440) < 3


def test_downsampling_removes_content_above_the_new_nyquist():
    out = resample(tone(6000, 22050), 22050, 8000)  # 6 kHz cannot exist at 8 kHz
    assert np.abs(out[100:-100]).max() < 100  # (the edges ring briefly)


def test_stream_resampler_matches_whole_signal_resampling():
    signal = tone(440, 22050)
    stream = StreamResampler(22050, 8000)
    pieces = [stream.process(signal[i : i + 1000]) for i in range(0, signal.size, 1000)]
    pieces.append(stream.process(np.zeros(0, np.int16), last=True))
    streamed = np.concatenate(pieces)
    whole = resample(signal, 22050, 8000)
    assert abs(streamed.size - whole.size) <= 2
    n = min(streamed.size, whole.size)
    assert (
        np.abs(streamed[200 : n - 200].astype(int) - whole[200 : n - 200].astype(int)).max() < 200
    )


def test_wav_round_trip_and_resample_on_read(tmp_path):
    path = tmp_path / "a.wav"
    write_wav(path, tone(440, 16000), 16000)
    samples, rate = read_wav(path)
    assert rate == 16000 and samples.size == 16000
    samples8, rate8 = read_wav(path, rate=8000)
    assert rate8 == 8000 and abs(samples8.size - 8000) <= 2


def test_unreadable_wav_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"not a wav at all")
    with pytest.raises(WavFormatError, match="bad.wav.*sox"):
        read_wav(path)


def test_trim_silence_keeps_the_sound_and_a_short_margin() -> None:
    import numpy as np

    from voiceagent.audio.frames import trim_silence

    rate = 16000
    tone = (3000 * np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate)).astype(np.int16)
    padded = np.concatenate([np.zeros(rate // 10, np.int16), tone, np.zeros(rate // 5, np.int16)])
    trimmed = trim_silence(padded, rate, keep_ms=30)
    assert len(tone) <= len(trimmed) <= len(tone) + 2 * rate * 30 // 1000
    assert len(trim_silence(np.zeros(rate, np.int16), rate)) == 0
