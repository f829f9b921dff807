"""Overview: the census, the active levers with their warnings, baseline metrics."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from planwise.metrics import METRICS, baseline_summary, format_metric, metric_label
from planwise_app import charts, queries, tables
from planwise_app.common import Page, active_census, cards_scope, lever_view

__all__ = ["render"]

_HEADLINE = ("headcount", "total_compensation_cost", "average_salary", "median_salary")


def render(page: Page) -> None:
    st.subheader("Overview")
    state, settings = page.state, page.settings
    if state.census_id is None:
        st.info(
            "This workspace has no census yet. Import one with 'planwise census import FILE' "
            "or make one with 'planwise census generate --employees N'."
        )
    else:
        _census(page, state.census_id)
    _levers(page)
    if state.census_id is not None:
        _baseline(page, state.census_id)
    st.caption(
        f"Workspace {page.workspace.root} · start year {settings.start_year} · "
        f"{settings.years} years · seed {settings.seed}"
    )


def _census(page: Page, census_id: str) -> None:
    census = active_census(page.state.database, census_id).census
    st.markdown("#### Census")
    columns = st.columns(4)
    columns[0].metric("Employees in the census", f"{len(census):,}")
    columns[1].metric("Starting headcount", f"{census.starting_headcount:,}")
    columns[2].metric("As of", census.as_of_date.isoformat())
    columns[3].metric("Census id", census.census_id.removeprefix("census_"))
    by_level = tables.census_by_level(census, page.settings)
    left, right = st.columns([3, 2])
    left.dataframe(
        by_level,
        hide_index=True,
        column_config={
            "job_level": st.column_config.NumberColumn("Level", format="%d"),
            "name": "Job level",
            "headcount": st.column_config.NumberColumn("Headcount", format="%d"),
            "share": st.column_config.NumberColumn("Share", format="percent"),
            "average_salary": st.column_config.NumberColumn("Average salary", format="dollar"),
            "median_salary": st.column_config.NumberColumn("Median salary", format="dollar"),
            "band_min": st.column_config.NumberColumn("Band minimum", format="dollar"),
            "band_max": st.column_config.NumberColumn("Band maximum", format="dollar"),
            "outside_band": st.column_config.NumberColumn("Outside the band", format="%d"),
            "average_age": st.column_config.NumberColumn("Average age (years)", format="%.1f"),
            "average_tenure": st.column_config.NumberColumn(
                "Average tenure (years)", format="%.1f"
            ),
        },
    )
    figure = px.bar(by_level, x="name", y="headcount")
    charts.style(
        figure,
        "Starting headcount by job level",
        charts.axis_for("count", list(by_level["headcount"]), "Headcount"),
        x_title="Job level",
        height=300,
    )
    figure.update_layout(xaxis={"dtick": None, "type": "category"})
    right.plotly_chart(figure, key="overview_levels")


def _levers(page: Page) -> None:
    state = page.state
    st.markdown(f"#### Active levers · scenario {page.scenario_id}")
    set_id = state.active_set(page.scenario_id)
    if set_id is None:
        st.warning(f"Scenario '{page.scenario_id}' has no active parameter set.")
        return
    levers = lever_view(state.database, state.settings_json, page.scenario_id, set_id)
    st.caption(f"Parameter set {set_id} (resolved for {levers.years[0]}–{levers.years[-1]})")
    warnings = levers.range_warnings
    for warning in warnings:  # one line per lever and side, not one per year and level
        st.warning(warning.message)
    if not warnings:
        st.success("Every lever is inside its usual range.")
    table = tables.lever_table(levers.resolved, page.level_names)
    st.container(key="overview_lever_table").dataframe(
        table,
        hide_index=True,
        column_config={
            "lever": "Lever",
            "years": "Years",
            "locked": "Locked at",
            "from": "Values from",
        },
    )


def _baseline(page: Page, census_id: str) -> None:
    state, settings = page.state, page.settings
    workforce = active_census(state.database, census_id).workforce
    base = baseline_summary(workforce, settings.start_year)
    st.markdown(f"#### Baseline ({base.year}, census salaries)")
    columns = st.columns(4)
    for column, name in zip(columns, _HEADLINE, strict=True):
        column.metric(metric_label(name), format_metric(name, getattr(base, name)))
    listed = queries.list_runs(state.database, state.runs_version)
    scenario_runs = [run for run in listed if run.scenario_id == page.scenario_id]
    if not scenario_runs:
        st.info("No stored run for this scenario yet: start one on the Run tab.")
        return
    latest = scenario_runs[0]
    metrics = queries.run_metrics(state.database, latest.run_id, latest.end_year)
    final = metrics.years[-1]
    note = ""
    if latest.parameter_set_id != state.active_set(page.scenario_id):
        note = " — its levers differ from the active set"
    st.markdown(
        f"**Latest run {latest.run_id}** (parameter set {latest.parameter_set_id}, "
        f"seed {latest.seed}, {latest.start_year}–{final}){note}"
    )
    st.caption(cards_scope(metrics.years))
    columns = st.columns(4)
    shown = ("headcount", "total_compensation_cost", "compensation_growth_cagr")
    for column, name in zip(columns, (*shown, "cumulative_compensation_cost"), strict=True):
        column.metric(
            metric_label(name),
            format_metric(name, metrics.value(name)),
            help=METRICS[name].description,
        )
