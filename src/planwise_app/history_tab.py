"""History: parameter sets (who made and applied each, two compared, rollback) and past
optimization runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from planwise import application
from planwise.application import LeverSetDiff, ParameterSetRecord, plain_word
from planwise.errors import UserError
from planwise.optimization import OptimizationStatus, load_targets
from planwise.parameters import parameter_spec
from planwise_app import optimization_views as views
from planwise_app import queries
from planwise_app.common import Page

__all__ = ["render"]

_SET_COLUMNS: dict[str, Any] = {
    "parameter_set_id": st.column_config.NumberColumn("Set", format="%d"),
    "scenario_id": "Scenario",
    "is_active": st.column_config.CheckboxColumn("Active"),
    "parent_id": "Made from set",
    "source": "How",
    "note": "Note",
    "created_by": "Made by",
    "created_at": st.column_config.DatetimeColumn("Made at", format="YYYY-MM-DD HH:mm"),
    "activated_by": "Last applied by",
    "activated_at": "Last applied at",
    "lever_rows": st.column_config.NumberColumn("Lever rows", format="%d"),
}


def render(page: Page) -> None:
    st.subheader("Parameter sets")
    state = page.state
    frame = queries.parameter_sets(state.database, state.latest_parameter_set_id, state.active_sets)
    everything = st.toggle("All scenarios", key="history_all", persist_state="page")
    sets = frame if everything else frame[frame["scenario_id"] == page.scenario_id]
    st.container(key="history_sets").dataframe(
        _readable_sets(sets), hide_index=True, column_config=_SET_COLUMNS
    )
    ids = [int(value) for value in sets["parameter_set_id"]]
    if len(ids) > 1:
        _diff(page, ids)
    if ids:
        _rollback(page, ids)
    st.subheader("Optimization runs")
    _optimizations(page)


def _readable_sets(sets: pd.DataFrame) -> pd.DataFrame:
    """What a set never had (a parent, an activation) reads blank, not "None"."""
    shown = sets.copy()
    shown["parent_id"] = [str(value) if pd.notna(value) else "" for value in shown["parent_id"]]
    shown["activated_by"] = [value if pd.notna(value) else "" for value in shown["activated_by"]]
    shown["activated_at"] = [
        _when(value) if pd.notna(value) else "never" for value in shown["activated_at"]
    ]
    return shown


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else pd.Timestamp(moment).isoformat(sep=" ", timespec="minutes")


def _story(record: ParameterSetRecord) -> str:
    """Who made a set and when, and who last applied it."""
    text = (
        f"set {record.parameter_set_id} ({plain_word(record.source).lower()}, made by "
        f"{record.created_by} on {_when(record.created_at)}"
    )
    if record.activated_at is not None:
        text += f"; applied by {record.activated_by or 'unknown'} on {_when(record.activated_at)}"
    elif record.is_active:
        text += "; active"
    else:
        text += "; never applied"
    return text + ")"


def _diff(page: Page, ids: list[int]) -> None:
    st.markdown("#### Compare two sets")
    left, right = st.columns(2)
    active = page.state.active_set(page.scenario_id)
    first = left.selectbox(
        "Set",
        ids,
        index=ids.index(active) if active in ids else 0,
        key="history_after",
        persist_state="page",
    )
    others = [value for value in ids if value != first] or ids
    second = right.selectbox("against", others, key="history_before", persist_state="page")
    result = application.diff_parameter_sets(page.workspace, int(first), int(second))
    st.caption(f"From the older {_story(result.before)} to the newer {_story(result.after)}.")
    if not result.differences:
        st.info(
            f"Sets {result.before.parameter_set_id} and {result.after.parameter_set_id} give "
            "the same lever values in every simulated year."
        )
        return
    st.container(key="history_diff").dataframe(_difference_frame(page, result), hide_index=True)


def _difference_frame(page: Page, result: LeverSetDiff) -> pd.DataFrame:
    """One row per lever, level and run of years that differ, older → newer."""
    rows = []
    for difference in result.differences:
        spec = parameter_spec(difference.parameter_name)
        lock = {True: "locked", False: "unlocked"}
        rows.append(
            {
                "Lever": spec.label,
                "Level": page.level_name(difference.job_level),
                "Years": difference.years,
                f"Set {result.before.parameter_set_id}": spec.format_value(difference.before),
                f"Set {result.after.parameter_set_id}": spec.format_value(difference.after),
                "Change": (
                    spec.format_change(difference.before, difference.after)
                    if difference.kind == "changed"
                    else f"{lock[difference.locked_before]} → {lock[difference.locked_after]}"
                ),
            }
        )
    return pd.DataFrame(rows)


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
    records = application.list_optimizations(page.workspace, 200)
    if not records:
        st.info("No optimization has run yet: start one on the Auto-Optimize tab.")
        return
    st.container(key="history_optimizations").dataframe(
        views.optimization_frame(records), hide_index=True
    )
    if any(record.status == OptimizationStatus.INTERRUPTED for record in records):
        st.caption("An interrupted optimization can be resumed on the Auto-Optimize tab.")
    by_id = {record.optimization_id: record for record in records}
    chosen = st.selectbox(
        "Iterations of optimization", list(by_id), key="history_optimization", persist_state="page"
    )
    record = by_id[int(chosen)]
    metric_names: dict[str, str] = {}
    with st.expander("Targets"):
        try:
            targets = load_targets(record.targets_mapping)
        except UserError as error:
            st.warning(f"The stored targets no longer load: {error}")
        else:
            metric_names = views.metric_of(targets)
            st.dataframe(views.targets_frame(targets), hide_index=True)
    version = queries.optimization_version(record)
    iterations = queries.optimization_iterations(
        page.state.database, record.optimization_id, version
    )
    frame = views.iteration_frame(iterations)
    st.container(key="history_iterations").dataframe(
        frame, hide_index=True, column_config=views.iteration_config(frame, metric_names)
    )
