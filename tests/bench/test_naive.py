from collections.abc import Iterator

import numpy as np
import pytest

from tests.fakes.speech import FakeSTT, FakeTTS, FakeVAD, quiet, speech
from voiceagent.bench.naive import NaivePipeline, NoTurnFound, find_turn
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.protocol import DialogEvent, ExpectedInput, ReplyText, UserTurn

pytestmark = pytest.mark.unit
RATE = 16000


class EchoDialog:
    """Replies with a filler, then repeats what it heard."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def greeting(self) -> Iterator[DialogEvent]:
        yield ReplyText("Hello.", content=False)

    def expected_input(self) -> ExpectedInput:
        return ExpectedInput.FREE

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        self.heard.append(turn.text)
        yield ReplyText("One moment.", content=False)
        yield ReplyText(f"You said {turn.text}.")

    def interrupted(self, spoken: str) -> None:
        pass

    def silence(self, count: int) -> Iterator[DialogEvent]:
        yield from ()

    def transfer_failed(self) -> Iterator[DialogEvent]:
        yield from ()


def clip(text: str) -> np.ndarray:
    return np.concatenate([quiet(500, RATE), speech(text, RATE), quiet(1500, RATE)])


def test_the_endpoint_is_the_configured_silence_after_the_speech() -> None:
    config = PipelineConfig()
    segment = find_turn(clip("what are your hours"), RATE, FakeVAD(), config)
    waited = segment.endpoint_ms - segment.speech_end_ms
    assert config.endpointing.silence_ms <= waited <= config.endpointing.silence_ms + 40
    assert 400 <= segment.speech_start_ms <= 560


def test_a_silent_clip_has_no_turn() -> None:
    with pytest.raises(NoTurnFound, match="tail_silence_s"):
        find_turn(quiet(3000, RATE), RATE, FakeVAD(), PipelineConfig())


def test_naive_turn_runs_every_stage_in_order_and_speaks_the_whole_reply() -> None:
    tts = FakeTTS()
    naive = NaivePipeline(PipelineConfig(), FakeSTT(), tts, FakeVAD)
    dialog = EchoDialog()
    turn = naive.run_turn(clip("what are your hours"), RATE, dialog)
    assert dialog.heard == ["what are your hours"]
    assert tts.spoken == ["One moment. You said what are your hours."]  # one synthesis, whole
    t = turn.trace
    stages = [
        t.endpoint,
        t.stt_final,
        t.llm_first_token,
        t.first_clause_ready,
        t.tts_first_audio,
        t.first_audio_out,
        t.first_content_audio_out,
    ]
    assert all(s is not None for s in stages)
    assert stages == sorted(stages)  # type: ignore[type-var]
    assert t.endpoint == pytest.approx(PipelineConfig().endpointing.silence_ms, abs=40)
    assert turn.reply_audio_s > 0


def test_an_eight_khz_clip_is_transcribed_at_sixteen_khz() -> None:
    stt = FakeSTT()
    naive = NaivePipeline(PipelineConfig(), stt, FakeTTS(), FakeVAD)
    narrow = np.concatenate(
        [quiet(500, 8000), speech("book an appointment", 8000), quiet(1500, 8000)]
    )
    turn = naive.run_turn(narrow, 8000, EchoDialog())
    assert turn.transcript == "book an appointment"
    assert stt.audio_ms[0] == pytest.approx(turn.speech_s * 1000, abs=25)


def test_short_greeting_says_one_word_and_passes_everything_else_through() -> None:
    from voiceagent.bench.dialogs import GREETING, short_greeting

    inner = EchoDialog()
    dialog = short_greeting(inner)
    assert [e.text for e in dialog.greeting() if isinstance(e, ReplyText)] == [GREETING]
    events = list(dialog.respond(UserTurn("hello")))
    assert inner.heard == ["hello"]
    assert events[-1] == ReplyText("You said hello.")
    assert not hasattr(dialog, "checkpoint")  # EchoDialog cannot roll back: no speculation
