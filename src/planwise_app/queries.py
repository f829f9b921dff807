"""The read models the pages display (`planwise.application`), cached for Streamlit.

Cached on ids of immutable data (a run's id and its last year, an optimization's id and
its iteration count), so a new run or iteration is a new key and never a stale figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from planwise import application
from planwise.application import EventsQuery, OptimizationRecord, RunRecord, Table, plain_word
from planwise.metrics import RunMetrics
from planwise.optimization import IterationRecord, OptimizationResult
from planwise.simulation import STATUS_CODE_NAMES
from planwise_app import tables
from planwise_app.common import workspace_of

__all__ = [
    "by_level",
    "events_page",
    "list_runs",
    "load_by_level",
    "optimization_iterations",
    "optimization_result",
    "optimization_version",
    "parameter_sets",
    "run_metrics",
    "table_frame",
]


def table_frame(table: Table) -> pd.DataFrame:
    """A read model's rows as a frame, its columns in order."""
    return tables.frame_of(table.columns, table.rows)


@st.cache_data(max_entries=16, show_spinner=False)
def list_runs(database: str, runs_version: int, limit: int = 200) -> list[RunRecord]:
    """Stored runs, newest first (`runs_version` changes whenever a run is added or extended)."""
    return application.list_runs(workspace_of(database), limit)


@st.cache_resource(max_entries=16, show_spinner=False)
def run_metrics(database: str, run_id: int, end_year: int) -> RunMetrics:
    """A run's stored metrics (`end_year` keys a continued run's new years)."""
    return application.run_results(workspace_of(database), run_id).metrics


def load_by_level(
    database: str, run_id: int, statuses: Sequence[str] = STATUS_CODE_NAMES
) -> pd.DataFrame:
    """Per year and job level, over snapshot rows with the chosen status codes."""
    return table_frame(application.workforce_by_level(workspace_of(database), run_id, statuses))


@st.cache_data(max_entries=32, show_spinner=False)
def by_level(database: str, run_id: int, end_year: int, statuses: tuple[str, ...]) -> pd.DataFrame:
    """`load_by_level`, cached per run and last year (a continued run is a new key)."""
    return load_by_level(database, run_id, statuses)


@st.cache_data(max_entries=32, show_spinner=False)
def events_page(database: str, end_year: int, query: EventsQuery) -> tuple[pd.DataFrame, int]:
    """One page of the run's event log (in event order) and the number of matching events."""
    found = application.events_page(workspace_of(database), query)
    return table_frame(found.events), found.total


_PARAMETER_SET_COLUMNS = (
    "parameter_set_id",
    "scenario_id",
    "is_active",
    "parent_id",
    "source",
    "note",
    "created_by",
    "created_at",
    "activated_by",
    "activated_at",
    "lever_rows",
)


@st.cache_data(max_entries=16, show_spinner=False)
def parameter_sets(
    database: str, latest_parameter_set_id: int | None, active_sets: tuple[tuple[str, int], ...]
) -> pd.DataFrame:
    """Every parameter set, newest first, with who made it, who last applied it and when,
    and the number of lever rows it holds.

    Keyed on the newest set and the active ones: a new set, an apply or a rollback reloads.
    """
    rows = [
        (
            summary.record.parameter_set_id,
            summary.record.scenario_id,
            summary.record.is_active,
            summary.record.parent_id,
            plain_word(summary.record.source),
            summary.record.note,
            summary.record.created_by,
            summary.record.created_at,
            summary.record.activated_by,
            summary.record.activated_at,
            summary.lever_rows,
        )
        for summary in application.parameter_set_summaries(workspace_of(database))
    ]
    return tables.frame_of(_PARAMETER_SET_COLUMNS, rows)


def optimization_version(record: OptimizationRecord) -> str:
    """What changes while an optimization runs: its iteration count, status and end."""
    return f"{record.iterations}|{record.status}|{record.finished_at}"


@st.cache_data(max_entries=16, show_spinner=False)
def optimization_iterations(
    database: str, optimization_id: int, version: str
) -> list[IterationRecord]:
    """An optimization's iterations; `version` changes while a loop adds iterations."""
    return application.optimization_iterations(workspace_of(database), optimization_id)


@st.cache_resource(max_entries=8, show_spinner=False)
def optimization_result(database: str, optimization_id: int, version: str) -> OptimizationResult:
    """A finished optimization's result with its iterations (stored results never change;
    `version` guards against reading one before it finished)."""
    return application.show_optimization(workspace_of(database), optimization_id)
