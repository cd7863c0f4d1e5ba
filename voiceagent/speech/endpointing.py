"""Turn boundaries from per-frame VAD decisions: speech start, pause, resume, endpoint.

The endpointer sees one VAD decision per frame and the media time of that frame, and
emits the call's speech events (:mod:`voiceagent.speech.events`):

* :class:`SpeechStarted`: ``speech_start_ms`` of speech in a row (a click does not open a turn);
* :class:`SpeechPaused`: the caller has been silent for the speculation delay: start the
  final STT pass and the reply now, hold them;
* :class:`SpeechResumed`: the caller spoke again after a pause: discard what was speculated;
* :class:`EndOfTurn`: the silence that ends a turn has passed (or the turn ran too long).

The silence that ends a turn depends on what the dialog expects: digits, a date of birth,
an ID or a spelled name come in chunks with pauses between them, so the endpointer waits
``slow_input_silence_ms`` instead of ``silence_ms`` there.
"""

from __future__ import annotations

from voiceagent.config.pipeline import EndpointingConfig, VADConfig
from voiceagent.dialog.protocol import ExpectedInput
from voiceagent.speech.events import (
    EndOfTurn,
    SpeechEvent,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)


class Endpointer:
    """Speech start, pause, resume and end of turn from a stream of VAD decisions."""

    def __init__(self, vad: VADConfig, endpointing: EndpointingConfig, frame_ms: int = 20) -> None:
        self.vad = vad
        self.cfg = endpointing
        self.frame_ms = frame_ms
        self.expected = ExpectedInput.FREE
        self.reset()

    def reset(self) -> None:
        """Forget the current turn (after an endpoint or when the agent takes the floor)."""
        self.in_turn = False
        self.paused = False
        self._run_ms = 0.0  # consecutive speech
        self._run_start = 0.0
        self.turn_start_ms = 0.0
        self.last_speech_end_ms = 0.0

    def silence_needed_ms(self) -> int:
        """Silence that ends a turn for what the dialog expects now."""
        if self.expected.is_slow:
            return self.cfg.slow_input_silence_ms
        return self.cfg.silence_ms

    def speculate_at_ms(self) -> int:
        """Silence after which a reply is prepared speculatively.

        For slow input the caller pauses between chunks, so speculation starts only in the
        last ``silence_ms`` before the endpoint rather than at every short pause.
        """
        needed = self.silence_needed_ms()
        if self.expected.is_slow:
            return max(self.cfg.speculate_after_ms, needed - self.cfg.silence_ms)
        return min(self.cfg.speculate_after_ms, needed - self.frame_ms)

    def update(self, is_speech: bool, frame_start_ms: float) -> list[SpeechEvent]:
        """Feed the VAD decision for the frame starting at ``frame_start_ms``."""
        end = frame_start_ms + self.frame_ms
        events: list[SpeechEvent] = []
        if is_speech:
            if self._run_ms == 0:
                self._run_start = frame_start_ms
            self._run_ms += self.frame_ms
        else:
            self._run_ms = 0.0
        confirmed = self._run_ms >= self.vad.speech_start_ms
        if not self.in_turn:
            if confirmed:
                self.in_turn = True
                self.paused = False
                self.turn_start_ms = self._run_start
                self.last_speech_end_ms = end
                events.append(SpeechStarted(end, self._run_start))
            return events
        if end - self.turn_start_ms >= self.cfg.max_turn_s * 1000:
            events.append(self._endpoint(end))  # nobody talks this long: cut the turn
            return events
        if confirmed or (is_speech and self._run_ms > 0 and not self.paused):
            # inside a turn, any speech frame extends it; after a PAUSE, only confirmed speech
            # (not a click) resumes it
            self.last_speech_end_ms = end
            if self.paused and confirmed:
                self.paused = False
                events.append(SpeechResumed(end))
            return events
        silence = end - self.last_speech_end_ms
        if not self.paused and silence >= self.speculate_at_ms():
            self.paused = True
            events.append(SpeechPaused(end, self.last_speech_end_ms))
        if silence >= self.silence_needed_ms():
            events.append(self._endpoint(end))
        return events

    def _endpoint(self, at: float) -> EndOfTurn:
        event = EndOfTurn(at, self.turn_start_ms, self.last_speech_end_ms)
        self.reset()
        return event
