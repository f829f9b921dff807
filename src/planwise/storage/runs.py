"""Simulation runs: the run row, the event log, year-end snapshots and metrics, via Arrow."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
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
    SimulationResult,
    YearOutcome,
)
from planwise.simulation.state import Workforce
from planwise.storage.database import insert_frame

__all__ = [
    "RunRecord",
    "append_years",
    "insert_run",
    "list_runs",
    "load_run",
    "load_run_metrics",
    "load_year_end_workforce",
    "write_outcomes",
]

_EVENT_TYPES = pa.array(EVENT_TYPE_NAMES, pa.string())
_STATUS_CODES = pa.array(STATUS_CODE_NAMES, pa.string())
_REASONS = pa.array(TERMINATION_REASON_NAMES, pa.string())
_EMPLOYMENT_STATUS = pa.array(["active", "terminated", "active", "terminated"], pa.string())


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

    @property
    def settings(self) -> Settings:
        """The simulation settings the run was made with (not today's planwise.yaml)."""
        return Settings.model_validate_json(self.settings_json)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _dictionary(codes: np.ndarray, names: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names)


def _nullable(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, mask=missing)


def _event_table(run_id: int, outcome: YearOutcome) -> pa.Table:
    events = outcome.events
    size = len(events)
    is_hire = events.event_type == EventType.HIRE
    return pa.table(
        {
            "event_id": pa.array(events.event_id),
            "run_id": pa.array(np.full(size, run_id, dtype=np.int32)),
            "simulation_year": pa.array(np.full(size, outcome.year, dtype=np.int32)),
            "employee_id": pa.DictionaryArray.from_arrays(
                pa.array(events.employee_index.astype(np.int32)),
                pa.array(events.population_ids, pa.string()),
            ),
            "event_type": _dictionary(events.event_type, _EVENT_TYPES),
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
            "termination_reason": pa.DictionaryArray.from_arrays(
                pa.array(
                    events.termination_reason.astype(np.int32), mask=events.termination_reason == 0
                ),
                _REASONS,
            ),
            "hazard_weight": _nullable(events.hazard_weight, np.isnan(events.hazard_weight)),
        }
    )


def _snapshot_table(run_id: int, outcome: YearOutcome) -> pa.Table:
    snapshot = outcome.snapshot
    size = len(snapshot)
    gender = snapshot.gender
    return pa.table(
        {
            "run_id": pa.array(np.full(size, run_id, dtype=np.int32)),
            "simulation_year": pa.array(np.full(size, outcome.year, dtype=np.int32)),
            "employee_id": pa.array(snapshot.employee_id, pa.string()),
            "birth_date": pa.array(snapshot.birth_date),
            "hire_date": pa.array(snapshot.hire_date),
            "termination_date": pa.array(snapshot.termination_date),
            "start_job_level": pa.array(snapshot.start_job_level.astype(np.int32)),
            "job_level": pa.array(snapshot.job_level.astype(np.int32)),
            "start_annual_salary": pa.array(snapshot.start_annual_salary),
            "annual_salary": pa.array(snapshot.annual_salary),
            "prorated_compensation": pa.array(snapshot.prorated_compensation),
            "employment_status": _dictionary(snapshot.status_code, _EMPLOYMENT_STATUS),
            "detailed_status_code": _dictionary(snapshot.status_code, _STATUS_CODES),
            "gender": pa.array(gender, pa.string(), mask=gender == ""),
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
    """Insert the run row (status `completed`; the caller's transaction makes it atomic).

    `default_parameter_set_id` is the default scenario's set that filled the gaps of
    another scenario's levers, so a continued run resolves them the same way.
    """
    (run_id,) = connection.execute("SELECT nextval('run_id_seq')").fetchone()  # type: ignore[misc]
    now = _now()
    connection.execute(
        "INSERT INTO simulation_runs VALUES "
        "(?, ?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            scenario_id,
            parameter_set_id,
            census_id,
            seed,
            start_year,
            end_year,
            now,
            now,
            __version__,
            settings.model_dump_json(),
            purpose,
            optimization_id,
            default_parameter_set_id,
        ],
    )
    return int(run_id)


def write_outcomes(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    result: SimulationResult,
    metrics: RunMetrics,
    *,
    with_baseline: bool,
) -> None:
    """Events, snapshots and metrics of the result's years, plus the baseline row if asked."""
    for outcome in result.outcomes:
        insert_frame(connection, "fct_yearly_events", _event_table(run_id, outcome))
        insert_frame(connection, "fct_workforce_snapshot", _snapshot_table(run_id, outcome))
    rows = _metric_rows(run_id, metrics, list(result.years))
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


def append_years(connection: duckdb.DuckDBPyConnection, run_id: int, end_year: int) -> None:
    connection.execute(
        "UPDATE simulation_runs SET end_year = ?, finished_at = ? WHERE run_id = ?",
        [end_year, _now(), run_id],
    )


_RUN_COLUMNS = (
    "run_id, scenario_id, parameter_set_id, census_id, seed, start_year, end_year, status, "
    "started_at, finished_at, purpose, optimization_id, default_parameter_set_id, settings_json"
)


def load_run(connection: duckdb.DuckDBPyConnection, run_id: int) -> RunRecord:
    row = connection.execute(
        f"SELECT {_RUN_COLUMNS} FROM simulation_runs WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        raise UserError(f"There is no simulation run {run_id}. 'planwise results' lists the runs.")
    return RunRecord(*row)


def list_runs(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[RunRecord]:
    rows = connection.execute(
        f"SELECT {_RUN_COLUMNS} FROM simulation_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
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
        """
        SELECT employee_id, birth_date, hire_date, job_level, annual_salary,
               coalesce(gender, '') AS gender
        FROM fct_workforce_snapshot
        WHERE run_id = ? AND simulation_year = ? AND employment_status = 'active'
        ORDER BY rowid  -- insertion order is the engine's order: sums stay bit-identical
        """,
        [run_id, year],
    ).fetchnumpy()
    return Workforce.build(
        employee_id=np.asarray(columns["employee_id"], dtype=object),
        birth_date=np.asarray(columns["birth_date"]).astype("datetime64[D]"),
        hire_date=np.asarray(columns["hire_date"]).astype("datetime64[D]"),
        job_level=np.asarray(columns["job_level"], dtype=np.int64),
        annual_salary=np.asarray(columns["annual_salary"], dtype=np.float64),
        gender=np.asarray(columns["gender"], dtype=object),
    )
