"""Auto-Optimize: targets in, the tuning loop runs with live progress, the answer out.

The controls are the reference story's (target growth %, max iterations, tolerance,
strategy) plus a multi-target editor. `planwise.application.optimize` does everything;
this page shows its iterations as they arrive, then the per-target table, convergence,
lever path, sensitivities and robustness, and applies or rolls back the answer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import plotly.express as px
import streamlit as st

from planwise import application
from planwise.application import IterationFinished, OptimizeRequest, ProgressEvent
from planwise.errors import UserError
from planwise.metrics import METRICS
from planwise.optimization import MODES, OptimizationStatus, Priority, load_targets
from planwise_app import optimization_views as views
from planwise_app import queries
from planwise_app.common import Page

__all__ = ["render"]

RESULT_KEY = "optimize_result"
NOTICE_KEY = "optimize_notice"
EDITOR_KEY = "optimize_targets"
START_KEY = "optimize_start_point"
EDITOR_VERSION_KEY = "optimize_targets_version"
PRIORITIES = tuple(Priority)


def render(page: Page) -> None:
    st.subheader("Auto-Optimize")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice)
    targets_mapping = _controls(page)
    if targets_mapping is not None:
        started = st.button("Start auto-optimization", type="primary", key="optimize_start")
        st.caption(
            "Every iteration is stored as it finishes. Leaving the page while the loop runs "
            "stops it; 'planwise optimize --resume ID' continues it from its last iteration."
        )
        if started:
            _run(page, targets_mapping)
    report = _current_report(page)
    if report is not None:
        _show(page, report)


def _starting_point(page: Page) -> views.StartingPoint:
    """From the workspace's targets.yaml when there is a valid one (read once a session)."""
    path = page.workspace.targets_path
    if not path.exists():
        return views.starting_point(None)
    try:
        return views.starting_point(load_targets(path))
    except UserError as error:
        st.warning(f"{path.name} is not used: {error}")
        return views.starting_point(None)


def _controls(page: Page) -> dict[str, Any] | None:
    if START_KEY not in st.session_state:
        st.session_state[START_KEY] = _starting_point(page)
    start: views.StartingPoint = st.session_state[START_KEY]
    growth = start.growth or views.DEFAULT_GROWTH
    st.caption(
        f"Starting from {page.workspace.targets_path.name}"
        if page.workspace.targets_path.exists()
        else "No targets.yaml in the workspace: starting from the defaults."
    )
    left, right = st.columns(2)
    with left:
        use_growth = st.toggle(
            "Growth target",
            value=start.growth is not None,
            key="optimize_use_growth",
            persist_state="page",
        )
        growth_metric = st.selectbox(
            "Growth metric",
            views.GROWTH_METRICS,
            index=views.GROWTH_METRICS.index(growth.metric),
            key="optimize_growth_metric",
            disabled=not use_growth,
            format_func=lambda name: f"{name} — {METRICS[name].description}",
            persist_state="page",
        )
        target_growth = st.number_input(
            "Target growth rate (%)",
            min_value=-10.0,
            max_value=20.0,
            value=round(growth.target_percent, 4),
            step=0.1,
            key="optimize_target_growth",
            disabled=not use_growth,
            persist_state="page",
        )
        tolerance = st.number_input(
            "Convergence tolerance (± percentage points)",
            min_value=0.001,
            max_value=5.0,
            value=round(growth.tolerance_points, 4),
            step=0.01,
            format="%.3f",
            key="optimize_tolerance",
            disabled=not use_growth,
            persist_state="page",
        )
        priority = st.selectbox(
            "Priority of the growth target",
            PRIORITIES,
            index=PRIORITIES.index(growth.priority),
            key="optimize_growth_priority",
            disabled=not use_growth,
            persist_state="page",
        )
    with right:
        max_iterations = st.number_input(
            "Max iterations (full simulations)",
            min_value=1,
            max_value=50,
            value=start.max_iterations,
            step=1,
            key="optimize_max_iterations",
            persist_state="page",
        )
        mode = st.selectbox(
            "Optimization strategy",
            MODES,
            index=MODES.index(start.mode),
            format_func=str.capitalize,
            key="optimize_mode",
            help="Conservative: one scale per lever family, small steps. Balanced: each level, "
            "mildly regularized. Aggressive: each level, fewest simulations.",
            persist_state="page",
        )
        robustness_seeds = st.number_input(
            "Robustness seeds (re-check the answer on other seeds)",
            min_value=0,
            max_value=20,
            value=start.robustness_seeds,
            step=1,
            key="optimize_robustness",
            persist_state="page",
        )
    st.markdown("**More targets** (any §7 metric; tolerance is absolute, blank = 2 % relative)")
    settings = page.settings
    years = [str(y) for y in range(settings.start_year, settings.start_year + settings.years)]
    # The editor's state is a list of edits to its data, lost while its tab is closed: keep
    # the edited rows as the new data (under a new key, so the edits are not applied twice).
    version = st.session_state.get(EDITOR_VERSION_KEY, 0)
    rows = st.data_editor(
        start.rows,
        num_rows="dynamic",
        hide_index=True,
        key=f"{EDITOR_KEY}_{version}",
        column_config={
            "metric": st.column_config.SelectboxColumn(
                "metric", options=list(METRICS), required=True
            ),
            "target_value": st.column_config.NumberColumn("target value", format="%.6g"),
            "tolerance": st.column_config.NumberColumn("tolerance (±)", format="%.6g"),
            "priority": st.column_config.SelectboxColumn(
                "priority", options=list(PRIORITIES), default=Priority.MEDIUM
            ),
            "year": st.column_config.SelectboxColumn(
                "year", options=[*views.YEAR_WORDS, *years], default="final"
            ),
        },
    )
    if not rows.equals(start.rows):
        st.session_state[START_KEY] = dataclasses.replace(start, rows=rows)
        st.session_state[EDITOR_VERSION_KEY] = version + 1
    chosen_growth = (
        views.GrowthTarget(
            str(growth_metric), float(target_growth), float(tolerance), Priority(priority)
        )
        if use_growth
        else None
    )
    mapping = views.targets_mapping(
        chosen_growth,
        rows,
        options=start.options,
        max_iterations=int(max_iterations),
        mode=str(mode),
        robustness_seeds=int(robustness_seeds),
    )
    try:
        load_targets(mapping)
    except UserError as error:
        st.error(str(error))
        return None
    return mapping


def _run(page: Page, mapping: dict[str, Any]) -> None:
    bar = st.progress(0.0, text="Starting the tuning loop…")
    live = st.empty()
    seen: list[dict[str, Any]] = []

    def progress(event: ProgressEvent) -> None:
        if not isinstance(event, IterationFinished):
            return
        record = event.record
        seen.append(views.iteration_dict(record))
        frame = views.iteration_frame(seen)
        worst = frame["max_abs_residual"].iloc[-1]
        bar.progress(
            min(event.simulations / event.budget, 1.0),
            text=f"Iteration {record.iteration} ({record.kind}) · "
            f"{event.simulations}/{event.budget} simulations · max |residual| {worst:.2f}",
        )
        live.dataframe(frame, hide_index=True)

    request = OptimizeRequest(targets=mapping, scenario_id=page.scenario_id)
    result = application.optimize(page.workspace, request, progress)
    st.session_state[RESULT_KEY] = result.to_dict()
    st.rerun()  # the new runs, sets and optimization show on every tab


def _current_report(page: Page) -> dict[str, Any] | None:
    """This session's latest result, else the latest stored optimization's report."""
    report = st.session_state.get(RESULT_KEY)
    if report is not None:
        return dict(report)
    state = page.state
    if state.latest_optimization_id is None:
        return None
    records = queries.optimizations(
        state.database, state.latest_optimization_id, state.optimizations_version
    )
    finished = [record for record in records if record.status != OptimizationStatus.RUNNING]
    if not finished:
        return None
    record = finished[0]
    stored = record.report_mapping
    if not stored:
        return None
    iterations = queries.optimization_iterations(
        state.database, record.optimization_id, queries.optimization_version(record)
    )
    stored["iterations"] = [views.iteration_dict(iteration) for iteration in iterations]
    return stored


def _show(page: Page, report: dict[str, Any]) -> None:
    st.divider()
    converged = bool(report["converged"])
    outcome = "Converged" if converged else "Not converged"
    heading = f"{outcome} · optimization {report['optimization_id']}"
    if converged:
        st.success(heading, icon=":material/check_circle:")
    else:
        st.warning(heading, icon=":material/warning:")
    st.caption(
        f"{report['simulations']} full simulations, {report['replays']} replays, "
        f"{report['duration_seconds']:.1f} s · mode {report['mode']} · stop reason "
        f"{report['stop_reason']}"
    )
    st.write(report["explanation"])
    st.markdown("#### Per target")
    st.table(views.target_frame(report["target_rows"]).set_index("target"))
    _apply_buttons(page, report)
    iterations = report.get("iterations") or []
    left, right = st.columns(2)
    residuals = views.residual_frame(iterations)
    if not residuals.empty:
        chart = px.line(
            residuals,
            x="iteration",
            y="residual",
            color="target",
            markers=True,
            title="Convergence (residual in tolerances; |r| ≤ 1 is within)",
        )
        chart.add_hrect(y0=-1, y1=1, fillcolor="green", opacity=0.1, line_width=0)
        chart.update_layout(height=340, margin={"t": 40, "b": 10})
        left.plotly_chart(chart, key="optimize_convergence")
    path = views.lever_path_frame(report.get("lever_path") or [])
    if not path.empty:
        families = path["family"].nunique()
        levers = px.line(
            path,
            x="iteration",
            y="value",
            color="lever",
            facet_row="family",
            markers=True,
            title="Lever path (full simulations)",
        )
        levers.update_yaxes(matches=None, title_text="")
        levers.for_each_annotation(lambda note: note.update(text=note.text.split("=")[-1]))
        levers.update_layout(height=120 + 140 * families, margin={"t": 40, "b": 10})
        right.plotly_chart(levers, key="optimize_lever_path")
    with st.expander("Iterations", expanded=False):
        st.container(key="optimize_iters").dataframe(
            views.iteration_frame(iterations), hide_index=True
        )
    st.markdown("#### Sensitivities at the answer (effect of +1 pp of each lever)")
    sensitivities = views.sensitivity_frame(report.get("sensitivities") or {})
    if sensitivities.empty:
        st.caption("No sensitivities (the solver had no Jacobian).")
    else:
        st.container(key="optimize_sensitivities").dataframe(sensitivities)
    st.markdown("#### Robustness on other seeds")
    robustness = views.robustness_frame(report.get("robustness"))
    if robustness.empty:
        st.caption("Robustness was not checked (robustness seeds = 0).")
    else:
        st.container(key="optimize_robustness_table").dataframe(robustness, hide_index=True)
    if report.get("robustness_warning"):
        st.warning(report["robustness_warning"])


def _apply_buttons(page: Page, report: dict[str, Any]) -> None:
    best = report.get("best_parameter_set_id")
    before = report.get("start_parameter_set_id")
    active = page.state.active_set(str(report.get("scenario_id", page.scenario_id)))
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
    if (
        right.button(
            f"Roll back to the set before ({before})",
            disabled=before is None or best != active,
            key="optimize_rollback",
            help="After an apply: make the values active before this optimization active again "
            "(recorded as a new set).",
        )
        and before is not None
    ):
        update = application.rollback(
            page.workspace,
            int(before),
            note=f"rollback of optimization {report['optimization_id']}",
        )
        st.session_state[NOTICE_KEY] = (
            f"Rolled back: set {update.parameter_set_id} (a copy of set {before}) is now active."
        )
        st.rerun()
    st.caption(f"Active set of scenario {page.scenario_id}: {active}")
