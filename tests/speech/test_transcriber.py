from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.fakes.speech import FakeSTT, quiet, speech
from voiceagent.speech.transcriber import StreamingTranscriber

pytestmark = pytest.mark.unit

RATE = 8000


def feed(transcriber, audio):
    for i in range(0, audio.size, RATE // 50):
        transcriber.add(audio[i : i + RATE // 50].tobytes())


def test_audio_decoded_at_a_pause_is_kept_and_only_the_tail_is_decoded_at_the_end():
    stt = FakeSTT()
    with ThreadPoolExecutor(1) as pool:
        tr = StreamingTranscriber(stt, RATE, pool)
        feed(tr, np.concatenate([speech("i want to book", RATE), quiet(200, RATE)]))
        tr.decode_to_pause()
        tr.keep_pending()  # the caller went on
        feed(tr, np.concatenate([speech("an appointment", RATE), quiet(200, RATE)]))
        result = tr.final()
    assert result.text == "i want to book an appointment"
    assert stt.calls == 2
    assert stt.audio_ms[1] < 1000  # the second decode saw only the new audio


def test_final_after_a_pause_needs_no_new_decode_when_nothing_followed():
    stt = FakeSTT()
    with ThreadPoolExecutor(1) as pool:
        tr = StreamingTranscriber(stt, RATE, pool)
        feed(tr, np.concatenate([speech("hello", RATE), quiet(200, RATE)]))
        tr.decode_to_pause()
        feed(tr, quiet(100, RATE))
        result = tr.final()
    assert result.text == "hello"
    assert stt.calls == 1


def test_silence_only_turn_is_reported_as_no_speech():
    with ThreadPoolExecutor(1) as pool:
        tr = StreamingTranscriber(FakeSTT(), RATE, pool)
        feed(tr, quiet(500, RATE))
        result = tr.final()
    assert result.no_speech and result.text == ""


def test_an_echo_of_the_earlier_text_and_a_repeated_sentence_are_said_once():
    from voiceagent.speech.stt import Transcript
    from voiceagent.speech.transcriber import _join

    parts = [Transcript("Hi?", 0.9, False, 400.0), Transcript("Hi?", 0.5, False, 300.0),
             Transcript("What are your hours? What are your hours?", 0.9, False, 1500.0),
             Transcript("And where do I park?", 0.9, False, 1200.0)]
    assert _join(parts, 3400.0).text == "Hi? What are your hours? And where do I park?"


def test_a_word_said_again_in_new_words_is_kept():
    from voiceagent.speech.stt import Transcript
    from voiceagent.speech.transcriber import _join

    parts = [Transcript("No.", 0.9, False, 300.0), Transcript("No, not Tuesday.", 0.9, False,
                                                                900.0)]
    assert _join(parts, 1200.0).text == "No. No, not Tuesday."
