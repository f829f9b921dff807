"""The order of a year's steps (simulation-model.md §5) and what a plan may depend on.

The dated raises follow their effective dates (settings), ties in the order of the one list
`RAISE_STEPS`; a plan sees only the structural levers, so paying it again (a replay) with
other compensation levers is exact whatever the dates and the growth.
"""

from __future__ import annotations

import numpy as np
import pytest
from sim_support import START_YEAR, census_workforce, event_frame, levers_for, run, settings_with

import planwise.simulation
from planwise.config import EffectiveDates, Settings
from planwise.parameters.declarations import PARAMETERS, STRUCTURAL_PARAMETERS
from planwise.simulation import engine
from planwise.simulation.engine import replay, simulate_planned
from planwise.simulation.outputs import SimulationResult
from planwise.simulation.plan import Tables
from planwise.simulation.raises import RAISE_STEPS, in_effective_date_order


def test_the_raise_steps_declare_the_same_day_order_cola_promotion_merit() -> None:
    assert [step.name for step in RAISE_STEPS] == ["cola", "promotion", "merit"]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        pytest.param(EffectiveDates(), ["cola", "promotion", "merit"], id="defaults"),
        pytest.param(
            EffectiveDates(merit="01-01", promotion="04-01"),
            ["cola", "merit", "promotion"],
            id="merit-on-the-cola-date",
        ),
        pytest.param(
            EffectiveDates(cola="07-01", promotion="07-01", merit="07-01"),
            ["cola", "promotion", "merit"],
            id="all-on-one-date",
        ),
        pytest.param(
            EffectiveDates(cola="10-01", promotion="01-15", merit="06-30"),
            ["promotion", "merit", "cola"],
            id="promotion-first",
        ),
        pytest.param(
            EffectiveDates(cola="03-01", promotion="03-01", merit="01-01"),
            ["merit", "cola", "promotion"],
            id="merit-first-then-a-tie",
        ),
    ],
)
def test_raises_happen_by_effective_date_and_ties_keep_the_declared_order(
    dates: EffectiveDates, expected: list[str]
) -> None:
    ordered = in_effective_date_order(RAISE_STEPS, dates, START_YEAR)
    assert [step.name for step, _ in ordered] == expected
    days = [day for _, day in ordered]
    assert days == sorted(days)


def test_on_one_date_the_log_has_cola_then_promotion_then_merit() -> None:
    dates = EffectiveDates(cola="07-01", promotion="07-01", merit="07-01")
    events = event_frame(run(settings_with(effective_dates=dates), years=1, seed=4))
    raises = events[events.event_type.isin(["cola", "promotion", "merit_increase"])]
    sequence = raises.pivot(index="employee_id", columns="event_type", values="event_sequence")
    all_three = sequence.dropna()
    assert len(all_three) > 20
    assert (all_three.cola < all_three.promotion).all()
    assert (all_three.promotion < all_three.merit_increase).all()


def test_structural_levers_are_the_declared_ones() -> None:
    declared = {spec.name for spec in PARAMETERS if spec.structural}
    assert declared == {"promotion_probability"}
    assert declared == STRUCTURAL_PARAMETERS
    assert planwise.simulation.STRUCTURAL_PARAMETERS is STRUCTURAL_PARAMETERS
    assert engine.STRUCTURAL_PARAMETERS is STRUCTURAL_PARAMETERS


def test_a_plan_needs_only_the_structural_levers() -> None:
    settings = Settings()
    workforce = census_workforce(500, 3)
    levers = levers_for(settings, years=1).for_year(START_YEAR)
    tables = Tables.from_settings(settings)
    only_structural = {name: levers[name] for name in STRUCTURAL_PARAMETERS}
    plan = engine.plan_year(workforce, START_YEAR, settings, only_structural, 9, tables)
    outcome, _ = engine.pay_year(plan, workforce.annual_salary, levers, tables)
    full = run(settings, workforce=workforce, years=1, seed=9).outcomes[0]
    np.testing.assert_array_equal(outcome.events.event_id, full.events.event_id)
    np.testing.assert_array_equal(outcome.events.new_salary, full.events.new_salary)
    np.testing.assert_array_equal(
        outcome.snapshot.prorated_compensation, full.snapshot.prorated_compensation
    )


def _same(first: SimulationResult, second: SimulationResult) -> None:
    for one, other in zip(first.outcomes, second.outcomes, strict=True):
        for name in ("event_id", "event_type", "effective_date", "previous_salary", "new_salary"):
            np.testing.assert_array_equal(getattr(one.events, name), getattr(other.events, name))
        for name in ("annual_salary", "prorated_compensation", "status_code"):
            np.testing.assert_array_equal(
                getattr(one.snapshot, name), getattr(other.snapshot, name)
            )


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(
            settings_with(effective_dates=EffectiveDates(merit="01-01", promotion="04-01")),
            id="merit-on-the-cola-date",
        ),
        pytest.param(
            settings_with(effective_dates=EffectiveDates(cola="10-01", promotion="01-15")),
            id="promotion-before-cola",
        ),
        pytest.param(settings_with(target_growth_rate=-0.1), id="reductions-in-force"),
    ],
)
def test_a_replay_is_exact_whatever_the_dates_and_growth(settings: Settings) -> None:
    workforce = census_workforce(800, 5)
    years = 3
    levers = levers_for(settings, years=years)
    other = levers_for(
        settings,
        years=years,
        updates={
            ("merit_base", START_YEAR, 1): 0.05,
            ("cola_rate", START_YEAR + 1, 2): 0.0,
            ("promotion_raise", START_YEAR, 2): 0.2,
            ("new_hire_salary_adjustment", START_YEAR, 1): 1.1,
        },
    )
    planned = simulate_planned(
        workforce, settings, levers, start_year=START_YEAR, years=years, seed=8
    )
    replayed = replay(planned, settings, other)
    fresh = simulate_planned(
        workforce, settings, other, start_year=START_YEAR, years=years, seed=8
    ).result
    _same(replayed, fresh)
