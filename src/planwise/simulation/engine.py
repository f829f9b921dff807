"""The one place that owns the order of steps and the loop over years.

A year is planned (`plan.plan_year`: who leaves, is promoted, rated, hired, and when) and
then paid (`pay.pay_year`: raises, hire salaries, events, snapshot). Because no
compensation lever enters the plan, `replay` can recompute pay on stored plans for other
lever values and get exactly what a full simulation would (simulation-model.md §2, §5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planwise.config import Settings
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.outputs import SimulationResult, YearOutcome
from planwise.simulation.pay import pay_year
from planwise.simulation.plan import Tables, YearPlan, plan_year
from planwise.simulation.state import Workforce

__all__ = [
    "STRUCTURAL_PARAMETERS",
    "PlannedRun",
    "replay",
    "simulate",
    "simulate_planned",
    "simulate_year",
]

STRUCTURAL_PARAMETERS = frozenset({"promotion_probability"})
"""Levers that change the plan (who is promoted); a replay cannot move them."""


@dataclass(frozen=True)
class PlannedRun:
    """A full simulation's result together with the plans that a replay reuses."""

    result: SimulationResult
    plans: tuple[YearPlan, ...]
    levers: ResolvedLevers

    def can_replay(self, levers: ResolvedLevers) -> bool:
        """True when `levers` keep every structural lever, so `replay` is exact."""
        return all(
            (levers.values[name] == self.levers.values[name]).all()
            for name in STRUCTURAL_PARAMETERS
        )


def simulate_year(
    workforce: Workforce,
    year: int,
    settings: Settings,
    levers: ResolvedLevers,
    seed: int,
    tables: Tables | None = None,
) -> tuple[YearOutcome, Workforce, YearPlan]:
    """Simulate one year from the workforce active on Jan 1; return outcome, Dec 31 state, plan."""
    chosen = tables or Tables.from_settings(settings)
    year_levers = levers.for_year(year)
    plan = plan_year(workforce, year, settings, year_levers["promotion_probability"], seed, chosen)
    outcome, next_workforce = pay_year(plan, workforce.annual_salary, year_levers, chosen)
    return outcome, next_workforce, plan


def simulate(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    *,
    start_year: int,
    years: int,
    seed: int,
    on_year: Callable[[YearOutcome], None] | None = None,
) -> SimulationResult:
    """Simulate `years` consecutive years from the workforce active on Jan 1 of `start_year`."""
    return simulate_planned(
        workforce,
        settings,
        levers,
        start_year=start_year,
        years=years,
        seed=seed,
        on_year=on_year,
    ).result


def simulate_planned(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    *,
    start_year: int,
    years: int,
    seed: int,
    on_year: Callable[[YearOutcome], None] | None = None,
) -> PlannedRun:
    """`simulate`, keeping each year's plan for later replays."""
    tables = Tables.from_settings(settings)
    outcomes: list[YearOutcome] = []
    plans: list[YearPlan] = []
    current = workforce
    for year in range(start_year, start_year + years):
        outcome, current, plan = simulate_year(current, year, settings, levers, seed, tables)
        outcomes.append(outcome)
        plans.append(plan)
        if on_year is not None:
            on_year(outcome)
    result = SimulationResult(seed, start_year, workforce, tuple(outcomes), current)
    return PlannedRun(result, tuple(plans), levers)


def replay(run: PlannedRun, settings: Settings, levers: ResolvedLevers) -> SimulationResult:
    """Recompute pay on a run's plans with other compensation levers (no new draws).

    Exact: equal to a full simulation with `levers`, as long as the structural levers
    (`STRUCTURAL_PARAMETERS`) are unchanged; a ValueError says so otherwise.
    """
    if not run.can_replay(levers):
        changed = ", ".join(sorted(STRUCTURAL_PARAMETERS))
        raise ValueError(f"a replay cannot change {changed}: it decides who is promoted")
    tables = Tables.from_settings(settings)
    salary = run.result.starting_workforce.annual_salary
    outcomes: list[YearOutcome] = []
    current = run.result.starting_workforce
    for plan in run.plans:
        outcome, current = pay_year(plan, salary, levers.for_year(plan.year), tables)
        salary = current.annual_salary
        outcomes.append(outcome)
    return SimulationResult(
        run.result.seed,
        run.result.start_year,
        run.result.starting_workforce,
        tuple(outcomes),
        current,
    )
