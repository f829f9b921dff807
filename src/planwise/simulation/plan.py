"""The structure of a year: who leaves, is promoted, is rated, is hired, and when.

No compensation lever (merit, COLA, new-hire adjustment, promotion raise) enters here,
only the workforce's levels, dates and the keyed draws, plus `promotion_probability`. So a
year's plan is fixed for a seed, and pay can be recomputed on it (a compensation-only
replay) with exactly the numbers a full simulation would give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planwise.config import HazardBand, Settings
from planwise.simulation import rules
from planwise.simulation.outputs import TerminationReason
from planwise.simulation.random import Purpose, hash_ids, uniform
from planwise.simulation.state import Workforce

__all__ = ["RaiseStep", "Tables", "YearPlan", "plan_year"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]

RAISE_ORDER = ("cola", "promotion", "merit")  # the order of raises that share a date


@dataclass(frozen=True)
class Tables:
    """Settings turned into arrays indexed by job level, built once per run."""

    band_minimum_next: FloatArray
    band_midpoint: FloatArray
    termination_level: FloatArray
    hire_mix: list[float]
    merit_multipliers: FloatArray
    rating_shares: list[float]

    @classmethod
    def from_settings(cls, settings: Settings) -> Tables:
        top = settings.top_level
        band_minimum_next = np.zeros(top + 2)
        band_midpoint = np.zeros(top + 1)
        termination_level = np.zeros(top + 1)
        for level in settings.job_levels:
            band_minimum_next[level.level - 1] = level.min_salary
            band_midpoint[level.level] = level.midpoint
            termination_level[level.level] = settings.termination_level_multipliers[level.level]
        return cls(
            band_minimum_next=band_minimum_next,
            band_midpoint=band_midpoint,
            termination_level=termination_level,
            hire_mix=[settings.hire_level_mix[level] for level in settings.level_numbers],
            merit_multipliers=np.asarray(settings.merit_multipliers, dtype=np.float64),
            rating_shares=[rating.share for rating in settings.performance_ratings],
        )


@dataclass(frozen=True)
class RaiseStep:
    """One dated raise. `who` are the eligible (COLA, merit) or the promoted (promotion)."""

    name: str
    day: int
    who: IndexArray
    level: IntArray
    rating: IntArray | None = None


@dataclass(frozen=True)
class YearPlan:
    """Everything about a year that pay does not change.

    `start` is the workforce on Jan 1 (pay replaces its salaries); `hires` carry their
    structure only: their salaries are decided by pay (`hire_spread` is the log-normal
    factor of each hire's salary).
    """

    year: int
    jan1: np.datetime64
    days_in_year: int
    counts: rules.HireCounts
    start: Workforce
    final_level: IntArray
    termination_day: IntArray
    leavers: IndexArray
    reason: npt.NDArray[np.int8]
    hazard_weight: FloatArray
    steps: tuple[RaiseStep, ...]
    hires: Workforce
    hire_day: IntArray
    hire_spread: FloatArray
    hire_leave_day: IntArray
    leaving_hires: IndexArray

    @property
    def last_day(self) -> int:
        return self.days_in_year - 1


def _bands(bands: list[HazardBand]) -> tuple[list[int], list[float]]:
    return [band.lower for band in bands], [band.multiplier for band in bands]


def _plan_hires(
    year: int, count: int, days_in_year: int, seed: int, settings: Settings, tables: Tables
) -> tuple[Workforce, IntArray, FloatArray]:
    """This year's hires (ids NH_<year>_<sequence>), their hire days and salary spreads."""
    jan1 = np.datetime64(f"{year}-01-01", "D")
    # Filling an object array from a list of Python strings is 8x faster than np.char.mod
    # (and than np.array(list), which inspects each string as a sequence).
    template = f"NH_{year}_%06d"
    ids = np.empty(count, dtype=object)
    ids[:] = [template % number for number in range(1, count + 1)]
    hashes = hash_ids(ids)
    # Levels: largest-remainder counts, handed out in the order of each hire's level draw.
    level_counts = rules.allocate_levels(count, tables.hire_mix)
    by_draw = np.lexsort((hashes, uniform(seed, hashes, year, Purpose.HIRE_LEVEL)))
    level = np.empty(count, dtype=np.int64)
    level[by_draw] = np.repeat(np.arange(1, len(level_counts) + 1), level_counts)
    hire_day = rules.uniform_day(uniform(seed, hashes, year, Purpose.HIRE_DATE), days_in_year)
    spread = rules.salary_spread(
        uniform(seed, hashes, year, Purpose.HIRE_SALARY), settings.hire_salary_sigma
    )
    bands = settings.hire_age_bands
    age = rules.hire_age_years(
        uniform(seed, hashes, year, Purpose.HIRE_AGE),
        [band.min_age for band in bands],
        [band.max_age for band in bands],
        [band.share for band in bands],
    )
    hire_date = jan1 + hire_day.astype("timedelta64[D]")
    birth_date = hire_date - np.round(age * rules.DAYS_PER_YEAR).astype("timedelta64[D]")
    hires = Workforce(
        employee_id=ids,
        birth_date=birth_date,
        hire_date=hire_date,
        job_level=level,
        annual_salary=np.full(count, np.nan),
        gender=np.full(count, "", dtype=object),
        id_hash=hashes,
    )
    return hires, hire_day, spread


def plan_year(
    workforce: Workforce,
    year: int,
    settings: Settings,
    promotion_probability: FloatArray,
    seed: int,
    tables: Tables,
) -> YearPlan:
    """Decide the year's structure for the workforce active on Jan 1 (§5 steps 1–6)."""
    size = len(workforce)
    jan1 = np.datetime64(f"{year}-01-01", "D")
    days_in_year = int((np.datetime64(f"{year + 1}-01-01", "D") - jan1).astype(np.int64))
    last_day = days_in_year - 1
    hashes = workforce.id_hash
    age = rules.completed_years(workforce.birth_date, jan1)
    tenure = rules.completed_years(workforce.hire_date, jan1)

    # 1. Experienced terminations (aligned count), plus reductions in force when shrinking.
    counts = rules.hire_counts(
        size,
        settings.termination_rate,
        settings.target_growth_rate,
        settings.new_hire_termination_rate,
    )
    weight = rules.termination_weight(
        rules.band_multiplier(age, *_bands(settings.termination_age_multipliers)),
        rules.band_multiplier(tenure, *_bands(settings.termination_tenure_multipliers)),
        tables.termination_level[workforce.job_level],
    )
    leavers = rules.choose_largest_keys(
        uniform(seed, hashes, year, Purpose.TERMINATION),
        weight,
        min(size, counts.experienced_terminations + counts.reductions),
        hashes,
    )
    termination_day = np.full(size, days_in_year, dtype=np.int64)  # after Dec 31 = stays
    drawn_day = rules.uniform_day(
        uniform(seed, hashes, year, Purpose.TERMINATION_DATE), days_in_year
    )
    termination_day[leavers] = drawn_day[leavers]
    reason = np.zeros(size, dtype=np.int8)
    reason[leavers[: counts.experienced_terminations]] = TerminationReason.EXPERIENCED
    reason[leavers[counts.experienced_terminations :]] = TerminationReason.REDUCTION_IN_FORCE

    # 2–4. Raises in effective-date order; on one date: COLA, promotion, merit.
    level = workforce.job_level.copy()
    steps: list[RaiseStep] = []
    dated = sorted(
        (settings.effective_dates.on(name, year).timetuple().tm_yday - 1, priority, name)
        for priority, name in enumerate(RAISE_ORDER)
    )
    for day, _, name in dated:
        active = termination_day >= day
        if name == "promotion":
            probability = rules.promotion_probability(
                promotion_probability[level],
                rules.band_multiplier(age, *_bands(settings.promotion_age_multipliers)),
                rules.band_multiplier(tenure, *_bands(settings.promotion_tenure_multipliers)),
            )
            eligible = active & (tenure >= 1) & (level < settings.top_level)
            drawn = uniform(seed, hashes, year, Purpose.PROMOTION)
            promoted = np.flatnonzero(eligible & (drawn < probability))
            steps.append(RaiseStep(name, day, promoted, level[promoted]))
            level[promoted] += 1
        elif name == "merit":
            rated = np.flatnonzero(active)
            rating = rules.performance_rating(
                uniform(seed, hashes[rated], year, Purpose.PERFORMANCE_RATING),
                tables.rating_shares,
            )
            steps.append(RaiseStep(name, day, rated, level[rated], rating))
        else:
            covered = np.flatnonzero(active)
            steps.append(RaiseStep(name, day, covered, level[covered]))

    # 5–6. Hiring to the aligned count, then this year's new-hire terminations.
    hires, hire_day, spread = _plan_hires(year, counts.hires, days_in_year, seed, settings, tables)
    can_leave = hire_day < last_day
    leaving_hires = rules.choose_largest_keys(
        uniform(seed, hires.id_hash, year, Purpose.NEW_HIRE_TERMINATION),
        can_leave.astype(np.float64),
        min(counts.new_hire_terminations, int(can_leave.sum())),
        hires.id_hash,
    )
    hire_leave_day = np.full(counts.hires, days_in_year, dtype=np.int64)
    hire_leave_day[leaving_hires] = rules.new_hire_termination_day(
        uniform(seed, hires.id_hash, year, Purpose.NEW_HIRE_TERMINATION_DATE)[leaving_hires],
        hire_day[leaving_hires],
        days_in_year,
    )
    return YearPlan(
        year=year,
        jan1=jan1,
        days_in_year=days_in_year,
        counts=counts,
        start=workforce,
        final_level=level,
        termination_day=termination_day,
        leavers=leavers,
        reason=reason,
        hazard_weight=weight,
        steps=tuple(steps),
        hires=hires,
        hire_day=hire_day,
        hire_spread=spread,
        hire_leave_day=hire_leave_day,
        leaving_hires=leaving_hires,
    )
