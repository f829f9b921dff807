"""The invariants every run satisfies (simulation-model.md §8), one test each.

Each invariant is checked on a 3,000-employee census over five years, for several seeds and
growth targets: growing, flat, shrinking by less than turnover (-5 %: fewer hires) and
shrinking by more than turnover (-20 %: reductions in force).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd
import pytest
from sim_support import (
    START_YEAR,
    census_workforce,
    event_frame,
    levers_for,
    run,
    settings_with,
    snapshot_frame,
    target_headcount,
)

from planwise.config import PerformanceRating
from planwise.simulation import SimulationResult, StatusCode, simulate

SEEDS = (1, 42, 20250101)
GROWTH_RATES = (0.03, 0.0, -0.05, -0.20)
CASES = [
    pytest.param(seed, growth, id=f"seed{seed}-growth{growth:+.2f}")
    for seed, growth in itertools.product(SEEDS, GROWTH_RATES)
]


@functools.cache
def _case(seed: int, growth: float) -> tuple[SimulationResult, pd.DataFrame, pd.DataFrame]:
    result = run(settings_with(target_growth_rate=growth), seed=seed)
    return result, event_frame(result), snapshot_frame(result)


@functools.cache
def _ordered(seed: int, growth: float) -> pd.DataFrame:
    """Events in the order they happen to each employee over the whole run."""
    events = _case(seed, growth)[1]
    return events.sort_values(["employee_id", "year", "event_sequence"], kind="stable")


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_end_headcount_is_start_minus_leavers_plus_hires_and_hits_the_target(
    seed: int, growth: float
) -> None:
    result, events, _ = _case(seed, growth)
    start = len(result.starting_workforce)
    reductions_seen = 0
    for outcome in result.outcomes:
        year_events = events[events.year == outcome.year]
        terminations = year_events[year_events.event_type == "termination"]
        by_reason = terminations.termination_reason.value_counts()
        experienced = int(by_reason.get("experienced", 0))
        reductions = int(by_reason.get("reduction_in_force", 0))
        new_hire_leavers = int(by_reason.get("new_hire", 0))
        hires = int((year_events.event_type == "hire").sum())
        end = int(outcome.snapshot.is_active.sum())

        assert outcome.counts.start == start
        assert end == start - experienced - reductions + hires - new_hire_leavers
        assert end == target_headcount(start, growth)
        assert (experienced, reductions, hires, new_hire_leavers) == (
            outcome.counts.experienced_terminations,
            outcome.counts.reductions,
            outcome.counts.hires,
            outcome.counts.new_hire_terminations,
        )
        reductions_seen += reductions
        start = end
    assert len(result.final_workforce) == start
    # Reductions in force happen exactly when shrinking faster than turnover.
    assert (reductions_seen > 0) == (growth < -0.12)


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_at_most_one_termination_per_employee_and_no_event_after_it(
    seed: int, growth: float
) -> None:
    _, _, snapshots = _case(seed, growth)
    ordered = _ordered(seed, growth)
    terminations = ordered[ordered.event_type == "termination"]
    assert terminations.employee_id.is_unique
    assert len(terminations) > 0

    # Last in the log, and no other event dated after the leaving date.
    last_event = ordered.groupby("employee_id", sort=False).tail(1)
    assert set(terminations.employee_id) <= set(
        last_event.employee_id[last_event.event_type == "termination"]
    )
    of_leavers = ordered.merge(
        terminations[["employee_id", "effective_date"]], on="employee_id", suffixes=("", "_left")
    )
    assert (of_leavers.effective_date <= of_leavers.effective_date_left).all()
    # Nor does a leaver reappear in any later year's snapshot.
    left_in = terminations.set_index("employee_id").year
    later = snapshots[snapshots.employee_id.isin(left_in.index)]
    assert (later.year <= later.employee_id.map(left_in)).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_a_hire_precedes_every_other_event_of_that_employee(seed: int, growth: float) -> None:
    result = _case(seed, growth)[0]
    ordered = _ordered(seed, growth)
    hires = ordered[ordered.event_type == "hire"]
    assert hires.employee_id.is_unique
    assert len(hires) > 0 or growth < -0.12

    # First in the log, and no other event dated before the hire date.
    first_event = ordered.groupby("employee_id", sort=False).head(1)
    assert set(hires.employee_id) <= set(first_event.employee_id[first_event.event_type == "hire"])
    of_hires = ordered.merge(
        hires[["employee_id", "effective_date"]], on="employee_id", suffixes=("", "_hired")
    )
    assert (of_hires.effective_date >= of_hires.effective_date_hired).all()
    # Hires are new people: never in the census, and hired in the year their id names.
    assert not set(hires.employee_id) & set(result.starting_workforce.employee_id)
    assert (hires.employee_id.str.slice(3, 7).astype(int) == hires.year).all()
    assert (hires.event_sequence == 1).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_promotions_raise_the_level_by_exactly_one(seed: int, growth: float) -> None:
    _, events, _ = _case(seed, growth)
    promotions = events[events.event_type == "promotion"]
    assert len(promotions) > 0
    assert (promotions.new_job_level == promotions.previous_job_level + 1).all()
    others = events[~events.event_type.isin(["promotion"])]
    assert (others.new_job_level == others.previous_job_level).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_salary_chain_is_continuous(seed: int, growth: float) -> None:
    _, events, snapshots = _case(seed, growth)
    ordered = events  # the engine's order: by employee, then chronological, each year
    group = ordered.groupby(["year", "employee_id"], sort=False)
    # Within an employee's year: each previous salary is the previous event's new salary,
    # and events run in date order.
    previous_new = group.new_salary.shift(1)
    chained = previous_new.notna()
    assert chained.sum() > 0
    assert (ordered.previous_salary[chained] == previous_new[chained]).all()
    previous_date = group.effective_date.shift(1)
    assert (ordered.effective_date[chained] >= previous_date[chained]).all()
    assert (ordered.event_sequence == group.cumcount() + 1).all()

    # The year's first event starts from the start salary; the last ends at the year-end rate.
    key = ["year", "employee_id"]
    first = group.head(1)
    first = first[first.event_type != "hire"].merge(snapshots, on=key, validate="1:1")
    assert (first.previous_salary == first.start_annual_salary).all()
    assert (first.previous_job_level == first.start_job_level).all()
    last = group.tail(1).merge(snapshots, on=key, validate="1:1")
    assert (last.new_salary == last.annual_salary).all()
    assert (last.new_job_level == last.job_level).all()

    # Across years: next year's start salary is this year's year-end rate, to the bit.
    stayers = snapshots[snapshots.status.isin(["continuous_active", "new_hire_active"])]
    following = snapshots.assign(year=snapshots.year - 1)
    joined = stayers.merge(following, on=["year", "employee_id"], suffixes=("", "_next"))
    assert len(joined) == len(stayers[stayers.year < START_YEAR + 4])
    assert (joined.start_annual_salary_next == joined.annual_salary).all()
    assert (joined.start_job_level_next == joined.job_level).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_year_end_level_is_start_level_plus_promotions(seed: int, growth: float) -> None:
    _, events, snapshots = _case(seed, growth)
    promotions = events[events.event_type == "promotion"].groupby(["year", "employee_id"]).size()
    keyed = snapshots.set_index(["year", "employee_id"])
    counted = promotions.reindex(keyed.index, fill_value=0)
    assert counted.max() == 1
    assert (keyed.job_level == keyed.start_job_level + counted).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_new_hire_termination_date_is_after_the_hire_date(seed: int, growth: float) -> None:
    _, events, snapshots = _case(seed, growth)
    leavers = snapshots[snapshots.status == "new_hire_termination"]
    assert len(leavers) > 0 or growth < -0.12
    assert (leavers.termination_date > leavers.hire_date).all()

    hired = events[events.event_type == "hire"].set_index("employee_id").effective_date
    left = events[events.termination_reason == "new_hire"]
    assert (left.effective_date.to_numpy() > hired.loc[left.employee_id].to_numpy()).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_every_effective_date_is_inside_its_year(seed: int, growth: float) -> None:
    _, events, snapshots = _case(seed, growth)
    assert (events.effective_date.dt.year == events.year).all()
    left = snapshots[snapshots.termination_date.notna()]
    assert (left.termination_date.dt.year == left.year).all()
    new_hires = snapshots[snapshots.status.str.startswith("new_hire")]
    assert (new_hires.hire_date.dt.year == new_hires.year).all()


@pytest.mark.parametrize(("seed", "growth"), CASES)
def test_prorated_pay_at_most_highest_rate_and_equal_to_an_unchanged_full_year_rate(
    seed: int, growth: float
) -> None:
    _, events, snapshots = _case(seed, growth)
    keyed = snapshots.set_index(["year", "employee_id"])
    highest_event_rate = events.groupby(["year", "employee_id"]).new_salary.max()
    highest = np.maximum(
        keyed.start_annual_salary, highest_event_rate.reindex(keyed.index, fill_value=0.0)
    )
    assert (keyed.prorated_compensation <= highest).all()
    assert (keyed.prorated_compensation > 0).all()

    # Employed all year at one rate: continuing, and every change (if any) on Jan 1.
    changed_later = (
        events[events.effective_date.dt.day_of_year > 1].groupby(["year", "employee_id"]).size()
    )
    steady = keyed[(keyed.status == "continuous_active") & ~keyed.index.isin(changed_later.index)]
    assert len(steady) > 0
    assert (steady.prorated_compensation == steady.annual_salary).all()


CLOSED_FORM_COLA = {2025: 0.02, 2026: 0.031, 2027: 0.0, 2028: 0.045}
CLOSED_FORM_MERIT = {1: 0.030, 2: 0.041, 3: 0.0, 4: 0.052, 5: 0.0675}


def test_closed_form_salary_without_turnover_growth_promotions_or_rating_spread() -> None:
    settings = settings_with(
        termination_rate=0.0,
        new_hire_termination_rate=0.0,
        target_growth_rate=0.0,
        performance_ratings=[PerformanceRating(rating=3, share=1.0, merit_multiplier=1.0)],
    )
    levels = settings.level_numbers
    updates = {("promotion_probability", START_YEAR, level): 0.0 for level in levels}
    updates |= {
        ("cola_rate", year, level): rate
        for year, rate in CLOSED_FORM_COLA.items()
        for level in levels
    }
    updates |= {
        ("merit_base", START_YEAR, level): rate for level, rate in CLOSED_FORM_MERIT.items()
    }
    updates |= {("merit_base", 2027, 2): 0.06}  # a year-specific change, carried into 2028
    years = len(CLOSED_FORM_COLA)
    start = census_workforce(2000, 11)
    result = simulate(
        start,
        settings,
        levers_for(settings, START_YEAR, years, updates),
        start_year=START_YEAR,
        years=years,
        seed=5,
    )

    expected = start.annual_salary.copy()
    for outcome in result.outcomes:
        assert outcome.counts.hires == outcome.counts.experienced_terminations == 0
        merit = np.array([0.0, *CLOSED_FORM_MERIT.values()])
        if outcome.year >= 2027:
            merit[2] = 0.06
        expected = expected * (1 + CLOSED_FORM_COLA[outcome.year]) * (1 + merit[start.job_level])
        snapshot = outcome.snapshot
        assert (snapshot.employee_id == start.employee_id).all()
        assert (snapshot.job_level == start.job_level).all()
        assert (snapshot.status_code == StatusCode.CONTINUOUS_ACTIVE).all()
        np.testing.assert_allclose(snapshot.annual_salary, expected, rtol=0, atol=0.005)
