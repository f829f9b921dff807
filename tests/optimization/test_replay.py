"""The compensation-only replay is exact (tuning-loop.md, "Solver"; engine.replay).

A replay recomputes pay on a full simulation's stored plans. The loop uses replays for its
Jacobians and steps, so they must give, bit for bit, what a full simulation with the new
levers gives — metrics and every event's amounts — and refuse a lever that changes who is
promoted.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tuning_support import CENSUS_EMPLOYEES, CENSUS_SEED, SIMULATED_YEARS

from planwise.census import generate_census
from planwise.config import Settings
from planwise.metrics import RunMetrics, run_metrics
from planwise.parameters.declarations import parameter_spec
from planwise.parameters.levers import ResolvedLevers, default_lever_set, resolve_levers
from planwise.simulation.engine import PlannedRun, replay, simulate, simulate_planned
from planwise.simulation.outputs import SimulationResult
from planwise.simulation.state import Workforce

SEED = 42
COMPENSATION_LEVERS = ("merit_base", "cola_rate", "new_hire_salary_adjustment", "promotion_raise")
SETTINGS = Settings(years=SIMULATED_YEARS)


@functools.cache
def _workforce() -> Workforce:
    return generate_census(CENSUS_EMPLOYEES, CENSUS_SEED, SETTINGS).starting_workforce()


@functools.cache
def _start_levers() -> ResolvedLevers:
    years = range(SETTINGS.start_year, SETTINGS.start_year + SETTINGS.years)
    lever_set = default_lever_set(SETTINGS.start_year, SETTINGS.level_numbers)
    return resolve_levers(years, SETTINGS.level_numbers, lever_set)


@functools.cache
def _planned() -> PlannedRun:
    """Levers A: the built-in defaults."""
    return _simulate_planned(_start_levers())


def _simulate_planned(levers: ResolvedLevers) -> PlannedRun:
    return simulate_planned(
        _workforce(),
        SETTINGS,
        levers,
        start_year=SETTINGS.start_year,
        years=SETTINGS.years,
        seed=SEED,
    )


def _with(values: dict[str, npt.NDArray[np.float64]]) -> ResolvedLevers:
    base = _start_levers()
    changed = {name: array.copy() for name, array in base.values.items()}
    for name, grid in values.items():
        changed[name][:, 1:] = grid
    return ResolvedLevers(base.years, base.levels, changed, base.sources, base.locked)


def _lever_grid(
    name: str, low: float | None = None, high: float | None = None
) -> st.SearchStrategy[npt.NDArray[np.float64]]:
    """A value per (simulated year, level) within the lever's error range (or [low, high])."""
    error_low, error_high = parameter_spec(name).error_range
    shape = (SETTINGS.years, len(SETTINGS.level_numbers))
    return st.lists(
        st.floats(
            low if low is not None else error_low,
            high if high is not None else error_high,
            allow_nan=False,
        ),
        min_size=shape[0] * shape[1],
        max_size=shape[0] * shape[1],
    ).map(lambda flat: np.array(flat, dtype=np.float64).reshape(shape))


# Pay levers anywhere in their error range; new-hire adjustment kept where hires stay
# inside sensible bands so that hire salaries are not all clipped to the same value.
LEVERS_B = st.fixed_dictionaries(
    {
        "merit_base": _lever_grid("merit_base"),
        "cola_rate": _lever_grid("cola_rate"),
        "new_hire_salary_adjustment": _lever_grid("new_hire_salary_adjustment", 0.7, 1.4),
        "promotion_raise": _lever_grid("promotion_raise", 0.0, 0.4),
    }
)


def _same_number(left: float, right: float) -> bool:
    return (math.isnan(left) and math.isnan(right)) or left == right


def _assert_same_metrics(replayed: RunMetrics, full: RunMetrics) -> None:
    assert replayed.years == full.years
    for year in full.years:
        assert replayed.per_year[year].keys() == full.per_year[year].keys()
        different = {
            name: (replayed.per_year[year][name], value)
            for name, value in full.per_year[year].items()
            if not _same_number(replayed.per_year[year][name], value)
        }
        assert not different, f"{year}: replay ≠ simulation {different}"
    assert replayed.horizon == full.horizon


def _same_array(left: npt.NDArray[Any], right: npt.NDArray[Any]) -> bool:
    if left.shape != right.shape or left.dtype != right.dtype:
        return False
    if left.dtype.kind == "M":  # NaT never equals itself: compare the raw ticks
        return bool(np.array_equal(left.view(np.int64), right.view(np.int64)))
    if left.dtype.kind == "f":  # bit for bit, NaN where NaN
        return bool(np.array_equal(left.view(np.int64), right.view(np.int64)))
    return bool(np.array_equal(left, right))


def _assert_same_outcomes(replayed: SimulationResult, full: SimulationResult) -> None:
    assert len(replayed.outcomes) == len(full.outcomes)
    for mine, theirs in zip(replayed.outcomes, full.outcomes, strict=True):
        assert mine.year == theirs.year
        assert mine.counts == theirs.counts
        for table in ("events", "snapshot"):
            for column in dataclasses.fields(getattr(theirs, table)):
                left = getattr(getattr(mine, table), column.name)
                right = getattr(getattr(theirs, table), column.name)
                assert _same_array(left, right), f"{mine.year} {table}.{column.name} differs"
    for column in dataclasses.fields(full.final_workforce):
        left = getattr(replayed.final_workforce, column.name)
        right = getattr(full.final_workforce, column.name)
        if isinstance(right, np.ndarray):
            assert _same_array(left, right), f"final workforce {column.name} differs"


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(levers_b=LEVERS_B)
def test_a_replay_equals_the_full_simulation_bit_for_bit(
    levers_b: dict[str, npt.NDArray[np.float64]],
) -> None:
    chosen = _with(levers_b)
    replayed = replay(_planned(), SETTINGS, chosen)
    full = simulate(
        _workforce(),
        SETTINGS,
        chosen,
        start_year=SETTINGS.start_year,
        years=SETTINGS.years,
        seed=SEED,
    )

    _assert_same_outcomes(replayed, full)
    _assert_same_metrics(run_metrics(replayed), run_metrics(full))


def test_a_replay_with_the_same_levers_reproduces_its_run() -> None:
    planned = _planned()
    replayed = replay(planned, SETTINGS, _start_levers())

    _assert_same_outcomes(replayed, planned.result)
    _assert_same_metrics(run_metrics(replayed), run_metrics(planned.result))


def test_a_replay_does_move_pay_when_the_levers_move() -> None:
    """Guards the test above against a replay that ignores its levers."""
    richer = _with({"merit_base": np.full((SETTINGS.years, 5), 0.06)})
    before = run_metrics(_planned().result)
    after = run_metrics(replay(_planned(), SETTINGS, richer))

    final = before.years[-1]
    assert (
        after.per_year[final]["median_merit_increase"]
        > before.per_year[final]["median_merit_increase"]
    )
    assert after.value("compensation_growth_cagr") > before.value("compensation_growth_cagr")
    assert after.per_year[final]["headcount"] == before.per_year[final]["headcount"]


@pytest.mark.parametrize(
    "year_row,level",
    [(0, 1), (SIMULATED_YEARS - 1, 4)],
    ids=["first year, level 1", "last year, level 4"],
)
def test_a_replay_refuses_a_different_promotion_probability(year_row: int, level: int) -> None:
    base = _start_levers()
    changed = {name: array.copy() for name, array in base.values.items()}
    changed["promotion_probability"][year_row, level] += 0.01
    levers = ResolvedLevers(base.years, base.levels, changed, base.sources, base.locked)

    with pytest.raises(ValueError, match="promotion_probability"):
        replay(_planned(), SETTINGS, levers)
