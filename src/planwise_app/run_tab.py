"""Run: simulate a scenario and store the run, with a progress bar per simulated year."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from planwise.application import MAX_YEARS
from planwise.metrics import format_metric, metric_label
from planwise_app import launch, tables
from planwise_app.common import Page
from planwise_app.entries import number_entry

__all__ = ["render"]


def _between(low: int, high: int | None) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if value < low or (high is not None and value > high):
            return f"From {low}" + (f" to {high}." if high is not None else " up.")
        return None

    return check


def render(page: Page) -> None:
    settings = page.settings
    st.subheader("Run a simulation")
    way = launch.execution(page.workspace)
    st.info(way.description, icon=":material/settings:")
    left, middle, right = st.columns(3)
    years = number_entry(
        left, "Years", "run_years", str(settings.years), check=_between(1, MAX_YEARS), whole=True
    )
    start_year = number_entry(
        middle,
        "Start year",
        "run_start_year",
        str(settings.start_year),
        check=_between(1900, 2200),
        whole=True,
    )
    seed = number_entry(
        right, "Seed", "run_seed", str(settings.seed), check=_between(0, None), whole=True
    )
    valid = years.valid and start_year.valid and seed.valid
    submitted = st.button(
        f"Run scenario '{page.scenario_id}'", type="primary", key="run_start", disabled=not valid
    )
    if not valid:
        st.caption("Run is disabled until every field holds a valid value.")
    if submitted and valid:
        total = int(years.value or 0)
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
            start_year=int(start_year.value or 0),
            seed=int(seed.value or 0),
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
    shown.index = pd.Index([metric_label(name) for name in frame.index], name="metric")
    st.container(key="run_metrics").dataframe(shown)
    metrics = outcome.metrics
    span = f"{metrics.years[0]}–{metrics.years[-1]}"
    st.caption(
        f"Over {span}: "
        + " · ".join(
            f"{metric_label(name)} {format_metric(name, value)}"
            for name, value in metrics.horizon.items()
        )
    )
