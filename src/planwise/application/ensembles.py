"""Ensembles: each scenario's active levers under seeds S…S+N−1, fanned out on Dask.

The same seeds for every scenario (common random numbers), so scenarios compare seed by
seed. Each Dask worker receives the starting workforce once (scattered to every worker),
runs whole members and sends back only their metrics; this process is the single DuckDB
writer. A member is a pure function of its inputs, so the results are identical whatever
the number of workers, the order members finish in, or a worker lost and its member run
again. Without a scheduler address a local cluster is started for the call, bound to
127.0.0.1; an address (the request, the workspace's `compute.scheduler`, or
`$PLANWISE_DASK_SCHEDULER`) uses an existing cluster: Kubernetes, Slurm/PBS, ….

`run_ensemble` is three steps, each usable alone: `load_inputs` (one short read),
`compute_members` (on a Dask client) and `record_ensemble` (in the single writer's
transaction). `planwise.application.ensemble_blocks` runs them block by block for an
orchestrator whose tasks must not write the store.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planwise.application.pipeline import NewRun, store_new_run
from planwise.application.progress import (
    ClusterStarted,
    MemberSimulated,
    ProgressListener,
    emit,
)
from planwise.application.workspace import Workspace
from planwise.application.workspaces import current_user
from planwise.config import MAX_SEED, Settings
from planwise.ensemble import (
    HORIZON,
    Band,
    MemberMetrics,
    bands,
    exceedance,
    paired_differences,
    simulate_member,
)
from planwise.errors import UserError
from planwise.metrics import METRICS
from planwise.parameters.levers import DEFAULT_SCENARIO, ResolvedLevers
from planwise.simulation.state import Workforce
from planwise.storage import census_store, ensemble_store, parameter_store
from planwise.storage.database import atomic
from planwise.storage.ensemble_store import EnsembleRecord, MemberRow

if TYPE_CHECKING:
    import duckdb
    from distributed import Client

__all__ = [
    "MAX_SEED",
    "MAX_SEEDS",
    "SCHEDULER_ENV",
    "ComputedMembers",
    "EnsembleInputs",
    "EnsembleRequest",
    "EnsembleResult",
    "ScenarioLevers",
    "Threshold",
    "cluster_for",
    "compute_members",
    "list_ensembles",
    "load_inputs",
    "record_ensemble",
    "run_ensemble",
    "show_ensemble",
]

SCHEDULER_ENV = "PLANWISE_DASK_SCHEDULER"
MAX_SEEDS = 10_000
_CONNECT_SECONDS = 10
_RETRIES = 3  # a member whose worker was lost runs again elsewhere


@dataclass(frozen=True)
class Threshold:
    """P(metric > value): the probability the ensemble puts on exceeding a budget."""

    metric: str
    value: float


@dataclass(frozen=True)
class EnsembleRequest:
    seeds: int
    first_seed: int | None = None
    """Default: the workspace's seed."""
    scenarios: tuple[str, ...] = (DEFAULT_SCENARIO,)
    years: int | None = None
    workers: int | None = None
    """Workers of a local cluster (default: the workspace's compute.workers, else cores)."""
    scheduler: str | None = None
    """An existing Dask cluster's address (default: compute.scheduler, $PLANWISE_DASK_SCHEDULER)."""
    keep_events: int = 0
    """Store the full events of the first K seeds of each scenario (as simulation runs)."""
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble's record, its members, and the spread of every metric."""

    record: EnsembleRecord
    members: tuple[MemberMetrics, ...]
    rows: tuple[MemberRow, ...]
    thresholds: tuple[Threshold, ...] = ()
    dashboard_link: str | None = field(default=None, compare=False)

    @property
    def reference(self) -> str:
        return self.record.scenarios[0]

    def of(self, scenario_id: str) -> list[MemberMetrics]:
        return [member for member in self.members if member.scenario_id == scenario_id]

    def bands(self, scenario_id: str | None = None) -> dict[str, dict[int | str, Band]]:
        """Per metric and year (or `horizon`): mean, P10, P50, P90, min, max."""
        return bands(self.of(scenario_id or self.reference))

    def differences(self, scenario_id: str) -> dict[str, dict[int | str, Band]]:
        """Per metric and year, the band of (scenario − the first scenario), seed by seed."""
        return paired_differences(self.members, self.reference, scenario_id)

    def exceedances(self, scenario_id: str | None = None) -> dict[str, dict[int | str, float]]:
        chosen = self.of(scenario_id or self.reference)
        return {
            f"{threshold.metric}>{threshold.value:g}": exceedance(
                chosen, threshold.metric, threshold.value
            )
            for threshold in self.thresholds
        }

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract of `planwise ensemble --json`."""
        others = self.record.scenarios[1:]
        return {
            "ensemble_id": self.record.ensemble_id,
            "members": len(self.members),
            "scenarios": list(self.record.scenarios),
            "seeds": self.record.seed_list,
            "bands": _bands_dict(self.bands()),
            "scenario_bands": {
                scenario: _bands_dict(self.bands(scenario)) for scenario in self.record.scenarios
            },
            "differences": {
                scenario: _bands_dict(self.differences(scenario)) for scenario in others
            },
            "exceedance": {
                scenario: _periods_dict(self.exceedances(scenario))
                for scenario in self.record.scenarios
            },
            "members_metrics": [
                {
                    "scenario": member.scenario_id,
                    "seed": member.seed,
                    "metrics": {
                        metric: {
                            str(period): member.value(metric, period)
                            for period in _member_periods(member, metric)
                        }
                        for metric in METRICS
                    },
                }
                for member in self.members
            ],
            "timings": dict(self.record.timings),
            "workers": self.record.workers,
            "scheduler": self.record.scheduler,
        }


def _member_periods(member: MemberMetrics, metric: str) -> list[int | str]:
    return sorted(member.per_year) if METRICS[metric].per_year else [HORIZON]


def _bands_dict(table: Mapping[str, Mapping[int | str, Band]]) -> dict[str, Any]:
    return {
        metric: {str(period): band.as_dict() for period, band in periods.items()}
        for metric, periods in table.items()
    }


def _periods_dict(table: Mapping[str, Mapping[int | str, float]]) -> dict[str, Any]:
    return {
        key: {str(period): value for period, value in periods.items()}
        for key, periods in table.items()
    }


def _check(request: EnsembleRequest, first_seed: int, years: int) -> None:
    if not 1 <= request.seeds <= MAX_SEEDS:
        raise UserError(f"--seeds must be between 1 and {MAX_SEEDS:,}, got {request.seeds}.")
    if not 0 <= first_seed <= MAX_SEED + 1 - request.seeds:
        raise UserError(
            f"--first-seed must be between 0 and {MAX_SEED + 1 - request.seeds} (the last "
            f"seed, S+N−1, must not pass {MAX_SEED} = 2**63 − 1, the largest seed the store "
            f"keeps), got {first_seed}."
        )
    if not 1 <= years <= 50:
        raise UserError(f"--years must be between 1 and 50, got {years}.")
    if not request.scenarios or len(set(request.scenarios)) != len(request.scenarios):
        raise UserError("Name each scenario once (--scenario ID, repeated for several).")
    if request.workers is not None and not 1 <= request.workers <= 256:
        raise UserError(f"--workers must be between 1 and 256, got {request.workers}.")
    if not 0 <= request.keep_events <= request.seeds:
        raise UserError(
            f"--keep-events must be between 0 and --seeds ({request.seeds}), "
            f"got {request.keep_events}."
        )
    for threshold in request.thresholds:
        if threshold.metric not in METRICS:
            raise UserError(
                f"--threshold names an unknown metric '{threshold.metric}'; known: "
                f"{', '.join(METRICS)}."
            )
        if not math.isfinite(threshold.value):
            raise UserError(f"--threshold {threshold.metric}: the value must be a number.")


@contextmanager
def _client(
    workers: int, scheduler: str | None, on_progress: ProgressListener | None
) -> Iterator[Client]:
    """A Dask client: of an existing cluster by address, or of a local one started here."""
    from distributed import Client, LocalCluster  # heavy: only when an ensemble runs

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{_CONNECT_SECONDS}s")
        except (OSError, TimeoutError) as error:
            raise UserError(
                f"Could not reach the Dask scheduler at {scheduler} within "
                f"{_CONNECT_SECONDS} s ({type(error).__name__}: {error}). Check the address "
                f"(--scheduler, compute.scheduler in planwise.yaml or ${SCHEDULER_ENV}) and "
                "that the cluster is running, or leave the address out to run on a local "
                "cluster. Nothing was stored."
            ) from None
        try:
            emit(
                on_progress,
                ClusterStarted(len(client.scheduler_info()["workers"]), None, scheduler),
            )
            yield client
        finally:
            client.close()
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        emit(on_progress, ClusterStarted(workers, cluster.dashboard_link, None))
        yield client


@dataclass(frozen=True)
class ScenarioLevers:
    """A scenario's active parameter set resolved for the years, and the default
    scenario's set that filled its gaps (None for `default` itself)."""

    parameter_set_id: int
    resolved: ResolvedLevers
    default_parameter_set_id: int | None


@dataclass(frozen=True)
class EnsembleInputs:
    """What every member starts from, read from the store once: the settings, the active
    census's starting workforce and each scenario's levers."""

    settings: Settings
    census_id: str
    workforce: Workforce
    start_year: int
    years: int
    levers: Mapping[str, ScenarioLevers]


def load_inputs(
    workspace: Workspace, settings: Settings, scenarios: Sequence[str], years: int
) -> EnsembleInputs:
    """The active census and each scenario's active levers (one short read)."""
    start_year = settings.start_year
    with workspace.database(settings).connect(read_only=True) as connection:
        census_id = census_store.active_census_id(connection)
        _, workforce = census_store.load_starting_workforce(connection, census_id)
        levers: dict[str, ScenarioLevers] = {}
        for scenario in scenarios:
            set_id, _, resolved = parameter_store.load_levers(
                connection, settings, scenario, range(start_year, start_year + years)
            )
            default_id = parameter_store.default_set_for(connection, scenario)
            levers[scenario] = ScenarioLevers(set_id, resolved, default_id)
    return EnsembleInputs(settings, census_id, workforce, start_year, years, levers)


def cluster_for(
    settings: Settings, workers: int | None, scheduler: str | None
) -> tuple[int, str | None]:
    """Where members run: the scheduler asked for, else the workspace's (compute.scheduler,
    then $PLANWISE_DASK_SCHEDULER), else a local cluster of `workers` (default: the
    workspace's compute.workers, else the cores)."""
    chosen = scheduler or settings.compute.scheduler or os.environ.get(SCHEDULER_ENV)
    return workers or settings.compute.workers or os.cpu_count() or 1, chosen


ComputedMembers = dict[tuple[str, int], tuple[MemberMetrics, float]]
"""(scenario, seed) → the member and the seconds it took."""


def compute_members(
    client: Client,
    inputs: EnsembleInputs,
    seeds: Sequence[int],
    on_progress: ProgressListener | None = None,
) -> ComputedMembers:
    """Every scenario of `inputs` under every seed, on the client's cluster (the compute
    step): the workforce is scattered to every worker once, each member runs whole on a
    worker and only its metrics come back; a member whose worker is lost runs again."""
    from distributed import as_completed

    shared = client.scatter(inputs.workforce, broadcast=True)
    # Keys unique to this call: a shared cluster may run another ensemble's member of the
    # same scenario and seed (other levers) at the same time.
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            simulate_member,
            shared,
            inputs.settings,
            levers.resolved,
            inputs.start_year,
            inputs.years,
            scenario,
            seed,
            key=f"planwise-member-{scenario}-{seed}-{token}",
            retries=_RETRIES,
        ): (scenario, seed)
        for scenario, levers in inputs.levers.items()
        for seed in seeds
    }
    members: ComputedMembers = {}
    for future in as_completed(futures):
        member, seconds = future.result()
        members[futures[future]] = (member, seconds)
        emit(
            on_progress,
            MemberSimulated(member.scenario_id, member.seed, len(members), len(futures)),
        )
    return members


def record_ensemble(
    connection: duckdb.DuckDBPyConnection,
    *,
    census_id: str,
    parameter_sets: Mapping[str, int],
    first_seed: int,
    seeds: int,
    start_year: int,
    years: int,
    workers: int | None,
    scheduler: str | None,
    timings: Mapping[str, float],
    settings: Settings,
    members: Sequence[MemberMetrics],
    rows: Sequence[MemberRow],
) -> EnsembleRecord:
    """The store step, in the caller's transaction: the ensemble's record, its members and
    their metrics; returns the record as stored."""
    ensemble_id = ensemble_store.insert_ensemble(
        connection,
        census_id=census_id,
        parameter_sets=parameter_sets,
        first_seed=first_seed,
        seeds=seeds,
        start_year=start_year,
        years=years,
        workers=workers,
        scheduler=scheduler,
        timings=timings,
        created_by=current_user(),
        settings=settings,
    )
    ensemble_store.insert_members(connection, ensemble_id, members, rows)
    return ensemble_store.load_ensemble(connection, ensemble_id)


def run_ensemble(
    workspace: Workspace, request: EnsembleRequest, on_progress: ProgressListener | None = None
) -> EnsembleResult:
    """Simulate each scenario's active levers under the same seeds; store the ensemble.

    `MemberSimulated` events count members as they finish; `ClusterStarted` gives the
    dashboard of a local cluster.
    """
    started = time.perf_counter()
    settings = workspace.settings()
    first_seed = settings.seed if request.first_seed is None else request.first_seed
    years = settings.years if request.years is None else request.years
    _check(request, first_seed, years)
    workspace.database(settings).check_writable()  # before the cluster, not after it
    inputs = load_inputs(workspace, settings, request.scenarios, years)
    seeds = list(range(first_seed, first_seed + request.seeds))
    workers, scheduler = cluster_for(settings, request.workers, request.scheduler)
    dashboard: str | None = None
    cluster_started = time.perf_counter()
    with _client(workers, scheduler, on_progress) as client:
        if scheduler is None:
            dashboard = str(client.dashboard_link)
        ready = time.perf_counter()
        members = compute_members(client, inputs, seeds, on_progress)
        computed = time.perf_counter()
    ordered = [members[(scenario, seed)] for scenario in request.scenarios for seed in seeds]
    kept = {
        (scenario, seed) for scenario in request.scenarios for seed in seeds[: request.keep_events]
    }
    with workspace.database(settings).connect() as connection, atomic(connection):
        rows: list[MemberRow] = []
        for member, seconds in ordered:
            levers = inputs.levers[member.scenario_id]
            run_id = None
            if (member.scenario_id, member.seed) in kept:
                run_id = store_new_run(
                    connection,
                    NewRun(
                        scenario_id=member.scenario_id,
                        parameter_set_id=levers.parameter_set_id,
                        census_id=inputs.census_id,
                        workforce=inputs.workforce,
                        settings=settings,
                        levers=levers.resolved,
                        start_year=inputs.start_year,
                        years=years,
                        seed=member.seed,
                        default_parameter_set_id=levers.default_parameter_set_id,
                    ),
                ).run_id
            rows.append(
                MemberRow(member.scenario_id, levers.parameter_set_id, member.seed, run_id, seconds)
            )
        stored = time.perf_counter()
        timings = {
            "cluster_seconds": round(ready - cluster_started, 3),
            "members_seconds": round(computed - ready, 3),
            "member_seconds_median": round(sorted(s for _, s in ordered)[len(ordered) // 2], 4),
            "store_seconds": round(stored - computed, 3),
            "total_seconds": round(stored - started, 3),
        }
        record = record_ensemble(
            connection,
            census_id=inputs.census_id,
            parameter_sets={
                scenario: levers.parameter_set_id for scenario, levers in inputs.levers.items()
            },
            first_seed=first_seed,
            seeds=request.seeds,
            start_year=inputs.start_year,
            years=years,
            workers=None if scheduler is not None else workers,
            scheduler=scheduler,
            timings=timings,
            settings=settings,
            members=[m for m, _ in ordered],
            rows=rows,
        )
    return EnsembleResult(
        record, tuple(m for m, _ in ordered), tuple(rows), request.thresholds, dashboard
    )


def show_ensemble(
    workspace: Workspace, ensemble_id: int, thresholds: Sequence[Threshold] = ()
) -> EnsembleResult:
    """A stored ensemble with its members' metrics (bands are computed from them)."""
    with workspace.database().connect(read_only=True) as connection:
        record = ensemble_store.load_ensemble(connection, ensemble_id)
        rows, members = ensemble_store.load_members(connection, ensemble_id)
    order = {scenario: position for position, scenario in enumerate(record.scenarios)}
    members.sort(key=lambda member: (order[member.scenario_id], member.seed))
    rows.sort(key=lambda row: (order[row.scenario_id], row.seed))
    return EnsembleResult(record, tuple(members), tuple(rows), tuple(thresholds))


def list_ensembles(workspace: Workspace, limit: int = 50) -> list[EnsembleRecord]:
    """The stored ensembles, newest first."""
    with workspace.database().connect(read_only=True) as connection:
        return ensemble_store.list_ensembles(connection, limit)
