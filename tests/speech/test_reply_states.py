"""The reply handle's states: what plays, what may still play, and what is gone for good."""

from __future__ import annotations

import pytest

from voiceagent.speech.playback import Clause, Player, Reply, ReplyState

pytestmark = pytest.mark.unit

SILENCE = bytes(320)


def frames(n: int) -> list[bytes]:
    return [bytes([i + 1]) * 320 for i in range(n)]


def test_a_pending_reply_is_silent_until_the_endpoint_releases_it():
    player = Player(8000, 20)
    reply = Reply(speculative=True)
    reply.clauses.append(Clause("We open at eight.", True, frames(2)))
    player.play(reply)
    assert reply.state is ReplyState.PENDING
    assert player.read() == SILENCE and not player.active()
    reply.release()
    assert reply.state is ReplyState.LIVE and reply.released.is_set()
    assert player.read() == frames(2)[0]


def test_a_held_reply_keeps_what_is_ready_and_can_play_it_after_a_backchannel():
    player = Player(8000, 20)
    reply = player.play_new()
    reply.clauses.append(Clause("a b c d", True, frames(4)))
    assert player.read() == frames(4)[0]
    player.pause()
    reply.hold()  # the caller cut in
    assert reply.truncated and not reply.cancelled
    assert player.read() == SILENCE
    player.play(reply)  # it was only "mm-hm"
    assert player.read() == frames(4)[1]


def test_a_discarded_speculation_wakes_its_job_and_never_plays():
    player = Player(8000, 20)
    reply = Reply(speculative=True)
    reply.clauses.append(Clause("Sure.", True, frames(1)))
    player.play(reply)
    reply.discard()
    assert reply.state is ReplyState.DISCARDED
    assert reply.cancelled and reply.discarded
    assert reply.released.is_set()  # the job waiting for the endpoint wakes to roll back
    assert player.read() == SILENCE


def test_cancelled_is_final_and_only_a_pending_reply_can_be_discarded():
    reply = Reply.live()
    reply.discard()  # too late: it was already released
    assert reply.state is ReplyState.LIVE
    reply.hold()
    reply.cancel()
    assert reply.state is ReplyState.CANCELLED and reply.played_out.is_set()
    reply.release()
    reply.hold()
    assert reply.state is ReplyState.CANCELLED and not reply.truncated


def test_stopping_the_player_cancels_its_reply_and_returns_what_was_heard():
    player = Player(8000, 20)
    reply = player.play_new()
    reply.clauses.append(Clause("one two three four", True, frames(4)))
    player.read()
    player.read()
    stopped = player.stop()
    assert stopped is reply and reply.cancelled
    assert reply.spoken_text() == "one two"
    assert player.read() == SILENCE
