"""The spread around every number: a metric over an ensemble of seeds, summarized.

An ensemble simulates each scenario under the same seeds (common random numbers), so the
difference between two scenarios can be taken seed by seed: its band is much tighter than
either scenario's own band. A metric that does not vary across seeds (headcount under the
aligned counts of simulation-model.md §5) is deterministic: it gets its value, not a band.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planwise.config import Settings
from planwise.metrics import METRICS, measured_simulation
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.state import Workforce

__all__ = [
    "HORIZON",
    "Band",
    "MemberMetrics",
    "band",
    "bands",
    "exceedance",
    "paired_differences",
    "simulate_member",
]

HORIZON = "horizon"
"""The key under which a band of a horizon metric (CAGR, cumulative cost) is given."""

FloatArray = npt.NDArray[np.float64]
Period = int | str  # a simulated year, or HORIZON


@dataclass(frozen=True)
class MemberMetrics:
    """One member of an ensemble: a scenario under a seed, with its §7 metrics."""

    scenario_id: str
    seed: int
    per_year: Mapping[int, Mapping[str, float]]
    horizon: Mapping[str, float]

    def value(self, metric: str, period: Period) -> float:
        if period == HORIZON:
            return float(self.horizon.get(metric, math.nan))
        return float(self.per_year.get(int(period), {}).get(metric, math.nan))


@dataclass(frozen=True)
class Band:
    """A metric across the members: mean, P10, P50 (median), P90, min and max.

    `deterministic` when every member has the same value: the figure has no spread, and
    showing a band would suggest an uncertainty that is not there.
    """

    mean: float
    p10: float
    p50: float
    p90: float
    min: float
    max: float
    members: int

    @property
    def deterministic(self) -> bool:
        return self.members > 0 and self.min == self.max

    def as_dict(self) -> dict[str, float | bool | int]:
        return {
            "mean": self.mean,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            "min": self.min,
            "max": self.max,
            "members": self.members,
            "deterministic": self.deterministic,
        }


def band(values: Sequence[float] | FloatArray) -> Band:
    """Summarize values (NaN values, e.g. a gap with no women in a year, are left out).

    Percentiles interpolate linearly between order statistics (numpy's default), so the
    same values give the same band whatever the order they arrive in.

    >>> band([3.0, 1.0, 2.0]).p50
    2.0
    >>> band([5.0, 5.0]).deterministic
    True
    """
    array = np.sort(np.asarray(values, dtype=np.float64))
    array = array[~np.isnan(array)]
    if len(array) == 0:
        nan = math.nan
        return Band(nan, nan, nan, nan, nan, nan, 0)
    p10, p50, p90 = (float(q) for q in np.percentile(array, [10, 50, 90]))
    return Band(
        mean=float(np.mean(array)),
        p10=p10,
        p50=p50,
        p90=p90,
        min=float(array[0]),
        max=float(array[-1]),
        members=len(array),
    )


def _periods(members: Sequence[MemberMetrics], metric: str) -> list[Period]:
    if not METRICS[metric].per_year:
        return [HORIZON]
    return sorted({year for member in members for year in member.per_year})


def _ordered(members: Iterable[MemberMetrics]) -> list[MemberMetrics]:
    """By seed: the result never depends on the order members finished in."""
    return sorted(members, key=lambda member: (member.scenario_id, member.seed))


def bands(members: Iterable[MemberMetrics]) -> dict[str, dict[Period, Band]]:
    """Per metric and period, the band over the members (one scenario's members)."""
    chosen = _ordered(members)
    return {
        metric: {
            period: band([member.value(metric, period) for member in chosen])
            for period in _periods(chosen, metric)
        }
        for metric in METRICS
    }


def paired_differences(
    members: Iterable[MemberMetrics], reference: str, other: str
) -> dict[str, dict[Period, Band]]:
    """Per metric and period, the band of (other − reference) taken seed by seed.

    Only seeds that both scenarios have are paired.
    """
    by_key = {(member.scenario_id, member.seed): member for member in members}
    seeds = sorted(
        seed for scenario, seed in by_key if scenario == reference and (other, seed) in by_key
    )
    pairs = [(by_key[(reference, seed)], by_key[(other, seed)]) for seed in seeds]
    firsts = [first for first, _ in pairs]
    return {
        metric: {
            period: band([b.value(metric, period) - a.value(metric, period) for a, b in pairs])
            for period in _periods(firsts, metric)
        }
        for metric in METRICS
    }


def exceedance(
    members: Iterable[MemberMetrics], metric: str, threshold: float
) -> dict[Period, float]:
    """Per period, the share of members whose metric is above `threshold` (members whose
    value is undefined count as not above)."""
    chosen = _ordered(members)
    if not chosen:
        return {}
    return {
        period: float(np.mean([member.value(metric, period) > threshold for member in chosen]))
        for period in _periods(chosen, metric)
    }


def simulate_member(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    start_year: int,
    years: int,
    scenario_id: str,
    seed: int,
) -> tuple[MemberMetrics, float]:
    """One member, anywhere (a Dask worker runs this): simulate, keep only the metrics.

    Returns the member and the seconds it took; the events and snapshots are dropped here,
    so a worker sends back a few kilobytes whatever the workforce's size.
    """
    started = time.perf_counter()
    _, metrics = measured_simulation(
        workforce, settings, levers, start_year=start_year, years=years, seed=seed
    )
    member = MemberMetrics(scenario_id, seed, metrics.per_year, metrics.horizon)
    return member, time.perf_counter() - started
