"""Robust targets: a target's statistic over K seeds, and the work a Dask worker does for it
(tuning-loop.md, "One-sided and robust targets").

A candidate is measured on seeds seed…seed+K−1 — the loop's seed first. Each seed gives a
sample: the value of every target component (a target in a year) on that seed. A robust
target's component is then one statistic of its K values; any other target keeps the
loop's seed's value. Because the plans of a seed depend only on the structural levers,
which robust targets never move, each extra seed is simulated once (`seed_plan`, on a
worker, where its plans stay) and every later candidate is an exact pay replay of those
plans (`replay_sample`), which sends back only the sample: a few floats.

`share_within` with `share: q` — inside the target in at least q of the seeds, i.e. in
at least k = ⌈qK⌉ of them — is measured by the seed at rank k, which moves smoothly with
the levers where the share itself jumps:
- at_most X: the k-th smallest value (met ⇔ it is ≤ X ⇔ k seeds are ≤ X);
- at_least X: the k-th largest value;
- target_value T ± s: T ± the k-th smallest distance |v − T| (on the side of the median
  seed), so it is within T ± s exactly when k seeds are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from planwise.config import Settings
from planwise.metrics import RunMetrics, measured_replay
from planwise.optimization.targets import Bound, Statistic, Target
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.engine import PlannedRun, simulate_planned
from planwise.simulation.state import Workforce

__all__ = [
    "Sample",
    "component_value",
    "replay_sample",
    "required_seeds",
    "seed_plan",
    "seed_sample",
    "statistic_phrase",
    "statistic_value",
    "target_components",
]

Sample = tuple[float, ...]
"""One seed's value of every target component, in `target_components` order."""

_PERCENTILES = {Statistic.P10: 10.0, Statistic.P50: 50.0, Statistic.P90: 90.0}


def target_components(years: Sequence[int], targets: Sequence[Target]) -> list[tuple[Target, str]]:
    """Each target's components and their labels: one per year for `each`, else one
    (`final`, `average`, or the year)."""
    components: list[tuple[Target, str]] = []
    for target in targets:
        if target.year == "each":
            components.extend((target, str(year)) for year in years)
        else:
            components.append((target, str(target.year)))
    return components


def component_value(metrics: RunMetrics, target: Target, label: str) -> float:
    """One component's metric value on one seed."""
    if label == "final":
        return metrics.value(target.metric)
    if label == "average":
        return float(np.mean([metrics.value(target.metric, year) for year in metrics.years]))
    return metrics.value(target.metric, int(label))


def seed_sample(metrics: RunMetrics, targets: Sequence[Target]) -> Sample:
    """One seed's sample: every component's value, in `target_components` order."""
    return tuple(
        component_value(metrics, target, label)
        for target, label in target_components(metrics.years, targets)
    )


def required_seeds(share: float, seeds: int) -> int:
    """k = ⌈qK⌉: the seeds that must be inside the target (at least one).

    >>> required_seeds(0.9, 10), required_seeds(0.75, 6), required_seeds(1.0, 4)
    (9, 5, 4)
    """
    return max(1, math.ceil(share * seeds - 1e-9))


def statistic_value(target: Target, values: Sequence[float]) -> float:
    """The component's value over the seeds (`values`, the loop's seed first): its statistic
    for a robust target, the loop's seed's value otherwise.

    >>> from planwise.optimization.targets import Priority
    >>> budget = Target("cost", "total_compensation_cost", 100.0, 1.0, Priority.HIGH,
    ...                 "final", Bound.AT_MOST, Statistic.SHARE_WITHIN, 0.75)
    >>> statistic_value(budget, [99.0, 97.0, 103.0, 98.0])  # 3 of 4 seeds within: rank 3
    99.0
    """
    if target.statistic is None:
        return float(values[0])
    array = np.asarray(values, dtype=np.float64)
    if target.statistic == Statistic.MEAN:
        return float(np.mean(array))
    if target.statistic in _PERCENTILES:
        return float(np.percentile(array, _PERCENTILES[target.statistic]))
    rank = required_seeds(target.share or 1.0, len(array)) - 1
    if target.bound == Bound.AT_MOST:
        return float(np.sort(array)[rank])
    if target.bound == Bound.AT_LEAST:
        return float(np.sort(array)[::-1][rank])
    deviation = (array - target.target_value) / target.tolerance
    side = 1.0 if float(np.median(deviation)) >= 0 else -1.0
    return target.target_value + side * float(np.sort(np.abs(deviation))[rank]) * target.tolerance


def statistic_phrase(target: Target, seeds: int) -> str:
    """How a robust target is measured, for messages: ` (P90 of 8 seeds)`, ` (in 90 % of 8
    seeds)`; "" for a target on the loop's seed alone."""
    if target.statistic is None:
        return ""
    if target.statistic == Statistic.SHARE_WITHIN:
        return f" (in {target.share or 1.0:.0%} of {seeds} seeds)"
    if target.statistic == Statistic.MEAN:
        return f" (mean of {seeds} seeds)"
    return f" ({target.statistic.value.upper()} of {seeds} seeds)"


def seed_plan(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    start_year: int,
    years: int,
    seed: int,
) -> PlannedRun:
    """One extra seed's plans, made where they will stay (a Dask worker): a full simulation
    in memory whose events are dropped, since a replay needs only the plans."""
    return simulate_planned(
        workforce,
        settings,
        levers,
        start_year=start_year,
        years=years,
        seed=seed,
        keep_outcomes=False,
    )


def replay_sample(
    planned: PlannedRun, settings: Settings, levers: ResolvedLevers, targets: Sequence[Target]
) -> Sample:
    """Pay `planned`'s plans again with `levers` (exact: the structural levers are those of
    the plans) and return only the targets' sample."""
    metrics = measured_replay(planned, settings, levers, only={t.metric for t in targets})
    return seed_sample(metrics, targets)
