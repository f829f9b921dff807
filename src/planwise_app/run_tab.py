"""Run: simulate a scenario and store the run, with a progress bar per simulated year."""

from __future__ import annotations

import streamlit as st

from planwise.application import MAX_YEARS
from planwise.metrics import format_metric
from planwise_app import launch, tables
from planwise_app.common import Page

__all__ = ["render"]


def render(page: Page) -> None:
    settings = page.settings
    st.subheader("Run a simulation")
    way = launch.execution(page.workspace)
    st.info(way.description, icon=":material/settings:")
    with st.form("run_form"):
        left, middle, right = st.columns(3)
        years = left.number_input(
            "Years",
            min_value=1,
            max_value=MAX_YEARS,
            value=settings.years,
            step=1,
            key="run_years",
            persist_state="page",
        )
        start_year = middle.number_input(
            "Start year",
            min_value=1900,
            max_value=2200,
            value=settings.start_year,
            step=1,
            key="run_start_year",
            persist_state="page",
        )
        seed = right.number_input(
            "Seed", min_value=0, value=settings.seed, step=1, key="run_seed", persist_state="page"
        )
        submitted = st.form_submit_button(f"Run scenario '{page.scenario_id}'", type="primary")
    if submitted:
        total = int(years)
        bar = st.progress(0.0, text="Starting…")

        step = st.empty()

        def advance(year: int, done: int) -> None:
            bar.progress(done / total, text=f"Simulated {year} ({done}/{total})")

        def starting(step_key: str) -> None:
            step.caption(f"Dagster step: {step_key}")

        outcome = launch.run(
            page.workspace,
            way,
            scenario_id=page.scenario_id,
            years=total,
            start_year=int(start_year),
            seed=int(seed),
            on_year=advance,
            on_step=starting,
        )
        bar.progress(1.0, text="Done")
        st.session_state["run_tab_last"] = outcome
        st.rerun()  # every tab now reads the new run
    last = st.session_state.get("run_tab_last")
    if last is not None:
        _show(last)


def _show(outcome: launch.RunOutcome) -> None:
    st.success(
        f"Stored run {outcome.run_id} (scenario {outcome.scenario_id}, parameter set "
        f"{outcome.parameter_set_id}) in {outcome.seconds:.2f} s · {outcome.how}. "
        "The Results tab shows it."
    )
    frame = tables.metrics_wide(outcome.metrics).T
    shown = frame.copy().astype(object)
    for name in frame.index:
        shown.loc[name] = [format_metric(name, value) for value in frame.loc[name]]
    shown.columns = [str(year) for year in frame.columns]
    st.container(key="run_metrics").dataframe(shown)
    horizon = outcome.metrics.horizon
    st.caption(
        " · ".join(f"{name}: {format_metric(name, value)}" for name, value in horizon.items())
    )
