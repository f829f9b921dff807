"""Results: a stored run's metrics per year, by level, its event log, and downloads."""

from __future__ import annotations

import dataclasses
import functools

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from planwise.application import EventsQuery, RunRecord
from planwise.metrics import METRICS, RunMetrics, format_metric
from planwise.simulation import EVENT_TYPE_NAMES, STATUS_CODE_NAMES
from planwise_app import queries, tables
from planwise_app.common import Page

__all__ = ["render"]

_GROWTH = (
    "headcount_growth",
    "total_compensation_cost_growth",
    "average_compensation_growth",
    "continuing_salary_growth",
)
_PAGE_SIZES = (25, 50, 100, 250)


def _label(run: RunRecord) -> str:
    purpose = "" if run.purpose in (None, "", "simulate") else f" · {run.purpose}"
    return (
        f"Run {run.run_id} · {run.scenario_id} · set {run.parameter_set_id} · "
        f"seed {run.seed} · {run.start_year}–{run.end_year}{purpose}"
    )


def render(page: Page) -> None:
    state = page.state
    st.subheader("Results")
    listed = queries.list_runs(state.database, state.runs_version)
    if not listed:
        st.info("There are no stored runs yet: start one on the Run tab.")
        return
    runs = {run.run_id: run for run in listed}
    labels = {run_id: _label(run) for run_id, run in runs.items()}
    # The options change when a run is added, so the choice starts again at the newest.
    run_id = st.selectbox(
        "Run",
        list(labels),
        format_func=labels.__getitem__,
        key=f"results_run_{state.runs_version}",
        persist_state="page",
    )
    end_year = runs[run_id].end_year
    metrics = queries.run_metrics(state.database, run_id, end_year)
    wide = tables.metrics_wide(metrics)
    _horizon(metrics)
    _charts(wide)
    _by_level(page, run_id, end_year)
    _events(page, run_id, end_year, metrics.years)
    _downloads(page, run_id, metrics)


def _horizon(metrics: RunMetrics) -> None:
    final = metrics.years[-1]
    columns = st.columns(4)
    shown = (
        ("headcount", metrics.value("headcount")),
        ("total_compensation_cost", metrics.value("total_compensation_cost")),
        ("compensation_growth_cagr", metrics.horizon.get("compensation_growth_cagr")),
        ("cumulative_compensation_cost", metrics.horizon.get("cumulative_compensation_cost")),
    )
    for column, (name, value) in zip(columns, shown, strict=True):
        scope = str(final) if METRICS[name].per_year else "horizon"
        column.metric(
            f"{name.replace('_', ' ').capitalize()} ({scope})",
            format_metric(name, value),
            help=METRICS[name].description,
        )


def _line(frame: pd.DataFrame, columns: tuple[str, ...], title: str, percent: bool) -> go.Figure:
    figure = go.Figure()
    for name in columns:
        values = frame[name] * (100 if percent else 1)
        figure.add_scatter(x=frame.index, y=values, name=name, mode="lines+markers")
    figure.update_layout(
        title=title,
        height=300,
        margin={"t": 40, "b": 10},
        xaxis={"dtick": 1},
        yaxis={"ticksuffix": "%" if percent else ""},
    )
    return figure


def _charts(wide: pd.DataFrame) -> None:
    st.markdown("#### Per year")
    left, right = st.columns(2)
    headcount = px.bar(wide.reset_index(), x="simulation_year", y="headcount", title="Headcount")
    headcount.update_layout(height=300, margin={"t": 40, "b": 10}, xaxis={"dtick": 1})
    left.plotly_chart(headcount, key="results_headcount")
    right.plotly_chart(
        _line(wide, ("total_compensation_cost",), "Total compensation cost", False),
        key="results_cost",
    )
    left, right = st.columns(2)
    left.plotly_chart(
        _line(wide, ("average_salary", "median_salary"), "Average and median salary", False),
        key="results_salary",
    )
    right.plotly_chart(_line(wide, _GROWTH, "Growth", True), key="results_growth")
    with st.expander("All metrics per year"):
        shown = wide.T.astype(object)
        for name in wide.columns:
            shown.loc[name] = [format_metric(name, value) for value in wide[name]]
        shown.columns = [str(year) for year in wide.index]
        st.container(key="results_all_metrics").dataframe(shown)


def _by_level(page: Page, run_id: int, end_year: int) -> None:
    st.markdown("#### By job level")
    statuses = st.multiselect(
        "Employees (detailed_status_code)",
        STATUS_CODE_NAMES,
        default=list(STATUS_CODE_NAMES),
        key="results_statuses",
        persist_state="page",
    )
    if not statuses:
        st.info("Choose at least one status code.")
        return
    frame = queries.by_level(page.state.database, run_id, end_year, tuple(statuses))
    frame["job_level"] = frame["job_level"].astype(str)
    left, right = st.columns(2)
    employees = px.bar(
        frame,
        x="simulation_year",
        y="employees",
        color="job_level",
        title="Employees by level",
    )
    employees.update_layout(height=320, margin={"t": 40, "b": 10}, xaxis={"dtick": 1})
    left.plotly_chart(employees, key="results_level_employees")
    salary = px.line(
        frame,
        x="simulation_year",
        y="average_salary",
        color="job_level",
        markers=True,
        title="Average salary by level",
    )
    salary.update_layout(height=320, margin={"t": 40, "b": 10}, xaxis={"dtick": 1})
    right.plotly_chart(salary, key="results_level_salary")
    st.container(key="results_level_table").dataframe(
        frame,
        hide_index=True,
        column_config={
            "average_salary": st.column_config.NumberColumn(format="dollar"),
            "median_salary": st.column_config.NumberColumn(format="dollar"),
            "total_compensation": st.column_config.NumberColumn(format="dollar"),
        },
    )


def _events(page: Page, run_id: int, end_year: int, years: list[int]) -> None:
    st.markdown("#### Event explorer")
    first, second, third, fourth = st.columns([2, 3, 2, 1])
    chosen_years = first.multiselect("Years", years, key="events_years", persist_state="page")
    event_types = second.multiselect(
        "Event types", EVENT_TYPE_NAMES, key="events_types", persist_state="page"
    )
    employee = third.text_input("Employee id contains", key="events_employee", persist_state="page")
    page_size = fourth.selectbox(
        "Rows", _PAGE_SIZES, index=1, key="events_page_size", persist_state="page"
    )
    # One row is enough to count the matching events, which the page number depends on.
    chosen = EventsQuery(run_id, tuple(chosen_years), tuple(event_types), employee, 1, 1)
    _, total = queries.events_page(page.state.database, end_year, chosen)
    pages = max(1, -(-total // page_size))
    number = st.number_input(
        f"Page (of {pages:,})",
        min_value=1,
        max_value=pages,
        value=1,
        step=1,
        key=f"events_page_{total}_{page_size}",
        persist_state="page",
    )
    shown = dataclasses.replace(chosen, page=int(number), page_size=int(page_size))
    frame, _ = queries.events_page(page.state.database, end_year, shown)
    start = (int(number) - 1) * page_size
    st.caption(f"Events {start + 1 if total else 0:,}–{start + len(frame):,} of {total:,}")
    st.container(key="events_table").dataframe(
        frame,
        hide_index=True,
        column_config={
            "effective_date": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "previous_salary": st.column_config.NumberColumn(format="dollar"),
            "new_salary": st.column_config.NumberColumn(format="dollar"),
            "merit_rate": st.column_config.NumberColumn(format="percent"),
        },
    )


def _excel(database: str, run_id: int, metrics: RunMetrics) -> bytes:
    """Built when the button is clicked, on another thread: no Streamlit calls in here."""
    return tables.excel_bytes(
        {
            "metrics": tables.metrics_wide(metrics),
            "horizon": pd.DataFrame(
                {"metric": list(metrics.horizon), "value": list(metrics.horizon.values())}
            ),
            "by_level": queries.load_by_level(database, run_id, STATUS_CODE_NAMES),
        }
    )


def _downloads(page: Page, run_id: int, metrics: RunMetrics) -> None:
    st.markdown("#### Download")
    left, right = st.columns(2)
    left.download_button(
        "Metrics (CSV)",
        tables.metrics_long(metrics, run_id).to_csv(index=False),
        file_name=f"planwise_run_{run_id}_metrics.csv",
        mime="text/csv",
        key="download_csv",
    )
    right.download_button(
        "Metrics and levels (Excel)",
        functools.partial(_excel, page.state.database, run_id, metrics),
        file_name=f"planwise_run_{run_id}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_excel",
    )
