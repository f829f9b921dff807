"""Read-only queries the pages display, each in its own short connection.

Cached on ids of immutable data (a run's id and its last year, an optimization's id and
its iteration count), so a new run or iteration is a new key and never a stale figure.
Values are bound as parameters; only fixed column lists are part of the SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from planwise.metrics import RunMetrics
from planwise.storage import runs
from planwise.workspace import Workspace

__all__ = [
    "EVENT_TYPES",
    "STATUS_CODES",
    "EventFilter",
    "by_level",
    "events_page",
    "list_runs",
    "load_by_level",
    "optimization_iteration_records",
    "optimization_iterations",
    "optimization_runs",
    "optimization_version",
    "parameter_sets",
    "run_metrics",
]

STATUS_CODES = (
    "continuous_active",
    "experienced_termination",
    "new_hire_active",
    "new_hire_termination",
)
EVENT_TYPES = ("hire", "termination", "promotion", "merit_increase", "cola")


def _database(database: str) -> Workspace:
    return Workspace(Path(database).parent)


@st.cache_data(max_entries=16, show_spinner=False)
def list_runs(database: str, runs_version: int, limit: int = 200) -> pd.DataFrame:
    """Stored runs, newest first (`runs_version` changes whenever a run is added or extended)."""
    with _database(database).database().connect(read_only=True) as connection:
        return connection.execute(
            """
            SELECT run_id, scenario_id, parameter_set_id, seed, start_year, end_year, purpose,
                   optimization_id, census_id, started_at
            FROM simulation_runs ORDER BY run_id DESC LIMIT ?
            """,
            [limit],
        ).df()


@st.cache_resource(max_entries=16, show_spinner=False)
def run_metrics(database: str, run_id: int, end_year: int) -> RunMetrics:
    """A run's stored metrics (`end_year` keys a continued run's new years)."""
    with _database(database).database().connect(read_only=True) as connection:
        return runs.load_run_metrics(connection, run_id)


def load_by_level(database: str, run_id: int, statuses: tuple[str, ...]) -> pd.DataFrame:
    """Per year and job level, over snapshot rows with the chosen status codes."""
    with _database(database).database().connect(read_only=True) as connection:
        return connection.execute(
            """
            SELECT simulation_year, job_level,
                   count(*) AS employees,
                   avg(annual_salary) AS average_salary,
                   median(annual_salary) AS median_salary,
                   sum(prorated_compensation) AS total_compensation
            FROM fct_workforce_snapshot
            WHERE run_id = ? AND list_contains(?, detailed_status_code)
            GROUP BY simulation_year, job_level
            ORDER BY simulation_year, job_level
            """,
            [run_id, list(statuses)],
        ).df()


@st.cache_data(max_entries=32, show_spinner=False)
def by_level(database: str, run_id: int, end_year: int, statuses: tuple[str, ...]) -> pd.DataFrame:
    """`load_by_level`, cached per run and last year (a continued run is a new key)."""
    return load_by_level(database, run_id, statuses)


@dataclass(frozen=True)
class EventFilter:
    """What the event explorer shows: years, event types and an employee id fragment."""

    years: tuple[int, ...] = ()
    event_types: tuple[str, ...] = ()
    employee_id: str = ""

    def where(self) -> tuple[str, list[object]]:
        clauses = ["run_id = ?"]
        values: list[object] = []
        if self.years:
            clauses.append("list_contains(?, simulation_year)")
            values.append(list(self.years))
        if self.event_types:
            clauses.append("list_contains(?, event_type)")
            values.append(list(self.event_types))
        if self.employee_id.strip():
            clauses.append("contains(lower(employee_id), lower(?))")
            values.append(self.employee_id.strip())
        return " AND ".join(clauses), values


_EVENT_COLUMNS = (
    "simulation_year, employee_id, event_type, effective_date, previous_job_level, "
    "new_job_level, previous_salary, new_salary, merit_rate, performance_rating, "
    "termination_reason"
)


@st.cache_data(max_entries=32, show_spinner=False)
def events_page(
    database: str, run_id: int, end_year: int, chosen: EventFilter, page: int, page_size: int
) -> tuple[pd.DataFrame, int]:
    """One page of `fct_yearly_events` (in event order) and the number of matching events."""
    where, values = chosen.where()
    with _database(database).database().connect(read_only=True) as connection:
        row = connection.execute(
            f"SELECT count(*) FROM fct_yearly_events WHERE {where}", [run_id, *values]
        ).fetchone()
        total = int(row[0]) if row else 0
        frame = connection.execute(
            f"SELECT {_EVENT_COLUMNS} FROM fct_yearly_events WHERE {where} "
            "ORDER BY simulation_year, employee_id, event_sequence LIMIT ? OFFSET ?",
            [run_id, *values, page_size, max(page - 1, 0) * page_size],
        ).df()
    return frame, total


@st.cache_data(max_entries=16, show_spinner=False)
def parameter_sets(
    database: str, latest_parameter_set_id: int | None, active_sets: tuple[tuple[str, int], ...]
) -> pd.DataFrame:
    """Every parameter set, newest first, with the number of lever rows it holds.

    Keyed on the newest set and the active ones: a new set, an apply or a rollback reloads.
    """
    with _database(database).database().connect(read_only=True) as connection:
        return connection.execute(
            """
            SELECT s.parameter_set_id, s.scenario_id, s.is_active, s.parent_id, s.source,
                   s.note, s.created_by, s.created_at, count(l.parameter_set_id) AS lever_rows
            FROM parameter_sets s
            LEFT JOIN comp_levers l USING (parameter_set_id)
            GROUP BY ALL
            ORDER BY s.parameter_set_id DESC
            """
        ).df()


@st.cache_data(max_entries=16, show_spinner=False)
def optimization_runs(
    database: str, latest_optimization_id: int | None, optimizations_version: int
) -> pd.DataFrame:
    """Past optimization runs, newest first (keyed on what changes while one runs)."""
    with _database(database).database().connect(read_only=True) as connection:
        return connection.execute(
            """
            SELECT optimization_id, scenario_id, status, mode, converged, iterations,
                   simulations, replays, start_parameter_set_id, best_parameter_set_id,
                   stop_reason, started_at, finished_at, targets, report
            FROM optimization_runs ORDER BY optimization_id DESC
            """
        ).df()


def optimization_version(row: pd.Series) -> str:
    """What changes while an optimization runs: its iteration count, status and end."""
    return f"{row['iterations']}|{row['status']}|{row['finished_at']}"


def _parsed(text: object) -> dict[str, object]:
    if not isinstance(text, str) or not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _iterations(database: str, optimization_id: int) -> pd.DataFrame:
    with _database(database).database().connect(read_only=True) as connection:
        return connection.execute(
            """
            SELECT iteration, kind, parameter_set_id, run_id, within_tolerance, error,
                   levers, metrics, residuals
            FROM optimization_iterations WHERE optimization_id = ? ORDER BY iteration
            """,
            [optimization_id],
        ).df()


@st.cache_data(max_entries=16, show_spinner=False)
def optimization_iterations(database: str, optimization_id: int, version: str) -> pd.DataFrame:
    """An optimization's iterations with their levers, metrics and residuals spread out.

    `version` (iterations stored, status) changes while a loop adds iterations.
    """
    frame = _iterations(database, optimization_id)
    return spread_json(frame, ("metrics", "residuals", "levers"))


@st.cache_data(max_entries=16, show_spinner=False)
def optimization_iteration_records(
    database: str, optimization_id: int, version: str
) -> list[dict[str, object]]:
    """The iterations as records (the shape of `IterationRecord`), JSON columns parsed."""
    frame = _iterations(database, optimization_id)
    cleaned = frame.astype(object).where(frame.notna(), None)
    records: list[dict[str, object]] = []
    for row in cleaned.to_dict("records"):
        record = {str(key): value for key, value in row.items()}
        for column in ("levers", "metrics", "residuals"):
            record[column] = _parsed(record[column])
        records.append(record)
    return records


def spread_json(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """JSON-object columns spread into `column.key` columns (for display)."""
    parts = [frame.drop(columns=[c for c in columns if c in frame])]
    for column in columns:
        if column in frame:
            spread = pd.DataFrame([_parsed(text) for text in frame[column]], index=frame.index)
            parts.append(spread.add_prefix(f"{column}."))
    return pd.concat(parts, axis=1)
