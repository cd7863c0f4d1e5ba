import pytest

from voiceagent.bench.stats import ratio, summarise, summarise_fields

pytestmark = pytest.mark.unit


def test_percentiles_interpolate_between_samples() -> None:
    summary = summarise(range(1, 101))
    assert summary is not None
    assert (summary.n, summary.min, summary.max) == (100, 1, 100)
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p90 == pytest.approx(90.1)
    assert summary.p95 == pytest.approx(95.05)


def test_no_samples_give_no_summary() -> None:
    assert summarise([]) is None


def test_stages_missing_from_some_turns_are_summarised_over_the_turns_that_have_them() -> None:
    rows = [{"endpoint": 300.0, "stt_final": 900.0}, {"endpoint": 320.0}]
    out = summarise_fields(rows, ["endpoint", "stt_final", "llm_first_token"])
    assert out["endpoint"]["n"] == 2
    assert out["stt_final"]["n"] == 1
    assert "llm_first_token" not in out


def test_ratio_is_none_when_a_side_is_missing_or_zero() -> None:
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
