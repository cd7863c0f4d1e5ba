"""One phone call through the speech pipeline: the seam every audio channel uses.

How a channel uses it
---------------------
A channel (SIP endpoint, microphone, WAV file, benchmark) owns the media clock and moves
audio as 16-bit mono PCM frames of ``config.audio.frame_ms`` (20 ms) at its own rate
(``channel.rate``: 8000 or 16000; G.711 is decoded/encoded by the channel, see
``voiceagent.audio.g711``)::

    resources = load_resources(config)             # once per process, shared by all calls
    session = CallSession(resources, dialog, channel, call_log, config)
    session.start()                                # opens the call record, queues the greeting
    # media thread, every 20 ms:
    session.feed(frame_in)                         # caller audio in (never blocks)
    frame_out = session.read()                     # agent audio out (silence when quiet)
    # when the caller hangs up:
    session.hangup()                               # closes the record (outcome 'caller_hangup')
    session.ended.wait()                           # set however the call ended
    session.close()                                # then release the worker threads

``feed`` runs the VAD and endpointer inline (tens of microseconds per frame) and hands all
model work (STT, dialog/LLM, TTS) to the session's own worker threads, so the media thread
never waits on a model. ``read`` pops a frame from the queue of synthesized audio; barge-in
flushes that queue, so playback stops within one frame of the decision.

The session calls back into the channel from a worker thread (never from ``feed``/``read``):
``channel.end_call(reason)`` once the goodbye has played, and ``channel.transfer(target,
summary)`` when the dialog hands the call to a person. ``CallSession.stats`` counts turns,
speculation and barge-ins; every turn's :class:`~voiceagent.speech.latency.TurnLatency` goes
to ``call_log.add_turn(..., latency=...)`` and to one structured log line.

Turn-taking rules (config ``endpointing``):

* the silence that ends a turn is ``silence_ms``, or ``slow_input_silence_ms`` while the
  dialog expects digits, a date, an ID or spelling (``Dialog.expected_input()``);
* after ``speculate_after_ms`` of silence the final STT pass starts, and, if the dialog can
  roll back (``checkpoint()``/``restore()``), the reply too; it is released at the endpoint
  or thrown away when the caller goes on; effects never happen before the endpoint: the
  dialog's effects wait in :func:`voiceagent.dialog.speculation.before_effect`, its tool
  records reach the call log once the turn is confirmed, and transfers and hang-ups wait here;
* caller speech of ``barge_in_min_ms`` (and loud enough) during playback pauses it at once;
  if the words turn out to be a backchannel ("mm-hm", a cough: no words) playback resumes,
  otherwise the reply is cancelled and ``Dialog.interrupted(spoken)`` trims the history;
* the agent's own audio is never sent to the STT: caller audio is transcribed only when the
  agent is silent or after a confirmed barge-in;
* a tool that takes longer than ``ack_after_ms`` gets a short acknowledgement;
* ``reprompt_after_s`` of silence asks ``Dialog.silence(n)``; after
  ``hangup_after_reprompts`` the session says goodbye and ends the call; ``max_call_s``
  ends a call politely.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Iterator

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import (
    Dialog,
    DialogEvent,
    EndCall,
    ReplyText,
    Transfer,
    UserTurn,
)
from voiceagent.dialog.speculation import SpeculativeDialog
from voiceagent.speech.backchannel import is_backchannel
from voiceagent.speech.bargein import BargeInCandidate, Verdict
from voiceagent.speech.channel_io import ChannelIO
from voiceagent.speech.endpointing import Endpointer, TurnEvent
from voiceagent.speech.events import DtmfDigit
from voiceagent.speech.fillers import Fillers
from voiceagent.speech.generation import ReplySettings, ReplyWriter
from voiceagent.speech.keypad import KeypadEntry, KeypadTurn
from voiceagent.speech.latency import TurnLatency
from voiceagent.speech.limits import CallLimits, LimitAction
from voiceagent.speech.playback import Player, Reply
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session_options import SessionOptions, SessionStats
from voiceagent.speech.stt import Transcript
from voiceagent.speech.transcriber import StreamingTranscriber
from voiceagent.speech.turn import CallerTurn, respond
from voiceagent.speech.workers import Workers

log = logging.getLogger("voiceagent.session")

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
        self.options = options or SessionOptions()
        self.rate = channel.rate
        self.frame_ms = config.audio.frame_ms
        self.ep_cfg = config.endpointing
        self.vad = resources.vad_factory()
        self.endpointer = Endpointer(config.vad, config.endpointing, self.frame_ms)
        self.player = Player(self.rate, self.frame_ms)
        self.stats = SessionStats()
        self.ended = threading.Event()
        self.call_id = ""
        self.outcome = ""
        self.turn_traces: list[TurnLatency] = []
        self._tag = uuid.uuid4().hex[:8]
        self.workers = Workers(self._tag, self._job_failed)
        self.writer = ReplyWriter(
            resources,
            ReplySettings(self.rate, self.frame_ms, config.models.tts.first_clause_max_words,
                          config.endpointing.ack_after_ms, self.options.ack_phrase),
            self.player, self.workers, self.ended,
            record_tool=lambda name, args, result: self.call_log.add_tool_call(
                self.call_id, name, args, result),
            hand_over=self._hand_over, after_reply=self._after_reply,
            acknowledged=self._count_acknowledgement,
        )
        self._lock = threading.RLock()
        self._frames_in = 0
        self._anchor_media_ms = 0.0
        self._anchor_wall = time.monotonic()
        self._preroll: collections.deque[bytes] = collections.deque(
            maxlen=max(1, self.options.pre_roll_ms // self.frame_ms)
        )
        self._turn: CallerTurn | None = None
        self._candidate: BargeInCandidate | None = None
        self.limits = CallLimits(config.endpointing)
        self._closing = False
        self.idle_since_ms: float | None = None  # media time the agent last went quiet
        self.fillers = Fillers(resources.phrases, self.options.fillers,
                               self.options.filler_after_ms, self.rate, self.frame_ms)
        self._agent_audio_ms = -1e9  # media time of the last agent frame sent
        self._keypad = KeypadEntry(self.options.keypad_timeout_ms)
        self._keyed_over: Reply | None = None  # the reply the caller's first key stopped

    # ----------------------------------------------------------------- channel API

    def start(self) -> None:
        """Open the call record and queue the greeting."""
        self.call_id = self.call_log.open_call(self.channel.channel, self.channel.caller_id)
        attach = getattr(self.dialog, "attach_call", None)
        if attach is not None:  # holds, bookings and audit entries carry the call's id
            attach(self.call_id, self.channel.caller_id)
        self._anchor_wall = time.monotonic()
        reply = Reply()
        reply.released.set()
        self.player.play(reply)
        self.workers.submit(self.writer.speak, reply, self.dialog.greeting, True)

    def transfer_result(self, connected: bool) -> None:
        """The channel's word on the last transfer: connected ends the session; otherwise
        the caller is back and the dialog takes over again (it offers to take a message)."""
        if connected:
            self._finish("transferred", notify_channel=False)
            return
        reply = Reply()
        reply.released.set()
        self.player.play(reply)
        self.workers.submit(self.writer.speak, reply, self.dialog.transfer_failed, False)

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
            self._anchor_media_ms = start + self.frame_ms
            self._anchor_wall = time.monotonic()
            if self.ended.is_set() or self._closing:
                return
            self._preroll.append(frame)
            speech = self.vad.is_speech(frame, self.rate)
            events = self.endpointer.update(speech, start)
            if self._turn is not None:
                self._turn.transcriber.add(frame)
            elif self._candidate is not None:
                self._candidate.add(frame, speech)
            for boundary in events:
                self._on_boundary(
                    boundary.event, boundary.at_ms, boundary.speech_end_ms, boundary.speech_start_ms
                )
            self._check_barge_in()
            if self.fillers.check(start + self.frame_ms):
                self.stats.fillers += 1
            keyed = self._keypad.due(start + self.frame_ms)
            if keyed is not None:
                self._keypad_turn(keyed)
            self._check_timers(start + self.frame_ms)
            if self.agent_idle() and self._turn is None and not self._keypad.active():
                if self.idle_since_ms is None:
                    self.idle_since_ms = start + self.frame_ms
            else:
                self.idle_since_ms = None

    def key(self, key: DtmfDigit) -> None:
        """A key the caller pressed (from the thread that feeds audio). Keys are caller
        input like speech: the first one stops the agent talking, and a complete entry (see
        :mod:`voiceagent.speech.keypad`) reaches the dialog as ``UserTurn.dtmf``."""
        with self._lock:
            if self.ended.is_set() or self._closing:
                return
            now = self.now_ms()
            self.limits.caller_answered(now)
            if self.player.active() and self._keyed_over is None:
                reply = self.player.current
                self.player.pause()
                if reply is not None:
                    reply.truncated = True  # frees the reply worker for the keyed turn
                    self._keyed_over = reply
            turn = self._keypad.press(key, now, self.endpointer.expected)
            if turn is not None:
                self._keypad_turn(turn)

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

    # ----------------------------------------------------------------- turn logic (media thread)

    def _on_boundary(
        self, event: TurnEvent, at_ms: float, speech_end_ms: float, speech_start_ms: float
    ) -> None:
        if event is TurnEvent.SPEECH_START:
            echo_until = self._agent_audio_ms + self.options.echo_tail_ms
            if not self.options.barge_in and (
                speech_start_ms <= echo_until or self.player.active()
            ):
                # half duplex: the agent holds the floor, and what began while it was
                # audible is its own echo
                self.endpointer.reset()
                return
            self.limits.activity(at_ms)
            if self.player.active() and self.options.barge_in:
                self._candidate = BargeInCandidate.starting(
                    list(self._preroll), self.config.vad.speech_start_ms, self.frame_ms,
                    self.options.barge_in_min_dbfs)
            else:
                self._open_turn(list(self._preroll), at_ms)
            return
        turn = self._turn
        if turn is None:
            if event is TurnEvent.ENDPOINT and self._candidate is not None:
                self._candidate = None
                self.stats.ignored_noises += 1
            return
        if event is TurnEvent.PAUSE:
            self._speculate(turn, speech_end_ms)
        elif event is TurnEvent.RESUME:
            self.limits.activity(at_ms)
            if turn.reply is not None:
                turn.reply.cancelled = True
                turn.reply.discarded = True
                turn.reply.released.set()  # wake the held job so it can roll back
                turn.reply = None
                self.stats.speculations_discarded += 1
            turn.transcriber.keep_pending()
        elif event is TurnEvent.ENDPOINT:
            self._turn = None
            self.limits.activity(at_ms)
            self._end_turn(turn, speech_end_ms)

    def _open_turn(self, frames: list[bytes], at_ms: float, barge_in: bool = False) -> CallerTurn:
        transcriber = StreamingTranscriber(self.res.stt, self.rate, self.workers.stt)
        for frame in frames:
            transcriber.add(frame)
        self._turn = CallerTurn(transcriber=transcriber, start_ms=at_ms, barge_in=barge_in)
        self.limits.caller_answered(at_ms)
        return self._turn

    def _check_barge_in(self) -> None:
        cand = self._candidate
        if cand is None or self._turn is not None:
            return
        if not self.player.active():
            # the reply ended while the caller was talking: their speech is an ordinary turn
            self._candidate = None
            self._open_turn(cand.frames, self.now_ms())
            return
        if cand.verdict(self.ep_cfg.barge_in_min_ms) is Verdict.INTERRUPT:
            self.player.pause()
            self._candidate = None
            reply = self.player.current
            if reply is not None:
                reply.truncated = True  # frees the reply worker for the caller's turn
            turn = self._open_turn(cand.frames, self.now_ms(), barge_in=True)
            turn.interrupted = reply
            self.stats.barge_ins += 1
            log.info("event=barge_in call_id=%s speech_ms=%d", self.call_id, cand.speech_ms)

    def _keypad_turn(self, turn: KeypadTurn) -> None:
        interrupted, self._keyed_over = self._keyed_over, None
        self.workers.submit(self._answer_keys, turn, interrupted)

    def _answer_keys(self, turn: KeypadTurn, interrupted: Reply | None) -> None:
        """A keyed entry: the dialog's reply to it, like a spoken turn without the STT."""
        if interrupted is not None:
            spoken = interrupted.spoken_text()
            self.player.stop()
            interrupted.cancelled = True
            self.dialog.interrupted(spoken)
        self.stats.turns += 1
        self.call_log.add_turn(self.call_id, "caller", f"[keys] {turn.keys}")
        reply = Reply()
        reply.released.set()
        self.player.play(reply)
        user = UserTurn(text="", dtmf=turn.keys)
        if not self.writer.speak(reply, lambda: self.dialog.respond(user), False):
            return
        self.writer.wait_first_audio(reply)
        self.call_log.add_turn(self.call_id, "agent", reply.full_text())

    def _check_timers(self, now: float) -> None:
        quiet = (self._turn is None and self._candidate is None and not self._keypad.active()
                 and self.agent_idle())
        if self.workers.has_jobs() or self.player.active():
            self.limits.activity(now)
        action = self.limits.check(now, quiet)
        if action is LimitAction.END_MAX_LENGTH:
            self._closing = True
            self._say_and_end(self.options.goodbye_max_length, action.value)
        elif action is LimitAction.END_SILENT:
            self._closing = True
            self._say_and_end(self.options.goodbye_silence, action.value)
        elif action is LimitAction.REPROMPT:
            self.stats.reprompts += 1
            reply = Reply()
            reply.released.set()
            self.player.play(reply)
            count = self.limits.silences
            self.workers.submit(self.writer.speak, reply, lambda: self.dialog.silence(count),
                                False)

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
            self.player.play(turn.reply)
            turn.reply.released.set()
            self.fillers.schedule(turn.reply, self.now_ms())
            return
        reply = turn.new_reply(speech_end_ms, False, self.now_ms)
        assert turn.clock is not None
        turn.clock.mark("endpoint")
        if not turn.barge_in:
            self.player.play(reply)
            reply.released.set()
            self.fillers.schedule(reply, self.now_ms())
        self.workers.submit(self._answer, turn, reply)

    def _say_and_end(self, text: str, outcome: str) -> None:
        self.player.stop()
        reply = Reply()
        reply.released.set()
        self.player.play(reply)

        def events() -> Iterator[DialogEvent]:
            yield ReplyText(text, content=False)
            yield EndCall(outcome)

        self.workers.submit(self.writer.speak, reply, events, True)

    # ----------------------------------------------------------------- workers

    def _job_failed(self) -> None:
        log.exception("event=session_error call_id=%s", self.call_id)
        self.writer.apologize()

    def _answer(self, turn: CallerTurn, reply: Reply) -> None:
        """Final transcript, then the dialog's reply, synthesized clause by clause."""
        clock = turn.clock
        assert clock is not None
        transcript = turn.transcriber.final()
        clock.mark("stt_final")
        if reply.cancelled:
            return
        if turn.barge_in:
            self._decide_barge_in(turn, transcript)
            if reply.cancelled:
                return
            self.player.play(reply)
            reply.released.set()
        reply.on_commit.insert(
            0, lambda: self.call_log.add_turn(self.call_id, "caller", transcript.text)
        )
        user = UserTurn(
            text=transcript.text,
            confidence=transcript.confidence,
            no_speech=transcript.no_speech,
        )
        if not respond(self.dialog, self.writer, reply, user, clock):
            return
        self._log_turn(turn, reply)

    def _decide_barge_in(self, turn: CallerTurn, transcript: Transcript) -> None:
        old = turn.interrupted
        if transcript.no_speech or is_backchannel(transcript.text):
            # a cough or "mm-hm": the caller is listening, carry on with the reply
            self.stats.false_barge_ins += 1
            if turn.reply is not None:
                turn.reply.cancelled = True
            if old is not None and not old.cancelled:
                self.player.play(old)
            return
        spoken = old.spoken_text() if old is not None else ""
        self.player.stop()
        if old is not None:
            old.cancelled = True
        self.dialog.interrupted(spoken)

    def _hand_over(self, event: Transfer | EndCall, reply: Reply) -> None:
        """The dialog ends the call or hands it to a person (after the endpoint)."""
        if isinstance(event, Transfer):
            self.writer.wait_played(reply)
            self.channel.transfer(event.target, event.summary)
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

    def _log_turn(self, turn: CallerTurn, reply: Reply) -> None:
        self.writer.wait_first_audio(reply)
        self.call_log.add_turn(
            self.call_id, "agent", reply.full_text(), latency=turn.trace.as_dict()
        )
        self.turn_traces.append(turn.trace)
        turn.trace.log(self.call_id, self.stats.turns)

    def _finish(self, outcome: str, notify_channel: bool) -> None:
        with self._lock:
            if self.ended.is_set():
                return
            self.outcome = outcome
            self._closing = True
            held = self._turn.reply if self._turn is not None else None
            if held is not None:  # a speculative reply waiting for an endpoint that won't come
                held.cancelled = True
                held.released.set()
        left = getattr(self.dialog, "caller_left", None)
        if left is not None and outcome in ("caller_hangup", "max_call_length", "silence"):
            try:  # what an unfinished inquiry learned becomes a lead and a call-back message
                left()
            except Exception:
                log.exception("event=caller_left_failed call_id=%s", self.call_id)
        try:
            self.call_log.close_call(self.call_id, outcome, self.channel.recording_path)
        finally:
            log.info(
                "event=call_end call_id=%s outcome=%s %s",
                self.call_id,
                outcome,
                " ".join(f"{k}={v}" for k, v in self.stats.as_dict().items()),
            )
            self.ended.set()
            if notify_channel:
                self.channel.end_call(outcome)
