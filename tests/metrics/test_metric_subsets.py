"""Computing only some metrics (the tuning loop's replays) gives exactly the same values."""

from __future__ import annotations

import pytest

from planwise.census import generate_census
from planwise.config import Settings
from planwise.metrics import METRICS, YEAR_METRICS, run_metrics
from planwise.parameters import default_lever_set, resolve_levers
from planwise.simulation import SimulationResult, simulate

ALWAYS = {"headcount", "total_compensation_cost", "average_salary", "median_salary"}


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    settings = Settings(years=3)
    workforce = generate_census(1500, 3, settings).starting_workforce()
    levers = resolve_levers(
        range(2025, 2028), settings.level_numbers, default_lever_set(2025, settings.level_numbers)
    )
    return simulate(workforce, settings, levers, start_year=2025, years=3, seed=9)


@pytest.mark.parametrize("name", [spec.name for spec in YEAR_METRICS], ids=str)
def test_a_subset_has_the_full_values_and_the_summary(result: SimulationResult, name: str) -> None:
    full = run_metrics(result)
    part = run_metrics(result, only={name})
    for year, values in part.per_year.items():
        assert name in values
        assert set(values) >= ALWAYS
        for key, value in values.items():
            assert value == pytest.approx(full.per_year[year][key], nan_ok=True, rel=0, abs=0)
    assert part.horizon == full.horizon


def test_without_a_subset_every_year_metric_is_computed(result: SimulationResult) -> None:
    per_year = run_metrics(result).per_year
    assert all(set(values) == {s.name for s in YEAR_METRICS} for values in per_year.values())
    assert set(METRICS) - {s.name for s in YEAR_METRICS} == set(run_metrics(result).horizon)
