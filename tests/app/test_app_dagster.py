"""The Run tab through Dagster: with a Dagster instance in the workspace the run executes as
the `app_simulation` job (the simulation without the dbt marts) in this process and is
recorded in that instance; without that job in the definitions, as `multi_year_simulation`.

The jobs here hold the simulation assets only (the dbt marts take minutes to build and
have their own tests); everything else is the real thing: definitions, instance, resources.
"""

from __future__ import annotations

import pytest
from app_support import OpenApp, texts

import dagster as dg
import planwise_dagster
from planwise.application import Workspace
from planwise.errors import UserError
from planwise_app import launch
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dagster.simulation import census, comp_levers, workforce_simulation

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def _definitions(workspace: Workspace, *jobs: str) -> dg.Definitions:
    assets = [census, comp_levers, workforce_simulation]
    return dg.Definitions(
        assets=assets,
        jobs=[
            dg.define_asset_job(name, selection=dg.AssetSelection.assets(*assets)) for name in jobs
        ],
        resources={"planwise": PlanwiseWorkspace(path=str(workspace.root))},
        executor=dg.in_process_executor,
    )


@pytest.fixture
def dagster_workspace(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    workspace.dagster_home.mkdir()
    (workspace.dagster_home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    definitions = _definitions(workspace, launch.DAGSTER_JOB, launch.APP_JOB)
    monkeypatch.setattr(planwise_dagster, "defs", definitions)
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")
    return workspace


def test_without_the_app_job_a_run_takes_the_multi_year_job(
    dagster_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        planwise_dagster, "defs", _definitions(dagster_workspace, launch.DAGSTER_JOB)
    )
    way = launch.execution(dagster_workspace)
    assert way.through_dagster and way.job == launch.DAGSTER_JOB
    assert "also rebuilds the dbt marts" in way.description


def test_a_run_through_dagster_reports_each_year_and_is_in_the_instance(
    dagster_workspace: Workspace,
) -> None:
    way = launch.execution(dagster_workspace)
    assert way.through_dagster
    years: list[tuple[int, int]] = []
    steps: list[str] = []
    outcome = launch.run(
        dagster_workspace,
        way,
        scenario_id="default",
        years=2,
        start_year=2025,
        seed=9,
        on_year=lambda year, done: years.append((year, done)),
        on_step=steps.append,
    )
    assert years == [(2025, 1), (2026, 2)]
    assert steps == ["census", "comp_levers", "workforce_simulation"]
    assert outcome.run_id == 2 and outcome.metrics.years == [2025, 2026]
    assert outcome.how.startswith("through Dagster")
    instance = dg.DagsterInstance.from_config(str(dagster_workspace.dagster_home))
    recorded = instance.get_runs()
    assert [(run.job_name, run.status) for run in recorded] == [
        (launch.APP_JOB, dg.DagsterRunStatus.SUCCESS)
    ]
    observed = [
        {key: value.value for key, value in entry.asset_observation.metadata.items()}
        for entry in instance.all_logs(recorded[0].run_id)
        if entry.asset_observation is not None
    ]
    assert observed == [
        {"simulation_year": 2025, "years_done": 1, "years_total": 2},
        {"simulation_year": 2026, "years_done": 2, "years_total": 2},
    ]  # one structured observation per simulated year: what the Run tab follows


def test_a_failed_dagster_run_says_why(dagster_workspace: Workspace) -> None:
    way = launch.execution(dagster_workspace)
    with pytest.raises(UserError, match="Unknown scenario 'nowhere'"):
        launch.run(
            dagster_workspace,
            way,
            scenario_id="nowhere",
            years=1,
            start_year=2025,
            seed=1,
            on_year=lambda year, done: None,
        )


def test_the_run_tab_says_it_runs_through_dagster(
    open_app: OpenApp, dagster_workspace: Workspace
) -> None:
    app = open_app("Run")
    assert "Runs go through Dagster (job `app_simulation`" in texts(app)
    assert "so each run shows in the Dagster UI" in texts(app)
    app.text_input(key="run_years").input("1")
    next(item for item in app.button if item.label.startswith("Run scenario")).click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert "Stored run 2" in texts(app) and "through Dagster" in texts(app)
