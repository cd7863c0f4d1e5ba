import pytest

from voiceagent.config.pipeline import EndpointingConfig, VADConfig
from voiceagent.dialog.protocol import ExpectedInput
from voiceagent.speech.endpointing import Endpointer
from voiceagent.speech.events import EndOfTurn, SpeechPaused, SpeechResumed, SpeechStarted

pytestmark = pytest.mark.unit


def run(pattern, endpointer=None, **cfg):
    """pattern: list of (is_speech, ms); returns [(event type, at_ms, speech_end_ms)]."""
    ep = endpointer or Endpointer(VADConfig(), EndpointingConfig(**cfg))
    t = 0.0
    out = []
    for speech, ms in pattern:
        for _ in range(ms // 20):
            out += [(type(b), b.at_ms, getattr(b, "speech_end_ms", None))
                    for b in ep.update(speech, t)]
            t += 20
    return out


def events(result):
    return [e for e, _, _ in result]


def test_a_click_does_not_open_a_turn():
    assert run([(False, 200), (True, 40), (False, 1000)]) == []


def test_turn_ends_after_the_configured_silence():
    out = run([(False, 100), (True, 600), (False, 600)], silence_ms=300, speculate_after_ms=120)
    assert events(out) == [SpeechStarted, SpeechPaused, EndOfTurn]
    _, at, speech_end = out[-1]
    assert speech_end == 700
    assert at - speech_end == 300


def test_speculation_starts_before_the_endpoint_and_is_withdrawn_when_speech_resumes():
    out = run(
        [(True, 400), (False, 200), (True, 400), (False, 400)],
        silence_ms=300,
        speculate_after_ms=120,
    )
    assert events(out) == [
        SpeechStarted,
        SpeechPaused,
        SpeechResumed,
        SpeechPaused,
        EndOfTurn,
    ]


def test_waits_longer_while_digits_are_expected():
    ep = Endpointer(VADConfig(), EndpointingConfig(silence_ms=300, slow_input_silence_ms=1200))
    ep.expected = ExpectedInput.DIGITS
    digits = [(True, 300), (False, 700)] * 3 + [(True, 300), (False, 1300)]
    out = run(digits, endpointer=ep)
    assert events(out).count(EndOfTurn) == 1
    assert events(out)[-1] is EndOfTurn


def test_the_same_pauses_split_free_speech_into_turns():
    digits = [(True, 300), (False, 700)] * 3
    out = run(digits, silence_ms=300, slow_input_silence_ms=1200)
    assert events(out).count(EndOfTurn) == 3


def test_a_turn_that_never_pauses_is_cut_at_max_turn_length():
    out = run([(True, 3000)], max_turn_s=2)
    assert events(out)[:2] == [SpeechStarted, EndOfTurn]
    assert out[1][1] <= 2020


def test_speculation_for_slow_input_waits_for_the_last_stretch_of_silence():
    ep = Endpointer(
        VADConfig(),
        EndpointingConfig(silence_ms=300, slow_input_silence_ms=1200, speculate_after_ms=120),
    )
    ep.expected = ExpectedInput.DATE
    assert ep.speculate_at_ms() == 900
    ep.expected = ExpectedInput.FREE
    assert ep.speculate_at_ms() == 120
