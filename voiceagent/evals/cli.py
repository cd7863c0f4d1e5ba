"""``voiceagent eval``: the conversation eval (what `make eval` runs).

Runs every scenario (a caller persona, spoken-form lines in the caller's own order, and the
end state a good front desk leaves) through the real front desk on the example clinic, a
fresh SQLite store each and a fixed clock, then prints each scenario's checks and the totals
per category, with the model and the machine. Safety, privacy and security scenarios are
counted apart: every one of them must pass. Results go to eval-out/<time>/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from voiceagent.evals.runner import ScenarioResult, run_scenario
from voiceagent.evals.scenario import ScenarioError, load_scenarios


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="*", type=Path,
                        help="scenario files or folders (default: the bundled scenarios)")
    parser.add_argument("--only", action="append", default=[], metavar="ID",
                        help="run only this scenario (repeatable; a prefix works)")
    parser.add_argument("--category", action="append", default=[],
                        help="run only this category (repeatable)")
    parser.add_argument("--clinic", type=Path, default=None,
                        help="clinic config (default: the one pipeline.yaml names)")
    parser.add_argument("--no-llm", action="store_true",
                        help="no language model: parsers, router and templates only")
    parser.add_argument("--capability", choices=["small", "capable"], default=None,
                        help="override models.llm.capability")
    parser.add_argument("--out", type=Path, default=Path("eval-out"),
                        help="results folder (default: eval-out/<time>/)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print every turn of failed scenarios")
    parser.add_argument("--voice", action="store_true",
                        help="the phone path: the voiced scenarios spoken by generated voices "
                        "(espeak-ng and Piper, in turn) through G.711 at 8 kHz into the real "
                        "speech pipeline, as `voiceagent call --codec pcmu` plays them")


def run(args: argparse.Namespace) -> int:
    from voiceagent.bench.sysinfo import cpu_model
    from voiceagent.channels.text import _load_llm
    from voiceagent.clinic.config import load_clinic
    from voiceagent.config.pipeline import PipelineConfig, load_pipeline

    try:
        scenarios = load_scenarios(args.scenarios or None)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        scenarios = [s for s in scenarios if any(s.id.startswith(o) for o in args.only)]
    if args.category:
        scenarios = [s for s in scenarios if s.category in args.category]
    if not scenarios:
        print("error: no scenario matches", file=sys.stderr)
        return 2
    path = getattr(args, "config", None) or Path("configs/pipeline.yaml")
    config = load_pipeline(path) if path.exists() else PipelineConfig()  # type: ignore[call-arg]
    clinic = load_clinic(args.clinic or config.clinic)
    capability = args.capability or config.models.llm.capability
    if args.voice:
        scenarios = [s for s in scenarios if s.voiced]
        if not scenarios:
            print("error: no voiced scenario matches", file=sys.stderr)
            return 2
        return _run_voiced(args, config, clinic, scenarios, capability)
    llm = None if args.no_llm else _load_llm(config)
    model = "none (parsers and templates)" if llm is None else str(config.models.llm.model)
    out_dir = args.out / datetime.now().strftime("%Y%m%d-%H%M%S")
    print(f"eval: {len(scenarios)} scenarios, LLM {model} ({capability}), "
          f"{cpu_model()}, clinic {clinic.name}")
    results: list[ScenarioResult] = []
    started = time.perf_counter()
    for i, scenario in enumerate(scenarios, 1):
        result = run_scenario(scenario, clinic, out_dir / "stores", llm=llm,
                              capability=capability)
        results.append(result)
        print_result(i, len(scenarios), scenario, result, "", args.verbose)
    summary = summarize(results)
    print_summary(summary)
    print(f"took {time.perf_counter() - started:.0f} s")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps({
        "model": model, "capability": capability, "cpu": cpu_model(),
        "summary": summary, "scenarios": [asdict(r) | {"passed": r.passed} for r in results],
    }, indent=2, default=str))
    print(f"results: {out_dir / 'results.json'}")
    return 0


def _run_voiced(args: argparse.Namespace, config: Any, clinic: Any, scenarios: list[Any],
                capability: str) -> int:
    from voiceagent.bench.config import VoiceSpec
    from voiceagent.bench.corpus import espeak_synth, piper_synth
    from voiceagent.bench.sysinfo import cpu_model
    from voiceagent.evals.voice import run_voiced
    from voiceagent.speech.resources import load_resources

    print(f"eval (phone path): {len(scenarios)} voiced scenarios, STT "
          f"{config.models.stt.model}, LLM {config.models.llm.model}, G.711 u-law at 8 kHz, "
          f"{cpu_model()}; loading models...")
    resources = load_resources(config, vocabulary=clinic.vocabulary(),
                               with_llm=not args.no_llm)
    voices = [("espeak-ng en-us", espeak_synth(VoiceSpec(name="espeak-us", engine="espeak",
                                                         voice="en-us"))),
              ("piper joe", piper_synth(VoiceSpec(name="piper-joe", engine="piper",
                                                  voice="piper-joe-medium")))]
    out_dir = args.out / datetime.now().strftime("%Y%m%d-%H%M%S-voice")
    results: list[ScenarioResult] = []
    started = time.perf_counter()
    for i, scenario in enumerate(scenarios, 1):
        voice, synth = voices[i % len(voices)]
        result = run_voiced(scenario, clinic, out_dir / "stores", resources, config, synth,
                            capability)
        results.append(result)
        print_result(i, len(scenarios), scenario, result, f"{voice}, ", args.verbose)
    summary = summarize(results)
    print_summary(summary)
    print(f"took {time.perf_counter() - started:.0f} s")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps({
        "path": "phone (G.711 u-law, 8 kHz)", "stt": str(config.models.stt.model),
        "llm": str(config.models.llm.model), "cpu": cpu_model(), "summary": summary,
        "scenarios": [asdict(r) | {"passed": r.passed} for r in results],
    }, indent=2, default=str))
    print(f"results: {out_dir / 'results.json'}")
    return 0


def print_result(i: int, total: int, scenario: Any, result: ScenarioResult, where: str,
                 verbose: bool) -> None:
    """One scenario's line; its failed checks (and, verbose, its turns) under it."""
    print(f"[{i:3}/{total}] {'PASS' if result.passed else 'FAIL'} {scenario.category:10} "
          f"{scenario.id} ({where}{result.seconds:.1f} s)")
    if result.passed:
        return
    if result.error:
        print(f"        crashed: {result.error}")
    for c in result.checks:
        if not c.ok:
            print(f"        x {c.name}: {c.detail}")
    if verbose:
        for t in result.turns:
            if t.caller is not None:
                print(f"          caller> {t.caller}")
            if t.agent:
                print(f"          agent>  {t.agent}  {t.tools or ''}")


def summarize(results: list[ScenarioResult]) -> dict[str, Any]:
    by: dict[str, list[ScenarioResult]] = defaultdict(list)
    for r in results:
        by[r.category].append(r)
    safety = [r for r in results if r.safety_critical]
    passed = sum(r.passed for r in results)
    latencies = sorted(t.seconds for r in results for t in r.turns if t.caller is not None)
    return {
        "scenarios": len(results), "passed": passed,
        "pass_rate": round(passed / len(results), 3) if results else 0.0,
        "safety_critical": {"scenarios": len(safety), "passed": sum(r.passed for r in safety)},
        "categories": {c: {"scenarios": len(rs), "passed": sum(r.passed for r in rs)}
                       for c, rs in sorted(by.items())},
        "turn_seconds_p50": latencies[len(latencies) // 2] if latencies else None,
        "turn_seconds_p95": latencies[int(len(latencies) * 0.95)] if latencies else None,
        "failed": [r.id for r in results if not r.passed],
    }


def print_summary(summary: dict[str, Any]) -> None:
    print("\ncategory      passed")
    for c, v in summary["categories"].items():
        print(f"  {c:12} {v['passed']:3}/{v['scenarios']}")
    s = summary["safety_critical"]
    print(f"  {'safety-critical':12} {s['passed']}/{s['scenarios']} (safety, privacy, security)")
    print(f"total: {summary['passed']}/{summary['scenarios']} ({summary['pass_rate']:.0%}); "
          f"turn time p50 {summary['turn_seconds_p50'] or 0:.2f} s, "
          f"p95 {summary['turn_seconds_p95'] or 0:.2f} s")
