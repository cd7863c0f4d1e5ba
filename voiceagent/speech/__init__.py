"""The streaming speech pipeline: VAD, endpointing, STT, TTS and the call session."""
