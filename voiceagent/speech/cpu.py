"""CPU thread behaviour shared by the models (CTranslate2, llama.cpp, onnxruntime).

Their OpenMP runtimes keep idle threads spinning by default. With STT, LLM and TTS taking
turns on a few cores, a spinning pool starves the model that is working (measured here:
llama.cpp fell from 21 to 1.4 tokens/s with Whisper's pool idle beside it). The runtimes
read these variables when they load, so this runs before any of them is imported.
"""

from __future__ import annotations

import os


def prefer_passive_threads() -> None:
    """Idle OpenMP threads sleep instead of spinning (unless the environment says otherwise)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")
