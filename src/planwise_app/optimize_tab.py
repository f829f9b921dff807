"""Auto-Optimize: targets in, the tuning loop runs in the background, the answer out.

The controls are the reference story's (target growth %, max iterations, tolerance,
strategy) plus a multi-target editor. The loop runs on a thread of the server
(`planwise_app.background`), so it finishes when the analyst leaves the tab or closes the
browser; the page follows its iterations while it runs. An optimization whose process
ended before it finished is listed as interrupted and offered for resume.

The form always holds the targets of the optimization shown below it (or the workspace's
targets.yaml when there is none), so a result is never read against other targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from planwise import application
from planwise.application import OptimizationRecord, OptimizeRequest, ResumeRequest, plain_word
from planwise.errors import UserError
from planwise.metrics import METRICS, metric_label
from planwise.optimization import (
    MODES,
    OptimizationStatus,
    Priority,
    load_targets,
)
from planwise_app import background, queries
from planwise_app import optimization_panel as panel
from planwise_app import optimization_views as views
from planwise_app.common import Page
from planwise_app.entries import decimal_text, number_entry

__all__ = ["render"]

EDITOR_KEY = "optimize_targets"
START_KEY = "optimize_start_point"
EDITOR_VERSION_KEY = "optimize_targets_version"
SOURCE_KEY = "optimize_form_source"
PRIORITIES = tuple(Priority)
_POLL_SECONDS = 1.0
_FINISHED = (
    OptimizationStatus.CONVERGED,
    OptimizationStatus.NOT_CONVERGED,
    OptimizationStatus.CONVERGED_WITH_WARNINGS,
)


@dataclass(frozen=True)
class _Shown:
    """What the page shows below the form, and so what the form holds the targets of."""

    source: str
    """`job:N` (running here), `optimization:N` (stored), or `file` (none yet)."""
    job: background.Job | None = None
    record: OptimizationRecord | None = None


def render(page: Page) -> None:
    st.subheader("Auto-Optimize")
    notice = st.session_state.pop(panel.NOTICE_KEY, None)
    if notice:
        st.success(notice)
    job = background.job_for(page.state.database, page.scenario_id)
    shown = _shown(page, job)
    _follow_form(page, shown)
    mapping = _controls(page, shown)
    running = job is not None and job.running
    started = st.button(
        "Start auto-optimization",
        type="primary",
        key="optimize_start",
        disabled=mapping is None or running,
    )
    if mapping is None:
        st.caption("Start is disabled until every field above holds a valid value.")
    elif running:
        st.caption("Start is disabled while this scenario's optimization runs.")
    else:
        st.caption(
            "The loop runs in the background and stores every iteration as it finishes: you "
            "can leave this page or close the browser; the result is here when you return."
        )
    if started and mapping is not None:
        _start(page, mapping)
    if job is not None and job.state().error and not running and shown.job is job:
        st.error(f"The optimization started here stopped: {job.state().error}")
    if running and job is not None:
        _follow(job, page.level_names)
    elif shown.record is not None:
        _stored(page, shown.record, job)


def _shown(page: Page, job: background.Job | None) -> _Shown:
    """This scenario's optimization running here, else its latest stored one."""
    if job is not None and job.running:
        return _Shown(f"job:{job.serial}", job=job)
    records = [
        record
        for record in application.list_optimizations(page.workspace, 200)
        if record.scenario_id == page.scenario_id
    ]
    if records:
        return _Shown(f"optimization:{records[0].optimization_id}", record=records[0])
    if job is not None:  # it stopped before storing anything (e.g. the targets were refused)
        return _Shown(f"job:{job.serial}", job=job)
    return _Shown("file")


# --- the form --------------------------------------------------------------------------


def _targets_file_point(page: Page) -> views.StartingPoint:
    """From the workspace's targets.yaml when there is a valid one."""
    path = page.workspace.targets_path
    if not path.exists():
        return views.starting_point(None)
    try:
        return views.starting_point(load_targets(path))
    except UserError as error:
        st.warning(f"{path.name} is not used: {error}")
        return views.starting_point(None)


def _point_of(page: Page, shown: _Shown) -> views.StartingPoint:
    mapping: Mapping[str, Any] | None = None
    if shown.record is not None:
        mapping = shown.record.targets_mapping
    elif shown.job is not None:
        mapping = shown.job.targets
    if mapping is None:
        return _targets_file_point(page)
    try:
        return views.starting_point(load_targets(mapping))
    except UserError:
        return _targets_file_point(page)


def _follow_form(page: Page, shown: _Shown) -> None:
    """When the optimization shown changes, the form takes its targets (before it draws)."""
    if st.session_state.get(SOURCE_KEY) == shown.source and START_KEY in st.session_state:
        return
    start = _point_of(page, shown)
    growth = start.growth or views.DEFAULT_GROWTH
    st.session_state.update(
        {
            SOURCE_KEY: shown.source,
            START_KEY: start,
            EDITOR_VERSION_KEY: st.session_state.get(EDITOR_VERSION_KEY, -1) + 1,
            "optimize_use_growth": start.growth is not None,
            "optimize_growth_metric": growth.metric,
            "optimize_target_growth": decimal_text(growth.target_percent, 1),
            "optimize_tolerance": decimal_text(growth.tolerance_points, 2),
            "optimize_growth_priority": growth.priority,
            "optimize_max_iterations": str(start.max_iterations),
            "optimize_mode": start.mode,
            "optimize_robustness": str(start.robustness_seeds),
        }
    )


def _between(low: float, high: float, unit: str = "") -> Any:
    def check(value: float) -> str | None:
        if not low <= value <= high:
            return f"Between {low:g}{unit} and {high:g}{unit}."
        return None

    return check


def _positive_points(value: float) -> str | None:
    if not 0 < value <= 5:
        return "More than 0 and at most 5 pp."
    return None


def _controls(page: Page, shown: _Shown) -> dict[str, Any] | None:
    """The form; the targets mapping it holds, or None while a field is invalid."""
    start: views.StartingPoint = st.session_state[START_KEY]
    _source_caption(page, shown)
    valid = True
    left, right = st.columns(2)
    with left:
        use_growth = st.toggle("Growth target", key="optimize_use_growth", persist_state="page")
        growth_metric = st.selectbox(
            "Growth metric",
            views.GROWTH_METRICS,
            key="optimize_growth_metric",
            disabled=not use_growth,
            format_func=metric_label,
            help="; ".join(
                f"{metric_label(name)}: {METRICS[name].description}"
                for name in views.GROWTH_METRICS
            ),
            persist_state="page",
        )
        target_growth = number_entry(
            st,
            "Target growth rate (%)",
            "optimize_target_growth",
            "4.0",
            check=_between(-10, 20, "%"),
            disabled=not use_growth,
        )
        tolerance = number_entry(
            st,
            "Convergence tolerance (± percentage points)",
            "optimize_tolerance",
            "0.05",
            check=_positive_points,
            disabled=not use_growth,
        )
        priority = st.selectbox(
            "Priority of the growth target",
            PRIORITIES,
            key="optimize_growth_priority",
            format_func=plain_word,
            disabled=not use_growth,
            persist_state="page",
        )
        valid = not use_growth or (target_growth.valid and tolerance.valid)
    with right:
        max_iterations = number_entry(
            st,
            "Max iterations (full simulations)",
            "optimize_max_iterations",
            "10",
            check=_between(1, 50),
            whole=True,
        )
        mode = st.selectbox(
            "Optimization strategy",
            MODES,
            format_func=plain_word,
            key="optimize_mode",
            help="Conservative: one scale per lever family, small steps. Balanced: each level, "
            "mildly regularized. Aggressive: each level, fewest simulations.",
            persist_state="page",
        )
        robustness_seeds = number_entry(
            st,
            "Robustness seeds (re-check the answer on other seeds)",
            "optimize_robustness",
            "0",
            check=_between(0, 20),
            whole=True,
        )
        valid = valid and max_iterations.valid and robustness_seeds.valid
    rows = _editor(page, start)
    if not valid:
        return None
    chosen_growth = (
        views.GrowthTarget(
            str(growth_metric),
            float(target_growth.value or 0.0),
            float(tolerance.value or 0.0),
            Priority(priority),
        )
        if use_growth
        else None
    )
    mapping = views.targets_mapping(
        chosen_growth,
        rows,
        options=start.options,
        max_iterations=int(max_iterations.value or 0),
        mode=str(mode),
        robustness_seeds=int(robustness_seeds.value or 0),
    )
    try:
        load_targets(mapping)
    except UserError as error:
        st.error(str(error))
        return None
    if shown.source.startswith("optimization:") and mapping != _untouched(start):
        st.caption("You changed the targets: Start runs the targets above.")
    return mapping


def _untouched(start: views.StartingPoint) -> dict[str, Any]:
    return start.mapping()


def _source_caption(page: Page, shown: _Shown) -> None:
    if shown.record is not None:
        st.caption(
            f"The form holds the targets of optimization {shown.record.optimization_id}, "
            "shown below."
        )
    elif shown.job is not None:
        st.caption("The form holds the targets of the optimization started here.")
    elif page.workspace.targets_path.exists():
        st.caption(f"Starting from {page.workspace.targets_path.name}")
    else:
        st.caption("No targets.yaml in the workspace: starting from the defaults.")


def _editor(page: Page, start: views.StartingPoint) -> Any:
    st.markdown(
        "**More targets** (any metric; values in the metric's unit: rates in %, their "
        "tolerance in pp; a blank tolerance is 2 % of the target)"
    )
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
                "Metric",
                options=list(METRICS),
                required=True,
                format_func=lambda name: metric_label(str(name)),
            ),
            "target_value": st.column_config.NumberColumn("Target", format="%.6g"),
            "tolerance": st.column_config.NumberColumn("Tolerance (±)", format="%.6g"),
            "priority": st.column_config.SelectboxColumn(
                "Priority",
                options=list(PRIORITIES),
                default=Priority.MEDIUM,
                format_func=plain_word,
            ),
            "year": st.column_config.SelectboxColumn(
                "Year",
                options=[*views.YEAR_WORDS, *years],
                default="final",
                format_func=lambda year: {"final": "Final year", "each": "Each year"}.get(
                    str(year), "Average of the years" if year == "average" else str(year)
                ),
            ),
            "unit": st.column_config.TextColumn("Unit", disabled=True),
        },
    )
    typed = views.typed_rows(rows)
    if not typed.equals(start.rows):
        st.session_state[START_KEY] = replace(start, rows=typed)
        st.session_state[EDITOR_VERSION_KEY] = version + 1
    return typed


# --- running -----------------------------------------------------------------------------


def _start(page: Page, mapping: dict[str, Any]) -> None:
    request = OptimizeRequest(targets=mapping, scenario_id=page.scenario_id)
    background.start_optimization(page.workspace, request)
    st.rerun()


@st.fragment(run_every=_POLL_SECONDS)
def _follow(job: background.Job, level_names: Mapping[int, str]) -> None:
    """The running loop's iterations, read from the registry once a second; a full rerun
    when it ends, so every tab shows the new runs, sets and result."""
    state = job.state()
    if state.finished:
        st.rerun()
    what = f"resuming optimization {job.resumes}" if job.resumes else "optimization"
    st.info(
        f"Running ({what}, started {job.started_at:%H:%M:%S}). It continues in the background "
        "if you leave this page or close the browser.",
        icon=":material/autorenew:",
    )
    done = min(state.simulations / state.budget, 1.0) if state.budget else 0.0
    latest = state.iterations[-1] if state.iterations else None
    text = "Starting the tuning loop…"
    if latest is not None:
        text = (
            f"Iteration {latest.iteration} ({plain_word(latest.kind).lower()}) · "
            f"{state.simulations}/{state.budget} simulations"
        )
    st.progress(done, text=text)
    if state.iterations:
        panel.iterations_table(state.iterations, _metric_names(job), "optimize_live")


def _metric_names(job: background.Job) -> dict[str, str]:
    if job.targets is None:
        return {}
    try:
        return views.metric_of(load_targets(job.targets))
    except UserError:
        return {}


# --- stored optimizations ------------------------------------------------------------------


def _stored(page: Page, record: OptimizationRecord, job: background.Job | None) -> None:
    status = str(record.status)
    if status in {str(value) for value in _FINISHED} and record.report_mapping:
        try:
            result = queries.optimization_result(
                page.state.database, record.optimization_id, queries.optimization_version(record)
            )
        except UserError as error:
            st.warning(str(error))
            return
        panel.show(page, result)
        return
    if status == str(OptimizationStatus.RUNNING) and job is None:
        st.info(
            f"Optimization {record.optimization_id} is running in another process "
            f"({record.iterations} iterations so far)."
        )
        return
    if status == str(OptimizationStatus.RUNNING):
        # Stored as running, written by this server, and no job of it runs: its thread
        # ended without finishing the record. It will not finish by itself.
        reason = job.state().error if job is not None else None
        st.warning(
            f"Optimization {record.optimization_id} stopped before it finished"
            + (f" ({reason})" if reason else "")
            + ". Resume it to continue from its last simulation.",
            icon=":material/pause_circle:",
        )
    elif status == OptimizationStatus.INTERRUPTED:
        st.warning(
            f"Optimization {record.optimization_id} was interrupted after "
            f"{record.simulations} full simulations: the process running it ended before it "
            "finished. Resume it to continue from its last simulation.",
            icon=":material/pause_circle:",
        )
    else:
        reason = (record.report_mapping or {}).get("error", "")
        st.error(f"Optimization {record.optimization_id} failed. {reason}".strip())
    if st.button(
        f"Resume optimization {record.optimization_id}",
        key="optimize_resume",
        type="primary",
        help="Continue from its last stored simulation, with its own targets.",
    ):
        background.start_resume(
            page.workspace, page.scenario_id, ResumeRequest(record.optimization_id)
        )
        st.rerun()
