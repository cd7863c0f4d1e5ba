"""The benchmark's outputs: ``results.json`` (raw samples and summaries) and ``report.md``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from voiceagent.bench.samples import END_TO_END, PER_STAGE, STAGE_NAMES, WIRE, TurnSample
from voiceagent.bench.stats import summarise_fields

SCHEMA = "voiceagent-bench/1"
STAGE_LABELS = {
    "endpoint": "endpoint decided",
    "stt_final": "STT final transcript",
    "llm_first_token": "LLM first token",
    "first_clause": "first clause ready",
    "tts_first_audio": "TTS first audio",
    "first_audio": "**first audio out**",
    "first_content_audio": "**first content audio out**",
    "media_port_first_audio": "first audio at the RTP media port",
    "peer_first_audio": "first audio heard by the phone",
}
PATH_TITLES = {
    "file": "streaming, file channel (in-process)",
    "sip": "streaming, over SIP on loopback",
    "naive": "naive sequential baseline",
}


def stage_summaries(samples: Sequence[TurnSample]) -> dict[str, dict[str, float | int]]:
    """p50/p90/p95/max (and n, mean, min) per stage over the samples that reached it."""
    return summarise_fields([s.stages for s in samples], STAGE_NAMES)


def write_json(doc: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def _ms(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _stage_table(paths: Mapping[str, Mapping[str, Any]]) -> list[str]:
    names = [p for p in ("file", "sip", "naive") if p in paths]
    head = "| stage | " + " | ".join(f"{p} p50 | {p} p90 | {p} p95 | {p} max" for p in names)
    lines = [head + " |", "|---" * (1 + 4 * len(names)) + "|"]
    wire = any(stage in p.get("stages", {}) for p in paths.values() for stage in WIRE)
    for stage in (*PER_STAGE, *END_TO_END, *(WIRE if wire else ())):
        cells = [STAGE_LABELS.get(stage, stage.replace("_", " "))]
        for name in names:
            summary = paths[name].get("stages", {}).get(stage)
            if summary is None:
                cells += ["-"] * 4
            else:
                cells += [_ms(summary[k]) for k in ("p50", "p90", "p95", "max")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(doc: Mapping[str, Any]) -> str:
    """The human report: setup, a summary over the matrix, then each combination in detail."""
    system = doc.get("system", {})
    out = [f"# Latency benchmark, {doc.get('started_at', '')}", ""]
    gpus = ", ".join(g["name"] for g in system.get("gpus", [])) or "none"
    packages = system.get("packages", {})
    out += [
        f"- machine: {system.get('cpu', '?')}, {system.get('cores_logical', '?')} logical cores, "
        f"{system.get('memory_gib', '?')} GiB RAM, GPU: {gpus}; load average at start "
        f"{system.get('load_average_at_start', '?')}",
        f"- software: Python {system.get('python', '?')}, "
        + ", ".join(f"{k} {v}" for k, v in packages.items() if v),
        f"- corpus: {doc.get('corpus', {}).get('clips_total', '?')} clips "
        f"({doc.get('corpus', {}).get('description', '')})",
        f"- caller audio fed at wire speed in 20 ms frames; run took "
        f"{doc.get('duration_s', 0):.0f} s",
        "- times are ms after the caller stopped speaking (end of the last speech frame)",
        "",
    ]
    if doc.get("notes"):
        out += [f"> {note}" for note in doc["notes"]] + [""]
    out += [
        "## Summary",
        "",
        "| combination | STT | LLM | voice | WER wide | WER 8k | first content audio p50 / p95 "
        "(streaming) | naive p50 | gain (p50) | first audio p50 | calls within target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for combo in doc.get("combos", []):
        paths = combo.get("paths", {})
        stream = paths.get("file", {}).get("stages", {})
        naive = paths.get("naive", {}).get("stages", {})
        fca = stream.get("first_content_audio", {})
        fa = stream.get("first_audio", {})
        wer = combo.get("wer", {}).get("by_band", {})
        gain = combo.get("streaming_gain", {}).get("first_content_audio_p50")
        conc = combo.get("concurrency", {})
        calls = conc.get("max_calls_within_target")
        models = combo.get("models", {})
        out.append(
            f"| {combo['name']} | {models.get('stt', '?')} | {models.get('llm', '?')} | "
            f"{models.get('tts', '?')} | {_pct(wer.get('wide', {}).get('wer'))} | "
            f"{_pct(wer.get('tel', {}).get('wer'))} | {_ms(fca.get('p50'))} / "
            f"{_ms(fca.get('p95'))} | {_ms(naive.get('first_content_audio', {}).get('p50'))} | "
            f"{_num(gain)}x | {_ms(fa.get('p50'))} | "
            f"{'-' if not conc else (calls if calls is not None else 0)} |"
        )
    out.append("")
    for combo in doc.get("combos", []):
        out += _combo_section(combo)
    if doc.get("skipped"):
        out += ["## Not measured", ""]
        out += [f"- {s['what']}: {s['why']}" for s in doc["skipped"]] + [""]
    out += ["## Plots", ""]
    out += [f"- `{p}`: {d}" for p, d in doc.get("plots", {}).items()] + [""]
    return "\n".join(out)


def _combo_section(combo: Mapping[str, Any]) -> list[str]:
    models = combo.get("models", {})
    out = [
        f"## {combo['name']}: {models.get('stt')} + {models.get('llm')} + {models.get('tts')}",
        "",
    ]
    placement = combo.get("placement")
    if placement:
        out += [
            f"Placement: STT on {placement.get('stt')}, LLM on {placement.get('llm')} "
            f"({placement.get('reason')}); models loaded in {combo.get('load_s', 0):.1f} s.",
            "",
        ]
    paths = combo.get("paths", {})
    if paths:
        counts = ", ".join(
            f"{PATH_TITLES.get(k, k)}: {v.get('turns', 0)} turns" for k, v in paths.items()
        )
        out += [f"Turns: {counts}.", ""]
        out += _stage_table(paths) + [""]
    wer = combo.get("wer", {})
    if wer:
        overall = wer.get("overall", {})
        parts = [
            f"overall {_pct(overall.get('wer'))} ({overall.get('errors')}/"
            f"{overall.get('words')} words)"
        ]
        parts += [f"{band} {_pct(v.get('wer'))}" for band, v in wer.get("by_band", {}).items()]
        parts += [f"{voice} {_pct(v.get('wer'))}" for voice, v in wer.get("by_voice", {}).items()]
        out += [f"STT word error rate (whole clips): {', '.join(parts)}.", ""]
    rtf = combo.get("rtf", {})
    if rtf:
        out += [
            "Real-time factors (processing time / audio time; below 1 is faster than "
            "real time): "
            + ", ".join(
                f"{k.upper()} p50 {_num(v.get('p50'), 3)}"
                for k, v in rtf.items()
                if k in ("stt", "tts")
            )
            + (
                f"; LLM alone: {_num(rtf['llm_tokens_per_s'].get('p50'), 1)} tokens/s p50, "
                f"first token {_ms(rtf['llm_first_token_ms'].get('p50'))} p50"
                if "llm_tokens_per_s" in rtf and "llm_first_token_ms" in rtf
                else ""
            )
            + ".",
            "",
        ]
        cache = combo.get("prompt_cache", {})
        if "first_token_ms_reused" in cache:
            out += [
                "LLM first token with the system prompt's KV state reused (every turn of every "
                f"call): {_ms(cache['first_token_ms_reused'])}; recomputed for each prompt: "
                f"{_ms(cache.get('first_token_ms_recomputed'))} (min of 3).",
                "",
            ]
    resources = {k: v.get("resources") for k, v in paths.items() if v.get("resources")}
    if resources:
        out += [
            "| path | wall s | process CPU mean / max (100% = one core) | system CPU mean | "
            "RSS max | GPU util mean | GPU mem max |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in resources.items():
            gpu_util = r["gpu_util_percent_mean"]
            gpu_mem = r["gpu_memory_mib_max"]
            out.append(
                f"| {name} | {r['seconds']:.0f} | {r['process_cpu_percent_mean']:.0f}% / "
                f"{r['process_cpu_percent_max']:.0f}% | {r['system_cpu_percent_mean']:.0f}% | "
                f"{r['rss_mib_max']:.0f} MiB | {'-' if gpu_util is None else f'{gpu_util}%'} | "
                f"{'-' if gpu_mem is None else f'{gpu_mem} MiB'} |"
            )
        out.append("")
    conc = combo.get("concurrency")
    if conc:
        out += [
            f"Concurrency sweep (target: p95 first content audio <= {_ms(conc['target_ms'])}; "
            f"{conc.get('max_calls_within_target') or 0} simultaneous call(s) hold it):",
            "",
            "| calls | turns | first content audio p50 | p95 | max | first audio p95 | "
            "process CPU mean | within target |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for level in conc.get("levels", []):
            fca = level.get("stages", {}).get("first_content_audio", {})
            fa = level.get("stages", {}).get("first_audio", {})
            res = level.get("resources") or {}
            cpu = res.get("process_cpu_percent_mean")
            out.append(
                f"| {level['calls']} | {level['turns']} | {_ms(fca.get('p50'))} | "
                f"{_ms(fca.get('p95'))} | {_ms(fca.get('max'))} | {_ms(fa.get('p95'))} | "
                f"{'-' if cpu is None else f'{cpu:.0f}%'} | "
                f"{'yes' if level.get('within_target') else 'no'} |"
            )
        out.append("")
    return out
