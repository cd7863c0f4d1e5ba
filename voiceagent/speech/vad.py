"""Voice activity detection: is there speech in this frame?"""

from __future__ import annotations

from typing import Protocol


class VAD(Protocol):
    """Classifies one PCM16 frame (10, 20 or 30 ms) as speech or not."""

    def is_speech(self, frame: bytes, rate: int) -> bool: ...


class WebRtcVAD:
    """webrtcvad (package webrtcvad-wheels) with aggressiveness 0 (lenient) to 3 (strict).

    One instance per call: the detector keeps state between frames.
    """

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"vad.aggressiveness must be 0..3, got {aggressiveness}")
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes, rate: int) -> bool:
        return bool(self._vad.is_speech(frame, rate))
