import numpy as np
import pytest

from voiceagent.audio import g711

pytestmark = pytest.mark.unit

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)

# ITU-T G.711 reference points (encoder output byte for a 16-bit input)
ULAW_POINTS = {0: 0xFF, -1: 0x7E, 32767: 0x80, -32768: 0x00, 1000: 0xCE, -1000: 0x4E}
ALAW_POINTS = {0: 0xD5, -1: 0x55, 32767: 0xAA, -32768: 0x2A, 1000: 0xFA, -1000: 0x7A}


@pytest.mark.parametrize(("sample", "code"), sorted(ULAW_POINTS.items()))
def test_ulaw_encodes_reference_points(sample, code):
    assert g711.ulaw_encode(np.array([sample], np.int16)) == bytes([code])


@pytest.mark.parametrize(("sample", "code"), sorted(ALAW_POINTS.items()))
def test_alaw_encodes_reference_points(sample, code):
    assert g711.alaw_encode(np.array([sample], np.int16)) == bytes([code])


@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
def test_every_code_decodes_and_reencodes_to_itself(codec):
    codes = bytes(range(256))
    decoded = g711.decode(codes, codec)
    again = g711.encode(decoded, codec)
    if codec == "pcmu":  # 0x7F and 0xFF both decode to 0 (negative and positive zero)
        assert again.replace(b"\x7f", b"\xff") == codes.replace(b"\x7f", b"\xff")
    else:
        assert again == codes


@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
def test_round_trip_error_stays_within_the_companding_step(codec):
    pcm = ALL_SAMPLES.tobytes()
    back = np.frombuffer(g711.decode(g711.encode(pcm, codec), codec), dtype="<i2")
    error = np.abs(back.astype(np.int32) - ALL_SAMPLES.astype(np.int32))
    # the quantization step grows with the level: at most 1/16 of the magnitude (+ small floor)
    assert np.all(error <= np.abs(ALL_SAMPLES.astype(np.int32)) / 16 + 16)


def test_matches_the_standard_library_coder_where_it_still_exists():
    audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    pcm = ALL_SAMPLES.tobytes()
    assert g711.encode(pcm, "pcmu") == audioop.lin2ulaw(pcm, 2)
    assert g711.encode(pcm, "pcma") == audioop.lin2alaw(pcm, 2)
    codes = bytes(range(256))
    assert g711.decode(codes, "pcmu") == audioop.ulaw2lin(codes, 2)
    assert g711.decode(codes, "pcma") == audioop.alaw2lin(codes, 2)


def test_linear_passes_through():
    assert g711.encode(b"\x01\x02", "l16") == b"\x01\x02"
