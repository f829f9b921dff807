"""How the Run tab launches a simulation: through Dagster when the workspace has a Dagster
instance (so the run shows in the Dagster UI), otherwise in-process via `planwise.service`.

Both call the same core function; there is no fallback from one to the other: the page
says which one it uses, and a failure is shown as it is.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planwise import service
from planwise.errors import UserError
from planwise.metrics import RunMetrics
from planwise.simulation import YearOutcome
from planwise.storage import runs
from planwise.workspace import Workspace

__all__ = ["Execution", "RunOutcome", "execution", "run"]

DAGSTER_PACKAGE = "planwise_dagster"
DAGSTER_JOB = "multi_year_simulation"


@dataclass(frozen=True)
class Execution:
    """Where a run executes, and the sentence the page shows about it."""

    through_dagster: bool
    description: str
    dagster_home: Path | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    scenario_id: str
    parameter_set_id: int
    metrics: RunMetrics
    seconds: float
    how: str


def execution(workspace: Workspace) -> Execution:
    home = workspace.dagster_home
    if (home / "dagster.yaml").exists() and importlib.util.find_spec(DAGSTER_PACKAGE):
        return Execution(
            True,
            f"Runs through Dagster: job `{DAGSTER_JOB}` on the instance at `{home}`, so the "
            "run appears in the Dagster UI ('planwise dagster').",
            home,
        )
    return Execution(
        False,
        "Runs in-process via planwise.service. (No Dagster instance is set up for this "
        f"workspace: `{home / 'dagster.yaml'}` does not exist; 'planwise dagster' creates it.)",
    )


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
        )
    done = 0

    def progress(outcome: YearOutcome) -> None:
        nonlocal done
        done += 1
        on_year(outcome.year, done)

    started = time.perf_counter()
    stored = service.run_simulation(
        workspace,
        scenario_id=scenario_id,
        years=years,
        start_year=start_year,
        seed=seed,
        on_year=progress,
    )
    return RunOutcome(
        stored.run_id,
        stored.scenario_id,
        stored.parameter_set_id,
        stored.metrics,
        time.perf_counter() - started,
        "in-process",
    )


_YEAR_LOG = re.compile(r"^Simulated (\d{4})$")
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
) -> RunOutcome:
    """Execute the `multi_year_simulation` job in this process against the workspace's
    Dagster instance, so the run is recorded there; progress comes from the job's log."""
    import dagster as dg
    from planwise_dagster import defs
    from planwise_dagster.resources import PlanwiseWorkspace

    started = time.perf_counter()
    job = defs.resolve_job_def(DAGSTER_JOB)
    instance = dg.DagsterInstance.from_config(str(home))
    dagster_run_id = str(uuid.uuid4())
    run_config = {
        "ops": {
            "comp_levers": {"config": {"scenario_id": scenario_id}},
            "workforce_simulation": {
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
    years_done = 0
    while True:
        finished = not worker.is_alive()
        entries = instance.all_logs(dagster_run_id)
        for entry in entries[seen:]:
            if (
                entry.is_dagster_event
                and entry.dagster_event_type == dg.DagsterEventType.STEP_START
            ):
                on_step(str(entry.step_key))
            found = _YEAR_LOG.match(entry.user_message or "")
            if found:
                years_done += 1
                on_year(int(found.group(1)), years_done)
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
    run_id = _stored_run_id(result)
    with workspace.database().connect(read_only=True) as connection:
        record = runs.load_run(connection, run_id)
        metrics = runs.load_run_metrics(connection, run_id)
    return RunOutcome(
        run_id,
        record.scenario_id,
        record.parameter_set_id,
        metrics,
        time.perf_counter() - started,
        f"through Dagster (run {dagster_run_id[:8]})",
    )


def _failure_message(result: Any) -> str:
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return str(data.user_failure_data.description)
        if data.error is not None:
            return str(data.error.message).strip()
    return "no step reported an error"


def _stored_run_id(result: Any) -> int:
    """The PlanWise run id the `workforce_simulation` asset recorded in its metadata."""
    for materialization in result.asset_materializations_for_node("workforce_simulation"):
        value = materialization.metadata.get("run_id")
        if value is not None:
            return int(value.value)
    raise UserError("The Dagster run finished without storing a simulation run.")
