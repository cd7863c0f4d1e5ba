"""G.711 mu-law (PCMU) and A-law (PCMA) in numpy (``audioop`` is gone in Python 3.13).

Bit-exact with ITU-T G.711 / the classic Sun reference implementation that ``audioop``
used: 16-bit PCM in, one byte per sample out.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from voiceagent.audio.frames import pcm_to_array

Codec = Literal["pcmu", "pcma", "l16"]

_ULAW_BIAS = 0x84


def ulaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to mu-law bytes."""
    pcm = samples.astype(np.int32) >> 2  # 14-bit, as in the reference coder
    negative = pcm < 0
    mask = np.where(negative, 0x7F, 0xFF).astype(np.int32)
    magnitude = np.minimum(np.where(negative, -pcm, pcm), 8159) + 0x21
    seg_end = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
    seg = np.searchsorted(seg_end, magnitude, side="left").astype(np.int32)
    high = seg >= 8
    seg_c = np.minimum(seg, 7)
    uval = (seg_c << 4) | ((magnitude >> (seg_c + 1)) & 0x0F)
    out = np.where(high, 0x7F ^ mask, uval ^ mask)
    return (out & 0xFF).astype(np.uint8).tobytes()


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((u & 0x0F) << 3) + _ULAW_BIAS
    t = t << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(
        seg == 0, t + 8, np.where(seg == 1, t + 0x108, (t + 0x108) << np.maximum(seg - 1, 0))
    )
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ULAW_DECODE = _ulaw_table()
_ALAW_DECODE = _alaw_table()


def ulaw_decode(data: bytes) -> np.ndarray:
    """mu-law bytes to int16 samples."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to A-law bytes."""
    pcm = samples.astype(np.int32) >> 3
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5).astype(np.int32)
    magnitude = np.where(negative, -pcm - 1, pcm)
    seg_end = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
    seg = np.searchsorted(seg_end, magnitude, side="left").astype(np.int32)
    high = seg >= 8
    seg_c = np.minimum(seg, 7)
    aval = seg_c << 4
    shifted = np.where(seg_c < 2, (magnitude >> 1) & 0x0F, (magnitude >> seg_c) & 0x0F)
    aval = aval | shifted
    out = np.where(high, 0x7F ^ mask, aval ^ mask)
    return (out & 0xFF).astype(np.uint8).tobytes()


def alaw_decode(data: bytes) -> np.ndarray:
    """A-law bytes to int16 samples."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def encode(pcm: bytes, codec: Codec) -> bytes:
    """PCM16 bytes to the codec's payload (``l16`` passes through)."""
    if codec == "l16":
        return pcm
    samples = pcm_to_array(pcm)
    return ulaw_encode(samples) if codec == "pcmu" else alaw_encode(samples)


def decode(payload: bytes, codec: Codec) -> bytes:
    """The codec's payload to PCM16 bytes (``l16`` passes through)."""
    if codec == "l16":
        return payload
    samples = ulaw_decode(payload) if codec == "pcmu" else alaw_decode(payload)
    return samples.astype("<i2").tobytes()
