import pytest

from voiceagent.speech.clauses import ClauseBuffer, split_clauses
from voiceagent.speech.playback import Clause, Player, Reply

pytestmark = pytest.mark.unit


def test_long_first_sentence_is_cut_at_its_comma():
    text = "Sure, I can help you book that appointment today. What day works for you?"
    assert split_clauses(text, 6) == [
        "Sure,",
        "I can help you book that appointment today.",
        "What day works for you?",
    ]


def test_long_first_sentence_without_comma_is_cut_after_the_word_limit():
    text = "We have several openings with our physical therapists on Tuesday and Thursday."
    first, *rest = split_clauses(text, 6)
    assert first == "We have several openings"  # cut before "with", not inside its phrase
    assert " ".join([first, *rest]) == text


def test_first_sentence_without_a_phrase_opener_is_cut_at_the_word_limit():
    text = "Yes we definitely accept Blue Cross Blue Shield plans here."
    first, *rest = split_clauses(text, 6)
    assert first == "Yes we definitely accept Blue Cross"
    assert " ".join([first, *rest]) == text


def test_short_sentences_stay_whole():
    assert split_clauses("Hello. How are you?", 6) == ["Hello.", "How are you?"]


def test_clause_buffer_releases_clauses_as_tokens_arrive():
    buffer = ClauseBuffer(6)
    out = []
    for piece in ["Of course,", " I can", " help.", " Which", " day?"]:
        out += buffer.push(piece)
    out += buffer.flush()
    assert out == ["Of course,", "I can help.", "Which day?"]


def test_clause_buffer_cuts_a_long_first_sentence_before_its_end_is_generated():
    buffer = ClauseBuffer(6)
    pieces = ["Our", " clinic", " is", " open", " from", " 8", " AM", " to", " 6", " PM", "."]
    released_after = [buffer.push(piece) for piece in pieces]
    # released while the sentence was still being generated
    assert released_after[7] == ["Our clinic is open"]
    out = [clause for clauses in released_after for clause in clauses] + buffer.flush()
    assert out == ["Our clinic is open", "from 8 AM to 6 PM."]


def test_clause_buffer_never_cuts_inside_a_word_still_arriving():
    buffer = ClauseBuffer(3)
    out = []
    for piece in ["Yes", " we", " definitely", " acc", "ept", " Blue", " Cross", "."]:
        out += buffer.push(piece)
    out += buffer.flush()
    assert out == ["Yes we definitely", "accept Blue Cross."]


def test_clause_buffer_keeps_a_lone_short_opener_with_what_follows():
    buffer = ClauseBuffer(6)
    assert buffer.push("Sure, ") == []
    assert buffer.push("we are open until six. ") == ["Sure, we are open until six."]


def frames(n):
    return [b"\x01\x00" * 160] * n


def test_player_plays_only_released_replies_and_reports_first_audio():
    player = Player(8000, 20)
    heard = []
    reply = Reply(on_audio_out=heard.append)
    reply.clauses.append(Clause("Okay.", False, frames(2)))
    reply.clauses.append(Clause("We open at eight.", True, frames(2)))
    player.play(reply)
    assert player.read() == bytes(320)
    reply.release()
    out = [player.read() for _ in range(5)]
    assert out[:4] == frames(4) and out[4] == bytes(320)
    assert heard == [False, True]


def test_spoken_text_counts_whole_clauses_and_the_heard_share_of_the_current_one():
    player = Player(8000, 20)
    reply = Reply()
    reply.release()
    reply.clauses.append(Clause("One two.", True, frames(2)))
    reply.clauses.append(Clause("three four five six", True, frames(4)))
    player.play(reply)
    for _ in range(4):
        player.read()
    assert reply.spoken_text() == "One two. three four"


def test_paused_player_is_silent_at_once_and_resumes_where_it_stopped():
    player = Player(8000, 20)
    reply = Reply()
    reply.release()
    reply.clauses.append(Clause("a b c", True, [bytes([i]) * 320 for i in range(1, 5)]))
    player.play(reply)
    first = player.read()
    player.pause()
    assert player.read() == bytes(320)
    player.resume()
    assert player.read() == bytes([2]) * 320 and first == bytes([1]) * 320


def test_played_out_is_signalled_once_a_generated_reply_has_been_heard():
    player = Player(8000, 20)
    reply = Reply()
    reply.release()
    reply.clauses.append(Clause("a", True, frames(1)))
    player.play(reply)
    player.read()
    assert not reply.played_out.is_set()
    reply.generated = True
    player.read()
    assert reply.played_out.is_set()
