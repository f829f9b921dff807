"""Business rules of a simulated year, one pure vectorized function each (simulation-model.md §5).

Each function takes whole-workforce arrays and the year's parameters and returns arrays.
No I/O, no row loops, no hidden randomness: the uniforms come in as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from planwise.simulation.outputs import HireCounts

__all__ = [
    "HireCounts",
    "allocate_levels",
    "apply_cola",
    "band_multiplier",
    "choose_largest_keys",
    "completed_years",
    "hire_age_years",
    "hire_counts",
    "hire_salary",
    "merit_rate",
    "new_hire_termination_day",
    "performance_rating",
    "promote",
    "promotion_probability",
    "prorate",
    "round_half_up",
    "salary_spread",
    "termination_weight",
    "uniform_day",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365.25


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves away from zero for positives (not banker's)."""
    # Not floor(value + 0.5): for 0.49999999999999994 that sum rounds to 1.0 before the floor.
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def completed_years(start: npt.NDArray[np.datetime64], on: np.datetime64) -> IntArray:
    """Whole years between `start` and `on` (days / 365.25, floored): age or tenure."""
    days = (np.asarray(on) - start).astype(np.int64)
    years: IntArray = np.floor(days / DAYS_PER_YEAR).astype(np.int64)
    return years


def band_multiplier(
    values: IntArray, lower_bounds: Sequence[int], multipliers: Sequence[float]
) -> FloatArray:
    """The multiplier of the band each value falls in (bands start at `lower_bounds`)."""
    index = np.searchsorted(np.asarray(lower_bounds), values, side="right") - 1
    return np.asarray(multipliers, dtype=np.float64)[np.clip(index, 0, None)]


def termination_weight(
    age_multiplier: FloatArray, tenure_multiplier: FloatArray, level_multiplier: FloatArray
) -> FloatArray:
    """Relative hazard of leaving: age × tenure × level multipliers."""
    return age_multiplier * tenure_multiplier * level_multiplier


def choose_largest_keys(
    uniforms: FloatArray, weights: FloatArray, count: int, tiebreak: npt.NDArray[np.uint64]
) -> npt.NDArray[np.intp]:
    """Weighted draw without replacement of exactly `count` indices (Efraimidis–Spirakis).

    The key `log(u) / w` orders everyone; the `count` largest keys are chosen, so the count
    is exact and the weights decide who. Zero weights are chosen last.
    """
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    with np.errstate(divide="ignore"):
        keys = np.where(
            weights > 0, np.log(uniforms) / np.where(weights > 0, weights, 1.0), -np.inf
        )
    if count >= len(keys):
        return np.lexsort((tiebreak, -keys))
    # Partition first (O(n)), then order only the chosen; a tie across the cut (only
    # possible among zero weights) falls back to the full, tie-broken sort.
    chosen = np.argpartition(-keys, count - 1)[:count]
    cut = keys[chosen].min()
    if np.count_nonzero(keys == cut) != np.count_nonzero(keys[chosen] == cut):
        return np.lexsort((tiebreak, -keys))[:count]
    return chosen[np.lexsort((tiebreak[chosen], -keys[chosen]))]


def uniform_day(uniforms: FloatArray, days_in_year: int) -> IntArray:
    """A day of the year (0-based), uniform over the year's days."""
    return np.minimum(np.floor(uniforms * days_in_year).astype(np.int64), days_in_year - 1)


def apply_cola(salary: FloatArray, cola_rate: FloatArray) -> FloatArray:
    """Salary after the cost-of-living adjustment (`cola_rate` per employee)."""
    return salary * (1.0 + cola_rate)


def promotion_probability(
    base_probability: FloatArray, age_multiplier: FloatArray, tenure_multiplier: FloatArray
) -> FloatArray:
    return np.minimum(1.0, base_probability * age_multiplier * tenure_multiplier)


def promote(
    salary: FloatArray, promotion_raise: FloatArray, next_band_minimum: FloatArray
) -> FloatArray:
    """Salary after promotion: the raise, but at least the new level's band minimum."""
    return np.maximum(salary * (1.0 + promotion_raise), next_band_minimum)


def performance_rating(uniforms: FloatArray, shares: Sequence[float]) -> IntArray:
    """Rating index (0-based) drawn from the performance distribution."""
    share_array = np.asarray(shares, dtype=np.float64)
    cumulative = np.cumsum(share_array)
    cumulative[-1] = 1.0
    return _never_a_zero_share(np.searchsorted(cumulative, uniforms, side="right"), share_array)


def _never_a_zero_share(index: npt.NDArray[np.intp], shares: FloatArray) -> IntArray:
    # Draws above a cumulative sum rounded just below 1 belong to the last positive share,
    # not to a trailing zero share (e.g. shares .7/.2/.1/0 sum to 0.9999999999999999).
    capped: IntArray = np.minimum(index, np.flatnonzero(shares > 0)[-1]).astype(np.int64)
    return capped


def merit_rate(
    merit_base: FloatArray, rating_index: IntArray, multipliers: Sequence[float] | FloatArray
) -> FloatArray:
    """Merit % = merit base of the level × the rating's (rescaled) multiplier."""
    return merit_base * np.asarray(multipliers, dtype=np.float64)[rating_index]


def hire_counts(
    start: int, termination_rate: float, growth_rate: float, new_hire_termination_rate: float
) -> HireCounts:
    terminations = round_half_up(termination_rate * start)
    target_end = round_half_up(start * (1.0 + growth_rate))
    net = target_end - (start - terminations)
    if net <= 0:
        return HireCounts(start, terminations, target_end, net, 0, 0, -net)
    hires = round_half_up(net / (1.0 - new_hire_termination_rate))
    return HireCounts(start, terminations, target_end, net, hires, hires - net, 0)


def allocate_levels(count: int, mix: Sequence[float]) -> IntArray:
    """Largest-remainder allocation of `count` hires over the level mix; sums exactly."""
    shares = np.asarray(mix, dtype=np.float64)
    quotas = shares * count
    base = np.floor(quotas).astype(np.int64)
    remainder = count - int(base.sum())
    if remainder > 0:
        # Largest remainders first; ties go to the earlier (lower) level.
        order = np.lexsort((np.arange(len(shares)), -(quotas - base)))
        base[order[:remainder]] += 1
    return base


def salary_spread(uniforms: FloatArray, sigma: float) -> FloatArray:
    """A log-normal factor with median 1 and log-sd `sigma`."""
    spread: FloatArray = np.exp(sigma * ndtri(uniforms))
    return spread


def hire_salary(
    band_midpoint: FloatArray, adjustment: FloatArray, spread: FloatArray
) -> FloatArray:
    """Band midpoint × new-hire adjustment × the hire's spread factor."""
    return band_midpoint * adjustment * spread


def hire_age_years(
    uniforms: FloatArray, min_ages: Sequence[int], max_ages: Sequence[int], shares: Sequence[float]
) -> FloatArray:
    """Age in (fractional) years: a band by its share, uniform within [min, max + 1)."""
    share_array = np.asarray(shares, dtype=np.float64)
    upper = np.cumsum(share_array)
    upper[-1] = 1.0
    band = _never_a_zero_share(np.searchsorted(upper, uniforms, side="right"), share_array)
    lower_cumulative = upper[band] - share_array[band]
    within = np.where(share_array[band] > 0, (uniforms - lower_cumulative) / share_array[band], 0.0)
    low = np.asarray(min_ages, dtype=np.float64)[band]
    high = np.asarray(max_ages, dtype=np.float64)[band] + 1.0
    return low + np.clip(within, 0.0, 1.0 - 1e-12) * (high - low)


def new_hire_termination_day(
    uniforms: FloatArray, hire_day: IntArray, days_in_year: int
) -> IntArray:
    """A day uniform in (hire day, Dec 31]: always strictly after the hire."""
    span = (days_in_year - 1) - hire_day
    return hire_day + 1 + np.minimum(np.floor(uniforms * span).astype(np.int64), span - 1)


def prorate(
    first_day: IntArray,
    last_day: IntArray,
    change_days: Sequence[int],
    salaries: Sequence[FloatArray],
    days_in_year: int,
) -> FloatArray:
    """Pay earned in the year: Σ over salary segments of rate × days employed / days in year.

    `salaries[k]` is the rate from `change_days[k]` (0-based day of year, inclusive) to the
    next change; `change_days[0]` is 0. Employment runs from `first_day` to `last_day`
    inclusive.

    Computed as the first rate over all days employed plus each change of rate over the
    days employed from its date on (the same sum, telescoped), so that floating point keeps
    the §8 invariants exactly: a rate unchanged all year pays exactly that rate, and pay
    never exceeds the highest rate held when raises only go up.
    """
    stop = last_day + 1

    def share_from(day: int) -> FloatArray:
        days: IntArray = np.maximum(stop - np.maximum(day, first_day), 0)
        return days / days_in_year

    total = salaries[0] * share_from(change_days[0])
    for k in range(1, len(salaries)):
        total = total + (salaries[k] - salaries[k - 1]) * share_from(change_days[k])
    return total
