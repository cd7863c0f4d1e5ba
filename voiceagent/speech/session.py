"""One phone call through the speech pipeline: the seam every audio channel uses.

How a channel uses it
---------------------
A channel (SIP endpoint, microphone, WAV file, benchmark) owns the media clock and moves
audio as 16-bit mono PCM frames of ``config.audio.frame_ms`` (20 ms) at its own rate
(``channel.rate``: 8000 or 16000; G.711 is decoded/encoded by the channel)::

    resources = load_resources(config)             # once per process, shared by all calls
    session = CallSession(resources, dialog, channel, call_log, config)
    session.start()                                # opens the call record, queues the greeting
    # media thread, every 20 ms:
    session.feed(frame_in)                         # caller audio in (never blocks)
    frame_out = session.read()                     # agent audio out (silence when quiet)
    session.key(DtmfDigit("5"))                    # a key the caller pressed
    # when the caller hangs up:
    session.hangup()                               # closes the record (outcome 'caller_hangup')
    session.ended.wait()                           # set however the call ended
    session.close()                                # then release the worker threads

``feed`` runs the VAD and the endpointer inline (tens of microseconds per frame); all model
work (STT, dialog/LLM, TTS) runs on the session's two worker threads, which call back into
the channel (``end_call`` after the goodbye, ``transfer`` to hand the caller to a person).

The endpointer turns VAD decisions into speech events (:mod:`voiceagent.speech.events`), keys
arrive as :class:`DtmfDigit`, and the session routes them to small parts, one per module:
``bargein`` (speech over the agent; a backchannel lets the reply resume), ``keypad`` (keys
into one entry), ``turn`` (a caller turn, its reply, speculation and latency trace),
``generation`` (the dialog's events into clauses of audio), ``playback`` (the reply handle
and its states), ``fillers``, ``limits`` (reprompts, silence and call length), with the
timing rules in ``endpointing``. What happens on the call goes out on ``session.events``,
where :class:`~voiceagent.speech.callrecord.CallRecorder`, the one writer of the call's
record, listens.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import Dialog, EndCall, Transfer
from voiceagent.dialog.speculation import SpeculativeDialog
from voiceagent.speech.bargein import BargeIn, FloorTaken
from voiceagent.speech.callrecord import CallRecorder
from voiceagent.speech.channel_io import ChannelIO
from voiceagent.speech.endpointing import Endpointer
from voiceagent.speech.events import (
    CallEnded,
    CallEvents,
    DtmfDigit,
    EndOfTurn,
    SpeechEvent,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    ToolCalled,
    TransferRequested,
)
from voiceagent.speech.fillers import Fillers
from voiceagent.speech.generation import ReplySettings, ReplyWriter
from voiceagent.speech.keypad import KeypadInput, KeypadTurn
from voiceagent.speech.latency import TurnLatency
from voiceagent.speech.limits import CallLimits, LimitAction
from voiceagent.speech.playback import Player, Reply
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session_options import SessionOptions, SessionStats
from voiceagent.speech.transcriber import StreamingTranscriber
from voiceagent.speech.turn import CallerTurn, answer_keys, answer_speech
from voiceagent.speech.workers import Workers

log = logging.getLogger("voiceagent.session")

# how a call ended when the caller left with the inquiry unfinished (it becomes a lead)
_CALLER_LEFT = ("caller_hangup", "silence", *(a.value for a in LimitAction))


class CallSession:
    """One call: caller frames in, agent frames out, dialog in between (see module doc)."""

    def __init__(
        self,
        resources: PipelineResources,
        dialog: Dialog,
        channel: ChannelIO,
        call_log: CallLog,
        config: PipelineConfig,
        options: SessionOptions | None = None,
    ) -> None:
        self.res = resources
        self.dialog = dialog
        self.channel = channel
        self.call_log = call_log
        self.config = config
        self.options = options = options or SessionOptions()
        self.rate = rate = channel.rate
        self.frame_ms = frame_ms = config.audio.frame_ms
        self.vad = resources.vad_factory()
        self.endpointer = Endpointer(config.vad, config.endpointing, frame_ms)
        self.player = Player(rate, frame_ms)
        self.stats = SessionStats()
        self.events = CallEvents()
        self.ended = threading.Event()
        self.call_id = ""
        self.outcome = ""
        self.turn_traces: list[TurnLatency] = []
        self.workers = Workers(uuid.uuid4().hex[:8], self._job_failed)
        self.writer = ReplyWriter(
            resources,
            ReplySettings(rate, frame_ms, config.models.tts.first_clause_max_words,
                          config.endpointing.ack_after_ms, options.ack_phrase),
            self.player, self.workers, self.ended,
            record_tool=lambda name, args, result: self.events.emit(
                ToolCalled(name, args, result)),
            hand_over=self._hand_over, after_reply=self._after_reply,
            acknowledged=self._count_acknowledgement,
        )
        self.barge_in = BargeIn(self.player, self.events, self.stats,
                                config.vad.speech_start_ms, config.endpointing.barge_in_min_ms,
                                options.barge_in_min_dbfs, frame_ms)
        self.keypad = KeypadInput(options.keypad_timeout_ms, self.player, self._keypad_turn)
        self.limits = CallLimits(config.endpointing)
        self.fillers = Fillers(resources.phrases, options.fillers, options.filler_after_ms,
                               rate, frame_ms)
        self._lock = threading.RLock()
        self._frames_in = 0
        self._anchor_media_ms = 0.0
        self._anchor_wall = time.monotonic()
        self._preroll: collections.deque[bytes] = collections.deque(
            maxlen=max(1, options.pre_roll_ms // frame_ms))
        self._turn: CallerTurn | None = None
        self._closing = False
        self.idle_since_ms: float | None = None  # media time the agent last went quiet
        self._agent_audio_ms = -1e9  # media time of the last agent frame sent

    # ----------------------------------------------------------------- channel API

    def start(self) -> None:
        """Open the call record and queue the greeting."""
        channel = self.channel
        record = CallRecorder.open(self.call_log, channel.channel, channel.caller_id,
                                   channel.recording_path, channel.call_id)
        self.events.subscribe(record)  # the one writer of the call's record
        self.call_id = record.call_id
        attach = getattr(self.dialog, "attach_call", None)
        if attach is not None:  # holds, bookings and audit entries carry the call's id
            attach(self.call_id, channel.caller_id)
        self._anchor_wall = time.monotonic()
        self.writer.say(self.dialog.greeting, True)

    def transfer_result(self, connected: bool) -> None:
        """The channel's word on the last transfer: connected ends the session; otherwise
        the caller is back and the dialog takes over again (it offers to take a message)."""
        if connected:
            self._finish("transferred", notify_channel=False)
        else:
            self.writer.say(self.dialog.transfer_failed, False)

    def now_ms(self) -> float:
        """Media time of the call (ms): frames fed, plus wall time since the last frame."""
        return self._anchor_media_ms + (time.monotonic() - self._anchor_wall) * 1000.0

    def busy(self) -> bool:
        """A worker is computing (a virtual-clock channel must then run in real time)."""
        return self.workers.busy()

    def has_jobs(self) -> bool:
        """A worker job exists (perhaps only waiting for playback or the endpoint)."""
        return self.workers.has_jobs()

    def agent_idle(self) -> bool:
        """Nothing queued, computing or playing for the agent."""
        return not self.workers.has_jobs() and not self.player.active()

    def read(self) -> bytes:
        """The next agent frame (PCM16 at the channel rate); silence when the agent is quiet."""
        frame = self.player.read()
        if frame is not self.player.silence:
            self._agent_audio_ms = self._anchor_media_ms
        return frame

    def feed(self, frame: bytes) -> None:
        """One caller frame (PCM16 at the channel rate). Cheap; never waits on a model."""
        with self._lock:
            start = self._frames_in * self.frame_ms
            self._frames_in += 1
            now = self._anchor_media_ms = start + self.frame_ms
            self._anchor_wall = time.monotonic()
            if self.ended.is_set() or self._closing:
                return
            self._preroll.append(frame)
            speech = self.vad.is_speech(frame, self.rate)
            events = self.endpointer.update(speech, start)
            if self._turn is not None:
                self._turn.transcriber.add(frame)
            else:
                self.barge_in.add(frame, speech)
            for event in events:
                self._on_speech(event)
            if self._turn is None:
                taken = self.barge_in.check()
                if taken is not None:
                    self._take_floor(taken)
            if self.fillers.check(now):
                self.stats.fillers += 1
            self.keypad.tick(now)
            self._check_limits(now)
            if self.agent_idle() and self._turn is None and not self.keypad.active():
                if self.idle_since_ms is None:
                    self.idle_since_ms = now
            else:
                self.idle_since_ms = None

    def key(self, key: DtmfDigit) -> None:
        """A key the caller pressed (from the thread that feeds audio): caller input like
        speech (see :mod:`voiceagent.speech.keypad`); a complete entry reaches the dialog
        as ``UserTurn.dtmf``."""
        with self._lock:
            if self.ended.is_set() or self._closing:
                return
            now = self.now_ms()
            self.limits.caller_answered(now)
            self.events.emit(key)
            self.keypad.press(key, now, self.endpointer.expected)

    def hangup(self) -> None:
        """The caller hung up: stop everything and close the record."""
        with self._lock:
            if self.ended.is_set():
                return
            self._closing = True
            self.player.stop()
        self._finish("caller_hangup", notify_channel=False)

    def close(self) -> None:
        """Release the worker threads (after ``ended``)."""
        self.workers.close()

    # ----------------------------------------------------------------- media thread

    def _on_speech(self, event: SpeechEvent) -> None:
        self.events.emit(event)
        match event:
            case SpeechStarted(at_ms=at, speech_start_ms=began):
                echo_until = self._agent_audio_ms + self.options.echo_tail_ms
                if not self.options.barge_in and (began <= echo_until or self.player.active()):
                    # half duplex: the agent holds the floor, and what began while it was
                    # audible is its own echo
                    self.endpointer.reset()
                    return
                self.limits.activity(at)
                if self.player.active() and self.options.barge_in:
                    self.barge_in.begin(list(self._preroll))
                else:
                    self._open_turn(list(self._preroll), at)
            case SpeechPaused(speech_end_ms=speech_end) if self._turn is not None:
                self._speculate(self._turn, speech_end)
            case SpeechResumed(at_ms=at) if self._turn is not None:
                self.limits.activity(at)
                held = self._turn.reply
                if held is not None:
                    held.discard()  # its job wakes and rolls the dialog back
                    self._turn.reply = None
                    self.stats.speculations_discarded += 1
                self._turn.transcriber.keep_pending()
            case EndOfTurn(at_ms=at, speech_end_ms=speech_end):
                turn, self._turn = self._turn, None
                if turn is None:
                    self.barge_in.ended_as_noise()
                    return
                self.limits.activity(at)
                self._end_turn(turn, speech_end)
            case _:
                pass

    def _open_turn(self, frames: list[bytes], at_ms: float, barge_in: bool = False,
                   interrupted: Reply | None = None) -> None:
        transcriber = StreamingTranscriber(self.res.stt, self.rate, self.workers.stt)
        for frame in frames:
            transcriber.add(frame)
        self._turn = CallerTurn(transcriber=transcriber, start_ms=at_ms, barge_in=barge_in,
                                interrupted=interrupted)
        self.limits.caller_answered(at_ms)

    def _take_floor(self, taken: FloorTaken) -> None:
        self._open_turn(taken.frames, self.now_ms(), taken.barge_in, taken.interrupted)
        if taken.barge_in:
            log.info("event=barge_in call_id=%s speech_ms=%d", self.call_id, taken.speech_ms)

    def _keypad_turn(self, turn: KeypadTurn, interrupted: Reply | None) -> None:
        self.stats.turns += 1
        self.workers.submit(answer_keys, self.dialog, self.writer, self.events, turn,
                            interrupted)

    def _check_limits(self, now: float) -> None:
        quiet = (self._turn is None and self.barge_in.candidate is None
                 and not self.keypad.active() and self.agent_idle())
        if self.workers.has_jobs() or self.player.active():
            self.limits.activity(now)
        action = self.limits.check(now, quiet)
        if action is LimitAction.END_MAX_LENGTH:
            self._closing = True
            self.writer.say_and_end(self.options.goodbye_max_length, action.value)
        elif action is LimitAction.END_SILENT:
            self._closing = True
            self.writer.say_and_end(self.options.goodbye_silence, action.value)
        elif action is LimitAction.REPROMPT:
            self.stats.reprompts += 1
            count = self.limits.silences
            self.writer.say(lambda: self.dialog.silence(count), False)

    def _speculate(self, turn: CallerTurn, speech_end_ms: float) -> None:
        turn.transcriber.decode_to_pause()
        self.stats.speculations += 1
        if turn.barge_in or not isinstance(self.dialog, SpeculativeDialog):
            return  # only the STT pass is speculated
        reply = turn.new_reply(speech_end_ms, True, self.now_ms)
        self.workers.submit(self._answer, turn, reply)

    def _end_turn(self, turn: CallerTurn, speech_end_ms: float) -> None:
        self.stats.turns += 1
        if turn.reply is not None and turn.clock is not None:
            turn.clock.mark("endpoint")
            turn.trace.speculative = True
            self.stats.speculations_used += 1
            self._release(turn.reply)
            return
        reply = turn.new_reply(speech_end_ms, False, self.now_ms)
        assert turn.clock is not None
        turn.clock.mark("endpoint")
        if not turn.barge_in:
            self._release(reply)
        self.workers.submit(self._answer, turn, reply)

    def _release(self, reply: Reply) -> None:
        self.player.play(reply)
        reply.release()
        self.fillers.schedule(reply, self.now_ms())

    # ----------------------------------------------------------------- workers

    def _job_failed(self) -> None:
        log.exception("event=session_error call_id=%s", self.call_id)
        self.writer.apologize()

    def _answer(self, turn: CallerTurn, reply: Reply) -> None:
        if answer_speech(turn, reply, self.dialog, self.writer, self.barge_in, self.events):
            self.turn_traces.append(turn.trace)
            turn.trace.log(self.call_id, self.stats.turns)

    def _hand_over(self, event: Transfer | EndCall, reply: Reply) -> None:
        """The dialog ends the call or hands it to a person (after the endpoint)."""
        if isinstance(event, Transfer):
            self.writer.wait_played(reply)
            self.events.emit(TransferRequested(event.target, event.warm))
            self.channel.transfer(event)
            if not getattr(self.channel, "reports_transfer_result", False):
                self._finish("transferred", notify_channel=False)
            return
        self._closing = True  # the caller hears the goodbye; nothing they say is a turn
        self.writer.wait_played(reply)
        self._finish(event.reason, notify_channel=True)

    def _after_reply(self) -> None:
        # what the dialog waits for next (how long a pause ends a turn, how keys group)
        self.endpointer.expected = self.dialog.expected_input()

    def _count_acknowledgement(self) -> None:
        self.stats.acknowledgements += 1

    def _finish(self, outcome: str, notify_channel: bool) -> None:
        with self._lock:
            if self.ended.is_set():
                return
            self.outcome = outcome
            self._closing = True
            held = self._turn.reply if self._turn is not None else None
            if held is not None:  # a speculative reply waiting for an endpoint that won't come
                held.cancel()
        left = getattr(self.dialog, "caller_left", None)
        if left is not None and outcome in _CALLER_LEFT:
            try:  # what an unfinished inquiry learned becomes a lead and a call-back message
                left()
            except Exception:
                log.exception("event=caller_left_failed call_id=%s", self.call_id)
        try:
            self.events.emit(CallEnded(outcome))
        finally:
            log.info("event=call_end call_id=%s outcome=%s %s", self.call_id, outcome,
                     " ".join(f"{k}={v}" for k, v in self.stats.as_dict().items()))
            self.ended.set()
            if notify_channel:
                self.channel.end_call(outcome)
