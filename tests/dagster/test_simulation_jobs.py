"""The simulation jobs, run in-process on a 1,500-employee census, with their checks."""

from __future__ import annotations

import pytest
from dagster_support import EMPLOYEES, YEARS, dbt_checks_all_passed, execute, materialized

import dagster as dg
from planwise import application
from planwise.application import Workspace


def test_multi_year_simulation_stores_a_run_and_builds_the_marts(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    result = execute("multi_year_simulation", instance)

    census = materialized(result, "census")
    assert census["row_count"] >= EMPLOYEES
    assert census["starting_headcount"] > 0
    levers = materialized(result, "comp_levers")
    assert levers["scenario_id"] == "default"
    assert "| Merit | " in levers["levers"]  # lever labels, levels by name
    assert "| Staff | Manager |" in levers["levers"]
    simulation = materialized(result, "workforce_simulation")
    assert simulation["parameter_set_id"] == levers["parameter_set_id"]
    assert "| Total compensation cost |" in simulation["metrics"]
    stored = application.run_results(workspace, simulation["run_id"]).run
    assert stored.end_year - stored.start_year + 1 == YEARS
    assert materialized(result, "fct_compensation_growth")
    assert dbt_checks_all_passed(result) > 50


def test_app_simulation_stores_the_run_without_building_the_marts(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    """The app's job: the run config of `multi_year_simulation`, no dbt step (rebuilding
    the marts made every run from the app cost half a minute)."""
    config = {
        "ops": {
            "comp_levers": {"config": {"scenario_id": "default"}},
            "workforce_simulation": {
                "config": {"scenario_id": "default", "years": 2, "start_year": 2025, "seed": 9}
            },
        }
    }
    result = execute("app_simulation", instance, config)

    events = result.get_asset_materialization_events()
    assert {event.asset_key.path[0] for event in events} == {
        "census",
        "comp_levers",
        "workforce_simulation",
    }
    assert result.get_asset_check_evaluations() == []
    run_id = materialized(result, "workforce_simulation")["run_id"]
    stored = application.run_results(workspace, run_id)
    assert (stored.run.seed, stored.run.start_year, stored.run.end_year) == (9, 2025, 2026)


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

    stepped = application.run_results(workspace, run_id).metrics
    at_once = application.run_results(workspace, whole_id).metrics
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


def test_each_simulated_year_is_observed_for_the_app_to_follow(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    result = execute("multi_year_simulation", instance, assets=["workforce_simulation"])

    observed = [
        (entry.asset_observation.asset_key, dict(entry.asset_observation.metadata))
        for entry in instance.all_logs(result.run_id)
        if entry.asset_observation is not None
    ]
    start = application.run_results(workspace).run.start_year
    # planwise_app.launch reads exactly these: the asset key and three integer values.
    assert observed == [
        (
            dg.AssetKey("workforce_simulation"),
            {
                "simulation_year": dg.MetadataValue.int(start + done - 1),
                "years_done": dg.MetadataValue.int(done),
                "years_total": dg.MetadataValue.int(YEARS),
            },
        )
        for done in range(1, YEARS + 1)
    ]


@pytest.mark.parametrize(
    "fixed",
    [
        pytest.param({"seed": 7}, id="seed"),
        pytest.param({"start_year": 2030}, id="start-year"),
        pytest.param({"parameter_set_id": 1}, id="parameter-set"),
    ],
)
def test_continuing_a_run_takes_only_years(
    workspace: Workspace, instance: dg.DagsterInstance, fixed: dict[str, int]
) -> None:
    from planwise_dagster import defs

    result = defs.resolve_job_def("multi_year_simulation").execute_in_process(
        run_config={"ops": {"workforce_simulation": {"config": {"run_id": 1, **fixed}}}},
        instance=instance,
        asset_selection=[dg.AssetKey("workforce_simulation")],
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "Continuing a run takes only the number of years" in str(failure.step_failure_data.error)
