"""Planning a year: who leaves, is promoted, is rated, is hired, and when.

The engine (`engine.plan_year`) runs the steps in the order of simulation-model.md §5 on a
`YearDraft`: experienced terminations here, the dated raises in `raises.py`, then hiring
and new-hire terminations here. No compensation lever (merit, COLA, new-hire adjustment,
promotion raise) enters a plan, only the workforce's levels and dates, the keyed draws and
the structural levers (`ParameterSpec.structural`). So a year's plan is fixed for a seed,
and pay can be recomputed on it (a compensation-only replay) with exactly the numbers a
full simulation would give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from planwise.config import HazardBand, Settings
from planwise.simulation import rules
from planwise.simulation.outputs import TerminationReason
from planwise.simulation.random import Purpose, hash_ids, uniform
from planwise.simulation.state import Workforce

if TYPE_CHECKING:
    from planwise.simulation.pay import PayLedger

__all__ = [
    "PlannedRaise",
    "Tables",
    "YearDraft",
    "YearPlan",
    "multiplier_by_band",
    "plan_experienced_terminations",
    "plan_hiring",
    "plan_new_hire_terminations",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
ReasonArray = npt.NDArray[np.int8]


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


class PlannedRaise(Protocol):
    """A dated raise as planned (who gets it, at which level); paying it is its own method.

    The kinds are in `raises.py`. `pay` applies the raise with the year's compensation
    levers to the salaries in `ledger` and logs its events, so a replay can pay a stored
    plan again with other levers.
    """

    def pay(self, ledger: PayLedger) -> None: ...


@dataclass(frozen=True)
class YearPlan:
    """Everything about a year that pay does not change.

    `start` is the workforce on Jan 1 (pay replaces its salaries); `raises` are in the order
    they are paid (effective date, then `raises.RAISE_STEPS`); `hires` carry their structure
    only: their salaries are decided by pay (`hire_spread` is the log-normal factor of each
    hire's salary). Days are 0-based days of the year; `days_in_year` means "stays".
    """

    year: int
    jan1: np.datetime64
    days_in_year: int
    counts: rules.HireCounts
    start: Workforce
    final_level: IntArray
    termination_day: IntArray
    leavers: IndexArray
    reason: ReasonArray
    hazard_weight: FloatArray
    raises: tuple[PlannedRaise, ...]
    hires: Workforce
    hire_day: IntArray
    hire_spread: FloatArray
    hire_leave_day: IntArray
    leaving_hires: IndexArray

    @property
    def last_day(self) -> int:
        return self.days_in_year - 1


@dataclass(eq=False)
class YearDraft:
    """A year being planned, step by step (`engine.plan_year` runs the steps in order).

    It opens on Jan 1 as a year in which nothing happens: nobody leaves, is promoted or is
    hired. Each step adds what it decides; `finished` freezes the result into a `YearPlan`.
    `structural_levers` are the year's only levers (by name, indexed by job level).
    """

    year: int
    seed: int
    settings: Settings
    tables: Tables
    structural_levers: Mapping[str, FloatArray]
    jan1: np.datetime64
    days_in_year: int
    start: Workforce
    age: IntArray
    tenure: IntArray
    counts: rules.HireCounts
    job_level: IntArray
    termination_day: IntArray
    leavers: IndexArray
    reason: ReasonArray
    hazard_weight: FloatArray
    raises: list[PlannedRaise]
    hires: Workforce
    hire_day: IntArray
    hire_spread: FloatArray
    hire_leave_day: IntArray
    leaving_hires: IndexArray

    @classmethod
    def on_jan1(
        cls,
        workforce: Workforce,
        year: int,
        settings: Settings,
        structural_levers: Mapping[str, FloatArray],
        seed: int,
        tables: Tables,
    ) -> YearDraft:
        """The workforce active on Jan 1 of `year`, with its age, tenure and aligned counts."""
        size = len(workforce)
        jan1 = np.datetime64(f"{year}-01-01", "D")
        days_in_year = int((np.datetime64(f"{year + 1}-01-01", "D") - jan1).astype(np.int64))
        no_one = np.zeros(0, dtype=np.intp)
        return cls(
            year=year,
            seed=seed,
            settings=settings,
            tables=tables,
            structural_levers=structural_levers,
            jan1=jan1,
            days_in_year=days_in_year,
            start=workforce,
            age=rules.completed_years(workforce.birth_date, jan1),
            tenure=rules.completed_years(workforce.hire_date, jan1),
            # Steps 1 and 5 share one arithmetic of counts, decided by the start size alone.
            counts=rules.hire_counts(
                size,
                settings.termination_rate,
                settings.target_growth_rate,
                settings.new_hire_termination_rate,
            ),
            job_level=workforce.job_level.copy(),
            termination_day=np.full(size, days_in_year, dtype=np.int64),
            leavers=no_one,
            reason=np.zeros(size, dtype=np.int8),
            hazard_weight=np.full(size, np.nan),
            raises=[],
            hires=Workforce.empty(),
            hire_day=np.zeros(0, dtype=np.int64),
            hire_spread=np.zeros(0),
            hire_leave_day=np.zeros(0, dtype=np.int64),
            leaving_hires=no_one,
        )

    @property
    def last_day(self) -> int:
        return self.days_in_year - 1

    def employed_on(self, day: int) -> npt.NDArray[np.bool_]:
        """Who of the Jan 1 workforce is still employed on `day` (leaving that day counts)."""
        employed: npt.NDArray[np.bool_] = self.termination_day >= day
        return employed

    def finished(self) -> YearPlan:
        return YearPlan(
            year=self.year,
            jan1=self.jan1,
            days_in_year=self.days_in_year,
            counts=self.counts,
            start=self.start,
            final_level=self.job_level,
            termination_day=self.termination_day,
            leavers=self.leavers,
            reason=self.reason,
            hazard_weight=self.hazard_weight,
            raises=tuple(self.raises),
            hires=self.hires,
            hire_day=self.hire_day,
            hire_spread=self.hire_spread,
            hire_leave_day=self.hire_leave_day,
            leaving_hires=self.leaving_hires,
        )


def multiplier_by_band(values: IntArray, bands: list[HazardBand]) -> FloatArray:
    """Each value's multiplier from age or tenure bands of the settings."""
    return rules.band_multiplier(
        values, [band.lower for band in bands], [band.multiplier for band in bands]
    )


def plan_experienced_terminations(draft: YearDraft) -> None:
    """§5 step 1: exactly T leavers (plus the reductions in force when shrinking).

    Everyone on Jan 1 is at risk, last year's hires included; the hazard weight decides
    who, a uniform day of the year when.
    """
    settings, start, counts = draft.settings, draft.start, draft.counts
    hashes = start.id_hash
    weight = rules.termination_weight(
        multiplier_by_band(draft.age, settings.termination_age_multipliers),
        multiplier_by_band(draft.tenure, settings.termination_tenure_multipliers),
        draft.tables.termination_level[start.job_level],
    )
    leavers = rules.choose_largest_keys(
        uniform(draft.seed, hashes, draft.year, Purpose.TERMINATION),
        weight,
        min(len(start), counts.experienced_terminations + counts.reductions),
        hashes,
    )
    drawn_day = rules.uniform_day(
        uniform(draft.seed, hashes, draft.year, Purpose.TERMINATION_DATE), draft.days_in_year
    )
    draft.termination_day[leavers] = drawn_day[leavers]
    # The first T chosen are the turnover; the rest are the reduction in force.
    draft.reason[leavers[: counts.experienced_terminations]] = TerminationReason.EXPERIENCED
    draft.reason[leavers[counts.experienced_terminations :]] = TerminationReason.REDUCTION_IN_FORCE
    draft.leavers = leavers
    draft.hazard_weight = weight


def plan_hiring(draft: YearDraft) -> None:
    """§5 step 5: the aligned number of hires (ids NH_<year>_<sequence>), their levels by
    the mix, hire days, ages and salary spreads. Their salaries are left to pay."""
    settings, tables, year, seed = draft.settings, draft.tables, draft.year, draft.seed
    count = draft.counts.hires
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
    hire_day = rules.uniform_day(uniform(seed, hashes, year, Purpose.HIRE_DATE), draft.days_in_year)
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
    hire_date = draft.jan1 + hire_day.astype("timedelta64[D]")
    birth_date = hire_date - np.round(age * rules.DAYS_PER_YEAR).astype("timedelta64[D]")
    draft.hires = Workforce(
        employee_id=ids,
        birth_date=birth_date,
        hire_date=hire_date,
        job_level=level,
        annual_salary=np.full(count, np.nan),
        gender=np.full(count, "", dtype=object),
        id_hash=hashes,
    )
    draft.hire_day = hire_day
    draft.hire_spread = spread
    draft.hire_leave_day = np.full(count, draft.days_in_year, dtype=np.int64)


def plan_new_hire_terminations(draft: YearDraft) -> None:
    """§5 step 6: `H − N` of this year's hires leave, each on a day after their hire day.

    A Dec 31 hire has no later day in the year, so cannot be chosen.
    """
    hashes = draft.hires.id_hash
    can_leave = draft.hire_day < draft.last_day
    leaving = rules.choose_largest_keys(
        uniform(draft.seed, hashes, draft.year, Purpose.NEW_HIRE_TERMINATION),
        can_leave.astype(np.float64),
        min(draft.counts.new_hire_terminations, int(can_leave.sum())),
        hashes,
    )
    draft.hire_leave_day[leaving] = rules.new_hire_termination_day(
        uniform(draft.seed, hashes, draft.year, Purpose.NEW_HIRE_TERMINATION_DATE)[leaving],
        draft.hire_day[leaving],
        draft.days_in_year,
    )
    draft.leaving_hires = leaving
