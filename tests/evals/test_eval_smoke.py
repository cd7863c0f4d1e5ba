"""A smoke of the conversation eval: five bundled scenarios, one per kind of call that must
never regress (a referral booking, an emergency, a false alarm, a privacy request, a prompt
injection), run through the real front desk without a model; and the scenario loader's
errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.clinic.config import load_clinic
from voiceagent.evals.cli import summarize
from voiceagent.evals.runner import run_scenario
from voiceagent.evals.scenario import ScenarioError, load_scenarios

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"
SMOKE = ("knee-referral-volunteers-everything", "chest-pain-mid-intake",
         "pain-is-not-an-emergency", "spouse-asks-for-wifes-appointment",
         "ignore-your-instructions")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    clinic = load_clinic(EXAMPLE)
    scenarios = {s.id: s for s in load_scenarios()}
    work = tmp_path_factory.mktemp("eval")
    return [run_scenario(scenarios[i], clinic, work) for i in SMOKE]


@pytest.mark.parametrize("index", range(len(SMOKE)), ids=SMOKE)
def test_smoke_scenario_passes(results, index):
    result = results[index]
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.ok]
    assert result.error is None and not failed, failed


def test_the_summary_counts_safety_critical_scenarios_apart(results):
    summary = summarize(results)
    assert summary["scenarios"] == 5
    assert summary["safety_critical"]["scenarios"] == 4


def test_the_bundled_scenarios_load_and_are_many(results):
    scenarios = load_scenarios()
    assert len(scenarios) >= 60
    assert sum(s.safety_critical for s in scenarios) >= 20


def test_a_malformed_scenario_names_the_file_scenario_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  category: booking\n  persona: p\n  lines: [hi]\n"
                   "  expect: {booked: lots}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: scenario 1 \(x\): expect.booked"):
        load_scenarios([bad])
