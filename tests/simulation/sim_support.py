"""Shared helpers of the simulation specification tests: settings, levers, runs, event tables.

Runs are cached per argument tuple, so the invariant tables share one simulation per case.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from planwise.census import generate_census
from planwise.config import Settings
from planwise.parameters import LeverKey, ResolvedLevers, default_lever_set, resolve_levers
from planwise.simulation import (
    EVENT_TYPE_NAMES,
    STATUS_CODE_NAMES,
    TERMINATION_REASON_NAMES,
    SimulationResult,
    Workforce,
    simulate,
)

START_YEAR = 2025


def settings_with(**updates: Any) -> Settings:
    """Default settings with some values changed, validated like `planwise.yaml`."""
    return Settings(**{**Settings().model_dump(), **updates})


def levers_for(
    settings: Settings,
    start_year: int = START_YEAR,
    years: int = 5,
    updates: Mapping[LeverKey, float] | None = None,
) -> ResolvedLevers:
    """Built-in levers with some (parameter, year, level) rows changed, resolved per year."""
    lever_set = default_lever_set(start_year, settings.level_numbers)
    if updates:
        lever_set = lever_set.with_values(updates)
    return resolve_levers(range(start_year, start_year + years), settings.level_numbers, lever_set)


def every_level(
    settings: Settings, name: str, value: float, year: int = START_YEAR
) -> dict[LeverKey, float]:
    """Lever rows giving `name` the same value at every level from `year` on."""
    return {(name, year, level): value for level in settings.level_numbers}


@functools.cache
def census_workforce(employees: int, census_seed: int) -> Workforce:
    return generate_census(employees, census_seed, Settings()).starting_workforce()


def run(
    settings: Settings | None = None,
    *,
    employees: int = 3000,
    census_seed: int = 7,
    seed: int = 42,
    years: int = 5,
    lever_updates: Mapping[LeverKey, float] | None = None,
    workforce: Workforce | None = None,
) -> SimulationResult:
    chosen = settings or Settings()
    start = workforce if workforce is not None else census_workforce(employees, census_seed)
    return simulate(
        start,
        chosen,
        levers_for(chosen, START_YEAR, years, lever_updates),
        start_year=START_YEAR,
        years=years,
        seed=seed,
    )


def event_frame(result: SimulationResult) -> pd.DataFrame:
    """Every event of every year as one table, in the engine's order (employee, then date)."""
    frames = []
    for outcome in result.outcomes:
        events = outcome.events
        frames.append(
            pd.DataFrame(
                {
                    "year": outcome.year,
                    "event_id": events.event_id,
                    "employee_id": events.employee_id,
                    "event_type": np.asarray(EVENT_TYPE_NAMES, dtype=object)[events.event_type],
                    "event_sequence": events.event_sequence,
                    "effective_date": events.effective_date,
                    "previous_job_level": events.previous_job_level,
                    "new_job_level": events.new_job_level,
                    "previous_salary": events.previous_salary,
                    "new_salary": events.new_salary,
                    "merit_rate": events.merit_rate,
                    "performance_rating": events.performance_rating,
                    "termination_reason": np.asarray(TERMINATION_REASON_NAMES, dtype=object)[
                        events.termination_reason
                    ],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def snapshot_frame(result: SimulationResult) -> pd.DataFrame:
    frames = []
    for outcome in result.outcomes:
        snapshot = outcome.snapshot
        frames.append(
            pd.DataFrame(
                {
                    "year": outcome.year,
                    "employee_id": snapshot.employee_id,
                    "hire_date": snapshot.hire_date,
                    "termination_date": snapshot.termination_date,
                    "start_job_level": snapshot.start_job_level,
                    "job_level": snapshot.job_level,
                    "start_annual_salary": snapshot.start_annual_salary,
                    "annual_salary": snapshot.annual_salary,
                    "prorated_compensation": snapshot.prorated_compensation,
                    "status": np.asarray(STATUS_CODE_NAMES, dtype=object)[snapshot.status_code],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def target_headcount(start: int, growth_rate: float) -> int:
    """round(start × (1 + g)) in exact decimal arithmetic, halves rounded up (§5 step 5)."""
    return round_half_up(Decimal(start) * (1 + Decimal(str(growth_rate))))
