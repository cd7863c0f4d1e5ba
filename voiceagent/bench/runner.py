"""One benchmark run: corpus, then for every matrix entry the standalone model figures, the
streaming pipeline (in process and over SIP), the naive baseline and the concurrency sweep;
then ``results.json``, ``report.md`` and the plots in the output folder."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voiceagent.bench import plots
from voiceagent.bench.config import BenchConfig, MatrixEntry
from voiceagent.bench.corpus import UTTERANCES, Clip, Corpus, generate_corpus, load_clip_audio
from voiceagent.bench.devices import combo_config
from voiceagent.bench.dialogs import DialogFactory, load_dialog_factory
from voiceagent.bench.progress import ProgressBar
from voiceagent.bench.report import SCHEMA, render_markdown, stage_summaries, write_json
from voiceagent.bench.samples import TurnSample, stages_from_trace
from voiceagent.bench.stats import ratio
from voiceagent.bench.sysinfo import ResourceMonitor, system_info
from voiceagent.bench.wer import corpus_wer
from voiceagent.config.pipeline import DatabaseConfig, PipelineConfig

log = logging.getLogger("voiceagent.bench")


@dataclass
class RunOptions:
    out_dir: Path
    paths: tuple[str, ...] = ("file", "sip")
    command: str = ""
    progress: bool = True


@dataclass
class RunResult:
    out_dir: Path
    json_path: Path
    markdown_path: Path
    doc: dict[str, Any]
    samples: list[TurnSample] = field(default_factory=list)


class _Phases:
    """Wall-clock windows of each measured phase, for the resource monitor."""

    def __init__(self, monitor: ResourceMonitor) -> None:
        self.monitor = monitor

    def measure(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, Any] | None]:
        start = time.monotonic()
        value = fn()
        window = self.monitor.window(start, time.monotonic())
        return value, window.as_dict() if window else None


def run_benchmark(bench: BenchConfig, pipeline: PipelineConfig, options: RunOptions) -> RunResult:
    """Run everything ``bench`` asks for; returns where the report is."""
    started = datetime.now(UTC)
    t_start = time.monotonic()
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    # the benchmark's calls (and any bookings or messages they make) land in a store of
    # their own, never in the clinic's
    pipeline = pipeline.model_copy(update={"data_dir": out / "store", "database": DatabaseConfig()})
    bar = ProgressBar(enabled=options.progress)
    skipped: list[dict[str, str]] = []
    notes: list[str] = []
    samples: list[TurnSample] = []
    combos: list[dict[str, Any]] = []
    dialog_factory = load_dialog_factory(bench.dialog)
    system = system_info()
    if system["load_average_at_start"][0] > 0.5 * (system["cores_logical"] or 1):
        notes.append(
            f"The machine was busy when the run started (load average "
            f"{system['load_average_at_start'][0]} on {system['cores_logical']} cores): "
            "figures are pessimistic."
        )
    monitor = ResourceMonitor()
    monitor.start()
    phases = _Phases(monitor)
    try:
        bar.phase(
            "corpus: synthesizing clips",
            len(bench.corpus.voices) * (bench.corpus.utterances or len(UTTERANCES)),
        )
        corpus = generate_corpus(bench.corpus, out / "corpus", lambda d, t: bar.advance())
        latency_clips = corpus.latency_set(bench.corpus.latency_turns)
        for index, entry in enumerate(bench.matrix):
            combo, combo_samples = _run_combo(
                index,
                entry,
                bench,
                pipeline,
                corpus,
                latency_clips,
                dialog_factory,
                options,
                bar,
                phases,
                skipped,
            )
            combos.append(combo)
            samples.extend(combo_samples)
            gc.collect()
    finally:
        monitor.stop()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t_start, 1),
        "command": options.command,
        "system": system,
        "config": bench.model_dump(mode="json"),
        "pipeline": {
            "endpointing": pipeline.endpointing.model_dump(mode="json"),
            "vad": pipeline.vad.model_dump(mode="json"),
            "audio": pipeline.audio.model_dump(mode="json"),
        },
        "corpus": {
            "folder": str(corpus.folder),
            "clips_total": len(corpus.clips),
            "latency_clips": [c.id for c in latency_clips],
            "description": f"{len({c.utterance for c in corpus.clips})} clinic utterances x "
            f"{len({c.voice for c in corpus.clips})} voices x "
            f"{len({c.band for c in corpus.clips})} bands (16 kHz, 8 kHz G.711)",
            "clips": [c.__dict__ for c in corpus.clips],
        },
        "combos": combos,
        "samples": [s.as_dict() for s in samples],
        "skipped": skipped,
        "notes": notes,
    }
    bar.phase("plots and report", 1)
    doc["plots"] = plots.write_plots(doc, samples, out)
    json_path = out / "results.json"
    md_path = out / "report.md"
    write_json(doc, json_path)
    md_path.write_text(render_markdown(doc))
    bar.advance()
    bar.close()
    return RunResult(out, json_path, md_path, doc, samples)


def _run_combo(
    index: int,
    entry: MatrixEntry,
    bench: BenchConfig,
    pipeline: PipelineConfig,
    corpus: Corpus,
    latency_clips: Sequence[Clip],
    dialog_factory: DialogFactory,
    options: RunOptions,
    bar: ProgressBar,
    phases: _Phases,
    skipped: list[dict[str, str]],
) -> tuple[dict[str, Any], list[TurnSample]]:
    from voiceagent.bench import standalone
    from voiceagent.bench.file_driver import FileCallRunner
    from voiceagent.speech.resources import load_resources
    from voiceagent.speech.session import SessionOptions

    config, placement = combo_config(pipeline, entry, bench.device)
    session_options = SessionOptions()
    bar.phase(f"{entry.name}: loading models", 1)
    t0 = time.monotonic()
    resources = load_resources(config)
    try:
        # fixed phrases (acknowledgement, fillers) are synthesized once per rate, as a server does
        for rate in (8000, 16000):
            resources.phrases.warm(list(session_options.phrases()), rate)
        load_s = time.monotonic() - t0
        bar.advance()
        combo: dict[str, Any] = {
            "name": entry.name,
            "models": {
                "stt": config.models.stt.model,
                "llm": config.models.llm.model,
                "tts": config.models.tts.voice,
            },
            "placement": placement.__dict__,
            "load_s": round(load_s, 2),
            "paths": {},
        }
        samples: list[TurnSample] = []

        bar.phase(f"{entry.name}: STT accuracy on all clips", len(corpus.clips))
        stt_samples = standalone.measure_stt(resources.stt, corpus.clips, bar.advance)
        combo["wer"] = standalone.wer_summary(stt_samples)
        bar.phase(f"{entry.name}: TTS and LLM speed", 2)
        tts_rows = standalone.measure_tts(resources.tts)
        bar.advance()
        llm_rows = standalone.measure_llm(resources.llm) if resources.llm is not None else []
        if resources.llm is not None:
            combo["prompt_cache"] = standalone.measure_prompt_cache(resources.llm)
        bar.advance()
        combo["rtf"] = standalone.rtf_summary(stt_samples, tts_rows, llm_rows)

        runner = FileCallRunner(config, resources, dialog_factory, session_options)
        if "file" in options.paths:
            bar.phase(f"{entry.name}: streaming calls (in process)", len(latency_clips))

            def file_path() -> list[TurnSample]:
                from voiceagent.bench.file_driver import CallStalled, samples_from_call

                got = []
                for clip in latency_clips:
                    try:
                        got += samples_from_call(runner.call([clip]), entry.name, "file")
                    except CallStalled as err:
                        skipped.append(
                            {"what": f"{entry.name} file call {clip.id}", "why": str(err)}
                        )
                    bar.advance()
                return got

            file_samples, res = phases.measure(file_path)
            samples += file_samples
            combo["paths"]["file"] = _path_summary(file_samples, res, len(latency_clips))
            combo["streaming_wer"] = _streaming_wer(file_samples, latency_clips)

        if bench.baseline == "naive":
            bar.phase(f"{entry.name}: naive sequential baseline", len(latency_clips))

            def naive_path() -> list[TurnSample]:
                return _run_naive(
                    entry.name, config, resources, dialog_factory, latency_clips, bar.advance
                )

            naive_samples, res = phases.measure(naive_path)
            samples += naive_samples
            combo["paths"]["naive"] = _path_summary(naive_samples, res, len(latency_clips))

        if "sip" in options.paths and bench.sip.enabled and index == 0:
            sip_samples, res = _run_sip(
                entry.name,
                config,
                resources,
                bench,
                latency_clips,
                options.out_dir / "sip",
                bar,
                phases,
                skipped,
            )
            if sip_samples:
                samples += sip_samples
                combo["paths"]["sip"] = _path_summary(sip_samples, res, bench.sip.turns)

        stream = combo["paths"].get("file", {}).get("stages", {})
        naive = combo["paths"].get("naive", {}).get("stages", {})
        combo["streaming_gain"] = {
            f"{stage}_{q}": _round(ratio(naive.get(stage, {}).get(q), stream.get(stage, {}).get(q)))
            for stage in ("first_content_audio", "first_audio")
            for q in ("p50", "p95")
        }
        sweep_all = bench.concurrency.combos == 0
        if bench.concurrency.enabled and (sweep_all or index < bench.concurrency.combos):
            combo["concurrency"], conc_samples = _sweep(
                entry.name, runner, bench, latency_clips, bar, phases
            )
            samples += conc_samples
        return combo, samples
    finally:
        resources.close()  # its LLM thread would slow the next combination's


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _path_summary(
    samples: Sequence[TurnSample], resources: dict[str, Any] | None, attempted: int
) -> dict[str, Any]:
    split = sum(1 for s in samples if s.extra.get("turns_detected", 1) > 1)
    speculative = sum(1 for s in samples if s.extra.get("speculative"))
    return {
        "turns": len(samples),
        "attempted": attempted,
        "split_turns": split,
        "speculative_turns": speculative,
        "stages": stage_summaries(samples),
        "resources": resources,
    }


def _streaming_wer(samples: Sequence[TurnSample], clips: Sequence[Clip]) -> dict[str, Any]:
    by_id = {c.id: c for c in clips}
    pairs = [(by_id[s.clip].reference, s.transcript or "") for s in samples if s.clip in by_id]
    score = corpus_wer(pairs)
    return {
        "wer": round(score.wer, 4),
        "errors": score.errors,
        "words": score.words,
        "turns": len(pairs),
    }


def _run_naive(
    combo: str,
    config: PipelineConfig,
    resources: Any,
    dialog_factory: DialogFactory,
    clips: Sequence[Clip],
    tick: Callable[[], None],
) -> list[TurnSample]:
    from voiceagent.bench.dialogs import short_greeting
    from voiceagent.bench.naive import NaivePipeline, NoTurnFound

    naive = NaivePipeline(config, resources.stt, resources.tts, resources.vad_factory)
    out = []
    for clip in clips:
        dialog = short_greeting(dialog_factory(config, resources))
        for _ in dialog.greeting():
            pass
        try:
            turn = naive.run_turn(load_clip_audio(clip, clip.rate), clip.rate, dialog)
        except NoTurnFound:
            tick()
            continue
        out.append(
            TurnSample(
                combo=combo,
                path="naive",
                clip=clip.id,
                voice=clip.voice,
                band=clip.band,
                speech_s=clip.speech_s,
                stages=stages_from_trace(turn.trace.as_dict()),
                transcript=turn.transcript,
                extra={
                    "stt_s": turn.stt_s,
                    "dialog_s": turn.dialog_s,
                    "tts_s": turn.tts_s,
                    "reply_audio_s": turn.reply_audio_s,
                },
            )
        )
        tick()
    return out


def _sweep(
    combo: str,
    runner: Any,
    bench: BenchConfig,
    clips: Sequence[Clip],
    bar: ProgressBar,
    phases: _Phases,
) -> tuple[dict[str, Any], list[TurnSample]]:
    """More and more simultaneous calls until p95 first content audio passes the target."""
    from voiceagent.bench.file_driver import run_simultaneous, samples_from_call

    cfg = bench.concurrency
    levels: list[dict[str, Any]] = []
    samples: list[TurnSample] = []
    best = 0  # the most calls such that this level and every smaller one held the target
    bar.phase(f"{combo}: concurrency sweep", len(cfg.levels))
    mean_clip_s = sum(c.duration_s for c in clips) / len(clips)
    for calls in cfg.levels:
        lines = [
            [
                [clips[(line * cfg.turns_per_call + k) % len(clips)]]
                for k in range(cfg.turns_per_call)
            ]
            for line in range(calls)
        ]
        # spread the lines' starts over one clip so the turns do not all end together
        stagger = mean_clip_s / calls if calls > 1 else 0.0

        def level_calls(ln: list[list[list[Clip]]] = lines, st: float = stagger) -> Any:
            return run_simultaneous(runner, ln, st)

        outcomes, res = phases.measure(level_calls)
        level_samples = [
            s
            for line_no, line_outcomes in enumerate(outcomes)
            for o in line_outcomes
            for s in samples_from_call(
                o, combo, "file", concurrency=calls, call=line_no, sweep=True
            )
        ]
        samples += level_samples
        stages = stage_summaries(level_samples)
        p95 = stages.get("first_content_audio", {}).get("p95")
        within = p95 is not None and p95 <= cfg.target_ms
        levels.append(
            {
                "calls": calls,
                "turns": len(level_samples),
                "stages": stages,
                "resources": res,
                "within_target": within,
            }
        )
        bar.advance()
        if within and all(level["within_target"] for level in levels):
            best = calls  # this level and every smaller one held the target
        if not within and len(levels) >= cfg.min_levels:
            break
    return {
        "target_ms": cfg.target_ms,
        "turns_per_call": cfg.turns_per_call,
        "levels": levels,
        "max_calls_within_target": best,
    }, samples


def _run_sip(
    combo: str,
    config: PipelineConfig,
    resources: Any,
    bench: BenchConfig,
    clips: Sequence[Clip],
    workdir: Path,
    bar: ProgressBar,
    phases: _Phases,
    skipped: list[dict[str, str]],
) -> tuple[list[TurnSample], dict[str, Any] | None]:
    try:
        from voiceagent.bench.sip_driver import SipUnavailable, run_sip_calls
    except ImportError as err:
        skipped.append({"what": "SIP path", "why": f"SIP driver unavailable ({err})"})
        return [], None
    chosen = list(clips[: bench.sip.turns])
    bar.phase(f"{combo}: streaming calls over SIP ({bench.sip.peer})", len(chosen))
    try:
        got, res = phases.measure(
            lambda: run_sip_calls(config, resources, bench, chosen, combo, workdir, bar.advance)
        )
    except SipUnavailable as err:
        skipped.append({"what": "SIP path", "why": str(err)})
        return [], None
    return got, res


__all__ = ["RunOptions", "RunResult", "run_benchmark"]
