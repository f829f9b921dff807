"""Shared pieces of the analytics-layer tests: the demo-like workspace and the corruptions."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from planwise import application
from planwise.application import (
    GenerateCensusRequest,
    SimulateRequest,
    SimulationRun,
    Workspace,
)
from planwise.application.analytics import AnalyticsRequest, AnalyticsResult, build_analytics
from planwise.application.progress import ProgressListener
from planwise.metrics import METRICS
from planwise.parameters.levers import DEFAULT_SCENARIO, Lever, LeverSet, default_lever_set
from planwise.storage import parameter_store
from planwise_dbt import DbtBuilder

EMPLOYEES = 2_000
CENSUS_SEED = 3
START_YEAR = 2025
LEAN_SCENARIO = "lean"
SHRINKING_GROWTH = -0.15
MONEY_TOLERANCE = 0.005  # to the cent
RATE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class BuiltWorkspace:
    """The fixture's workspace after one `build_analytics`, and the runs it holds."""

    workspace: Workspace
    runs: tuple[SimulationRun, ...]
    result: AnalyticsResult


def make_workspace(root: Path) -> tuple[Workspace, tuple[SimulationRun, ...]]:
    """Two runs over a 2,000-employee census.

    Run 1: default levers, 3 % growth, 2 years then continued by one (3 years in all).
    Run 2: scenario `lean` (sparse rows: no COLA or merit at level 5, a 2026 merit row,
    one locked row) over a sparse `default` set (no promotion_raise rows: built-in), with a
    −15 % growth target (reductions in force, no hires), 3 years.
    """
    workspace = Workspace(root)
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(EMPLOYEES, CENSUS_SEED))
    first = application.simulate(workspace, SimulateRequest(years=2))
    first = application.simulate(workspace, SimulateRequest(years=1, continue_run_id=first.run_id))
    settings = workspace.settings()
    levels = settings.level_numbers
    default_rows = (
        *(
            lever
            for lever in default_lever_set(START_YEAR, levels).levers
            if lever.parameter_name != "promotion_raise"
        ),
        Lever("merit_base", START_YEAR + 2, 2, 0.04),
    )
    lean_rows = (
        Lever("cola_rate", START_YEAR, 5, 0.0, is_locked=True),
        Lever("merit_base", START_YEAR, 5, 0.0),
        Lever("merit_base", START_YEAR + 1, 1, 0.05),
    )
    with workspace.database(settings).transaction() as connection:
        for lever_set in (
            LeverSet(DEFAULT_SCENARIO, default_rows),
            LeverSet(LEAN_SCENARIO, lean_rows),
        ):
            parameter_store.create_parameter_set(
                connection, lever_set, source="test", created_by="analytics-tests"
            )
    workspace.write_settings(settings.model_copy(update={"target_growth_rate": SHRINKING_GROWTH}))
    second = application.simulate(workspace, SimulateRequest(scenario_id=LEAN_SCENARIO, years=3))
    _store_optimization(workspace, second)
    return workspace, (first, second)


def _store_optimization(workspace: Workspace, run: SimulationRun) -> None:
    """A small tuning loop's rows in the optimizer's JSON format (optimization/store.py)."""
    now = dt.datetime(2025, 1, 1)
    levers = json.dumps(
        {"values": {"merit_base[L1]": 0.03, "cola_rate[L5]": 0.0}, "point": [0.0, 0.0]}
    )
    iterations = (
        (0, "start", run.parameter_set_id, run.run_id, levers,
         {"median_merit_increase@final": 0.034, "total_compensation_cost@2026": None},
         {"median_merit_increase@final": -1.5, "total_compensation_cost@2026": None}, False, None),
        (1, "replay", None, None, levers,
         {"median_merit_increase@final": 0.036}, {"median_merit_increase@final": 0.25}, True, None),
        (2, "failed", None, None, levers, None, None, None, "step: ValueError: boom"),
    )  # fmt: skip
    with workspace.database().transaction() as connection:
        connection.execute(
            "INSERT INTO optimization_runs (optimization_id, scenario_id, status, mode, "
            "targets, converged, iterations, simulations, replays, start_parameter_set_id, "
            "best_parameter_set_id, seed, stop_reason, report, started_at, finished_at) "
            "VALUES (1, ?, 'not_converged', 'balanced', '{}', false, 3, 1, 1, ?, ?, 7, "
            "'budget', '{}', ?, ?)",
            [run.scenario_id, run.parameter_set_id, run.parameter_set_id, now, now],
        )
        for iteration, kind, set_id, run_id, lever_json, metrics, *rest in iterations:
            residuals, within, error = rest
            connection.execute(
                "INSERT INTO optimization_iterations VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    iteration,
                    kind,
                    set_id,
                    run_id,
                    lever_json,
                    None if metrics is None else json.dumps(metrics),
                    None if residuals is None else json.dumps(residuals),
                    within,
                    error,
                    now,
                ],
            )


def build(
    workspace: Workspace, select: str | None = None, on_progress: ProgressListener | None = None
) -> AnalyticsResult:
    """`build_analytics` with the dbt adapter, as the CLI calls it."""
    return build_analytics(workspace, AnalyticsRequest(select), DbtBuilder(), on_progress)


def copy_workspace(source: Workspace, destination: Path) -> Workspace:
    """The settings and the database (with its built marts), without dbt's artifacts;
    a workspace already at the destination is replaced, but keeps its own artifacts."""
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "planwise.duckdb.wal").unlink(missing_ok=True)
    for name in ("planwise.yaml", "planwise.duckdb"):
        shutil.copy2(source.root / name, destination / name)
    return Workspace(destination)


def assert_metric_equal(name: str, mart: float | None, core: float, where: str) -> None:
    """Money to the cent, counts exactly, rates and ratios within 1e-9; NaN is NULL."""
    if math.isnan(core):
        assert mart is None or math.isnan(mart), f"{where}: mart {mart}, core NaN"
        return
    assert mart is not None, f"{where}: mart NULL, core {core}"
    unit = METRICS[name].unit
    if unit == "count":
        assert mart == core, f"{where}: mart {mart}, core {core}"
    elif unit == "currency":
        assert abs(mart - core) <= MONEY_TOLERANCE, f"{where}: mart {mart!r}, core {core!r}"
    else:
        assert abs(mart - core) <= RATE_TOLERANCE, f"{where}: mart {mart!r}, core {core!r}"


@dataclass(frozen=True)
class Corruption:
    """One stored row made to break one invariant.

    `find` returns the parameters of `update` (one row); `select` is what dbt runs (the
    data test alone, plus a model when the test reads a table built from the store).
    """

    test_name: str
    find: str
    update: str
    select: str | None = None


CORRUPTIONS: tuple[Corruption, ...] = (
    Corruption(
        "assert_headcount_identity",
        """select run_id, event_id from fct_yearly_events
           where event_type = 'termination' and termination_reason = 'experienced'
           order by run_id, event_id limit 1""",
        "update simulation_events set event_type = 'cola' where run_id = ? and event_id = ?",
    ),
    Corruption(
        "assert_single_termination_and_nothing_after",
        """select merit.effective_date - 1, ending.run_id, ending.event_id
           from fct_yearly_events as ending
           join fct_yearly_events as merit using (run_id, simulation_year, employee_id)
           where ending.event_type = 'termination' and merit.event_type = 'merit_increase'
           order by ending.run_id, ending.event_id limit 1""",
        "update simulation_events set effective_date = ? where run_id = ? and event_id = ?",
    ),
    Corruption(
        "assert_hire_precedes_other_events",
        """select ending.effective_date + 1, hire.run_id, hire.event_id
           from fct_yearly_events as hire
           join fct_yearly_events as ending using (run_id, simulation_year, employee_id)
           where hire.event_type = 'hire' and ending.event_type = 'termination'
               and ending.effective_date < make_date(ending.simulation_year, 12, 31)
           order by hire.run_id, hire.event_id limit 1""",
        "update simulation_events set effective_date = ? where run_id = ? and event_id = ?",
    ),
    Corruption(
        "assert_promotion_raises_level_by_one",
        """select run_id, event_id from fct_yearly_events where event_type = 'promotion'
           order by run_id, event_id limit 1""",
        """update simulation_events set new_job_level = previous_job_level + 2
           where run_id = ? and event_id = ?""",
    ),
    Corruption(
        "assert_salary_chain_continuous",
        """select run_id, event_id from fct_yearly_events where event_type = 'merit_increase'
           order by run_id, event_id limit 1""",
        """update simulation_events set previous_salary = previous_salary + 100
           where run_id = ? and event_id = ?""",
    ),
    Corruption(
        "assert_year_end_level_matches_promotions",
        """select run_id, event_id from fct_yearly_events where event_type = 'promotion'
           order by run_id, event_id limit 1""",
        """update simulation_events set event_type = 'merit_increase'
           where run_id = ? and event_id = ?""",
    ),
    Corruption(
        "assert_new_hire_termination_after_hire",
        """select hire.effective_date, ending.run_id, ending.event_id
           from fct_yearly_events as ending
           join fct_yearly_events as hire using (run_id, simulation_year, employee_id)
           where hire.event_type = 'hire' and ending.event_type = 'termination'
           order by ending.run_id, ending.event_id limit 1""",
        "update simulation_events set effective_date = ? where run_id = ? and event_id = ?",
    ),
    Corruption(
        "assert_effective_dates_within_year",
        """select run_id, event_id from fct_yearly_events where event_type = 'cola'
           order by run_id, event_id limit 1""",
        """update simulation_events set effective_date = make_date(simulation_year + 1, 1, 1)
           where run_id = ? and event_id = ?""",
    ),
    Corruption(
        "assert_prorated_pay_bounded",
        """select run_id, simulation_year, employee_key from fct_workforce_snapshot
           where detailed_status_code = 'continuous_active'
           order by all limit 1""",
        """update simulation_snapshots set prorated_compensation = annual_salary * 1.5
           where run_id = ? and simulation_year = ? and employee_key = ?""",
    ),
    Corruption(
        # The equality branch: employed all year with no salary change (run 2, level 5).
        "assert_prorated_pay_bounded",
        """select run_id, simulation_year, employee_key from fct_workforce_snapshot as snapshot
           where detailed_status_code = 'continuous_active'
               and not exists (
                   select 1 from fct_yearly_events as event
                   where event.run_id = snapshot.run_id
                       and event.simulation_year = snapshot.simulation_year
                       and event.employee_id = snapshot.employee_id)
           order by all limit 1""",
        """update simulation_snapshots set prorated_compensation = annual_salary - 100
           where run_id = ? and simulation_year = ? and employee_key = ?""",
    ),
    Corruption(
        "assert_marts_match_engine_metrics",
        """select run_id, simulation_year from simulation_metrics
           where metric_name = 'median_salary' order by all limit 1""",
        """update simulation_metrics set metric_value = metric_value + 1
           where metric_name = 'median_salary' and run_id = ? and simulation_year = ?""",
    ),
    Corruption(
        "assert_cost_components_sum_to_total",
        """select run_id, simulation_year, employee_key from fct_workforce_snapshot
           where detailed_status_code = 'experienced_termination' order by all limit 1""",
        """update simulation_snapshots set prorated_compensation = prorated_compensation * 1.01
           where run_id = ? and simulation_year = ? and employee_key = ?""",
        select="int_employee_year_pay assert_cost_components_sum_to_total",
    ),
    Corruption(
        "assert_workforce_flows_balance",
        """select run_id, simulation_year, employee_key from fct_workforce_snapshot
           where detailed_status_code = 'continuous_active' and start_job_level >= 2
               and job_level = start_job_level
           order by all limit 1""",
        """update simulation_snapshots set job_level = start_job_level - 1
           where run_id = ? and simulation_year = ? and employee_key = ?""",
        select="fct_workforce_summary assert_workforce_flows_balance",
    ),
)
