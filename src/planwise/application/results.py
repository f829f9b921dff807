"""Stored runs: their metrics, two runs compared, the workforce by level, the event log."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from planwise.application.workspace import Workspace
from planwise.errors import UserError
from planwise.metrics import METRICS, RunMetrics
from planwise.simulation.outputs import EVENT_TYPE_NAMES, STATUS_CODE_NAMES
from planwise.storage import runs
from planwise.storage.runs import RunRecord

__all__ = [
    "ComparisonRow",
    "EventsPage",
    "EventsQuery",
    "RunComparison",
    "RunRecord",
    "RunResults",
    "Table",
    "compare_runs",
    "events_page",
    "list_runs",
    "run_results",
    "workforce_by_level",
]


@dataclass(frozen=True)
class Table:
    """Rows of a read model with their column names (a shell makes a frame or a table)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class RunResults:
    run: RunRecord
    metrics: RunMetrics


def list_runs(workspace: Workspace, limit: int = 200) -> list[RunRecord]:
    """Stored runs, newest first."""
    with workspace.database().connect(read_only=True) as connection:
        return runs.list_runs(connection, limit)


def run_results(workspace: Workspace, run_id: int | None = None) -> RunResults:
    """A stored run (default: the latest) and its metrics per year and over the horizon."""
    with workspace.database().connect(read_only=True) as connection:
        if run_id is None:
            latest = runs.list_runs(connection, limit=1)
            if not latest:
                raise UserError("There are no runs yet. Run 'planwise simulate' first.")
            run_id = latest[0].run_id
        return RunResults(
            runs.load_run(connection, run_id), runs.load_run_metrics(connection, run_id)
        )


@dataclass(frozen=True)
class ComparisonRow:
    """One metric in one year (None: the horizon) of two runs, and the difference B − A."""

    year: int | None
    metric: str
    run_a: float
    run_b: float

    @property
    def difference(self) -> float:
        return self.run_b - self.run_a


@dataclass(frozen=True)
class RunComparison:
    run_a: int
    run_b: int
    rows: tuple[ComparisonRow, ...]


def compare_runs(workspace: Workspace, run_a: int, run_b: int) -> RunComparison:
    """Each §7 metric per shared year for both runs, and the horizon figures."""
    with workspace.database().connect(read_only=True) as connection:
        first = runs.load_run_metrics(connection, run_a)
        second = runs.load_run_metrics(connection, run_b)
    years = [year for year in first.years if year in second.per_year]
    if not years:
        raise UserError(
            f"Runs {run_a} ({_span(first.years)}) and {run_b} ({_span(second.years)}) share no "
            "simulated year, so there is nothing to compare year by year."
        )
    rows = [
        ComparisonRow(
            year,
            name,
            first.per_year[year].get(name, math.nan),
            second.per_year[year].get(name, math.nan),
        )
        for year in years
        for name, spec in METRICS.items()
        if spec.per_year
    ]
    rows.extend(
        ComparisonRow(
            None, name, first.horizon.get(name, math.nan), second.horizon.get(name, math.nan)
        )
        for name in dict.fromkeys([*first.horizon, *second.horizon])
    )
    return RunComparison(run_a, run_b, tuple(rows))


def _span(years: list[int]) -> str:
    return f"{years[0]}–{years[-1]}" if years else "no years"


def workforce_by_level(
    workspace: Workspace, run_id: int, statuses: Sequence[str] = STATUS_CODE_NAMES
) -> Table:
    """Per year and job level over the snapshot rows with the chosen status codes:
    employees, average and median salary, total compensation."""
    unknown = sorted(set(statuses) - set(STATUS_CODE_NAMES))
    if unknown:
        raise UserError(
            f"Unknown status code(s) {', '.join(unknown)}; known: {', '.join(STATUS_CODE_NAMES)}."
        )
    with workspace.database().connect(read_only=True) as connection:
        cursor = connection.execute(
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
        )
        return _table(cursor)


@dataclass(frozen=True)
class EventsQuery:
    """One page of a run's event log: years, event types and an employee id fragment."""

    run_id: int
    years: tuple[int, ...] = ()
    event_types: tuple[str, ...] = ()
    employee_id: str = ""
    page: int = 1
    page_size: int = 50


def _where(query: EventsQuery) -> tuple[str, list[object]]:
    """The filter as SQL with bound values (only fixed text goes into the statement)."""
    clauses = ["run_id = ?"]
    values: list[object] = [query.run_id]
    if query.years:
        clauses.append("list_contains(?, simulation_year)")
        values.append(list(query.years))
    if query.event_types:
        clauses.append("list_contains(?, event_type)")
        values.append(list(query.event_types))
    if query.employee_id.strip():
        clauses.append("contains(lower(employee_id), lower(?))")
        values.append(query.employee_id.strip())
    return " AND ".join(clauses), values


@dataclass(frozen=True)
class EventsPage:
    events: Table
    total: int
    """Events matching the query (all pages)."""
    query: EventsQuery = field(repr=False)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))


_EVENT_COLUMNS = (
    "simulation_year, employee_id, event_type, effective_date, previous_job_level, "
    "new_job_level, previous_salary, new_salary, merit_rate, performance_rating, "
    "termination_reason"
)


def events_page(workspace: Workspace, query: EventsQuery) -> EventsPage:
    """One page of `fct_yearly_events` (in event order) and how many events match."""
    unknown = sorted(set(query.event_types) - set(EVENT_TYPE_NAMES))
    if unknown:
        raise UserError(
            f"Unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPE_NAMES)}."
        )
    if query.page < 1 or query.page_size < 1:
        raise UserError("The page and the page size must be at least 1.")
    where, values = _where(query)
    with workspace.database().connect(read_only=True) as connection:
        ((total,),) = connection.execute(
            f"SELECT count(*) FROM fct_yearly_events WHERE {where}", values
        ).fetchall()
        cursor = connection.execute(
            f"SELECT {_EVENT_COLUMNS} FROM fct_yearly_events WHERE {where} "
            "ORDER BY simulation_year, employee_id, event_sequence LIMIT ? OFFSET ?",
            [*values, query.page_size, (query.page - 1) * query.page_size],
        )
        return EventsPage(_table(cursor), int(total), query)


def _table(cursor: duckdb.DuckDBPyConnection) -> Table:
    columns = tuple(description[0] for description in cursor.description or ())
    return Table(columns, [tuple(row) for row in cursor.fetchall()])
