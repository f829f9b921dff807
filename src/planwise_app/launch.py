"""How the Run tab launches a simulation: through Dagster when the workspace has a Dagster
instance (so the run shows in the Dagster UI), otherwise in-process via
`planwise.application.simulate`.

Through Dagster the run takes the `app_simulation` job when the definitions have it (the
inputs and the simulation, without rebuilding the dbt marts, so it costs about what an
in-process run costs), else `multi_year_simulation`.

Both call the same use case; there is no fallback from one to the other: the page says
which one it uses, and a failure is shown as it is. Progress is structured either way:
the use case's `YearSimulated` events in-process, the asset's per-year observations
(the same events, recorded in the run's event log) through Dagster.
"""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise import application
from planwise.application import ProgressEvent, SimulateRequest, Workspace, YearSimulated
from planwise.errors import UserError
from planwise.metrics import RunMetrics

if TYPE_CHECKING:
    import dagster as dg

__all__ = ["APP_JOB", "DAGSTER_JOB", "Execution", "RunOutcome", "execution", "run"]

DAGSTER_PACKAGE = "planwise_dagster"
APP_JOB = "app_simulation"
"""The job without the dbt marts, for the app's runs (used when the definitions have it)."""
DAGSTER_JOB = "multi_year_simulation"
SIMULATION_ASSET = "workforce_simulation"


@dataclass(frozen=True)
class Execution:
    """Where a run executes, and the sentence the page shows about it."""

    through_dagster: bool
    description: str
    dagster_home: Path | None = None
    job: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    scenario_id: str
    parameter_set_id: int
    metrics: RunMetrics
    seconds: float
    how: str


def execution(workspace: Workspace) -> Execution:
    """Through Dagster when the workspace has a Dagster instance, else in this process."""
    home = workspace.dagster_home
    if (home / "dagster.yaml").exists() and importlib.util.find_spec(DAGSTER_PACKAGE):
        job = _job_name()
        how = (
            "which skips rebuilding the dbt marts"
            if job == APP_JOB
            else "which also rebuilds the dbt marts, so it takes longer"
        )
        return Execution(
            True,
            f"Runs go through Dagster (job `{job}`, {how}), so each run shows in the Dagster "
            "UI ('planwise dagster').",
            home,
            job,
        )
    return Execution(
        False,
        "Runs happen in this app's process, not through Dagster, because this workspace has "
        "no Dagster instance yet ('planwise dagster' sets one up).",
    )


def _job_name() -> str:
    """`app_simulation` when the definitions have it, else `multi_year_simulation`."""
    from planwise_dagster import defs

    try:
        defs.resolve_job_def(APP_JOB)
    except Exception:  # Dagster raises its own error types for an unknown job
        return DAGSTER_JOB
    return APP_JOB


def run(
    workspace: Workspace,
    way: Execution,
    *,
    scenario_id: str,
    years: int,
    start_year: int,
    seed: int,
    on_year: Callable[[int, int], None],
    on_step: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Simulate and store one run; `on_year(year, years_done)` after each simulated year,
    and through Dagster `on_step(step_key)` as each step of the job starts."""
    if way.through_dagster and way.dagster_home is not None:
        return _through_dagster(
            workspace,
            way.dagster_home,
            scenario_id=scenario_id,
            years=years,
            start_year=start_year,
            seed=seed,
            on_year=on_year,
            on_step=on_step or (lambda step: None),
            job_name=way.job or DAGSTER_JOB,
        )

    def progress(event: ProgressEvent) -> None:
        if isinstance(event, YearSimulated):
            on_year(event.year, event.done)

    started = time.perf_counter()
    stored = application.simulate(
        workspace,
        SimulateRequest(scenario_id=scenario_id, years=years, start_year=start_year, seed=seed),
        progress,
    )
    return RunOutcome(
        stored.run_id,
        stored.scenario_id,
        stored.parameter_set_id,
        stored.metrics,
        time.perf_counter() - started,
        "in-process",
    )


_POLL_SECONDS = 0.25


def _through_dagster(
    workspace: Workspace,
    home: Path,
    *,
    scenario_id: str,
    years: int,
    start_year: int,
    seed: int,
    on_year: Callable[[int, int], None],
    on_step: Callable[[str], None],
    job_name: str,
) -> RunOutcome:
    """Execute the job (`app_simulation`, or `multi_year_simulation`) in this process
    against the workspace's Dagster instance, so the run is recorded there. Progress comes
    from the run's structured events: each step's start, and the simulation asset's
    observation of each simulated year."""
    import dagster as dg
    from planwise_dagster import defs
    from planwise_dagster.resources import PlanwiseWorkspace

    started = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.from_config(str(home))
    dagster_run_id = str(uuid.uuid4())
    run_config = {
        "ops": {
            "comp_levers": {"config": {"scenario_id": scenario_id}},
            SIMULATION_ASSET: {
                "config": {
                    "scenario_id": scenario_id,
                    "years": years,
                    "start_year": start_year,
                    "seed": seed,
                }
            },
        }
    }
    outcome: list[dg.ExecuteInProcessResult] = []
    failure: list[BaseException] = []

    def execute() -> None:
        try:
            outcome.append(
                job.execute_in_process(
                    run_config=run_config,
                    instance=instance,
                    run_id=dagster_run_id,
                    raise_on_error=False,
                    resources={"planwise": PlanwiseWorkspace(path=str(workspace.root))},
                )
            )
        except BaseException as error:  # reported in the page's thread below
            failure.append(error)

    worker = threading.Thread(target=execute, name="planwise-dagster-run", daemon=True)
    worker.start()
    seen = 0
    while True:
        finished = not worker.is_alive()
        entries = instance.all_logs(dagster_run_id)
        for entry in entries[seen:]:
            _follow(entry, on_year, on_step)
        seen = len(entries)
        if finished:
            break
        time.sleep(_POLL_SECONDS)
    worker.join()
    instance.dispose()
    if failure:
        raise failure[0]
    result = outcome[0]
    if not result.success:
        raise UserError(
            f"The Dagster run {dagster_run_id} failed: {_failure_message(result)} "
            "(its log is in the Dagster UI)."
        )
    stored = application.run_results(workspace, _stored_run_id(result))
    return RunOutcome(
        stored.run.run_id,
        stored.run.scenario_id,
        stored.run.parameter_set_id,
        stored.metrics,
        time.perf_counter() - started,
        f"through Dagster, job {job_name} (Dagster run {dagster_run_id[:8]})",
    )


def _follow(
    entry: dg.EventLogEntry,
    on_year: Callable[[int, int], None],
    on_step: Callable[[str], None],
) -> None:
    """Hand one event of the run's log to the page: a step started, or a year simulated
    (the simulation asset's observation of it)."""
    import dagster as dg

    if entry.dagster_event_type == dg.DagsterEventType.STEP_START:
        on_step(str(entry.step_key))
        return
    observation = entry.asset_observation
    if observation is None or observation.asset_key != dg.AssetKey(SIMULATION_ASSET):
        return
    year = _integer(observation.metadata, "simulation_year")
    done = _integer(observation.metadata, "years_done")
    if year is not None and done is not None:
        on_year(year, done)


def _integer(metadata: Mapping[str, dg.MetadataValue[Any]], key: str) -> int | None:
    import dagster as dg

    value = metadata.get(key)
    if isinstance(value, dg.IntMetadataValue) and value.value is not None:
        return int(value.value)
    return None


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return str(data.user_failure_data.description)
        if data.error is not None:
            return str(data.error.message).strip()
    return "no step reported an error"


def _stored_run_id(result: dg.ExecuteInProcessResult) -> int:
    """The PlanWise run id the `workforce_simulation` asset recorded in its metadata."""
    for materialization in result.asset_materializations_for_node(SIMULATION_ASSET):
        run_id = _integer(materialization.metadata, "run_id")
        if run_id is not None:
            return run_id
    raise UserError("The Dagster run finished without storing a simulation run.")
