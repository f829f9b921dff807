"""The simulation jobs, run in-process on a 1,500-employee census, with their checks."""

from __future__ import annotations

import pytest
from dagster_support import EMPLOYEES, YEARS, dbt_checks_all_passed, execute, materialized

import dagster as dg
from planwise.storage import runs
from planwise.workspace import Workspace


def test_multi_year_simulation_stores_a_run_and_builds_the_marts(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    result = execute("multi_year_simulation", instance)

    census = materialized(result, "census")
    assert census["row_count"] >= EMPLOYEES
    assert census["starting_headcount"] > 0
    levers = materialized(result, "comp_levers")
    assert levers["scenario_id"] == "default"
    assert "merit_base" in levers["levers"]
    simulation = materialized(result, "workforce_simulation")
    assert simulation["parameter_set_id"] == levers["parameter_set_id"]
    assert "total_compensation_cost" in simulation["metrics"]
    with workspace.database().connect(read_only=True) as connection:
        stored = runs.load_run(connection, simulation["run_id"])
    assert stored.end_year - stored.start_year + 1 == YEARS
    assert materialized(result, "fct_compensation_growth")
    assert dbt_checks_all_passed(result) > 50


def test_single_year_simulation_continues_a_run_to_the_multi_year_figures(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    first = execute("single_year_simulation", instance)
    run_id = materialized(first, "workforce_simulation")["run_id"]
    assert dbt_checks_all_passed(first) > 50
    for _ in range(YEARS - 1):
        execute(
            "single_year_simulation", instance, {"run_id": run_id}, assets=["workforce_simulation"]
        )
    whole = execute("multi_year_simulation", instance, assets=["workforce_simulation"])
    whole_id = materialized(whole, "workforce_simulation")["run_id"]

    with workspace.database().connect(read_only=True) as connection:
        stepped = runs.load_run_metrics(connection, run_id)
        at_once = runs.load_run_metrics(connection, whole_id)
    assert stepped.years == at_once.years
    assert len(stepped.years) == YEARS
    for year in at_once.years:
        for name, value in at_once.per_year[year].items():
            assert stepped.per_year[year][name] == pytest.approx(value, rel=1e-12, nan_ok=True)


def test_a_user_error_fails_the_step_with_its_message(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    from planwise_dagster import defs

    job = defs.resolve_job_def("multi_year_simulation")
    result = job.execute_in_process(
        run_config={"ops": {"comp_levers": {"config": {"scenario_id": "no-such-scenario"}}}},
        instance=instance,
        asset_selection=[dg.AssetKey("comp_levers")],
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "Unknown scenario 'no-such-scenario'" in str(failure.step_failure_data.error)
