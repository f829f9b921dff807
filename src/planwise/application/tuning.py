"""The tuning loop as a use case: optimize, resume, show, list, evaluate (tuning-loop.md).

The search itself is domain code (`planwise.optimization.loop`); this module gives it
an evaluator that stores every full simulation through the run pipeline — with its own
parameter set and run, in one transaction with its iteration row — so the path can be
audited, resumed and rolled back, and reports each iteration as a progress event
(`planwise.application.tuning_evaluator`). With robust targets the extra seeds' plans
live on Dask workers for the loop's duration (`planwise.application.robust_seeds`); without
them nothing about Dask starts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from planwise.application.levers import refresh_levers_file
from planwise.application.progress import ProgressListener
from planwise.application.robust_seeds import SeedPlans, seed_plans
from planwise.application.tuning_evaluator import StoringEvaluator, restore_evaluation
from planwise.application.views import project
from planwise.application.workspace import Workspace
from planwise.application.workspaces import current_user
from planwise.config import Settings
from planwise.errors import UserError
from planwise.metrics import RunMetrics
from planwise.optimization.answer import (
    change_summary,
    lever_changes,
    lever_warnings,
    target_rows,
    verdict,
)
from planwise.optimization.diagnosis import diagnose, jacobian_at, robustness_rows, sensitivities
from planwise.optimization.loop import SearchReport, search
from planwise.optimization.report import (
    IterationKind,
    IterationRecord,
    OptimizationResult,
    Verdict,
)
from planwise.optimization.robust import seed_sample
from planwise.optimization.solver import evaluate_samples
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import Mode, Targets, load_targets
from planwise.parameters.levers import DEFAULT_SCENARIO
from planwise.simulation.engine import PlannedRun
from planwise.simulation.state import Workforce
from planwise.storage import census_store, optimization_store, parameter_store, runs
from planwise.storage.database import atomic
from planwise.storage.optimization_store import OptimizationRecord

__all__ = [
    "EvaluateRequest",
    "LeversEvaluated",
    "OptimizeRequest",
    "ResumeRequest",
    "TargetsSource",
    "evaluate_levers",
    "list_optimizations",
    "optimization_iterations",
    "optimize",
    "resume_optimization",
    "show_optimization",
]

FloatArray = npt.NDArray[np.float64]
TargetsSource = Targets | Path | Mapping[str, Any]


@dataclass(frozen=True)
class OptimizeRequest:
    """A new optimization. `targets` is a targets file, its mapping, or loaded targets;
    None means the workspace's targets.yaml. The other fields override the file."""

    targets: TargetsSource | None = None
    scenario_id: str = DEFAULT_SCENARIO
    mode: Mode | str | None = None
    """A mode or its name as typed (checked with the targets: a bad one is a user error)."""
    max_iterations: int | None = None
    tolerance: float | None = None
    apply: bool = False
    """Make the best set the scenario's active set when done."""
    parameter_set_id: int | None = None
    """Start from this set instead of the scenario's active one."""
    budget: int | None = None
    """Full simulations to spend (default: max_iterations)."""
    workers: int | None = None
    """Robust targets: workers of a local Dask cluster (default: compute.workers, else cores)."""
    scheduler: str | None = None
    """Robust targets: an existing Dask cluster's address (default: compute.scheduler,
    $PLANWISE_DASK_SCHEDULER; else a local cluster). Without robust targets no Dask starts."""


@dataclass(frozen=True)
class ResumeRequest:
    """Continue a stored optimization from its last full simulation."""

    optimization_id: int
    mode: Mode | str | None = None
    """A mode or its name as typed (checked with the targets: a bad one is a user error)."""
    max_iterations: int | None = None
    tolerance: float | None = None
    apply: bool = False
    budget: int | None = None
    """More full simulations to spend (default: what max_iterations leaves, at least 1)."""
    workers: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class _Start:
    census_id: str
    workforce: Workforce
    parameter_set_id: int
    space: DecisionSpace


def _start(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    scenario_id: str,
    parameter_set_id: int | None,
    targets: Targets,
) -> _Start:
    census_id = census_store.active_census_id(connection)
    _, workforce = census_store.load_starting_workforce(connection, census_id)
    years = range(settings.start_year, settings.start_year + settings.years)
    set_id, lever_set, resolved = parameter_store.load_levers(
        connection, settings, scenario_id, years, parameter_set_id
    )
    targets.check_years(years[0], years[-1])
    bounds = {family: targets.bounds_for(family) for family in targets.levers}
    space = DecisionSpace.build(resolved, lever_set, targets.levers, bounds, targets.mode)
    return _Start(census_id, workforce, set_id, space)


def _seed_plans(
    start: _Start,
    settings: Settings,
    targets: Targets,
    seed: int,
    request: OptimizeRequest | ResumeRequest,
    on_progress: ProgressListener | None,
) -> AbstractContextManager[SeedPlans | None]:
    """With robust targets, the extra seeds' plans on Dask (made under the start's levers:
    robust targets never move a structural lever); else nothing, and no Dask."""
    if not targets.robust:
        return nullcontext(None)
    return seed_plans(
        start.workforce,
        settings,
        start.space.resolved(start.space.start),
        targets.targets,
        targets.seeds(seed)[1:],
        workers=request.workers,
        scheduler=request.scheduler,
        on_progress=on_progress,
    )


def _targets(workspace: Workspace, request: OptimizeRequest) -> Targets:
    overrides = (request.mode, request.max_iterations, request.tolerance)
    if isinstance(request.targets, Targets) and overrides == (None, None, None):
        return request.targets
    source = request.targets
    if source is None:
        source = workspace.targets_path
        if not source.exists():
            raise UserError(
                f"No targets file: {source} does not exist. Pass --targets FILE or write "
                "the workspace's targets.yaml (planwise init writes an example)."
            )
    if isinstance(source, Targets):
        source = source.source
    return load_targets(
        source,
        mode=request.mode,
        max_iterations=request.max_iterations,
        tolerance=request.tolerance,
    )


def optimize(
    workspace: Workspace, request: OptimizeRequest, on_progress: ProgressListener | None = None
) -> OptimizationResult:
    """Find lever values that meet every target within tolerance, or say why not.

    The best parameter set found is always stored; `apply` makes it the scenario's active
    set (the previous one stays in history for rollback). `IterationFinished` events
    report each iteration as it finishes.
    """
    started = time.perf_counter()
    targets = _targets(workspace, request)
    settings = workspace.settings()
    seed = targets.seed if targets.seed is not None else settings.seed
    with (
        workspace.database(settings).connect() as connection,
        ExitStack() as stack,
    ):
        start = _start(connection, settings, request.scenario_id, request.parameter_set_id, targets)
        plans = stack.enter_context(
            _seed_plans(start, settings, targets, seed, request, on_progress)
        )  # an unreachable cluster stops here, before anything is stored
        with atomic(connection):
            optimization_id = optimization_store.create_optimization(
                connection,
                scenario_id=request.scenario_id,
                mode=targets.mode,
                targets=dict(targets.source),
                start_parameter_set_id=start.parameter_set_id,
                seed=seed,
            )
        evaluator = StoringEvaluator(
            connection,
            settings,
            start.census_id,
            start.workforce,
            targets,
            start.space,
            seed,
            optimization_id,
            request.scenario_id,
            start.parameter_set_id,
            request.budget or targets.max_iterations,
            on_progress,
            seeds=plans,
        )
        current, planned = evaluator.simulate(
            start.space.start, IterationKind.START, store_as=start.parameter_set_id
        )
        searched = search(evaluator, start.space, targets.mode, evaluator.budget, current, planned)
        result = _finish(evaluator, searched, planned, request.apply, started)
    if result.applied and result.scenario_id == DEFAULT_SCENARIO:
        refresh_levers_file(workspace)
    return result


def resume_optimization(
    workspace: Workspace, request: ResumeRequest, on_progress: ProgressListener | None = None
) -> OptimizationResult:
    """Continue a stored optimization from its last full simulation (its own targets,
    scenario, start set and seed), with a budget of more full simulations."""
    started = time.perf_counter()
    settings = workspace.settings()
    with (
        workspace.database(settings).connect() as connection,
        ExitStack() as stack,
    ):
        row = optimization_store.load_optimization(connection, request.optimization_id)
        previous = optimization_store.load_iterations(connection, request.optimization_id)
        targets = load_targets(
            row.targets_mapping,
            mode=request.mode or row.mode,
            max_iterations=request.max_iterations,
            tolerance=request.tolerance,
        )
        stored = [r for r in previous if r.is_simulation and r.run_id is not None]
        if not stored:
            raise UserError(
                f"Optimization {row.optimization_id} has no stored simulation to resume from."
            )
        start = _start(connection, settings, row.scenario_id, row.start_parameter_set_id, targets)
        plans = stack.enter_context(
            _seed_plans(start, settings, targets, row.seed, request, on_progress)
        )
        with atomic(connection):
            optimization_store.mark_running(connection, row.optimization_id)
        spent = sum(1 for record in previous if record.is_simulation)
        extra = request.budget or max(1, targets.max_iterations - spent)
        evaluator = StoringEvaluator(
            connection,
            settings,
            start.census_id,
            start.workforce,
            targets,
            start.space,
            row.seed,
            row.optimization_id,
            row.scenario_id,
            start.parameter_set_id,
            spent + 1 + extra,
            on_progress,
            records=list(previous),
            simulations=spent,
            replays=sum(1 for record in previous if record.kind == IterationKind.REPLAY),
            seeds=plans,
        )
        for record in stored:
            evaluation = restore_evaluation(targets, record)
            evaluator.full.append(
                (evaluation, int(record.parameter_set_id or 0), int(record.run_id or 0))
            )
        evaluator.metrics_only |= runs.metrics_only(
            connection, [int(record.run_id or 0) for record in stored]
        )
        last = stored[-1]
        current, planned = evaluator.simulate(
            np.array(last.point, dtype=np.float64),
            IterationKind.RESUME,
            store_as=last.parameter_set_id,
        )
        searched = search(evaluator, start.space, targets.mode, evaluator.budget, current, planned)
        result = _finish(evaluator, searched, planned, request.apply, started)
    if result.applied and result.scenario_id == DEFAULT_SCENARIO:
        refresh_levers_file(workspace)
    return result


def _finish(
    loop: StoringEvaluator,
    searched: SearchReport,
    planned: PlannedRun,
    apply: bool,
    started: float,
) -> OptimizationResult:
    best, best_set, best_run = loop.best()
    loop.keep_events_of(best_run, best_set, best.point, planned)  # the answer keeps its events
    start = loop.full[0][0]
    converged = best.converged
    jacobian = None
    if loop.space.replayable:
        jacobian = jacobian_at(
            partial(loop.replay_all, planned),
            best,
            loop.space.typical,
            loop.space.lower,
            loop.space.upper,
        )
    loop.flush_replays()
    stop_reason, explanation = diagnose(
        loop.space, loop.targets, best, jacobian, searched.outcome, loop.simulations
    )
    range_warnings = lever_warnings(loop.space, best.point, searched.in_range_best)
    answer = verdict(converged, range_warnings)
    if answer == Verdict.CONVERGED_WITH_WARNINGS:
        outside = ", ".join(dict.fromkeys(warning.label for warning in range_warnings))
        explanation += (
            f" Only with a lever outside its usual range: {outside} (see the lever warnings)."
        )
    changes = lever_changes(loop.space, best.point)
    if loop.seeds is not None:
        # a resumed loop's stored iterations keep the statistics, not each seed's value
        start, best = (
            evaluation
            if evaluation.robust_samples
            else loop.measure(planned, [evaluation.point])[0]
            for evaluation in (start, best)
        )
    rows = target_rows(loop.targets, start, best)
    robustness, warning = robustness_rows(
        loop.workforce, loop.settings, loop.space.resolved(best.point), loop.targets, loop.seed
    )
    result = OptimizationResult(
        optimization_id=loop.optimization_id,
        scenario_id=loop.scenario_id,
        mode=loop.targets.mode,
        converged=converged,
        stop_reason=stop_reason,
        explanation=explanation,
        simulations=loop.simulations,
        replays=loop.replays,
        iterations=loop.records,
        best_parameter_set_id=best_set,
        best_run_id=best_run,
        start_parameter_set_id=loop.start_set_id,
        target_rows=rows,
        sensitivities=sensitivities(loop.space, best, jacobian),
        robustness=robustness,
        robustness_warning=warning,
        duration_seconds=0.0,
        ignored_keys=list(loop.targets.ignored),
        verdict=answer,
        lever_warnings=range_warnings,
        changes=changes,
        change_summary=change_summary(changes),
        robust_seeds=list(loop.targets.seeds(loop.seed)) if loop.seeds is not None else [],
        seed_plans=len(loop.seeds.seeds) if loop.seeds is not None else 0,
        seed_replays=loop.seed_replays,
    )
    # The whole call: sensitivities and robustness included, up to the final write.
    result.duration_seconds = time.perf_counter() - started
    with atomic(loop.connection) as connection:
        report = result.to_dict()
        report.pop("iterations")
        optimization_store.finish_optimization(
            connection,
            loop.optimization_id,
            status=answer.status,
            converged=converged,
            best_parameter_set_id=best_set,
            stop_reason=stop_reason,
            report=report,
        )
        optimization_store.update_progress(
            connection, loop.optimization_id, loop.simulations, loop.replays, len(loop.records)
        )
        if apply:
            parameter_store.activate_parameter_set(
                connection, best_set, activated_by=current_user()
            )
            result.applied = True
    return result


def show_optimization(workspace: Workspace, optimization_id: int) -> OptimizationResult:
    """A stored optimization's report with its iterations (for `optimize show`)."""
    with workspace.database().connect(read_only=True) as connection:
        row = optimization_store.load_optimization(connection, optimization_id)
        iterations = optimization_store.load_iterations(connection, optimization_id)
    report = row.report_mapping
    if not report:
        raise UserError(
            f"Optimization {optimization_id} has not finished (status {row.status}); "
            f"continue it with 'planwise optimize --resume {optimization_id}'."
        )
    if "target_rows" not in report:
        raise UserError(
            f"Optimization {optimization_id} failed: {report.get('error', 'unknown error')}. "
            f"Continue it with 'planwise optimize --resume {optimization_id}'."
        )
    return OptimizationResult.from_report(report, iterations)


def list_optimizations(workspace: Workspace, limit: int = 50) -> list[OptimizationRecord]:
    """The stored optimizations, newest first."""
    with workspace.database().connect(read_only=True) as connection:
        return optimization_store.list_optimizations(connection, limit)


def optimization_iterations(workspace: Workspace, optimization_id: int) -> list[IterationRecord]:
    """Every stored iteration of an optimization, in order."""
    with workspace.database().connect(read_only=True) as connection:
        optimization_store.load_optimization(connection, optimization_id)
        return optimization_store.load_iterations(connection, optimization_id)


@dataclass(frozen=True)
class EvaluateRequest:
    targets: TargetsSource
    scenario_id: str = DEFAULT_SCENARIO


@dataclass(frozen=True)
class LeversEvaluated:
    parameter_set_id: int
    values: dict[str, float]
    residuals: dict[str, float]
    within_tolerance: bool
    metrics: RunMetrics


def evaluate_levers(workspace: Workspace, request: EvaluateRequest) -> LeversEvaluated:
    """The scenario's active levers against the targets: one simulation in memory (one per
    seed with robust targets, their statistics as values), nothing stored."""
    chosen = (
        request.targets if isinstance(request.targets, Targets) else load_targets(request.targets)
    )
    settings = workspace.settings()
    with workspace.database(settings).connect(read_only=True) as connection:
        start = _start(connection, settings, request.scenario_id, None, chosen)
    seed = chosen.seed if chosen.seed is not None else settings.seed
    levers = start.space.resolved(start.space.start)
    metrics = project(settings, start.workforce, levers, seed).metrics
    samples = [seed_sample(metrics, chosen.targets)]
    for extra in chosen.seeds(seed)[1:]:
        others = project(settings, start.workforce, levers, extra).metrics
        samples.append(seed_sample(others, chosen.targets))
    evaluation = evaluate_samples(metrics.years, chosen.targets, samples, start.space.start)
    return LeversEvaluated(
        parameter_set_id=start.parameter_set_id,
        values=evaluation.values_by_key,
        residuals=evaluation.residuals_by_key,
        within_tolerance=evaluation.converged,
        metrics=metrics,
    )
