"""The tuning loop's evaluator (an `Evaluator` of `planwise.optimization.loop`): every full
simulation stored through the run pipeline — with its own parameter set and run, in one
transaction with its iteration row — every replay recorded, and each iteration reported
as a progress event (tuning-loop.md, "What the loop does").

With robust targets a candidate is measured on the K seeds: the loop's own seed here (the
stored simulation, or a replay of its plans) and the extra seeds by replays on the Dask
workers that hold their plans (`planwise.application.robust_seeds`); the iteration's
metrics are then the targets' statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import numpy.typing as npt

from planwise.application.pipeline import NewRun, RunPurpose, store_events_of, store_new_run
from planwise.application.progress import IterationFinished, ProgressListener, emit
from planwise.application.robust_seeds import PendingSamples, SeedPlans
from planwise.config import Settings
from planwise.errors import UserError
from planwise.metrics import RunMetrics, measured_replay
from planwise.optimization.report import (
    IterationKind,
    IterationRecord,
    OptimizationStatus,
    StopReason,
)
from planwise.optimization.robust import seed_sample
from planwise.optimization.solver import Component, Evaluation, evaluate_samples, evaluate_targets
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import StoredEvents, Targets
from planwise.parameters.levers import ResolvedLevers
from planwise.parameters.sources import SetSource
from planwise.simulation.engine import PlannedRun
from planwise.simulation.state import Workforce
from planwise.storage import optimization_store, parameter_store
from planwise.storage.database import atomic

__all__ = ["StoringEvaluator", "restore_evaluation"]

FloatArray = npt.NDArray[np.float64]
_OPTIMIZER = "optimizer"  # who the loop's parameter sets are recorded as


@dataclass
class StoringEvaluator:
    """Evaluates the search's candidates and stores every full simulation (an `Evaluator`)."""

    connection: duckdb.DuckDBPyConnection
    settings: Settings
    census_id: str
    workforce: Workforce
    targets: Targets
    space: DecisionSpace
    seed: int
    optimization_id: int
    scenario_id: str
    start_set_id: int
    budget: int
    on_progress: ProgressListener | None
    records: list[IterationRecord] = field(default_factory=list)
    full: list[tuple[Evaluation, int, int]] = field(default_factory=list)  # (eval, set, run)
    metrics_only: set[int] = field(default_factory=set)
    """Runs kept as metrics only (`store_events`): the answer's events are added at the end."""
    simulations: int = 0
    replays: int = 0
    pending_replays: list[IterationRecord] = field(default_factory=list)
    seeds: SeedPlans | None = None
    """Robust targets: the extra seeds' plans on Dask (else None: the loop's seed alone)."""
    local_seed_replays: int = 0

    @property
    def seed_replays(self) -> int:
        """Replays on single seeds for robust targets (on the workers and here)."""
        return self.local_seed_replays + (self.seeds.replays if self.seeds else 0)

    def _submit(self, levers: ResolvedLevers) -> PendingSamples | None:
        return None if self.seeds is None else self.seeds.submit(levers)

    def _evaluate(
        self, metrics: RunMetrics, point: FloatArray, pending: PendingSamples | None
    ) -> Evaluation:
        """The targets at `point`: on the loop's seed's metrics, and with robust targets on
        the extra seeds' samples too (replayed on the workers meanwhile)."""
        if self.seeds is None or pending is None:
            return evaluate_targets(metrics, self.targets.targets, point)
        samples = [seed_sample(metrics, self.targets.targets), *self.seeds.gather(pending)]
        return evaluate_samples(metrics.years, self.targets.targets, samples, point)

    def _record(self, record: IterationRecord) -> None:
        self.records.append(record)
        emit(self.on_progress, IterationFinished(record, self.simulations, self.budget))

    def _make_record(
        self,
        kind: IterationKind,
        evaluation: Evaluation,
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
        self, point: FloatArray, kind: IterationKind, store_as: int | None = None
    ) -> tuple[Evaluation, PlannedRun]:
        """A full simulation at `point`, stored with a new parameter set (or `store_as`)
        through the run pipeline, in one transaction with its iteration row; a failure
        stores nothing of it and is recorded as a failed iteration."""
        self.flush_replays()
        parent = self.full[-1][1] if self.full else self.start_set_id
        levers = self.space.resolved(point)
        pending = self._submit(levers)  # the extra seeds replay while this one simulates
        try:
            with atomic(self.connection) as connection:
                set_id = store_as
                if set_id is None:
                    set_id = parameter_store.create_parameter_set(
                        connection,
                        self.space.lever_set(point),
                        source=SetSource.OPTIMIZER,
                        created_by=_OPTIMIZER,
                        parent_id=parent,
                        activate=False,
                        note=f"optimization {self.optimization_id} iteration {len(self.records)}",
                    )
                store_events = (
                    kind == IterationKind.START or self.targets.store_events == StoredEvents.ALL
                )
                stored = store_new_run(
                    connection,
                    self.new_run(set_id, levers),
                    keep_plans=True,  # the search replays pay on this run's plans
                    store_events=store_events,
                )
                if not store_events:
                    self.metrics_only.add(stored.run_id)
                evaluation = self._evaluate(stored.metrics, point, pending)
                self.simulations += 1
                record = self._make_record(kind, evaluation, set_id, stored.run_id)
                optimization_store.insert_iterations(connection, self.optimization_id, [record])
                optimization_store.update_progress(
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
        self.full.append((evaluation, set_id, stored.run_id))
        self._record(record)
        return evaluation, stored.planned

    def new_run(self, set_id: int, levers: ResolvedLevers) -> NewRun:
        """What one of the loop's full simulations stores."""
        return NewRun(
            scenario_id=self.scenario_id,
            parameter_set_id=set_id,
            census_id=self.census_id,
            workforce=self.workforce,
            settings=self.settings,
            levers=levers,
            start_year=self.settings.start_year,
            years=self.settings.years,
            seed=self.seed,
            purpose=RunPurpose.OPTIMIZATION,
            optimization_id=self.optimization_id,
            default_parameter_set_id=parameter_store.default_set_for(
                self.connection, self.scenario_id
            ),
        )

    def keep_events_of(
        self, run_id: int, set_id: int, point: FloatArray, planned: PlannedRun
    ) -> None:
        """Add the events of a run kept as metrics only (the answer), by an exact replay on
        the loop's plans (or a simulation when a structural lever moved)."""
        if run_id not in self.metrics_only:
            return
        with atomic(self.connection) as connection:
            store_events_of(
                connection, run_id, self.new_run(set_id, self.space.resolved(point)), planned
            )
        self.metrics_only.discard(run_id)

    def measure(self, planned: PlannedRun, points: Sequence[FloatArray]) -> list[Evaluation]:
        """The targets at each of `points` by exact replays (of `planned`, and with robust
        targets of every extra seed's plans on the workers), recorded nowhere. The
        workers' replays of every point are all submitted before any is awaited."""
        levers = [self.space.resolved(point) for point in points]
        pending = [self._submit(one) for one in levers]
        only = {target.metric for target in self.targets.targets}
        evaluations = []
        for point, one, waiting in zip(points, levers, pending, strict=True):
            metrics = measured_replay(planned, self.settings, one, only=only)
            if waiting is not None:
                self.local_seed_replays += 1
            evaluations.append(self._evaluate(metrics, point, waiting))
        return evaluations

    def replay_all(self, planned: PlannedRun, points: Sequence[FloatArray]) -> list[Evaluation]:
        """Replays at `points` (see `measure`), each recorded as a replay iteration."""
        evaluations = self.measure(planned, points)
        for evaluation in evaluations:
            self.replays += 1
            record = self._make_record(IterationKind.REPLAY, evaluation, None, None)
            self.pending_replays.append(record)
            self._record(record)
        return evaluations

    def replay(self, planned: PlannedRun, point: FloatArray) -> Evaluation:
        return self.replay_all(planned, [point])[0]

    def flush_replays(self) -> None:
        """Store the replays made since the last full simulation (in one insert)."""
        if not self.pending_replays:
            return
        with atomic(self.connection) as connection:
            optimization_store.insert_iterations(
                connection, self.optimization_id, self.pending_replays
            )
            optimization_store.update_progress(
                connection, self.optimization_id, self.simulations, self.replays, len(self.records)
            )
        self.pending_replays = []

    def _fail(self, point: FloatArray, kind: IterationKind, error: Exception) -> None:
        record = IterationRecord(
            iteration=len(self.records),
            kind=IterationKind.FAILED,
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
            optimization_store.insert_iterations(connection, self.optimization_id, [record])
            optimization_store.finish_optimization(
                connection,
                self.optimization_id,
                status=OptimizationStatus.FAILED,
                converged=False,
                best_parameter_set_id=self.best()[1] if self.full else None,
                stop_reason=StopReason.FAILED,
                report={"error": record.error},
            )
        self._record(record)

    def best(self) -> tuple[Evaluation, int, int]:
        return min(self.full, key=lambda item: (not item[0].converged, item[0].cost))


def restore_evaluation(targets: Targets, record: IterationRecord) -> Evaluation:
    """Rebuild a stored full iteration's evaluation from its stored metrics (a robust
    target's statistic: each seed's value is not stored, see `StoringEvaluator.measure`)."""
    components = []
    for target in targets.targets:
        for key, value in record.metrics.items():
            name, _, label = key.partition("@")
            if name == target.name:
                components.append(Component(target, label, value))
    return Evaluation(np.array(record.point, dtype=np.float64), tuple(components))
