"""How a call session behaves beyond pipeline.yaml (channels may tune it), and what it counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SessionOptions:
    """Behaviour that is not in pipeline.yaml (channels may tune it)."""

    barge_in: bool = True  # False: half duplex (a speaker next to the microphone)
    barge_in_min_dbfs: float = -50.0  # quieter speech (line noise) never interrupts
    pre_roll_ms: int = 240  # audio kept from before the speech start decision
    echo_tail_ms: int = 200  # half duplex: speech starting this soon after agent audio is echo
    ack_phrase: str = "One moment while I check."
    goodbye_silence: str = "I haven't heard from you, so I'll end the call now. Goodbye."
    goodbye_max_length: str = "I'm sorry, we have reached the time limit for this call. Goodbye."
    # said at once when the reply's audio is not ready ``filler_after_ms`` after the endpoint
    # (once more that long if its first clause is being synthesized by then); the phrase
    # cache must hold them; () disables. Short ones: the answer waits while one plays.
    fillers: tuple[str, ...] = ("Got it.", "Alright.")
    filler_after_ms: int = 150
    keypad_timeout_ms: int = 3000  # keys for digits or a date end after this pause (or '#')

    def phrases(self) -> list[str]:
        """The fixed phrases to synthesize once at start-up."""
        return [self.ack_phrase, self.goodbye_silence, self.goodbye_max_length, *self.fillers]


@dataclass
class SessionStats:
    """Counters for the call report. ``speculations``: pauses at which the final STT pass
    (and, for a dialog with checkpoint/restore, the reply) started before the endpoint;
    ``speculations_used``: replies prepared in a pause and released at the endpoint;
    ``speculations_discarded``: replies thrown away because the caller went on."""

    turns: int = 0
    speculations: int = 0  # replies (or final STT passes) started in a pause
    speculations_used: int = 0
    speculations_discarded: int = 0
    barge_ins: int = 0
    false_barge_ins: int = 0  # playback paused, then resumed (no words, a backchannel)
    ignored_noises: int = 0  # speech during playback too short or quiet to interrupt
    reprompts: int = 0
    acknowledgements: int = 0
    fillers: int = 0  # turns that began with a filler because the answer was not ready

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
