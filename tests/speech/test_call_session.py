"""Turn-taking of CallSession on fakes (no models): endpointing, speculation, barge-in,
acknowledgements, reprompts and the call record."""

from __future__ import annotations

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.session import RATE, fake_config, run_fake_call
from tests.fakes.speech import quiet, speech
from voiceagent.dialog.minimal import MinimalDialog
from voiceagent.llm.protocol import ChatMessage

pytestmark = pytest.mark.unit


def test_caller_question_gets_template_answer_and_full_latency_trace():
    dialog = MinimalDialog(FakeLLM())
    call = run_fake_call(dialog, [speech("what are your hours", RATE)])
    assert call.texts("caller") == ["what are your hours"]
    assert "Monday to Friday" in call.texts("agent")[0]
    latency = call.record.turns[-1].latency
    assert latency is not None
    for stage in (
        "endpoint",
        "stt_final",
        "llm_first_token",
        "first_clause_ready",
        "tts_first_audio",
        "first_audio_out",
        "first_content_audio_out",
    ):
        assert stage in latency, stage
    assert latency["first_audio_out"] >= latency["endpoint"] - 1


def _concat(*parts):
    import numpy as np

    return np.concatenate(parts)


def test_reply_prepared_in_the_pause_is_used_at_the_endpoint():
    call = run_fake_call(MinimalDialog(FakeLLM()), [speech("what are your hours", RATE)])
    stats = call.session.stats
    assert stats.speculations_used == 1
    assert stats.speculations_discarded == 0
    assert call.record.turns[-1].latency["speculative"] == 1.0


def test_caller_going_on_after_a_short_pause_discards_speculation_and_keeps_one_turn():
    dialog = MinimalDialog(FakeLLM(["Parking is free behind the building."]))
    config = fake_config(silence_ms=600, speculate_after_ms=120)
    words = _concat(speech("tell me", RATE), quiet(300, RATE), speech("about parking", RATE))
    call = run_fake_call(dialog, [words], config=config)
    assert call.texts("caller") == ["tell me about parking"]
    assert call.session.stats.speculations_discarded >= 1
    assert call.session.stats.speculations_used == 1
    users = [m.content for m in dialog.state.history if m.role == "user"]
    assert users == ["tell me about parking"]  # the discarded speculation was rolled back


def test_endpointing_waits_through_a_digit_by_digit_phone_number():
    dialog = MinimalDialog(FakeLLM())
    config = fake_config(silence_ms=300, slow_input_silence_ms=1200)
    number = _concat(
        speech("five five five", RATE),
        quiet(700, RATE),
        speech("one two three", RATE),
        quiet(700, RATE),
        speech("one two three five", RATE),
    )
    call = run_fake_call(
        dialog, [speech("i want to book an appointment", RATE), number], config=config
    )
    callers = call.texts("caller")
    assert callers == [
        "i want to book an appointment",
        "five five five one two three one two three five",
    ]
    assert "5 5 5 1 2 3 1 2 3 5" in call.texts("agent")[-1]


def test_same_pauses_end_the_turn_when_free_speech_is_expected():
    config = fake_config(silence_ms=300, slow_input_silence_ms=1200)
    words = _concat(speech("tell me", RATE), quiet(700, RATE), speech("about parking", RATE))
    call = run_fake_call(MinimalDialog(FakeLLM()), [words], config=config)
    assert call.texts("caller") == ["tell me", "about parking"]


LONG_REPLY = (
    "Our clinic has a large parking lot behind the building, and street parking is "
    "free after six in the evening. There is also a bus stop right at the front door. "
    "Many patients find that the easiest way to reach us."
)


def _assistant_messages(dialog):
    return [m.content for m in dialog.state.history if m.role == "assistant"]


def test_barge_in_stops_playback_and_trims_the_reply_to_what_was_heard():
    dialog = MinimalDialog(FakeLLM([LONG_REPLY, "Sure."]))
    call = run_fake_call(
        dialog,
        [speech("tell me about parking", RATE), speech("wait please stop", RATE)],
        barge_in_ms=1500,
    )
    assert call.session.stats.barge_ins == 1
    heard = _assistant_messages(dialog)[1]  # [0] is the greeting
    assert heard and LONG_REPLY.startswith(heard)
    assert len(heard) < len(LONG_REPLY) / 2
    assert call.texts("caller")[-1] == "wait please stop"


def test_playback_goes_silent_within_100_ms_of_the_barge_in_decision():
    import numpy as np

    dialog = MinimalDialog(FakeLLM([LONG_REPLY, "Sure."]))
    call = run_fake_call(
        dialog,
        [speech("tell me about parking", RATE), speech("wait please stop", RATE)],
        barge_in_ms=1500,
    )
    agent = np.frombuffer(call.result.agent_audio, dtype="<i2").reshape(-1, RATE // 50)
    caller = np.frombuffer(call.result.caller_audio, dtype="<i2").reshape(-1, RATE // 50)
    loud_caller = np.nonzero(np.abs(caller).max(axis=1) > 300)[0]
    # the second segment's first frame, then the barge-in needs barge_in_min_ms of speech
    second_start = loud_caller[np.nonzero(np.diff(loud_caller) > 20)[0][-1] + 1]
    decision = second_start + 250 // 20
    after = np.abs(agent[decision + 100 // 20 : decision + 600 // 20]).max()
    before = np.abs(agent[second_start - 5 : second_start]).max()
    assert before > 1000  # the agent was talking when the caller cut in
    assert after == 0


def test_backchannel_during_playback_resumes_the_reply():
    dialog = MinimalDialog(FakeLLM([LONG_REPLY]))
    call = run_fake_call(
        dialog,
        [speech("tell me about parking", RATE), speech("mm-hm mm-hm", RATE)],
        barge_in_ms=1200,
    )
    assert call.session.stats.false_barge_ins == 1
    assert _assistant_messages(dialog)[1] == LONG_REPLY
    assert call.texts("caller") == ["tell me about parking"]


def test_short_noise_during_playback_neither_interrupts_nor_reaches_the_stt():
    import numpy as np

    click = (np.sin(np.arange(RATE // 10) * 0.3) * 6000).astype(np.int16)  # 100 ms
    dialog = MinimalDialog(FakeLLM([LONG_REPLY]))
    call = run_fake_call(dialog, [speech("tell me about parking", RATE), click], barge_in_ms=1200)
    assert call.session.stats.barge_ins == 0
    assert call.session.stats.ignored_noises == 1
    assert _assistant_messages(dialog)[1] == LONG_REPLY
    assert sum(call.stt.audio_ms) < 3000  # only the caller's own turn was decoded


class SlowToolDialog(MinimalDialog):
    def respond(self, turn):
        import time

        from voiceagent.dialog.protocol import ReplyText, ToolCall, ToolResult

        yield ToolCall("find_slots", {"day": "tuesday"})
        time.sleep(0.4)
        yield ToolResult("find_slots", ok=True, data={"slots": 2})
        yield ReplyText("I have two openings on Tuesday.")


def test_slow_tool_gets_an_acknowledgement_and_is_recorded():
    config = fake_config(ack_after_ms=100)
    call = run_fake_call(SlowToolDialog(FakeLLM()), [speech("hello", RATE)], config=config)
    assert call.session.stats.acknowledgements == 1
    assert "One moment while I check." in call.tts.spoken
    latency = call.record.turns[-1].latency
    assert latency["first_audio_out"] < latency["first_content_audio_out"]
    [tool] = call.record.tool_calls
    assert (tool.name, tool.arguments, tool.result["ok"]) == (
        "find_slots",
        {"day": "tuesday"},
        True,
    )


def test_fast_tool_gets_no_acknowledgement():
    class FastTool(SlowToolDialog):
        def respond(self, turn):
            from voiceagent.dialog.protocol import ReplyText, ToolCall, ToolResult

            yield ToolCall("find_slots", {})
            yield ToolResult("find_slots", ok=True)
            yield ReplyText("I have two openings on Tuesday.")

    call = run_fake_call(
        FastTool(FakeLLM()), [speech("hello", RATE)], config=fake_config(ack_after_ms=500)
    )
    assert call.session.stats.acknowledgements == 0


def test_silent_caller_is_reprompted_then_politely_hung_up_on():
    config = fake_config(reprompt_after_s=2, hangup_after_reprompts=2)
    call = run_fake_call(MinimalDialog(FakeLLM()), [quiet(100, RATE)], config=config, tail_ms=30000)
    assert call.session.stats.reprompts == 2
    assert call.record.outcome == "caller_silent"
    assert call.channel.ended_reason == "caller_silent"
    assert any("Goodbye" in text for text in call.tts.spoken)


def test_call_is_ended_politely_at_the_maximum_length():
    config = fake_config(max_call_s=12, reprompt_after_s=60)
    call = run_fake_call(MinimalDialog(FakeLLM()), [quiet(100, RATE)], config=config, tail_ms=60000)
    assert call.record.outcome == "max_call_length"
    assert call.result.duration_ms < 20000


def test_goodbye_ends_the_call_after_the_reply_has_played():
    import numpy as np

    call = run_fake_call(MinimalDialog(FakeLLM()), [speech("goodbye", RATE)])
    assert call.record.outcome == "completed"
    assert call.channel.ended_reason == "completed"
    goodbye = "Thank you for calling. Goodbye!"
    assert call.texts("agent")[-1] == goodbye
    agent = np.frombuffer(call.result.agent_audio, dtype="<i2").reshape(-1, RATE // 50)
    caller = np.frombuffer(call.result.caller_audio, dtype="<i2").reshape(-1, RATE // 50)
    caller_end = np.nonzero(np.abs(caller).max(axis=1) > 300)[0][-1]
    spoken_frames = np.count_nonzero(np.abs(agent[caller_end:]).max(axis=1) > 300)
    assert spoken_frames >= 5 * 100 // 20  # FakeTTS: 100 ms per word, all five words


def test_unintelligible_turn_is_asked_again_not_guessed():
    import numpy as np

    mumble = (np.sin(np.arange(RATE // 2) * 2 * np.pi * 200 / RATE) * 31000).astype(np.int16)
    dialog = MinimalDialog(FakeLLM())
    call = run_fake_call(dialog, [mumble])
    assert call.texts("caller") == [""]
    assert call.texts("agent") == ["Sorry, I didn't catch that. Could you say it again?"]


class SlowAnswerDialog(MinimalDialog):
    def respond(self, turn):
        import time

        from voiceagent.dialog.protocol import ReplyText

        # an LLM still thinking; long, so the filler (due 150 ms in) fires even on a busy box
        time.sleep(2.0)
        yield ReplyText("We are open until six.")


def test_filler_is_spoken_first_when_the_answer_is_late():
    from tests.fakes.session import run_fake_call as run

    call = run(
        SlowAnswerDialog(FakeLLM()), [speech("what are your hours", RATE)], warm_fillers=True
    )
    assert call.session.stats.fillers == 1
    latency = call.record.turns[-1].latency
    assert latency["first_audio_out"] < latency["first_content_audio_out"]


@pytest.mark.parametrize(("synthesis_s", "fillers"), [(0.4, 0), (1.0, 1)])
def test_filler_waits_once_for_an_answer_already_in_the_tts(synthesis_s, fillers):
    from tests.fakes.speech import FakeTTS
    from voiceagent.speech.session import SessionOptions

    # the answer's clause reaches the TTS at once; synthesis is slower than the filler delay
    call = run_fake_call(
        MinimalDialog(FakeLLM()),
        [speech("what are your hours", RATE)],
        warm_fillers=True,
        tts=FakeTTS(delay_s=synthesis_s, slow_text="Monday"),
        config=fake_config(speculate_after_ms=280),  # nothing prepared before the endpoint
        options=SessionOptions(filler_after_ms=300),  # due 300 ms after it, then 300 more
    )
    assert call.session.stats.fillers == fillers
    latency = call.record.turns[-1].latency
    if not fillers:  # the answer itself was the first thing heard
        assert latency["first_audio_out"] == latency["first_content_audio_out"]


def test_no_filler_when_the_answer_is_ready_in_time():
    from tests.fakes.session import run_fake_call as run

    call = run(MinimalDialog(FakeLLM()), [speech("what are your hours", RATE)], warm_fillers=True)
    assert call.session.stats.fillers == 0


def test_agent_audio_leaking_into_the_line_is_never_transcribed_in_half_duplex():
    from voiceagent.speech.session import SessionOptions

    dialog = MinimalDialog(FakeLLM([LONG_REPLY]))
    call = run_fake_call(
        dialog,
        [speech("tell me about parking", RATE), speech("yes", RATE)],
        options=SessionOptions(barge_in=False),
        echo=0.5,
    )
    assert call.texts("caller") == ["tell me about parking", "yes"]
    assert call.session.stats.barge_ins == 0
    assert _assistant_messages(dialog)[1] == LONG_REPLY


def test_dialog_crash_is_answered_politely_and_the_call_goes_on():
    class Broken(MinimalDialog):
        calls = 0

        def respond(self, turn):
            Broken.calls += 1
            if Broken.calls == 1:
                raise RuntimeError("database down")
            yield from super().respond(turn)

    call = run_fake_call(
        Broken(FakeLLM()), [speech("hello", RATE), speech("what are your hours", RATE)]
    )
    assert any("had a problem" in text for text in call.tts.spoken)
    assert "Monday to Friday" in call.texts("agent")[-1]


class EffectDialog(MinimalDialog):
    """Speaks, then performs an effect (a booking, say), then confirms."""

    def __init__(self) -> None:
        super().__init__(FakeLLM())
        self.effects: list[str] = []

    def respond(self, turn):
        from voiceagent.dialog.protocol import ReplyText
        from voiceagent.dialog.speculation import before_effect

        self.state.history.append(ChatMessage("user", turn.text))
        yield ReplyText("Let me put that in.")
        before_effect()
        self.effects.append(turn.text)
        yield ReplyText("Done.")


def test_speculative_turn_prepares_words_but_its_effect_waits_for_the_endpoint():
    dialog = EffectDialog()
    config = fake_config(silence_ms=600, speculate_after_ms=120)
    words = _concat(speech("tell me", RATE), quiet(300, RATE), speech("about parking", RATE))
    call = run_fake_call(dialog, [words], config=config)
    assert call.session.stats.speculations_discarded >= 1
    assert call.session.stats.speculations_used == 1
    # the turn discarded at the short pause never performed its effect; the real one did once
    assert dialog.effects == ["tell me about parking"]
    users = [m.content for m in dialog.state.history if m.role == "user"]
    assert users == ["tell me about parking"]
    assert call.texts("agent")[-1] == "Let me put that in. Done."
