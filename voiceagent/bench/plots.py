"""PNG figures with matplotlib's Agg backend (no display needed).

* ``latency_distribution.png``: for first audio and first content audio, the share of turns
  (y) answered within a time (x), one line per combination and path; further left is faster,
  a line's 0.5 and 0.95 heights are the p50 and p95.
* ``stage_breakdown_<combo>.png``: one row per streaming turn; markers show when each stage
  finished after the caller stopped (the endpoint, the final transcript, the LLM's first
  token, the first clause, its first synthesized audio, and first audio and first content
  audio leaving the channel). A marker left of the endpoint line means the work was done
  speculatively during the pause.
* ``stage_p50.png``: the p50 of every stage per combination and path, side by side, so the
  naive baseline's cost per stage sits next to the streaming pipeline's.
* ``concurrency.png``: p50 and p95 first content audio against the number of simultaneous
  calls, with the target as a dashed line; where p95 crosses it is what one box holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from voiceagent.bench.samples import END_TO_END, STAGE_NAMES, TurnSample  # noqa: E402

COLORS = {
    "endpoint": "#7f7f7f",
    "stt_final": "#1f77b4",
    "llm_first_token": "#ff7f0e",
    "first_clause": "#2ca02c",
    "tts_first_audio": "#9467bd",
    "first_audio": "#8c564b",
    "first_content_audio": "#d62728",
}
MARKERS = {
    "endpoint": "|",
    "stt_final": "o",
    "llm_first_token": "s",
    "first_clause": "^",
    "tts_first_audio": "D",
    "first_audio": "v",
    "first_content_audio": "*",
}


def latency_distribution(samples: Sequence[TurnSample], path: Path) -> Path | None:
    groups: dict[str, list[TurnSample]] = {}
    for s in samples:
        if not s.sweep:
            groups.setdefault(f"{s.combo} / {s.path}", []).append(s)
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(END_TO_END), figsize=(12, 4.5), sharey=True)
    for ax, stage in zip(np.atleast_1d(axes), END_TO_END, strict=True):
        for label, group in sorted(groups.items()):
            values = np.sort([v for s in group if (v := s.value(stage)) is not None])
            if values.size == 0:
                continue
            x = np.concatenate([[values[0]], values]) / 1000
            y = np.concatenate([[0.0], np.arange(1, values.size + 1) / values.size])
            ax.step(x, y, where="post", label=f"{label} (n={values.size})")
        ax.axhline(0.95, color="grey", lw=0.6, ls=":")
        ax.axhline(0.5, color="grey", lw=0.6, ls=":")
        ax.set_title(stage.replace("_", " "))
        # log time: the naive baseline's slow tail must not squash the streaming curves
        ax.set_xscale("log", base=2)
        low, high = ax.get_xlim()
        ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
                 if low / 1.5 <= t <= high * 1.5]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlim(min([low, *ticks]) * 0.9, max([high, *ticks]) * 1.1)
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("seconds after the caller stopped (log scale)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("share of turns answered")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Latency distribution (one call at a time)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def stage_breakdown(samples: Sequence[TurnSample], combo: str, path: Path) -> Path | None:
    turns = [s for s in samples if s.combo == combo and s.path == "file" and not s.sweep]
    if not turns:
        return None
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(turns) + 1.8))
    for row, turn in enumerate(turns):
        end = turn.value("first_content_audio") or max(turn.stages.values(), default=0)
        ax.plot([0, end / 1000], [row, row], color="#cccccc", lw=1, zorder=1)
        for stage in STAGE_NAMES:
            value = turn.value(stage)
            if value is not None:
                ax.scatter(
                    value / 1000,
                    row,
                    color=COLORS[stage],
                    marker=MARKERS[stage],
                    s=40,
                    zorder=2,
                    label=stage.replace("_", " ") if row == 0 else None,
                )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(turns)), [t.clip for t in turns], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds after the caller stopped speaking")
    ax.set_title(f"Stage breakdown per turn: {combo}, streaming file channel")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for h, lab in zip(handles, labels, strict=True):
        seen.setdefault(lab, h)
    ax.legend(
        seen.values(),
        seen.keys(),
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def stage_p50(combos: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    bars: list[tuple[str, dict[str, Any]]] = []
    for combo in combos:
        for name, data in combo.get("paths", {}).items():
            if data.get("stages"):
                bars.append((f"{combo['name']} / {name}", data["stages"]))
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(12, 4.8))
    width = 0.8 / len(bars)
    x = np.arange(len(STAGE_NAMES))
    for i, (label, stages) in enumerate(bars):
        values = [stages.get(s, {}).get("p50", np.nan) / 1000 for s in STAGE_NAMES]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=label)
    ax.set_xticks(x, [s.replace("_", "\n") for s in STAGE_NAMES], fontsize=8)
    ax.set_ylabel("p50, seconds after the caller stopped")
    ax.set_title("When each stage finishes (p50), streaming vs naive")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def concurrency_curve(combos: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    curves = [c for c in combos if c.get("concurrency", {}).get("levels")]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    target = None
    for combo in curves:
        conc = combo["concurrency"]
        target = conc["target_ms"]
        levels = [lv for lv in conc["levels"] if lv["stages"].get("first_content_audio")]
        calls = [lv["calls"] for lv in levels]
        p50 = [lv["stages"]["first_content_audio"]["p50"] / 1000 for lv in levels]
        p95 = [lv["stages"]["first_content_audio"]["p95"] / 1000 for lv in levels]
        line = ax.plot(calls, p95, marker="o", label=f"{combo['name']} p95")[0]
        ax.plot(
            calls, p50, marker=".", ls="--", color=line.get_color(), label=f"{combo['name']} p50"
        )
    if target is not None:
        ax.axhline(target / 1000, color="red", ls=":", label="target (p95)")
    ax.set_xscale("log", base=2)
    all_calls = sorted({lv["calls"] for c in curves for lv in c["concurrency"]["levels"]})
    ax.set_xticks(all_calls, [str(c) for c in all_calls])
    ax.minorticks_off()
    ax.set_xlabel("simultaneous calls")
    ax.set_ylabel("first content audio, s after the caller stopped")
    ax.set_title("Concurrency: latency as calls are added")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(
    doc: Mapping[str, Any], samples: Sequence[TurnSample], folder: Path
) -> dict[str, str]:
    """Every figure that has data; returns file name -> what it shows."""
    made: dict[str, str] = {}
    combos = doc.get("combos", [])
    if latency_distribution(samples, folder / "latency_distribution.png"):
        made["latency_distribution.png"] = (
            "share of turns (y) answered within x seconds, "
            "first audio and first content audio, per path"
        )
    for combo in combos:
        name = f"stage_breakdown_{combo['name']}.png"
        if stage_breakdown(samples, combo["name"], folder / name):
            made[name] = "when each stage finished, one row per streaming turn"
    if stage_p50(combos, folder / "stage_p50.png"):
        made["stage_p50.png"] = "p50 of each stage, streaming vs naive, per combination"
    if concurrency_curve(combos, folder / "concurrency.png"):
        made["concurrency.png"] = "p50/p95 first content audio against simultaneous calls"
    return made
