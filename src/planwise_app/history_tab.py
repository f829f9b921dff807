"""History: parameter sets (diff, rollback) and past optimization runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planwise import application
from planwise_app import optimization_views as views
from planwise_app import queries
from planwise_app.common import Page

__all__ = ["render"]


def render(page: Page) -> None:
    st.subheader("Parameter sets")
    state = page.state
    frame = queries.parameter_sets(state.database, state.latest_parameter_set_id, state.active_sets)
    everything = st.toggle("All scenarios", key="history_all", persist_state="page")
    sets = frame if everything else frame[frame["scenario_id"] == page.scenario_id]
    st.container(key="history_sets").dataframe(sets, hide_index=True)
    ids = [int(value) for value in sets["parameter_set_id"]]
    if len(ids) > 1:
        _diff(page, ids)
    if ids:
        _rollback(page, ids)
    st.subheader("Optimization runs")
    _optimizations(page)


def _diff(page: Page, ids: list[int]) -> None:
    st.markdown("#### Compare two sets")
    left, right = st.columns(2)
    active = page.state.active_set(page.scenario_id)
    after = left.selectbox(
        "Set",
        ids,
        index=ids.index(active) if active in ids else 0,
        key="history_after",
        persist_state="page",
    )
    others = [value for value in ids if value != after] or ids
    before = right.selectbox("against", others, key="history_before", persist_state="page")
    result = application.diff_parameter_sets(page.workspace, int(before), int(after))
    if not result.differences:
        st.info(f"Sets {before} and {after} hold the same lever values.")
        return
    st.caption(f"{len(result.differences)} row(s) differ from set {before} to set {after}")
    st.container(key="history_diff").dataframe(
        pd.DataFrame([difference.as_dict() for difference in result.differences]), hide_index=True
    )


def _rollback(page: Page, ids: list[int]) -> None:
    st.markdown("#### Roll back")
    notice = st.session_state.pop("history_rolled_back", None)
    if notice:
        st.success(notice)
    active = page.state.active_set(page.scenario_id)
    choices = [value for value in ids if value != active]
    if not choices:
        st.caption("Only the active set exists; nothing to roll back to.")
        return
    left, right = st.columns([1, 2])
    chosen = left.selectbox(
        "Make the values of set", choices, key="history_rollback_to", persist_state="page"
    )
    right.write("")
    if right.button(f"Roll back to set {chosen}", key="history_rollback"):
        update = application.rollback(page.workspace, int(chosen), note="rollback from the app")
        st.session_state["history_rolled_back"] = (
            f"Set {update.parameter_set_id} (a copy of set {chosen}) is now active for "
            f"scenario {update.scenario_id}; set {update.previous_id} stays in the history."
        )
        st.rerun()


def _optimizations(page: Page) -> None:
    state = page.state
    records = queries.optimizations(
        state.database, state.latest_optimization_id, state.optimizations_version
    )
    if not records:
        st.info("No optimization has run yet: start one on the Auto-Optimize tab.")
        return
    st.container(key="history_optimizations").dataframe(
        views.optimization_frame(records), hide_index=True
    )
    by_id = {record.optimization_id: record for record in records}
    chosen = st.selectbox(
        "Iterations of optimization", list(by_id), key="history_optimization", persist_state="page"
    )
    record = by_id[int(chosen)]
    with st.expander("Targets"):
        st.code(record.targets, language="json")
    version = queries.optimization_version(record)
    iterations = queries.optimization_iterations(state.database, record.optimization_id, version)
    st.container(key="history_iterations").dataframe(
        views.iteration_table(iterations), hide_index=True
    )
