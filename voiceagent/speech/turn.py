"""A caller turn and the agent's answer to it.

A spoken turn (:class:`CallerTurn`) has its transcriber, the reply prepared for it and its
latency trace; :func:`respond` writes the dialog's reply, under speculation if the dialog
can roll back. A keyed entry is answered like a spoken turn without the STT
(:func:`answer_keys`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from voiceagent.dialog.protocol import Dialog, UserTurn
from voiceagent.dialog.speculation import SpeculationDiscarded, SpeculativeDialog, gated
from voiceagent.speech.bargein import BargeIn, cut_off
from voiceagent.speech.events import AgentSaid, CallerSaid, CallEvents
from voiceagent.speech.generation import ReplyWriter
from voiceagent.speech.keypad import KeypadTurn
from voiceagent.speech.latency import TraceClock, TurnLatency, set_current_trace
from voiceagent.speech.playback import Reply
from voiceagent.speech.transcriber import StreamingTranscriber


@dataclass
class CallerTurn:
    transcriber: StreamingTranscriber
    start_ms: float
    barge_in: bool = False
    interrupted: Reply | None = None  # the agent's reply this turn talked over
    reply: Reply | None = None
    trace: TurnLatency = field(default_factory=TurnLatency)
    clock: TraceClock | None = None
    speech_end_ms: float = 0.0

    def new_reply(self, speech_end_ms: float, speculative: bool,
                  now_ms: Callable[[], float]) -> Reply:
        """The reply to this turn, with a fresh latency trace counted from ``speech_end_ms``."""
        self.speech_end_ms = speech_end_ms
        self.trace = TurnLatency(barge_in=self.barge_in)
        clock = TraceClock(self.trace, speech_end_ms, now_ms)
        self.clock = clock
        reply = Reply(speculative=speculative)

        def on_audio(content: bool) -> None:
            if content:
                clock.mark_together("first_audio_out", "first_content_audio_out")
            else:
                clock.mark("first_audio_out")

        reply.on_audio_out = on_audio
        self.reply = reply
        return reply


def respond(dialog: Dialog, writer: ReplyWriter, reply: Reply, user: UserTurn,
            clock: TraceClock) -> bool:
    """The dialog's reply to ``user``, written into ``reply``; False if it was cancelled.

    Under speculation the reply may be written before the endpoint: the dialog's effects
    wait for it in ``before_effect``, and a reply the caller talked over is thrown away and
    the dialog rolled back to where it was."""
    checkpoint = dialog.checkpoint() if isinstance(dialog, SpeculativeDialog) else None

    def confirmed() -> None:  # the dialog's effects wait here for the endpoint
        if not writer.wait_release(reply):
            raise SpeculationDiscarded

    set_current_trace(clock)
    try:
        with gated(confirmed):
            completed = writer.speak(reply, lambda: dialog.respond(user), False, clock)
    except SpeculationDiscarded:
        completed = False
    finally:
        set_current_trace(None)
    if (not completed and checkpoint is not None and reply.discarded
            and isinstance(dialog, SpeculativeDialog)):
        dialog.restore(checkpoint)
    return completed


def answer_speech(turn: CallerTurn, reply: Reply, dialog: Dialog, writer: ReplyWriter,
                  barge_in: BargeIn, events: CallEvents) -> bool:
    """The final transcript of ``turn``, then the dialog's reply to it, synthesized clause by
    clause into ``reply`` (on the reply worker). False: the reply was dropped (a discarded
    speculation, a backchannel that let the interrupted reply play on)."""
    clock = turn.clock
    assert clock is not None
    transcript = turn.transcriber.final()
    clock.mark("stt_final")
    if reply.cancelled:
        return False
    if turn.barge_in:
        barge_in.decide(turn.interrupted, turn.reply, transcript, dialog)
        if reply.cancelled:
            return False
        writer.player.play(reply)
        reply.release()
    reply.on_commit.insert(0, lambda: events.emit(CallerSaid(transcript.text)))
    user = UserTurn(text=transcript.text, confidence=transcript.confidence,
                    no_speech=transcript.no_speech)
    if not respond(dialog, writer, reply, user, clock):
        return False
    writer.wait_first_audio(reply)
    events.emit(AgentSaid(reply.full_text(), turn.trace.as_dict()))
    return True


def answer_keys(dialog: Dialog, writer: ReplyWriter, events: CallEvents, turn: KeypadTurn,
                interrupted: Reply | None) -> None:
    """The dialog's reply to a keyed entry (on the reply worker). The reply the first key
    held is dropped, and the dialog forgets what the caller did not hear of it."""
    if interrupted is not None:
        cut_off(interrupted, writer.player, dialog, events, by_keys=True)
    events.emit(CallerSaid("", keys=turn.keys))
    reply = writer.player.play_new()
    user = UserTurn(text="", dtmf=turn.keys)
    if not writer.speak(reply, lambda: dialog.respond(user), False):
        return
    writer.wait_first_audio(reply)
    events.emit(AgentSaid(reply.full_text()))
