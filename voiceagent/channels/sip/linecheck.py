"""A SIP agent process that needs no models: checks a trunk, a PBX or a Kamailio setup.

It answers with a greeting WAV, replies with another WAV after each caller turn, writes
one JSON line per finished call (the call record, no audio) and stops cleanly on SIGTERM
(stop accepting, let calls finish for the grace period, hang up the rest)::

    python -m voiceagent.channels.sip.linecheck --config configs/pipeline.yaml \\
        --greeting hello.wav --reply thanks.wav --records calls.jsonl

The SIP tests run several of these behind Kamailio's dispatcher.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import threading
import wave
from pathlib import Path

import numpy as np

from voiceagent.channels.sip.endpoint import SipEndpoint, SipOptions
from voiceagent.channels.sip.handler import CallControl, CallInfo, CallRecord
from voiceagent.channels.sip.wav_handler import WavReplyHandler
from voiceagent.config.pipeline import PipelineConfig, load_pipeline
from voiceagent.logs import setup_logging


def read_wav_at(path: Path, rate: int) -> bytes:
    """A mono PCM16 WAV as PCM16 at ``rate``."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise SystemExit(f"{path}: need a mono 16-bit WAV (sox in.wav -c 1 -b 16 out.wav)")
        source_rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    if source_rate == rate:
        return pcm
    import soxr

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    out = soxr.resample(samples, source_rate, rate)
    return (np.clip(out, -1, 1) * 32767).astype("<i2").tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="pipeline.yaml (default: built-in defaults)")
    parser.add_argument("--port", type=int, help="override sip.port")
    parser.add_argument("--max-calls", type=int, help="override sip.max_calls")
    parser.add_argument("--rtp-port", type=int, default=0)
    parser.add_argument("--greeting", type=Path, required=True)
    parser.add_argument("--reply", type=Path, required=True)
    parser.add_argument("--records", type=Path, help="append one JSON line per finished call")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds calls get on stop")
    parser.add_argument("--status-every", type=float, default=0,
                        help="print the endpoint's counts every this many seconds")
    args = parser.parse_args(argv)

    config = load_pipeline(args.config) if args.config else PipelineConfig()
    sip_changes: dict[str, object] = {}
    if args.port:
        sip_changes["port"] = args.port
    if args.max_calls:
        sip_changes["max_calls"] = args.max_calls
    if sip_changes:
        config = config.model_copy(update={"sip": config.sip.model_copy(update=sip_changes)})
    setup_logging(config.logging.level, config.logging.format)
    rate = config.audio.channel_rate
    greeting = read_wav_at(args.greeting, rate)
    reply = read_wav_at(args.reply, rate)
    lock = threading.Lock()

    def write_record(record: CallRecord) -> None:
        if args.records is None:
            return
        line = json.dumps(dataclasses.asdict(record), default=str)
        with lock, args.records.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def factory(info: CallInfo, control: CallControl) -> WavReplyHandler:
        return WavReplyHandler(info, control, greeting, reply)

    options = SipOptions(rtp_port=args.rtp_port, rtp_port_range=200 if args.rtp_port else 0,
                         on_call_ended=write_record, on_call_refused=write_record,
                         shutdown_grace_s=args.grace)
    endpoint = SipEndpoint(config, factory, options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    endpoint.start()
    print(f"ready sip={config.sip.bind}:{config.sip.port}", flush=True)
    while not stop.wait(args.status_every or None):
        print("status " + json.dumps(endpoint.status()), flush=True)
    endpoint.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
