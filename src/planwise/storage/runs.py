"""Simulation runs: the run row, the event log, year-end snapshots and metrics, via Arrow."""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from planwise import __version__
from planwise.config import Settings
from planwise.errors import UserError
from planwise.metrics import RunMetrics, summarize
from planwise.simulation.outputs import (
    EVENT_TYPE_NAMES,
    STATUS_CODE_NAMES,
    TERMINATION_REASON_NAMES,
    EventType,
    TerminationReason,
    YearOutcome,
    YearSnapshot,
)
from planwise.simulation.state import Workforce
from planwise.storage.database import WRITE_ROW_GROUP_SIZE, insert_frame
from planwise.storage.schema import IS_ACTIVE

__all__ = [
    "COMMIT_ROWS",
    "RunRecord",
    "RunStatus",
    "YearWriter",
    "append_years",
    "begin_events",
    "begin_extension",
    "complete_run",
    "discard_abandoned",
    "discard_run",
    "in_progress",
    "insert_run",
    "list_runs",
    "load_run",
    "load_run_metrics",
    "load_year_end_workforce",
    "metrics_only",
    "write_metrics",
    "writing_years",
]


@functools.cache
def _names(names: tuple[str, ...]) -> pa.Array:
    """The dictionary of an ENUM column. Built on first use, not on import: pyarrow imports
    pandas the first time it builds an array, which a command that only reads runs (e.g.
    `planwise results`) should not pay for."""
    return pa.array(names, pa.string())


_RUN_TABLES = ("simulation_hires", "simulation_events", "simulation_snapshots")


class RunStatus(StrEnum):
    """A run is `writing` until its last year and its metrics are stored, then
    `completed`; readers (the contract views, the run lists) see completed runs only."""

    WRITING = "writing"
    COMPLETED = "completed"


# Runs this process is writing now (any thread): never taken for abandoned ones.
_WRITING: set[int] = set()
_WRITING_LOCK = threading.Lock()

COMMIT_ROWS = 4_000_000
"""A large run is committed in parts, each after about this many rows (events, snapshot
rows, hires): DuckDB keeps a transaction's appended rows in memory until it commits, a
million employees over ten years are some 37 million rows (several GB). Smaller runs go
in one transaction. Until the run is completed its parts are invisible to readers, and a
part left by a run that failed or was killed is removed (`discard_abandoned`)."""


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    scenario_id: str
    parameter_set_id: int
    census_id: str
    seed: int
    start_year: int
    end_year: int
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    purpose: str
    optimization_id: int | None
    default_parameter_set_id: int | None
    settings_json: str
    events_stored: bool = True
    """False for a run kept as metrics only (a tuning loop's intermediate simulations)."""

    @property
    def settings(self) -> Settings:
        """The simulation settings the run was made with (not today's planwise.yaml)."""
        return Settings.model_validate_json(self.settings_json)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _dictionary(codes: np.ndarray, names: pa.Array, missing: np.ndarray | None = None) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=missing), names)


def _nullable(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, mask=missing)


def _constant(value: int, size: int) -> pa.Array:
    return pa.array(np.full(size, value, dtype=np.int32))


@dataclass
class _EmployeeKeys:
    """Each run numbers its employees 0, 1, 2, … in the engine's order: the starting
    workforce first, then each year's hires. A year's population is last year's actives
    followed by the year's hires, so keys ascend through every population and workforce,
    and ordering by key restores the engine's order exactly."""

    workforce: npt.NDArray[np.int32]  # keys of the workforce the next year starts from
    next_key: int

    def population(self, snapshot: YearSnapshot) -> npt.NDArray[np.int32]:
        """Keys of a year's population (its snapshot rows); advances to the year-end workforce."""
        hires = len(snapshot) - len(self.workforce)
        keys = np.concatenate(
            [self.workforce, np.arange(self.next_key, self.next_key + hires, dtype=np.int32)]
        )
        self.next_key += hires
        self.workforce = keys[snapshot.is_active]
        return keys


def _hire_table(
    run_id: int, keys: npt.NDArray[np.int32], snapshot: YearSnapshot, rows: slice
) -> pa.Table:
    gender = snapshot.gender[rows]
    return pa.table(
        {
            "run_id": _constant(run_id, len(keys)),
            "employee_key": pa.array(keys),
            "employee_id": pa.array(snapshot.employee_id[rows], pa.string()),
            "birth_date": pa.array(snapshot.birth_date[rows]),
            "hire_date": pa.array(snapshot.hire_date[rows]),
            "gender": pa.array(gender, pa.string(), mask=gender == ""),
        }
    )


def _event_table(run_id: int, outcome: YearOutcome, keys: npt.NDArray[np.int32]) -> pa.Table:
    events = outcome.events
    size = len(events)
    is_hire = events.event_type == EventType.HIRE
    return pa.table(
        {
            "event_id": pa.array(events.event_id),
            "run_id": _constant(run_id, size),
            "simulation_year": _constant(outcome.year, size),
            "employee_key": pa.array(keys[events.employee_index]),
            "event_type": _dictionary(events.event_type, _names(EVENT_TYPE_NAMES)),
            "event_sequence": pa.array(events.event_sequence.astype(np.int32)),
            "effective_date": pa.array(events.effective_date),
            "previous_job_level": _nullable(events.previous_job_level.astype(np.int32), is_hire),
            "new_job_level": pa.array(events.new_job_level.astype(np.int32)),
            "previous_salary": _nullable(events.previous_salary, is_hire),
            "new_salary": pa.array(events.new_salary),
            "merit_rate": _nullable(events.merit_rate, np.isnan(events.merit_rate)),
            "performance_rating": _nullable(
                events.performance_rating.astype(np.int32), events.performance_rating == 0
            ),
            "termination_reason": _dictionary(
                np.maximum(events.termination_reason - 1, 0),
                _names(TERMINATION_REASON_NAMES[1:]),  # code 0 is "none": NULL
                events.termination_reason == TerminationReason.NONE,
            ),
            "hazard_weight": _nullable(events.hazard_weight, np.isnan(events.hazard_weight)),
        }
    )


def _snapshot_table(run_id: int, outcome: YearOutcome, keys: npt.NDArray[np.int32]) -> pa.Table:
    snapshot = outcome.snapshot
    size = len(snapshot)
    return pa.table(
        {
            "run_id": _constant(run_id, size),
            "simulation_year": _constant(outcome.year, size),
            "employee_key": pa.array(keys),
            "termination_date": pa.array(snapshot.termination_date),
            "start_job_level": pa.array(snapshot.start_job_level.astype(np.int32)),
            "job_level": pa.array(snapshot.job_level.astype(np.int32)),
            "start_annual_salary": pa.array(snapshot.start_annual_salary),
            "annual_salary": pa.array(snapshot.annual_salary),
            "prorated_compensation": pa.array(snapshot.prorated_compensation),
            "detailed_status_code": _dictionary(snapshot.status_code, _names(STATUS_CODE_NAMES)),
        }
    )


def _metric_rows(run_id: int, metrics: RunMetrics, years: list[int]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for year in years:
        rows.extend(
            (run_id, year, name, _finite(value)) for name, value in metrics.per_year[year].items()
        )
    return rows


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def insert_run(
    connection: duckdb.DuckDBPyConnection,
    *,
    scenario_id: str,
    parameter_set_id: int,
    census_id: str,
    seed: int,
    start_year: int,
    end_year: int,
    settings: Settings,
    purpose: str = "simulate",
    optimization_id: int | None = None,
    default_parameter_set_id: int | None = None,
) -> int:
    """Insert the run row, `writing` until `complete_run` (the caller's transaction holds
    both unless the run is large enough to be committed in parts, see `COMMIT_ROWS`).

    `default_parameter_set_id` is the default scenario's set that filled the gaps of
    another scenario's levers, so a continued run resolves them the same way.
    """
    (run_id,) = connection.execute("SELECT nextval('run_id_seq')").fetchone()  # type: ignore[misc]
    now = _now()
    connection.execute(
        "INSERT INTO simulation_runs (run_id, scenario_id, parameter_set_id, census_id, seed, "
        "start_year, end_year, status, started_at, finished_at, code_version, settings_json, "
        "purpose, optimization_id, default_parameter_set_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            scenario_id,
            parameter_set_id,
            census_id,
            seed,
            start_year,
            end_year,
            RunStatus.WRITING,
            now,
            None,
            __version__,
            settings.model_dump_json(),
            purpose,
            optimization_id,
            default_parameter_set_id,
        ],
    )
    return int(run_id)


class YearWriter:
    """Stores a run's years, one `YearOutcome` at a time, in the caller's transaction.

    A new run's starting workforce has the keys 0…N-1 (the census's `workforce_key`); a
    continued run picks up the keys of its stored year-end workforce. Each year's hires
    get the next keys and are stored in `simulation_hires`.

    Rows are held back and inserted in whole row groups, at least two at a time: DuckDB
    compresses each insert's row groups on its own, so small inserts (one a year) leave
    part-filled row groups to compress at commit, which costs more than the whole insert
    (measured on a 10,000-employee five-year run: 0.16 s of DuckDB time in inserts of two
    or more row groups, 0.25 s in one insert a year). `finish` inserts the rest.
    """

    row_group_size = WRITE_ROW_GROUP_SIZE
    commit_rows = COMMIT_ROWS

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        run_id: int,
        start_year: int,
        starting_workforce: Workforce,
    ) -> None:
        self.connection = connection
        self.run_id = run_id
        self._held: dict[str, list[pa.Table]] = {table: [] for table in _RUN_TABLES}
        self._uncommitted = 0
        self.parts_committed = 0
        keys = self._continued_keys(start_year, len(starting_workforce))
        if keys is None:
            size = len(starting_workforce)
            keys = _EmployeeKeys(np.arange(size, dtype=np.int32), size)
        self.keys = keys

    def _continued_keys(self, start_year: int, size: int) -> _EmployeeKeys | None:
        """The keys of the stored workforce at the end of the year before `start_year`
        (None if the run has no stored years yet)."""
        ((next_key,),) = self.connection.execute(
            "SELECT max(employee_key) + 1 FROM simulation_snapshots WHERE run_id = ?",
            [self.run_id],
        ).fetchall()
        if next_key is None:
            return None
        workforce = self.connection.execute(
            f"""SELECT employee_key FROM simulation_snapshots
            WHERE run_id = ? AND simulation_year = ? AND {IS_ACTIVE}
            ORDER BY employee_key""",
            [self.run_id, start_year - 1],
        ).fetchnumpy()["employee_key"]
        if len(workforce) != size:
            raise ValueError(
                f"run {self.run_id} has {len(workforce)} employees at the end of "
                f"{start_year - 1}; the continuation starts from {size}"
            )
        return _EmployeeKeys(np.asarray(workforce, dtype=np.int32), int(next_key))

    def _add(self, table_name: str, rows: pa.Table) -> None:
        held = self._held[table_name]
        held.append(rows)
        count = sum(len(part) for part in held)
        if count >= 2 * self.row_group_size:
            rows = pa.concat_tables(held)
            whole_groups = count // self.row_group_size * self.row_group_size
            insert_frame(self.connection, table_name, rows.slice(0, whole_groups))
            held[:] = [rows.slice(whole_groups)]
            self._uncommitted += whole_groups
            if self._uncommitted >= self.commit_rows:
                # A part of a large run: its run row says `writing` (or `pending_end_year`
                # for a continuation), so readers do not see it until it is completed.
                self.connection.execute("COMMIT")
                self.connection.execute("BEGIN TRANSACTION")
                self._uncommitted = 0
                self.parts_committed += 1

    def write(self, outcome: YearOutcome) -> None:
        """Store a year; years must come in order."""
        known = len(self.keys.workforce)
        population = self.keys.population(outcome.snapshot)
        hired = slice(known, None)
        hires = _hire_table(self.run_id, population[hired], outcome.snapshot, hired)
        self._add("simulation_hires", hires)
        self._add("simulation_events", _event_table(self.run_id, outcome, population))
        self._add("simulation_snapshots", _snapshot_table(self.run_id, outcome, population))

    def finish(self) -> None:
        """Insert the rows still held back."""
        for table_name, held in self._held.items():
            if held:
                insert_frame(self.connection, table_name, pa.concat_tables(held))
                held.clear()


@contextmanager
def writing_years(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    start_year: int,
    starting_workforce: Workforce,
    years: int,
) -> Iterator[Callable[[YearOutcome], None]]:
    """Store each year on a background thread while the caller simulates the next.

    Yields the function to hand each of the `years` `YearOutcome`s to (the engine's
    `on_year`). DuckDB releases the GIL while it compresses and writes, so on two cores
    storing a year costs little more than simulating it. Once the last year is handed
    over, the rows still held back are inserted (`YearWriter.finish`) while the caller
    goes on, e.g. with the run's metrics. The caller must not use `connection` inside
    the block. On leaving, waits for everything to be stored and raises the first storage
    error; if the block raised, waits for the year being stored and drops the rest.

    At most one year waits behind the one being stored: handing over a year first waits
    for the year before the previous one. The engine outruns the writer at scale, and a
    queue of whole years would hold them all in memory (a million employees: ~0.5 GB a
    year).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="planwise-store") as executor:
        made = executor.submit(YearWriter, connection, run_id, start_year, starting_workforce)
        pending: list[Future[Any]] = [made]

        def finish() -> None:
            pending.append(executor.submit(lambda: made.result().finish()))

        def store(outcome: YearOutcome) -> None:
            if len(pending) >= 3:
                pending[-2].result()  # backpressure: one year queued at most
            pending.append(executor.submit(lambda: made.result().write(outcome)))
            if len(pending) == 1 + years:
                finish()  # the last year: what is held back goes in now

        try:
            yield store
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finish()  # nothing is left unless the years handed over were not those announced
        for future in pending:
            future.result()


def write_metrics(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    metrics: RunMetrics,
    years: tuple[int, ...],
    *,
    with_baseline: bool,
) -> None:
    """The metrics of `years` and the horizon (replacing a continued run's), and the
    baseline year's if asked."""
    rows = _metric_rows(run_id, metrics, list(years))
    if with_baseline:
        base = metrics.baseline
        rows.extend(
            (run_id, base.year, name, value)
            for name, value in (
                ("headcount", float(base.headcount)),
                ("total_compensation_cost", base.total_compensation_cost),
                ("average_salary", base.average_salary),
                ("median_salary", base.median_salary),
            )
        )
    connection.execute(
        "DELETE FROM simulation_metrics WHERE run_id = ? AND simulation_year IS NULL", [run_id]
    )
    rows.extend((run_id, None, name, _finite(value)) for name, value in metrics.horizon.items())
    run_ids, years, names, values = zip(*rows, strict=True)
    metric_table = pa.table(
        {
            "run_id": pa.array(run_ids, pa.int32()),
            "simulation_year": pa.array(years, pa.int32()),
            "metric_name": pa.array(names, pa.string()),
            "metric_value": pa.array(values, pa.float64()),
        }
    )
    insert_frame(connection, "simulation_metrics", metric_table)


def complete_run(
    connection: duckdb.DuckDBPyConnection, run_id: int, *, events_stored: bool = True
) -> None:
    """A new run's last year and metrics are stored (its events too, unless kept as
    metrics only): readers see it from now on."""
    connection.execute(
        "UPDATE simulation_runs SET status = ?, finished_at = ?, events_stored = ? "
        "WHERE run_id = ?",
        [RunStatus.COMPLETED, _now(), events_stored, run_id],
    )


def metrics_only(connection: duckdb.DuckDBPyConnection, run_ids: Sequence[int]) -> set[int]:
    """Which of the runs are kept as metrics only (no events stored)."""
    rows = connection.execute(
        "SELECT run_id FROM simulation_runs WHERE list_contains(?, run_id) "
        "AND NOT coalesce(events_stored, true)",
        [list(run_ids)],
    ).fetchall()
    return {int(run_id) for (run_id,) in rows}


def begin_events(connection: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """A completed run kept as metrics only gets its events now: hidden while they are
    stored (large runs commit in parts), shown again by `complete_run`."""
    connection.execute(
        "UPDATE simulation_runs SET status = ? WHERE run_id = ?", [RunStatus.WRITING, run_id]
    )


def begin_extension(connection: duckdb.DuckDBPyConnection, run_id: int, end_year: int) -> None:
    """A completed run is being continued to `end_year`: the years after its current end
    stay invisible (the views stop at `end_year`) until `append_years`."""
    connection.execute(
        "UPDATE simulation_runs SET pending_end_year = ? WHERE run_id = ?", [end_year, run_id]
    )


def append_years(connection: duckdb.DuckDBPyConnection, run_id: int, end_year: int) -> None:
    """A continuation's years and metrics are stored: the run now ends at `end_year`."""
    connection.execute(
        "UPDATE simulation_runs SET end_year = ?, pending_end_year = NULL, finished_at = ? "
        "WHERE run_id = ?",
        [end_year, _now(), run_id],
    )


@contextmanager
def in_progress(run_id: int) -> Iterator[None]:
    """Mark a run as written by this process while the block runs (`discard_abandoned`
    leaves it alone)."""
    with _WRITING_LOCK:
        _WRITING.add(run_id)
    try:
        yield
    finally:
        with _WRITING_LOCK:
            _WRITING.discard(run_id)


def discard_run(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    after_year: int | None = None,
    *,
    events_only: bool = False,
) -> None:
    """Remove what a run that did not complete left: all of a new run, a continuation's
    years after `after_year` (the run's last completed year), or (`events_only`) the
    events being added to a run kept as metrics only, which then shows again."""
    if events_only:
        for table in _RUN_TABLES:
            connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        complete_run(connection, run_id, events_stored=False)
        return
    if after_year is None:
        for table in (*_RUN_TABLES, "simulation_metrics"):
            connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        connection.execute("DELETE FROM simulation_runs WHERE run_id = ?", [run_id])
        return
    for table in ("simulation_events", "simulation_snapshots"):
        connection.execute(
            f"DELETE FROM {table} WHERE run_id = ? AND simulation_year > ?", [run_id, after_year]
        )
    connection.execute(
        "DELETE FROM simulation_hires WHERE run_id = ? AND year(hire_date) > ?",
        [run_id, after_year],
    )
    connection.execute(
        "DELETE FROM simulation_metrics WHERE run_id = ? AND simulation_year > ?",
        [run_id, after_year],
    )
    connection.execute(
        "UPDATE simulation_runs SET pending_end_year = NULL WHERE run_id = ?", [run_id]
    )


def discard_abandoned(connection: duckdb.DuckDBPyConnection) -> list[int]:
    """Remove the parts of runs that never completed — a run or a continuation that
    failed or whose process was killed after part of it was committed — except those this
    process is writing now. Returns the runs cleaned (usually none: a cheap check)."""
    with _WRITING_LOCK:
        active = sorted(_WRITING)
    rows = connection.execute(
        "SELECT run_id, CASE WHEN status = ? THEN NULL ELSE end_year END, "
        "status = ? AND finished_at IS NOT NULL FROM simulation_runs "
        "WHERE (status = ? OR pending_end_year IS NOT NULL) AND NOT list_contains(?, run_id)",
        [RunStatus.WRITING, RunStatus.WRITING, RunStatus.WRITING, active],
    ).fetchall()
    for run_id, after_year, was_completed in rows:
        # A run completed before (finished_at set) was getting its events: keep the run.
        discard_run(
            connection,
            int(run_id),
            None if after_year is None else int(after_year),
            events_only=bool(was_completed),
        )
    return [int(run_id) for run_id, _, _ in rows]


_RUN_COLUMNS = (
    "run_id, scenario_id, parameter_set_id, census_id, seed, start_year, end_year, status, "
    "started_at, finished_at, purpose, optimization_id, default_parameter_set_id, settings_json, "
    "coalesce(events_stored, true)"
)


def load_run(connection: duckdb.DuckDBPyConnection, run_id: int) -> RunRecord:
    row = connection.execute(
        f"SELECT {_RUN_COLUMNS} FROM simulation_runs WHERE run_id = ? AND status = ?",
        [run_id, RunStatus.COMPLETED],
    ).fetchone()
    if row is None:
        raise UserError(f"There is no simulation run {run_id} in this workspace.")
    return RunRecord(*row)


def list_runs(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[RunRecord]:
    rows = connection.execute(
        f"SELECT {_RUN_COLUMNS} FROM simulation_runs WHERE status = ? ORDER BY run_id DESC LIMIT ?",
        [RunStatus.COMPLETED, limit],
    ).fetchall()
    return [RunRecord(*row) for row in rows]


def load_run_metrics(connection: duckdb.DuckDBPyConnection, run_id: int) -> RunMetrics:
    """The stored metrics of a run: baseline, per year and horizon."""
    run = load_run(connection, run_id)
    rows = connection.execute(
        "SELECT simulation_year, metric_name, metric_value FROM simulation_metrics "
        "WHERE run_id = ?",
        [run_id],
    ).fetchall()
    per_year: dict[int, dict[str, float]] = {}
    horizon: dict[str, float] = {}
    baseline_values: dict[str, float] = {}
    for year, name, value in rows:
        number = math.nan if value is None else float(value)
        if year is None:
            horizon[name] = number
        elif year == run.start_year - 1:
            baseline_values[name] = number
        else:
            per_year.setdefault(int(year), {})[name] = number
    return RunMetrics(summarize(run.start_year - 1, baseline_values), per_year, horizon)


def load_year_end_workforce(
    connection: duckdb.DuckDBPyConnection, run_id: int, year: int
) -> Workforce:
    """The actives at Dec 31 of a stored year: exactly the state the engine carried forward."""
    columns = connection.execute(
        f"""
        SELECT employee.employee_id, employee.birth_date, employee.hire_date,
               snapshot.job_level, snapshot.annual_salary,
               coalesce(employee.gender, '') AS gender
        FROM simulation_snapshots AS snapshot
        JOIN simulation_employees AS employee USING (run_id, employee_key)
        WHERE run_id = ? AND snapshot.simulation_year = ? AND {IS_ACTIVE}
        ORDER BY employee_key  -- the engine's order: sums stay bit-identical
        """,
        [run_id, year],
    ).fetchnumpy()
    return Workforce.from_columns(columns)
