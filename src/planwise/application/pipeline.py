"""The one run pipeline: insert the run → simulate year by year while the writer thread
stores each year → compute and store the metrics.

`simulate` (a new run), `continue` (more years of a stored run) and every full simulation
of the tuning loop go through here, in the caller's transaction, so a run is stored whole
or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import duckdb

from planwise.application.progress import ProgressListener, YearSimulated, emit
from planwise.config import Settings
from planwise.metrics import MetricsBuilder, RunMetrics, baseline_summary, summarize
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.engine import PlannedRun, replay, simulate_planned
from planwise.simulation.outputs import SimulationResult, YearOutcome
from planwise.simulation.state import Workforce
from planwise.storage import runs
from planwise.storage.database import atomic

__all__ = [
    "NewRun",
    "RunPurpose",
    "StoredRun",
    "extend_run",
    "store_events_of",
    "store_new_run",
]


class RunPurpose(StrEnum):
    """Why a run was made (`simulation_runs.purpose`)."""

    SIMULATE = "simulate"
    OPTIMIZATION = "optimization"


@dataclass(frozen=True)
class NewRun:
    """Everything a new run is made from."""

    scenario_id: str
    parameter_set_id: int
    census_id: str
    workforce: Workforce
    settings: Settings
    levers: ResolvedLevers
    start_year: int
    years: int
    seed: int
    purpose: RunPurpose = RunPurpose.SIMULATE
    optimization_id: int | None = None
    default_parameter_set_id: int | None = None


@dataclass(frozen=True)
class StoredRun:
    """A run just stored: its id, the simulation (with its plans) and its metrics."""

    run_id: int
    planned: PlannedRun
    metrics: RunMetrics
    engine_seconds: float

    @property
    def result(self) -> SimulationResult:
        return self.planned.result


def _announcing(listener: ProgressListener | None, total: int) -> Callable[[YearOutcome], None]:
    done = 0

    def announce(outcome: YearOutcome) -> None:
        nonlocal done
        done += 1
        emit(listener, YearSimulated(outcome.year, done, total))

    return announce


def _simulate_and_store(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    start_year: int,
    years: int,
    seed: int,
    metrics: MetricsBuilder,
    on_progress: ProgressListener | None,
    keep_plans: bool,
) -> tuple[PlannedRun, RunMetrics, float]:
    """Simulate while a background thread stores each finished year in the caller's
    transaction, and measure each year as it comes: no year is held after it is stored
    and measured. The run (with its plans when asked), its metrics and the seconds the
    engine and the metrics took."""
    started = time.perf_counter()
    announce = _announcing(on_progress, years)
    with runs.writing_years(connection, run_id, start_year, workforce, years) as store_year:

        def on_year(outcome: YearOutcome) -> None:
            store_year(outcome)
            metrics.add(outcome)
            announce(outcome)

        planned = simulate_planned(
            workforce,
            settings,
            levers,
            start_year=start_year,
            years=years,
            seed=seed,
            on_year=on_year,
            keep_outcomes=False,
            keep_plans=keep_plans,
        )
        measured = metrics.finish()
        engine_seconds = time.perf_counter() - started
    return planned, measured, engine_seconds


def store_new_run(
    connection: duckdb.DuckDBPyConnection,
    run: NewRun,
    on_progress: ProgressListener | None = None,
    *,
    keep_plans: bool = False,
    store_events: bool = True,
) -> StoredRun:
    """Insert the run, simulate and store its years, then its metrics (baseline included);
    the run is completed, and visible, only then. With `store_events=False` the run is kept
    as metrics only (`store_events_of` can add its events later, exactly).

    The caller holds the transaction. A large run is committed in parts as it goes
    (`runs.COMMIT_ROWS`), invisible until completed; a failure anywhere removes every part
    of the run, and a part left by a killed process is removed by the next run stored.
    The run's plans are kept only when asked (the tuning loop replays pay on them).
    """
    runs.discard_abandoned(connection)
    run_id = runs.insert_run(
        connection,
        scenario_id=run.scenario_id,
        parameter_set_id=run.parameter_set_id,
        census_id=run.census_id,
        seed=run.seed,
        start_year=run.start_year,
        end_year=run.start_year + run.years - 1,
        settings=run.settings,
        purpose=run.purpose,
        optimization_id=run.optimization_id,
        default_parameter_set_id=run.default_parameter_set_id,
    )
    with runs.in_progress(run_id), _discarded_on_failure(connection, run_id, None):
        if store_events:
            planned, metrics, engine_seconds = _simulate_and_store(
                connection,
                run_id,
                run.workforce,
                run.settings,
                run.levers,
                run.start_year,
                run.years,
                run.seed,
                MetricsBuilder(baseline_summary(run.workforce, run.start_year)),
                on_progress,
                keep_plans,
            )
        else:
            started = time.perf_counter()
            announce = _announcing(on_progress, run.years)
            builder = MetricsBuilder(baseline_summary(run.workforce, run.start_year))

            def measure(outcome: YearOutcome) -> None:
                builder.add(outcome)
                announce(outcome)

            planned = simulate_planned(
                run.workforce,
                run.settings,
                run.levers,
                start_year=run.start_year,
                years=run.years,
                seed=run.seed,
                on_year=measure,
                keep_outcomes=False,
                keep_plans=keep_plans,
            )
            metrics = builder.finish()
            engine_seconds = time.perf_counter() - started
        runs.write_metrics(connection, run_id, metrics, planned.result.years, with_baseline=True)
        runs.complete_run(connection, run_id, events_stored=store_events)
    return StoredRun(run_id, planned, metrics, engine_seconds)


def store_events_of(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    run: NewRun,
    planned: PlannedRun | None = None,
) -> None:
    """Store the events and snapshots of a run kept as metrics only: by an exact pay replay
    on `planned` (any run of the same plans, i.e. the same structural levers), else by
    simulating it again — the same numbers either way (deterministic, tested bit for bit).
    The run is hidden while they are stored and shown again with them; a failure leaves it
    as it was. The caller holds the transaction."""
    runs.begin_events(connection, run_id)
    with (
        runs.in_progress(run_id),
        _discarded_on_failure(connection, run_id, None, events_only=True),
        runs.writing_years(
            connection, run_id, run.start_year, run.workforce, run.years
        ) as store_year,
    ):
        if planned is not None and planned.can_replay(run.levers):
            replay(planned, run.settings, run.levers, on_year=store_year, keep_outcomes=False)
        else:
            simulate_planned(
                run.workforce,
                run.settings,
                run.levers,
                start_year=run.start_year,
                years=run.years,
                seed=run.seed,
                on_year=store_year,
                keep_outcomes=False,
                keep_plans=False,
            )
    runs.complete_run(connection, run_id, events_stored=True)


def extend_run(
    connection: duckdb.DuckDBPyConnection,
    record: runs.RunRecord,
    levers: ResolvedLevers,
    years: int,
    on_progress: ProgressListener | None = None,
) -> StoredRun:
    """Simulate `years` more years of a stored run from its stored year-end state.

    The run's own settings and seed are used; the result is identical to having simulated
    all the years in one call. The caller holds the transaction; the new years are
    visible once all are stored (the run's end year moves last), see `store_new_run`.
    """
    runs.discard_abandoned(connection)
    first = record.end_year + 1
    workforce = runs.load_year_end_workforce(connection, record.run_id, record.end_year)
    stored = runs.load_run_metrics(connection, record.run_id)
    continued = MetricsBuilder(
        stored.baseline,
        previous=summarize(record.end_year, stored.per_year[record.end_year]),
        earlier_years=stored.per_year.items(),
    )
    runs.begin_extension(connection, record.run_id, first + years - 1)
    with (
        runs.in_progress(record.run_id),
        _discarded_on_failure(connection, record.run_id, record.end_year),
    ):
        planned, metrics, engine_seconds = _simulate_and_store(
            connection,
            record.run_id,
            workforce,
            record.settings,
            levers,
            first,
            years,
            record.seed,
            continued,
            on_progress,
            keep_plans=False,
        )
        runs.write_metrics(
            connection, record.run_id, metrics, planned.result.years, with_baseline=False
        )
        runs.append_years(connection, record.run_id, first + years - 1)
    return StoredRun(record.run_id, planned, metrics, engine_seconds)


@contextmanager
def _discarded_on_failure(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    after_year: int | None,
    *,
    events_only: bool = False,
) -> Iterator[None]:
    """On a failure, remove what the run stored — parts already committed included — in a
    transaction of its own, then leave a fresh transaction for the caller to roll back."""
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        with atomic(connection):
            runs.discard_run(connection, run_id, after_year, events_only=events_only)
        connection.execute("BEGIN TRANSACTION")
        raise
