"""Results: a stored run's metrics per year, by level, its event log, two runs side by
side, and downloads."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from planwise import application
from planwise.application import EventsQuery, RunRecord, plain_word
from planwise.metrics import METRICS, RunMetrics, format_difference, format_metric, metric_label
from planwise.simulation import EVENT_TYPE_NAMES, STATUS_CODE_NAMES
from planwise_app import charts, queries, tables
from planwise_app.common import Page, cards_scope

__all__ = ["ACTIVE_STATUSES", "render"]

_GROWTH = (
    "headcount_growth",
    "total_compensation_cost_growth",
    "average_compensation_growth",
    "continuing_salary_growth",
)
_PAGE_SIZES = (25, 50, 100, 250)
ACTIVE_STATUSES = ("continuous_active", "new_hire_active")
"""Who "employees by level" counts by default: the actives at year end."""
_DOLLARS = "dollar"


def _label(run: RunRecord) -> str:
    purpose = "" if run.purpose in (None, "", "simulate") else f" · {plain_word(run.purpose)}"
    if run.optimization_id is not None:
        purpose += f" {run.optimization_id}"
    return (
        f"Run {run.run_id} · scenario {run.scenario_id} · set {run.parameter_set_id} · "
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
    _compare(page, run_id, labels)
    _downloads(page, run_id, metrics)


def _horizon(metrics: RunMetrics) -> None:
    st.caption(cards_scope(metrics.years))
    columns = st.columns(4)
    shown = (
        ("headcount", metrics.value("headcount")),
        ("total_compensation_cost", metrics.value("total_compensation_cost")),
        ("compensation_growth_cagr", metrics.horizon.get("compensation_growth_cagr")),
        ("cumulative_compensation_cost", metrics.horizon.get("cumulative_compensation_cost")),
    )
    for column, (name, value) in zip(columns, shown, strict=True):
        column.metric(
            metric_label(name),
            format_metric(name, value),
            help=METRICS[name].description,
        )


def _line(frame: pd.DataFrame, columns: tuple[str, ...], title: str, unit: str) -> go.Figure:
    """Metrics of one unit over the years, on an axis in that unit."""
    values = [float(value) for name in columns for value in frame[name]]
    axis = charts.axis_for(unit, values, title)
    figure = go.Figure()
    for name in columns:
        figure.add_scatter(
            x=list(frame.index),
            y=axis.scaled(frame[name]),
            name=metric_label(name),
            mode="lines+markers",
        )
    charts.style(figure, title, axis, height=300)
    return figure


def _charts(wide: pd.DataFrame) -> None:
    st.markdown("#### Per year")
    left, right = st.columns(2)
    headcount = px.bar(wide.reset_index(), x="simulation_year", y="headcount")
    charts.style(
        headcount,
        "Headcount at year end",
        charts.axis_for("count", list(wide["headcount"]), "Headcount"),
        height=300,
    )
    left.plotly_chart(headcount, key="results_headcount")
    right.plotly_chart(
        _line(wide, ("total_compensation_cost",), "Total compensation cost", "currency"),
        key="results_cost",
    )
    left, right = st.columns(2)
    left.plotly_chart(
        _line(wide, ("average_salary", "median_salary"), "Average and median salary", "currency"),
        key="results_salary",
    )
    right.plotly_chart(_line(wide, _GROWTH, "Growth", "rate"), key="results_growth")
    with st.expander("All metrics per year"):
        shown = wide.T.astype(object)
        for name in wide.columns:
            shown.loc[name] = [format_metric(name, value) for value in wide[name]]
        shown.columns = [str(year) for year in wide.index]
        shown.index = pd.Index([metric_label(name) for name in wide.columns], name="metric")
        st.container(key="results_all_metrics").dataframe(shown)


def _level_column(page: Page, label: str) -> Any:
    names = page.level_names
    return st.column_config.SelectboxColumn(
        label, options=list(names), format_func=lambda level: names.get(int(level), str(level))
    )


def _by_level(page: Page, run_id: int, end_year: int) -> None:
    st.markdown("#### By job level")
    statuses = st.multiselect(
        "Employees counted",
        STATUS_CODE_NAMES,
        default=list(ACTIVE_STATUSES),
        format_func=plain_word,
        key="results_statuses",
        help="By default the actives at year end; add the year's leavers to count everyone "
        "paid during the year.",
        persist_state="page",
    )
    if not statuses:
        st.info("Choose at least one group of employees.")
        return
    frame = queries.by_level(page.state.database, run_id, end_year, tuple(statuses))
    names = page.level_names
    shown = frame.assign(level=[names.get(int(level), str(level)) for level in frame["job_level"]])
    order = {"level": [names[level] for level in sorted(names)]}
    left, right = st.columns(2)
    employees = px.bar(
        shown, x="simulation_year", y="employees", color="level", category_orders=order
    )
    charts.style(
        employees,
        "Employees by job level",
        charts.axis_for("count", list(frame["employees"]), "Employees"),
    )
    left.plotly_chart(employees, key="results_level_employees")
    axis = charts.axis_for("currency", list(frame["average_salary"]), "Average salary")
    salary = px.line(
        shown.assign(average_salary=axis.scaled(frame["average_salary"])),
        x="simulation_year",
        y="average_salary",
        color="level",
        markers=True,
        category_orders=order,
    )
    charts.style(salary, "Average salary by job level", axis)
    right.plotly_chart(salary, key="results_level_salary")
    st.container(key="results_level_table").dataframe(
        frame,
        hide_index=True,
        column_config={
            "simulation_year": st.column_config.NumberColumn("Year", format="%d"),
            "job_level": _level_column(page, "Job level"),
            "employees": st.column_config.NumberColumn("Employees", format="%d"),
            "average_salary": st.column_config.NumberColumn("Average salary", format=_DOLLARS),
            "median_salary": st.column_config.NumberColumn("Median salary", format=_DOLLARS),
            "total_compensation": st.column_config.NumberColumn(
                "Total compensation", format=_DOLLARS
            ),
        },
    )


def _events(page: Page, run_id: int, end_year: int, years: list[int]) -> None:
    st.markdown("#### Event explorer")
    first, second, third, fourth = st.columns([2, 3, 2, 1])
    chosen_years = first.multiselect("Years", years, key="events_years", persist_state="page")
    event_types = second.multiselect(
        "Event types",
        EVENT_TYPE_NAMES,
        format_func=plain_word,
        key="events_types",
        persist_state="page",
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
        _readable_events(frame),
        hide_index=True,
        column_config={
            "simulation_year": st.column_config.NumberColumn("Year", format="%d"),
            "employee_id": "Employee",
            "event_type": st.column_config.SelectboxColumn(
                "Event", options=list(EVENT_TYPE_NAMES), format_func=plain_word
            ),
            "effective_date": st.column_config.DateColumn("Effective", format="YYYY-MM-DD"),
            "previous_job_level": _level_column(page, "Level before"),
            "new_job_level": _level_column(page, "Level after"),
            "previous_salary": st.column_config.NumberColumn("Salary before", format=_DOLLARS),
            "new_salary": st.column_config.NumberColumn("Salary after", format=_DOLLARS),
            "merit_rate": "Merit",
            "performance_rating": "Rating",
            "termination_reason": "Leaving reason",
        },
    )


def _readable_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that apply to some events only read blank (not "None") on the others."""
    shown = frame.copy()
    if "merit_rate" in shown:
        shown["merit_rate"] = [
            f"{value * 100:.2f}%" if pd.notna(value) else "" for value in shown["merit_rate"]
        ]
    if "performance_rating" in shown:
        shown["performance_rating"] = [
            str(int(value)) if pd.notna(value) else "" for value in shown["performance_rating"]
        ]
    if "termination_reason" in shown:
        shown["termination_reason"] = [
            plain_word(value) if isinstance(value, str) and value else ""
            for value in shown["termination_reason"]
        ]
    return shown


def _compare(page: Page, run_id: int, labels: Mapping[int, str]) -> None:
    """Two stored runs side by side (the CLI's 'planwise explain --run A --run B')."""
    st.markdown("#### Compare with another run")
    others = [other for other in labels if other != run_id]
    if not others:
        st.caption("Only one run is stored: there is nothing to compare it with yet.")
        return
    other = st.selectbox(
        "Against",
        others,
        format_func=labels.__getitem__,
        key=f"results_compare_{run_id}",
        persist_state="page",
    )
    comparison = application.compare_runs(page.workspace, int(other), run_id)
    rows = [
        {
            "metric": metric_label(row.metric),
            "year": "all years" if row.year is None else str(row.year),
            f"run {comparison.run_a}": format_metric(row.metric, row.run_a),
            f"run {comparison.run_b}": format_metric(row.metric, row.run_b),
            "difference": format_difference(row.metric, row.difference),
        }
        for row in comparison.rows
    ]
    years = sorted({str(row.year) for row in comparison.rows if row.year is not None})
    year = st.select_slider(
        "Year",
        options=[*years, "all years"],
        value=years[-1] if years else "all years",
        key=f"results_compare_year_{run_id}",
    )
    chosen = [row for row in rows if row["year"] == year or row["year"] == "all years"]
    st.caption(
        f"Run {comparison.run_b} against run {comparison.run_a}: difference = "
        f"{comparison.run_b} − {comparison.run_a}."
    )
    st.container(key="results_comparison").dataframe(
        pd.DataFrame(chosen),
        hide_index=True,
        column_config={
            "metric": "Metric",
            "year": "Year",
            f"run {comparison.run_a}": f"Run {comparison.run_a}",
            f"run {comparison.run_b}": f"Run {comparison.run_b}",
            "difference": f"Difference ({comparison.run_b} − {comparison.run_a})",
        },
    )


def _excel(
    database: str, run_id: int, metrics: RunMetrics, level_names: Mapping[int, str]
) -> bytes:
    """Built when the button is clicked, on another thread: no Streamlit calls in here."""
    by_level = queries.load_by_level(database, run_id, ACTIVE_STATUSES)
    money = {"average_salary": 2, "median_salary": 2, "total_compensation": 2}
    sheet = by_level.round(money).rename(
        columns={
            "simulation_year": "Year",
            "job_level": "Level",
            "employees": "Actives at year end",
            "average_salary": "Average salary ($)",
            "median_salary": "Median salary ($)",
            "total_compensation": "Total compensation ($)",
        }
    )
    sheet.insert(2, "Job level", [level_names.get(int(level), "") for level in sheet["Level"]])
    return tables.excel_bytes(
        {
            "metrics": tables.metrics_sheet(metrics),
            "horizon": tables.horizon_sheet(metrics),
            "actives_by_level": sheet,
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
        functools.partial(_excel, page.state.database, run_id, metrics, page.level_names),
        file_name=f"planwise_run_{run_id}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_excel",
    )
