"""The result panel of an optimization: the verdict (amber when the targets were met only
with a lever outside its usual range), what changed, the lever warnings, the per-target
table, convergence and lever path, iterations, sensitivities in pp, robustness, and the
buttons that apply the answer or roll it back."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.express as px
import streamlit as st

from planwise import application
from planwise.application import plain_word
from planwise.optimization import IterationRecord, OptimizationResult
from planwise_app import optimization_views as views
from planwise_app.common import Page

__all__ = ["NOTICE_KEY", "iterations_table", "show"]

NOTICE_KEY = "optimize_notice"
_HEADINGS = {
    "converged": "Converged",
    "converged_with_warnings": "Converged with warnings",
    "not_converged": "Not converged",
}


def iterations_table(
    iterations: tuple[IterationRecord, ...] | list[IterationRecord],
    metric_names: Mapping[str, str],
    key: str,
) -> None:
    frame = views.iteration_frame(iterations)
    st.container(key=key).dataframe(
        frame, hide_index=True, column_config=views.iteration_config(frame, metric_names)
    )


def _verdict(result: OptimizationResult) -> str:
    verdict = getattr(result, "verdict", None)
    if verdict is None:
        return "converged" if result.converged else "not_converged"
    return str(verdict)


def show(page: Page, result: OptimizationResult) -> None:
    """A finished optimization: verdict, what changed, lever warnings, per target, charts,
    iterations, sensitivities (in pp) and robustness, with apply and roll back."""
    st.divider()
    verdict = _verdict(result)
    heading = (
        f"{_HEADINGS.get(verdict, plain_word(verdict))} · optimization {result.optimization_id}"
    )
    if verdict == "converged":
        st.success(heading, icon=":material/check_circle:")
    elif verdict == "converged_with_warnings":
        st.warning(heading, icon=":material/warning:")  # amber: met, outside a usual range
    else:
        st.error(heading, icon=":material/cancel:")
    st.caption(
        f"{result.simulations} full simulations, {result.replays} replays, "
        f"{result.duration_seconds:.1f} s · {plain_word(result.mode)} mode · stopped: "
        f"{plain_word(result.stop_reason).lower()}"
    )
    summary = getattr(result, "change_summary", "")
    if summary:
        st.markdown(f"**What changed:** {summary}")
    for warning in getattr(result, "lever_warnings", []):
        st.warning(warning.message, icon=":material/warning:")
    st.write(result.explanation)
    st.markdown("#### Per target")
    st.table(views.target_frame(result).set_index("target"))
    _apply_buttons(page, result)
    metric_names = views.metric_of(result)
    left, right = st.columns(2)
    residuals = views.residual_frame(result.iterations, metric_names)
    if not residuals.empty:
        chart = px.line(residuals, x="iteration", y="residual", color="target", markers=True)
        chart.add_hrect(y0=-1, y1=1, fillcolor="green", opacity=0.1, line_width=0)
        chart.update_layout(
            title="Convergence: each target's miss (within ±1 meets it)",
            height=340,
            margin={"t": 40, "b": 10},
            xaxis={"title": {"text": "Iteration"}},
            yaxis={"title": {"text": "Miss (in tolerances)"}},
            legend_title_text="",
        )
        left.plotly_chart(chart, key="optimize_convergence")
    path = views.lever_path_frame(result.iterations, page.level_names)
    if not path.empty:
        families = path["family"].nunique()
        levers = px.line(
            path,
            x="iteration",
            y="value",
            color="lever",
            facet_row="family",
            markers=True,
            title="Lever values at each full simulation",
        )
        levers.update_yaxes(matches=None, title_text="")
        levers.update_xaxes(title_text="")
        levers.update_layout(xaxis_title_text="Full simulation (iteration)")
        levers.for_each_annotation(lambda note: note.update(text=note.text.split("=")[-1]))
        levers.update_layout(
            height=120 + 140 * families, margin={"t": 40, "b": 10}, legend_title_text=""
        )
        right.plotly_chart(levers, key="optimize_lever_path")
    with st.expander("Iterations", expanded=False):
        iterations_table(result.iterations, metric_names, "optimize_iters")
    st.markdown("#### Sensitivities at the answer")
    st.caption(
        "The effect of +1 pp of each lever (+0.01 of the New-hire pay factor) on each target, "
        "in the target's unit: rates in pp."
    )
    sensitivities = views.sensitivity_frame(result, page.level_names)
    if sensitivities.empty:
        st.caption("No sensitivities (the solver had no Jacobian).")
    else:
        st.container(key="optimize_sensitivities").dataframe(sensitivities)
    st.markdown("#### Robustness on other seeds")
    robustness = views.robustness_frame(result.robustness)
    if robustness.empty:
        st.caption("Robustness was not checked (robustness seeds = 0).")
    else:
        st.container(key="optimize_robustness_table").dataframe(robustness, hide_index=True)
    if result.robustness_warning:
        st.warning(result.robustness_warning)


def _apply_buttons(page: Page, result: OptimizationResult) -> None:
    best = result.best_parameter_set_id
    before = result.start_parameter_set_id
    active = page.state.active_set(result.scenario_id)
    left, right = st.columns(2)
    if (
        left.button(
            f"Apply the best set ({best})",
            type="primary",
            disabled=best is None or best == active,
            key="optimize_apply",
            help="Make the best parameter set active; the current set stays in history.",
        )
        and best is not None
    ):
        application.apply_parameter_set(page.workspace, int(best))
        st.session_state[NOTICE_KEY] = (
            f"Parameter set {best} is now active (set {active} stays in the history)."
        )
        st.rerun()
    if right.button(
        f"Roll back to the set before ({before})",
        disabled=best != active,
        key="optimize_rollback",
        help="After an apply: make the values active before this optimization active again "
        "(recorded as a new set).",
    ):
        update = application.rollback(
            page.workspace, int(before), note=f"rollback of optimization {result.optimization_id}"
        )
        st.session_state[NOTICE_KEY] = (
            f"Rolled back: set {update.parameter_set_id} (a copy of set {before}) is now active."
        )
        st.rerun()
    st.caption(f"Active set of scenario {result.scenario_id}: {active}")
