"""The store sensor: runs, applied parameter sets, optimizations and the active census made
outside Dagster appear as materializations of their assets, once, with the metadata the
assets write; work done by a Dagster run is not reported again; each scenario becomes a
partition of the ensemble assets.

Each tick is evaluated with Dagster's sensor testing API against a real instance, and its
events and partition requests are stored in that instance as the daemon stores them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from dagster_support import execute, materialized

import dagster as dg
from planwise import application
from planwise.application import (
    CreateScenarioRequest,
    OptimizeRequest,
    SimulateRequest,
    Workspace,
)
from planwise_dagster.ensembles import SCENARIO_PARTITIONS
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dagster.sensors import StoreCursor, workspace_activity_sensor

TARGETS = {
    "optimization": {"levers": ["merit_base"], "max_iterations": 3},
    "targets": {"median_merit_increase": {"target_value": 0.04, "tolerance_pct": 0.05}},
}


class Tick:
    """One evaluation of the sensor, its events stored in the instance as the daemon does."""

    def __init__(
        self, instance: dg.DagsterInstance, workspace: Workspace, cursor: str | None
    ) -> None:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={"planwise": PlanwiseWorkspace(path=str(workspace.root))},
        )
        result = workspace_activity_sensor(context)
        if isinstance(result, dg.SkipReason):
            self.events: list[Any] = []
            self.cursor = cursor
            self.skipped = result.skip_message or ""
            return
        assert isinstance(result, dg.SensorResult)
        self.events = list(result.asset_events)
        self.cursor = result.cursor
        self.skipped = (result.skip_reason and result.skip_reason.skip_message) or ""
        for event in self.events:
            instance.report_runless_asset_event(event)
        for request in result.dynamic_partitions_requests or ():
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)

    def materializations(self, asset: str) -> list[dict[str, Any]]:
        return [
            {key: getattr(value, "value", value) for key, value in event.metadata.items()}
            for event in self.events
            if isinstance(event, dg.AssetMaterialization) and event.asset_key == dg.AssetKey(asset)
        ]

    def checks(self) -> list[dg.AssetCheckEvaluation]:
        return [event for event in self.events if isinstance(event, dg.AssetCheckEvaluation)]


def test_work_done_outside_dagster_is_reported_once(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    run = application.simulate(workspace, SimulateRequest(years=2, seed=5))
    tuned = application.optimize(workspace, OptimizeRequest(TARGETS, apply=True))

    first = Tick(instance, workspace, None)
    assert first.skipped.startswith("Reported work made outside Dagster (no run to launch): ")
    assert "1 × workforce_simulation" in first.skipped

    [simulation] = first.materializations("workforce_simulation")  # not the loop's own runs
    assert {
        key: simulation[key] for key in ("run_id", "scenario_id", "parameter_set_id", "seed")
    } == {
        "run_id": run.run_id,
        "scenario_id": "default",
        "parameter_set_id": run.parameter_set_id,
        "seed": 5,
    }
    assert simulation["years"] == "2025–2026"
    assert simulation["final_headcount"] == run.metrics.per_year[2026]["headcount"]
    assert "| Total compensation cost |" in simulation["metrics"]
    assert "outside Dagster" in simulation["reported_from"]

    [census] = first.materializations("census")
    active = application.active_census(workspace).census
    assert (census["census_id"], census["row_count"]) == (active.census_id, len(active))

    levers = first.materializations("comp_levers")
    assert [row["parameter_set_id"] for row in levers] == [
        run.parameter_set_id,  # the initial set, applied when the workspace was made
        tuned.best_parameter_set_id,  # the optimizer's set, applied by `apply`
    ]
    assert levers[-1]["activated_by"] == application.current_user()
    assert "| Lever | Years | Staff |" in levers[-1]["levers"]

    [loop] = first.materializations("compensation_optimization_loop")
    assert loop["optimization_id"] == tuned.optimization_id
    assert loop["verdict"] == "Converged"
    assert loop["change_summary"].startswith("Merit")
    [summary] = first.materializations("optimization_results_summary")
    assert "| Merit · Staff |" in summary["lever_path"]
    [convergence] = first.checks()
    assert convergence.check_name == "validate_optimization_convergence"
    assert convergence.passed

    again = Tick(instance, workspace, first.cursor)
    assert again.events == []
    assert again.skipped == "Nothing new in the workspace since the last tick."

    later = application.simulate(workspace, SimulateRequest(years=1))
    after = Tick(instance, workspace, again.cursor)
    assert [row["run_id"] for row in after.materializations("workforce_simulation")] == [
        later.run_id
    ]
    assert after.materializations("comp_levers") == []

    # A lost cursor starts over, and still reports nothing twice: what was reported is in
    # the assets' materializations.
    assert Tick(instance, workspace, None).events == []


def test_work_done_by_a_dagster_run_is_not_reported_again(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    job = execute("app_simulation", instance)
    through_dagster = materialized(job, "workforce_simulation")

    tick = Tick(instance, workspace, None)
    assert tick.materializations("workforce_simulation") == []
    assert tick.materializations("comp_levers") == []  # the job showed the active set
    assert tick.materializations("census") == []  # and the active census

    # What the sensor reports of a run made outside Dagster is what the asset writes (less
    # the timing, which only the asset measured).
    outside = application.simulate(workspace, SimulateRequest())
    [reported] = Tick(instance, workspace, tick.cursor).materializations("workforce_simulation")
    assert reported["run_id"] == outside.run_id
    assert set(reported) - {"reported_from"} == set(through_dagster) - {"seconds"}


def test_a_dagster_run_in_progress_holds_back_what_is_stored_meanwhile(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    settled = Tick(instance, workspace, None)
    live = instance.add_run(
        dg.DagsterRun(
            job_name="app_simulation",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
        )
    )
    stored = application.simulate(workspace, SimulateRequest(years=1))

    waiting = Tick(instance, workspace, settled.cursor)
    assert waiting.events == []  # it may be the live run's, whose materialization is to come
    assert StoreCursor.parse(waiting.cursor).state == ""  # so the next tick looks again

    instance.report_run_failed(live)  # the run ended without materializing it
    done = Tick(instance, workspace, waiting.cursor)
    assert [row["run_id"] for row in done.materializations("workforce_simulation")] == [
        stored.run_id
    ]


def test_each_scenario_becomes_an_ensemble_partition_once(
    workspace: Workspace, instance: dg.DagsterInstance
) -> None:
    first = Tick(instance, workspace, None)
    assert instance.get_dynamic_partitions(SCENARIO_PARTITIONS) == ["default"]
    assert first.skipped.endswith("Added the ensemble partitions of scenario(s) default.")
    settled = Tick(instance, workspace, first.cursor)
    assert settled.skipped == "Nothing new in the workspace since the last tick."

    application.create_scenario(workspace, CreateScenarioRequest("lean"))
    after = Tick(instance, workspace, settled.cursor)
    assert instance.get_dynamic_partitions(SCENARIO_PARTITIONS) == ["default", "lean"]
    assert "scenario(s) lean." in after.skipped
    # Partitions removed by hand in the UI come back even when the store has not changed.
    instance.delete_dynamic_partition(SCENARIO_PARTITIONS, "lean")
    again = Tick(instance, workspace, after.cursor)
    assert again.events == [] and "scenario(s) lean." in again.skipped
    assert instance.get_dynamic_partitions(SCENARIO_PARTITIONS) == ["default", "lean"]


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(None, id="none"),
        pytest.param("not json", id="unreadable"),
        pytest.param(json.dumps({"runs": 1.0, "from_a_later_version": True}), id="extra-key"),
    ],
)
def test_an_unreadable_cursor_starts_over(cursor: str | None) -> None:
    parsed = StoreCursor.parse(cursor)
    assert parsed.levers == 0.0 and parsed.state == ""
    assert StoreCursor.parse(parsed.dumps()) == parsed


def test_a_folder_that_is_no_workspace_skips_with_the_reason(
    tmp_path: Any, instance: dg.DagsterInstance
) -> None:
    tick = Tick(instance, Workspace(tmp_path / "nowhere"), None)
    assert tick.events == []
    assert "is not a PlanWise workspace" in tick.skipped
