"""Summaries of latency samples: count, mean, min, p50/p90/p95 and max."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    min: float
    p50: float
    p90: float
    p95: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarise(samples: Iterable[float]) -> Summary | None:
    """Percentiles by linear interpolation (numpy's default); None for no samples."""
    values = np.asarray([float(s) for s in samples], dtype=np.float64)
    if values.size == 0:
        return None
    p50, p90, p95 = np.percentile(values, [50, 90, 95])
    return Summary(
        n=int(values.size),
        mean=float(values.mean()),
        min=float(values.min()),
        p50=float(p50),
        p90=float(p90),
        p95=float(p95),
        max=float(values.max()),
    )


def summarise_fields(
    rows: Sequence[Mapping[str, float | None]], names: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """One summary per field name over the rows that have it (missing stages are skipped)."""
    out: dict[str, dict[str, float | int]] = {}
    for name in names:
        summary = summarise(r[name] for r in rows if r.get(name) is not None)  # type: ignore[misc]
        if summary is not None:
            out[name] = summary.as_dict()
    return out


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` or None when either is missing or the divisor is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator
