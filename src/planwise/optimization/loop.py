"""The tuning loop: propose levers, simulate, compare with targets, repeat (tuning-loop.md).

Every full simulation is stored with its own parameter set and run, in one transaction
with its iteration row, so the path can be audited, resumed and rolled back. Between full
simulations, exact compensation-only replays (same plans, new pay) give the Jacobian and
the damped steps; the answer is always confirmed by a full simulation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from planwise.config import Settings
from planwise.errors import UserError
from planwise.metrics import RunMetrics, run_metrics
from planwise.optimization import store
from planwise.optimization.diagnosis import (
    diagnose,
    jacobian_at,
    robustness_rows,
    sensitivities,
)
from planwise.optimization.report import IterationRecord, OptimizationResult, TargetRow
from planwise.optimization.solver import (
    MODE_SETTINGS,
    Component,
    Evaluation,
    Subspace,
    evaluate_targets,
    solve,
)
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import Targets, load_targets
from planwise.parameters.csv_io import export_active_levers
from planwise.parameters.levers import DEFAULT_SCENARIO, LeverSet
from planwise.parameters.loading import default_set_for, load_levers
from planwise.simulation.engine import PlannedRun, replay, simulate_planned
from planwise.simulation.state import Workforce
from planwise.storage import census_store, parameter_store, runs
from planwise.storage.database import atomic
from planwise.workspace import Workspace

__all__ = ["apply_parameter_set", "evaluate", "load_result", "optimize"]

FloatArray = npt.NDArray[np.float64]
IterationCallback = Callable[[IterationRecord], None]


@dataclass
class _Loop:
    """The state of one optimization while it runs."""

    connection: duckdb.DuckDBPyConnection
    settings: Settings
    census_id: str
    workforce: Workforce
    targets: Targets
    space: DecisionSpace
    seed: int
    optimization_id: int
    scenario_id: str
    on_iteration: IterationCallback | None
    records: list[IterationRecord] = field(default_factory=list)
    full: list[tuple[Evaluation, int, int]] = field(default_factory=list)  # (eval, set, run)
    simulations: int = 0
    replays: int = 0
    pending_replays: list[IterationRecord] = field(default_factory=list)
    space_start_set: int = 0

    @property
    def years(self) -> range:
        return range(self.settings.start_year, self.settings.start_year + self.settings.years)

    def _record(self, record: IterationRecord) -> None:
        self.records.append(record)
        if self.on_iteration is not None:
            self.on_iteration(record)

    def _make_record(
        self,
        kind: str,
        evaluation: Evaluation,
        metrics: RunMetrics,
        set_id: int | None,
        run_id: int | None,
    ) -> IterationRecord:
        return IterationRecord(
            iteration=len(self.records),
            kind=kind,
            parameter_set_id=set_id,
            run_id=run_id,
            levers=self.space.describe(evaluation.point),
            metrics=evaluation.values_by_key,
            residuals=evaluation.residuals_by_key,
            within_tolerance=evaluation.converged,
            point=[float(x) for x in evaluation.point],
        )

    def simulate(
        self, point: FloatArray, kind: str, store_as: int | None = None
    ) -> tuple[Evaluation, PlannedRun]:
        """A full simulation at `point`, stored with a new parameter set (or `store_as`).

        Stored like any run (`runs.writing_years`: each year written while the next is
        simulated, all in one transaction); a failure stores nothing of it and is recorded
        as a failed iteration.
        """
        self.flush_replays()
        parent = self.full[-1][1] if self.full else self.space_start_set
        try:
            with atomic(self.connection) as connection:
                set_id = store_as
                if set_id is None:
                    set_id = parameter_store.create_parameter_set(
                        connection,
                        self.space.lever_set(point),
                        source="optimizer",
                        created_by="optimizer",
                        parent_id=parent,
                        activate=False,
                        note=f"optimization {self.optimization_id} iteration {len(self.records)}",
                    )
                run_id = runs.insert_run(
                    connection,
                    scenario_id=self.scenario_id,
                    parameter_set_id=set_id,
                    census_id=self.census_id,
                    seed=self.seed,
                    start_year=self.settings.start_year,
                    end_year=self.years[-1],
                    settings=self.settings,
                    purpose="optimization",
                    optimization_id=self.optimization_id,
                    default_parameter_set_id=default_set_for(connection, self.scenario_id),
                )
                start = self.settings.start_year
                with runs.writing_years(
                    connection, run_id, start, self.workforce, self.settings.years
                ) as store_year:
                    planned = simulate_planned(
                        self.workforce,
                        self.settings,
                        self.space.resolved(point),
                        start_year=start,
                        years=self.settings.years,
                        seed=self.seed,
                        on_year=store_year,
                    )
                    metrics = run_metrics(planned.result)
                    evaluation = evaluate_targets(metrics, self.targets.targets, point)
                self.simulations += 1
                runs.write_metrics(
                    connection, run_id, metrics, planned.result.years, with_baseline=True
                )
                record = self._make_record(kind, evaluation, metrics, set_id, run_id)
                store.insert_iterations(connection, self.optimization_id, [record])
                store.update_progress(
                    connection,
                    self.optimization_id,
                    self.simulations,
                    self.replays,
                    len(self.records) + 1,
                )
        except UserError:
            raise
        except Exception as error:
            self._fail(point, kind, error)
            raise
        self.full.append((evaluation, set_id, run_id))
        self._record(record)
        return evaluation, planned

    def simulate_evaluation(self, kind: str, point: FloatArray) -> Evaluation:
        return self.simulate(point, kind)[0]

    def replay(self, planned: PlannedRun, point: FloatArray) -> Evaluation:
        result = replay(planned, self.settings, self.space.resolved(point))
        metrics = run_metrics(result, only={target.metric for target in self.targets.targets})
        evaluation = evaluate_targets(metrics, self.targets.targets, point)
        self.replays += 1
        record = self._make_record("replay", evaluation, metrics, None, None)
        self.pending_replays.append(record)
        self._record(record)
        return evaluation

    def flush_replays(self) -> None:
        if not self.pending_replays:
            return
        with atomic(self.connection) as connection:
            store.insert_iterations(connection, self.optimization_id, self.pending_replays)
            store.update_progress(
                connection, self.optimization_id, self.simulations, self.replays, len(self.records)
            )
        self.pending_replays = []

    def _fail(self, point: FloatArray, kind: str, error: Exception) -> None:
        record = IterationRecord(
            iteration=len(self.records),
            kind="failed",
            parameter_set_id=None,
            run_id=None,
            levers=self.space.describe(point),
            metrics={},
            residuals={},
            within_tolerance=False,
            error=f"{kind}: {type(error).__name__}: {error}",
            point=[float(x) for x in point],
        )
        self.flush_replays()
        with atomic(self.connection) as connection:
            store.insert_iterations(connection, self.optimization_id, [record])
            store.finish_optimization(
                connection,
                self.optimization_id,
                status="failed",
                converged=False,
                best_parameter_set_id=self.best()[1] if self.full else None,
                stop_reason="failed",
                report={"error": record.error},
            )
        self._record(record)

    def best(self) -> tuple[Evaluation, int, int]:
        return min(self.full, key=lambda item: (not item[0].converged, item[0].cost))


def _run(loop: _Loop, budget: int, current: Evaluation, planned: PlannedRun) -> str:
    """Iterate until converged, stalled, or the budget of full simulations is spent.

    With replays (the usual case) each round solves on exact replays of the current plans
    — first moving each lever family as a whole, then each level — and confirms the
    answer with one full simulation; when a structural lever moves, every evaluation is a
    full simulation.
    """
    space = loop.space
    mode = MODE_SETTINGS[loop.targets.mode]
    tied_first = loop.targets.mode != "conservative" and len(space.variables) > len(
        set(space.families)
    )
    while not current.converged:
        remaining = budget - loop.simulations
        if remaining <= 0:
            return "budget"
        candidate, exhausted = current, False
        # Whole families first, then each level; on replays, a derivative-free polish last.
        phases = [("family", "least_squares")] if tied_first else []
        phases.append(("level", "least_squares"))
        if space.replayable:
            phases.append(("level", "powell"))
        for grain, method in phases:
            if candidate.converged:
                break
            subspace = (
                Subspace.per_family(
                    candidate.point, space.lower, space.upper, space.typical, space.families
                )
                if grain == "family"
                else Subspace.per_variable(candidate.point, space.lower, space.upper, space.typical)
            )
            if space.replayable:
                evaluate = partial(loop.replay, planned)
                allowed = mode.jacobians_per_solve * (subspace.dimensions + 1)
            else:
                evaluate = partial(loop.simulate_evaluation, "step")
                allowed = budget - loop.simulations
            outcome = solve(
                evaluate,
                candidate,
                space.start,
                space.typical,
                space.families,
                subspace,
                mode,
                allowed,
                method,
            )
            candidate, exhausted = outcome.best, outcome.exhausted
        if candidate.cost >= current.cost * (1 - 1e-9) and not candidate.converged:
            return "stalled"
        if space.replayable:
            evaluation, planned = loop.simulate(candidate.point, "step")
        else:
            evaluation = candidate
        if not (evaluation.converged or evaluation.cost < current.cost * (1 - 1e-9)):
            return "stalled"
        current = evaluation
        if not exhausted and not current.converged:
            return "stalled"
    return "converged"


def _start(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    scenario_id: str,
    parameter_set_id: int | None,
    targets: Targets,
) -> tuple[str, Workforce, int, LeverSet, DecisionSpace]:
    census_id = census_store.active_census_id(connection)
    _, workforce = census_store.load_starting_workforce(connection, census_id)
    years = range(settings.start_year, settings.start_year + settings.years)
    set_id, lever_set, resolved = load_levers(
        connection, settings, scenario_id, years, parameter_set_id
    )
    targets.check_years(years[0], years[-1])
    bounds = {family: targets.bounds_for(family) for family in targets.levers}
    space = DecisionSpace.build(resolved, lever_set, targets.levers, bounds, targets.mode)
    return census_id, workforce, set_id, lever_set, space


def optimize(
    workspace: Workspace,
    targets: Targets | Path | str | Mapping[str, Any] | None,
    *,
    scenario_id: str = DEFAULT_SCENARIO,
    mode: str | None = None,
    max_iterations: int | None = None,
    tolerance: float | None = None,
    apply: bool = False,
    resume: int | None = None,
    extra_iterations: int | None = None,
    parameter_set_id: int | None = None,
    on_iteration: IterationCallback | None = None,
) -> OptimizationResult:
    """Find lever values that meet every target within tolerance, or say why not.

    The best parameter set found is always stored; `apply=True` makes it the scenario's
    active set (the previous one stays in history for rollback). `resume=ID` continues a
    stored optimization from its last full simulation.
    """
    started = time.perf_counter()
    settings = workspace.settings()
    with workspace.database(settings).connect() as connection:
        result = _optimize(
            connection,
            settings,
            targets,
            scenario_id=scenario_id,
            mode=mode,
            max_iterations=max_iterations,
            tolerance=tolerance,
            apply=apply,
            resume=resume,
            extra_iterations=extra_iterations,
            parameter_set_id=parameter_set_id,
            on_iteration=on_iteration,
            started=started,
        )
    if result.applied:
        _refresh_levers_file(workspace, result.scenario_id)
    return result


def _refresh_levers_file(workspace: Workspace, scenario_id: str) -> None:
    """The workspace's comp_levers.csv mirrors the default scenario's active set."""
    if scenario_id == DEFAULT_SCENARIO:
        export_active_levers(workspace, workspace.levers_path, scenario_id)


def _optimize(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    targets: Targets | Path | str | Mapping[str, Any] | None,
    *,
    scenario_id: str,
    mode: str | None,
    max_iterations: int | None,
    tolerance: float | None,
    apply: bool,
    resume: int | None,
    extra_iterations: int | None,
    parameter_set_id: int | None,
    on_iteration: IterationCallback | None,
    started: float,
) -> OptimizationResult:
    previous: list[IterationRecord] = []
    if resume is not None:
        row = store.load_optimization_row(connection, resume)
        previous = store.load_iterations(connection, resume)
        scenario_id = row["scenario_id"]
        parameter_set_id = row["start_parameter_set_id"]
        targets = load_targets(
            json.loads(row["targets"]),
            mode=mode or row["mode"],
            max_iterations=max_iterations,
            tolerance=tolerance,
        )
    elif targets is None:
        raise UserError("An optimization needs targets (a targets file or mapping).")
    elif not isinstance(targets, Targets) or mode or max_iterations or tolerance:
        source = targets.source if isinstance(targets, Targets) else targets
        targets = load_targets(
            source, mode=mode, max_iterations=max_iterations, tolerance=tolerance
        )
    seed = targets.seed if targets.seed is not None else settings.seed
    census_id, workforce, start_set_id, _, space = _start(
        connection, settings, scenario_id, parameter_set_id, targets
    )

    with atomic(connection):
        if resume is None:
            optimization_id = store.create_optimization(
                connection,
                scenario_id=scenario_id,
                mode=targets.mode,
                targets=dict(targets.source),
                start_parameter_set_id=start_set_id,
                seed=seed,
            )
        else:
            optimization_id = resume
            connection.execute(
                "UPDATE optimization_runs SET status = 'running' WHERE optimization_id = ?",
                [optimization_id],
            )
    loop = _Loop(
        connection,
        settings,
        census_id,
        workforce,
        targets,
        space,
        seed,
        optimization_id,
        scenario_id,
        on_iteration,
        space_start_set=start_set_id,
    )
    loop.records = list(previous)
    loop.simulations = sum(1 for record in previous if record.is_simulation)
    loop.replays = sum(1 for record in previous if record.kind == "replay")

    if previous:
        stored = [r for r in previous if r.is_simulation and r.run_id is not None]
        if not stored:
            raise UserError(
                f"Optimization {optimization_id} has no stored simulation to resume from."
            )
        for record in stored:
            evaluation = _restore(loop, record, np.array(record.point, dtype=np.float64))
            loop.full.append(
                (evaluation, int(record.parameter_set_id or 0), int(record.run_id or 0))
            )
        extra = extra_iterations or max(1, targets.max_iterations - loop.simulations)
        budget = loop.simulations + 1 + extra
        last = stored[-1]
        current, planned = loop.simulate(
            np.array(last.point, dtype=np.float64), "resume", store_as=last.parameter_set_id
        )
    else:
        budget = targets.max_iterations if extra_iterations is None else extra_iterations
        current, planned = loop.simulate(space.start, "start", store_as=start_set_id)

    reason = _run(loop, budget, current, planned)
    return _finish(loop, reason, planned, apply, started)


def _restore(loop: _Loop, record: IterationRecord, point: FloatArray) -> Evaluation:
    """Rebuild a stored full iteration's evaluation from its stored metrics."""
    components = []
    for target in loop.targets.targets:
        for key, value in record.metrics.items():
            name, _, label = key.partition("@")
            if name == target.name:
                components.append(Component(target, label, value))
    return Evaluation(point, tuple(components))


def _finish(
    loop: _Loop, reason: str, planned: PlannedRun, apply: bool, started: float
) -> OptimizationResult:
    best, best_set, best_run = loop.best()
    start = loop.full[0][0]
    converged = best.converged
    jacobian = None
    if loop.space.replayable:
        jacobian = jacobian_at(
            partial(loop.replay, planned),
            best,
            loop.space.typical,
            loop.space.lower,
            loop.space.upper,
        )
    loop.flush_replays()
    stop_reason, explanation = diagnose(
        loop.space, loop.targets, best, jacobian, reason, loop.simulations
    )
    rows = [
        TargetRow(
            name=target.name,
            metric=target.metric,
            year=str(target.year),
            start_value=start.value(target),
            final_value=best.value(target),
            target_value=target.target_value,
            tolerance=target.tolerance,
            within_tolerance=best.within(target),
        )
        for target in loop.targets.targets
    ]
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
        start_parameter_set_id=loop.space_start_set,
        target_rows=rows,
        sensitivities=sensitivities(loop.space, best, jacobian),
        robustness=robustness,
        robustness_warning=warning,
        duration_seconds=0.0,
        ignored_keys=list(loop.targets.ignored),
    )
    # The whole call: sensitivities and robustness included, up to the final write.
    result.duration_seconds = time.perf_counter() - started
    with atomic(loop.connection) as connection:
        report = result.to_dict()
        report.pop("iterations")
        store.finish_optimization(
            connection,
            loop.optimization_id,
            status="converged" if converged else "not_converged",
            converged=converged,
            best_parameter_set_id=best_set,
            stop_reason=stop_reason,
            report=report,
        )
        store.update_progress(
            connection, loop.optimization_id, loop.simulations, loop.replays, len(loop.records)
        )
        if apply:
            parameter_store.activate_parameter_set(connection, best_set)
            result.applied = True
    return result


def load_result(workspace: Workspace, optimization_id: int) -> OptimizationResult:
    """A stored optimization's report with its iterations (for `optimize show`)."""
    with workspace.database().connect(read_only=True) as connection:
        row = store.load_optimization_row(connection, optimization_id)
        iterations = store.load_iterations(connection, optimization_id)
    if not row["report"]:
        raise UserError(
            f"Optimization {optimization_id} has not finished (status {row['status']}); "
            f"continue it with 'planwise optimize --resume {optimization_id}'."
        )
    report: dict[str, Any] = json.loads(row["report"])
    if "target_rows" not in report:
        raise UserError(
            f"Optimization {optimization_id} failed: {report.get('error', 'unknown error')}. "
            f"Continue it with 'planwise optimize --resume {optimization_id}'."
        )
    return OptimizationResult.from_report(report, iterations)


def apply_parameter_set(workspace: Workspace, parameter_set_id: int) -> None:
    """Make a stored set active for its scenario; the previous one stays in history."""
    with workspace.database().transaction() as connection:
        record = parameter_store.load_parameter_set(connection, parameter_set_id)
        parameter_store.activate_parameter_set(connection, parameter_set_id)
    _refresh_levers_file(workspace, record.scenario_id)


@dataclass(frozen=True)
class EvaluationReport:
    parameter_set_id: int
    values: dict[str, float]
    residuals: dict[str, float]
    within_tolerance: bool


def evaluate(
    workspace: Workspace,
    targets: Targets | Path | str | Mapping[str, Any],
    *,
    scenario_id: str = DEFAULT_SCENARIO,
) -> EvaluationReport:
    """The current levers against the targets: one simulation in memory, nothing stored."""
    chosen = targets if isinstance(targets, Targets) else load_targets(targets)
    settings = workspace.settings()
    with workspace.database(settings).connect(read_only=True) as connection:
        _, workforce, set_id, _, space = _start(connection, settings, scenario_id, None, chosen)
    seed = chosen.seed if chosen.seed is not None else settings.seed
    planned = simulate_planned(
        workforce,
        settings,
        space.resolved(space.start),
        start_year=settings.start_year,
        years=settings.years,
        seed=seed,
    )
    evaluation = evaluate_targets(run_metrics(planned.result), chosen.targets, space.start)
    return EvaluationReport(
        parameter_set_id=set_id,
        values=evaluation.values_by_key,
        residuals=evaluation.residuals_by_key,
        within_tolerance=evaluation.converged,
    )
