"""Models loaded once per process and shared by every call."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.llm.protocol import LLM
from voiceagent.speech.stt import STT
from voiceagent.speech.tts import TTS, PhraseCache
from voiceagent.speech.vad import VAD, WebRtcVAD

log = logging.getLogger("voiceagent.speech")


@dataclass
class PipelineResources:
    """What a :class:`~voiceagent.speech.session.CallSession` needs besides its dialog.

    ``vad_factory`` makes one VAD per call (VADs keep state); the rest is shared and
    thread-safe. ``llm`` is here so the process loads it once; the dialog gets it from here.
    """

    stt: STT
    tts: TTS
    phrases: PhraseCache
    vad_factory: Callable[[], VAD]
    llm: LLM | None = None

    def close(self) -> None:
        """Release what the models hold beyond memory (the LLM's thread and its OpenMP
        team, which would slow a model loaded after them)."""
        close = getattr(self.llm, "close", None)
        if close is not None:
            close()


def load_resources(
    config: PipelineConfig,
    vocabulary: Sequence[str] = (),
    fixed_phrases: Sequence[str] = (),
    with_llm: bool = True,
) -> PipelineResources:
    """Load STT, TTS (and the LLM) from local files; synthesize the fixed phrases.

    Raises ModelNotInstalled with the file and the fix when a model is missing or corrupt.
    With ``models.server`` set, the models are the box's model server's (whose Whisper holds
    the clinic's vocabulary) and only the VAD and the phrase cache live here.
    """
    if config.models.server is not None:
        return _connect_resources(config, fixed_phrases, with_llm)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from voiceagent.speech.stt import WhisperSTT
    from voiceagent.speech.tts import PiperTTS

    stt = WhisperSTT(config.models.stt, vocabulary)
    tts = PiperTTS(config.models.tts)
    llm: LLM | None = None
    if with_llm:
        from voiceagent.llm.llama import LlamaLLM
        from voiceagent.llm.timing import TimedLLM

        llm = TimedLLM(LlamaLLM(config.models.llm))
    phrases = PhraseCache(tts)
    phrases.warm(list(fixed_phrases), config.audio.channel_rate)
    aggressiveness = config.vad.aggressiveness
    log.info(
        "event=pipeline_loaded stt=%s tts=%s llm=%s",
        config.models.stt.model,
        config.models.tts.voice,
        config.models.llm.model if with_llm else "none",
    )
    return PipelineResources(
        stt=stt, tts=tts, phrases=phrases, vad_factory=lambda: WebRtcVAD(aggressiveness), llm=llm
    )


SERVER_WAIT_S = 120.0  # a model server started beside its workers is still loading


def _connect_resources(
    config: PipelineConfig, fixed_phrases: Sequence[str], with_llm: bool
) -> PipelineResources:
    from voiceagent.llm.timing import TimedLLM
    from voiceagent.modelserver.client import (
        ModelServerClient,
        ModelServerUnavailable,
        RemoteLLM,
        RemoteSTT,
        RemoteTTS,
    )

    assert config.models.server is not None
    client = ModelServerClient(config.models.server)
    info = client.wait_ready(SERVER_WAIT_S)
    if with_llm and info.llm is None:
        raise ModelServerUnavailable(
            f"the model server at {client.url} has no LLM loaded; start it with one")
    tts = RemoteTTS(client, info.sample_rate)
    phrases = PhraseCache(tts)
    phrases.warm(list(fixed_phrases), config.audio.channel_rate)
    aggressiveness = config.vad.aggressiveness
    log.info("event=pipeline_connected server=%s stt=%s tts=%s llm=%s", client.url, info.stt,
             info.tts, info.llm if with_llm else "none")
    return PipelineResources(
        stt=RemoteSTT(client), tts=tts, phrases=phrases,
        vad_factory=lambda: WebRtcVAD(aggressiveness),
        llm=TimedLLM(RemoteLLM(client)) if with_llm else None,
    )
