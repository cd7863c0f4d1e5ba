"""The naive baseline: the same turns, strictly one stage after the other.

Wait for the endpoint, transcribe the whole utterance, let the dialog (and the LLM inside it)
produce its whole reply, synthesize the whole reply, and only then start playing. This is
what a first prototype does; the streaming pipeline's gain is measured against it in the
same run, on the same clips, models and dialog.

The endpoint is found by the pipeline's own VAD and endpointer over the clip's frames (media
time, so no real-time wait is needed); every later stage is wall-clock time from then on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voiceagent.audio.frames import array_to_pcm, split_frames
from voiceagent.audio.resample import resample
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.protocol import Dialog, EndCall, ReplyText, Transfer, UserTurn
from voiceagent.speech.endpointing import Endpointer
from voiceagent.speech.events import EndOfTurn
from voiceagent.speech.latency import TraceClock, TurnLatency, monotonic_ms, set_current_trace
from voiceagent.speech.stt import STT, STT_RATE
from voiceagent.speech.tts import TTS, synthesize_at
from voiceagent.speech.vad import VAD

PRE_ROLL_MS = 240  # audio kept from before the speech-start decision, as the session does


@dataclass(frozen=True)
class Segment:
    """Where the endpointer put the turn inside a clip (ms of media time)."""

    speech_start_ms: float
    speech_end_ms: float
    endpoint_ms: float


class NoTurnFound(RuntimeError):
    """The VAD heard no turn in a clip: the clip is silent or too quiet for the VAD."""


def find_turn(samples: np.ndarray, rate: int, vad: VAD, config: PipelineConfig) -> Segment:
    """Run VAD and endpointer over ``samples`` and return the first complete turn."""
    frame_ms = config.audio.frame_ms
    endpointer = Endpointer(config.vad, config.endpointing, frame_ms)
    for index, frame in enumerate(split_frames(array_to_pcm(samples), rate, frame_ms)):
        for event in endpointer.update(vad.is_speech(frame, rate), index * frame_ms):
            if isinstance(event, EndOfTurn):
                return Segment(event.speech_start_ms, event.speech_end_ms, event.at_ms)
    raise NoTurnFound(
        "no end of turn found in the clip (silent clip, or too little tail "
        "silence: raise corpus.tail_silence_s above endpointing.silence_ms)"
    )


@dataclass(frozen=True)
class NaiveTurn:
    trace: TurnLatency
    transcript: str
    reply: str
    stt_s: float  # whole-utterance decode time
    dialog_s: float  # dialog + LLM until the last reply text
    tts_s: float  # whole-reply synthesis
    speech_s: float  # audio decoded
    reply_audio_s: float  # audio synthesized


class NaivePipeline:
    """Sequential STT -> dialog/LLM -> TTS with the pipeline's own classes."""

    def __init__(
        self, config: PipelineConfig, stt: STT, tts: TTS, vad_factory: Callable[[], VAD]
    ) -> None:
        self.config = config
        self.stt = stt
        self.tts = tts
        self.vad_factory = vad_factory

    def run_turn(self, samples: np.ndarray, rate: int, dialog: Dialog) -> NaiveTurn:
        """One caller turn (a clip at the channel ``rate``) answered by ``dialog``."""
        segment = find_turn(samples, rate, self.vad_factory(), self.config)
        start = max(0.0, segment.speech_start_ms - PRE_ROLL_MS)
        speech = samples[int(start * rate / 1000) : int(segment.speech_end_ms * rate / 1000)]
        trace = TurnLatency()
        # wall time now stands for the endpoint moment; speech ended endpoint_wait ms before
        endpoint_wait = segment.endpoint_ms - segment.speech_end_ms
        origin = monotonic_ms() - endpoint_wait
        clock = TraceClock(trace, origin, monotonic_ms)
        clock.mark("endpoint")

        t0 = time.perf_counter()
        transcript = self.stt.transcribe(resample(speech, rate, STT_RATE))
        stt_s = time.perf_counter() - t0
        clock.mark("stt_final")

        t0 = time.perf_counter()
        texts: list[ReplyText] = []
        set_current_trace(clock)  # lets the LLM mark its own first token
        try:
            user = UserTurn(transcript.text, transcript.confidence, transcript.no_speech)
            for event in dialog.respond(user):
                if isinstance(event, ReplyText):
                    clock.mark("llm_first_token")  # no-op when the LLM already marked it
                    texts.append(event)
                elif isinstance(event, EndCall | Transfer):
                    break
        finally:
            set_current_trace(None)
        dialog_s = time.perf_counter() - t0
        clock.mark("first_clause_ready")  # naive: nothing is spoken before the whole reply

        reply = " ".join(t.text for t in texts).strip()
        t0 = time.perf_counter()
        audio = synthesize_at(self.tts, reply, rate) if reply else np.zeros(0, np.int16)
        tts_s = time.perf_counter() - t0
        for stage in ("tts_first_audio", "first_audio_out"):
            clock.mark(stage)
        if any(t.content for t in texts):
            clock.mark("first_content_audio_out")
        return NaiveTurn(
            trace=trace,
            transcript=transcript.text,
            reply=reply,
            stt_s=stt_s,
            dialog_s=dialog_s,
            tts_s=tts_s,
            speech_s=speech.size / rate,
            reply_audio_s=audio.size / rate,
        )
