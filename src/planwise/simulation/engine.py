"""The one place that owns the order of a year's steps and the loop over years.

A year is planned, then paid. `plan_year` reads as §5 of simulation-model.md: experienced
terminations, the dated raises (COLA, promotions, merit, in effective-date order), hiring,
new-hire terminations. `pay_year` pays that plan step by step in the order of the event
log. Because only the structural levers enter the plan, `replay` can pay stored plans again
for other compensation levers and get exactly what a full simulation would (§2, §5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from planwise.config import Settings
from planwise.parameters.declarations import STRUCTURAL_PARAMETERS
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.outputs import SimulationResult, YearOutcome
from planwise.simulation.pay import (
    PayLedger,
    close_year,
    pay_experienced_terminations,
    pay_hiring,
    pay_new_hire_terminations,
)
from planwise.simulation.plan import (
    FloatArray,
    Tables,
    YearDraft,
    YearPlan,
    plan_experienced_terminations,
    plan_hiring,
    plan_new_hire_terminations,
)
from planwise.simulation.raises import RAISE_STEPS, in_effective_date_order
from planwise.simulation.state import Workforce

__all__ = [
    "STRUCTURAL_PARAMETERS",
    "PlannedRun",
    "pay_year",
    "plan_year",
    "replay",
    "simulate",
    "simulate_planned",
    "simulate_year",
]


def plan_year(
    workforce: Workforce,
    year: int,
    settings: Settings,
    structural_levers: Mapping[str, FloatArray],
    seed: int,
    tables: Tables,
) -> YearPlan:
    """Decide who leaves, is promoted, is rated and is hired in `year`, and when (§5)."""
    draft = YearDraft.on_jan1(workforce, year, settings, structural_levers, seed, tables)
    plan_experienced_terminations(draft)
    # COLA, promotions, merit: by effective date, a shared date in RAISE_STEPS order.
    for raise_step, day in in_effective_date_order(RAISE_STEPS, settings.effective_dates, year):
        raise_step.plan(draft, day)
    plan_hiring(draft)
    plan_new_hire_terminations(draft)
    return draft.finished()


def pay_year(
    plan: YearPlan,
    start_salary: FloatArray,
    levers: Mapping[str, FloatArray],
    tables: Tables,
) -> tuple[YearOutcome, Workforce]:
    """Pay a plan with the year's compensation levers; return the outcome and Dec 31 state.

    The steps run in the order of the event log: a leaver's termination carries the salary
    after the raises they stayed for, so it is paid after the raises.
    """
    ledger = PayLedger(plan, start_salary, levers, tables)
    # COLA, promotions, merit, in the order they were planned.
    for planned_raise in plan.raises:
        planned_raise.pay(ledger)
    pay_experienced_terminations(ledger)
    pay_hiring(ledger)
    pay_new_hire_terminations(ledger)
    return close_year(ledger)


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
    # The plan sees only the structural levers: what replays keep fixed, by construction.
    structural = {name: year_levers[name] for name in STRUCTURAL_PARAMETERS}
    plan = plan_year(workforce, year, settings, structural, seed, chosen)
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
        keep_plans=False,
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
    keep_outcomes: bool = True,
    keep_plans: bool = True,
) -> PlannedRun:
    """`simulate`, keeping each year's plan for later replays.

    A caller that handles each year as it comes (`on_year`: store it, measure it) passes
    `keep_outcomes=False`: the year's events and snapshot are then dropped once handed
    over, and the result has no outcomes. At a million employees over ten years that is
    the difference between holding every year at once (about 6 GB) and one or two (1.5 GB).
    """
    tables = Tables.from_settings(settings)
    outcomes: list[YearOutcome] = []
    plans: list[YearPlan] = []
    current = workforce
    for year in range(start_year, start_year + years):
        outcome, current, plan = simulate_year(current, year, settings, levers, seed, tables)
        if keep_outcomes:
            outcomes.append(outcome)
        if keep_plans:
            plans.append(plan)
        if on_year is not None:
            on_year(outcome)
        del outcome, plan
    result = SimulationResult(
        seed, start_year, workforce, tuple(outcomes), current, start_year + years - 1
    )
    return PlannedRun(result, tuple(plans), levers)


def replay(
    run: PlannedRun,
    settings: Settings,
    levers: ResolvedLevers,
    *,
    on_year: Callable[[YearOutcome], None] | None = None,
    keep_outcomes: bool = True,
) -> SimulationResult:
    """Recompute pay on a run's plans with other compensation levers (no new draws).

    Exact: equal to a full simulation with `levers`, as long as the structural levers
    (`STRUCTURAL_PARAMETERS`) are unchanged; a ValueError says so otherwise. `on_year` and
    `keep_outcomes` work as in `simulate_planned`.
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
        if keep_outcomes:
            outcomes.append(outcome)
        if on_year is not None:
            on_year(outcome)
        del outcome
    return SimulationResult(
        run.result.seed,
        run.result.start_year,
        run.result.starting_workforce,
        tuple(outcomes),
        current,
        run.result.end_year,
    )
