"""The ``talk`` front-end: talk to the agent through the microphone and speaker.

A development loop like a phone call: 20 ms frames from the microphone go into a
:class:`~voiceagent.speech.session.CallSession` and its frames go to the speaker, through one
full-duplex sounddevice stream at 16 kHz. A speaker next to the microphone would hear the
agent as the caller, so barge-in is off unless ``--headset`` says the audio cannot leak.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from voiceagent.audio.frames import frame_samples
from voiceagent.dialog.protocol import Transfer

log = logging.getLogger("voiceagent.channels.local")


class NoSoundDevice(RuntimeError):
    """No microphone/speaker; the message says what to use instead."""


@dataclass
class LocalChannel:
    rate: int
    channel: str = "local"
    caller_id: str | None = "local"
    recording_path: str | None = None
    call_id: str | None = None
    done: threading.Event | None = None

    def end_call(self, reason: str) -> None:
        print(f"[call ended: {reason}]")
        if self.done is not None:
            self.done.set()

    def transfer(self, request: Transfer) -> None:
        print(f"[{'warm' if request.warm else 'blind'} transfer to {request.target}]")
        if self.done is not None:
            self.done.set()


def check_sound_device() -> None:
    """Raise NoSoundDevice unless a default input and output device exist."""
    try:
        import sounddevice as sd
    except OSError as err:  # PortAudio library missing
        raise NoSoundDevice(
            f"sound is unavailable ({err}); install PortAudio (apt-get install libportaudio2) "
            "or use `voiceagent call --wav CALLER.wav` instead"
        ) from err
    try:
        sd.check_input_settings(channels=1, dtype="int16", samplerate=16000)
        sd.check_output_settings(channels=1, dtype="int16", samplerate=16000)
    except Exception as err:  # PortAudioError, ValueError: no device
        raise NoSoundDevice(
            "no microphone or speaker found on this machine; run `voiceagent talk` on a "
            "computer with sound, or use `voiceagent call --wav CALLER.wav --out AGENT.wav "
            "--report REPORT.json` to run a call from files"
        ) from err


def add_talk_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="pipeline config (default: configs/pipeline.yaml)")
    parser.add_argument(
        "--headset",
        action="store_true",
        help="the speaker cannot leak into the microphone: allow barge-in",
    )


def run_talk(args: argparse.Namespace) -> int:
    """``voiceagent talk``: returns the exit status (2 without a sound device)."""
    try:
        check_sound_device()
    except NoSoundDevice as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    import sounddevice as sd

    from voiceagent.channels.file import DIALOGS, load_config
    from voiceagent.config.pipeline import default_pipeline_path
    from voiceagent.models.paths import ModelNotInstalled
    from voiceagent.speech.memory_log import MemoryCallLog
    from voiceagent.speech.resources import load_resources
    from voiceagent.speech.session import CallSession, SessionOptions

    config = load_config(getattr(args, "config", None) or default_pipeline_path())
    rate = 16000
    options = SessionOptions(barge_in=bool(getattr(args, "headset", False)))
    try:
        resources = load_resources(config)
    except ModelNotInstalled as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    resources.phrases.warm(options.phrases(), rate)
    done = threading.Event()
    channel = LocalChannel(rate=rate, done=done)
    session = CallSession(
        resources,
        DIALOGS[getattr(args, "dialog", "frontdesk")](config, resources),
        channel,
        MemoryCallLog(),
        config,
        options,
    )
    block = frame_samples(rate, config.audio.frame_ms)

    def callback(indata, outdata, frames, time_info, status):  # noqa: ANN001 - PortAudio's
        session.feed(bytes(indata))
        outdata[:] = session.read()

    print("Talking to the agent; press Ctrl+C to hang up.")
    session.start()
    try:
        with sd.RawStream(
            samplerate=rate, blocksize=block, channels=1, dtype="int16", callback=callback
        ):
            while not done.wait(0.2) and not session.ended.is_set():
                pass
    except KeyboardInterrupt:
        session.hangup()
    finally:
        session.close()
        resources.close()  # the LLM's thread
    return 0


# what voiceagent/cli.py looks for
add_arguments = add_talk_arguments
run = run_talk
