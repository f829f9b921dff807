"""Impact: move levers and see the projected §7 metrics against the active set, in memory.

The census workforce and the active set's projection are cached per census and parameter
set, so a lever change costs one in-memory simulation (nothing is stored until "Save").

No silent changes: each field starts with a rounding of the stored value, and while its
text is unchanged the lever keeps its stored value exactly — it is not an edit, Save
does not write it, and the projection is the stored set's. An entry that is not a valid
value is a message under its field, and Save waits until it is fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from planwise import application
from planwise.application import (
    EditLeversRequest,
    LeverEdit,
    LeverView,
    Projection,
    RunRecord,
)
from planwise.metrics import METRICS, RunMetrics, format_difference, format_metric, metric_label
from planwise.parameters import PARAMETERS, LeverKey, ParameterSpec
from planwise.parameters.validation import group_range_warnings
from planwise.simulation import Workforce
from planwise_app import charts, queries, tables
from planwise_app.common import (
    Page,
    active_census,
    cards_scope,
    lever_view,
    reference_projection,
)
from planwise_app.entries import decimal_text, number_entry, same_number

__all__ = ["render"]

_CARDS = (
    "total_compensation_cost",
    "average_salary",
    "compensation_growth_cagr",
    "cumulative_compensation_cost",
)
_TIE_OUT = ("total_compensation_cost", "cumulative_compensation_cost")
_FORGET_KEY = "impact_forget"


def _scale(spec: ParameterSpec) -> float:
    """Rates are typed in percent, multipliers as they are."""
    return 100.0 if spec.unit == "rate" else 1.0


def _unit(spec: ParameterSpec) -> str:
    return "%" if spec.unit == "rate" else "× band midpoint"


def _prefix(page: Page, set_id: int) -> str:
    # Keyed on the active set: after a save, apply or rollback the inputs start from it.
    return f"impact_{page.scenario_id}_{set_id}_"


def _key(prefix: str, name: str, level: int) -> str:
    return f"{prefix}{name}_{level}"


def _start_text(spec: ParameterSpec, value: float) -> str:
    """The field's starting text: the stored value, rounded to what an analyst types."""
    return decimal_text(value * _scale(spec))


def _reset(prefix: str, starts: dict[str, str]) -> None:
    """Every field back to the active set's value (a widget's state, set before it draws)."""
    for key, text in starts.items():
        st.session_state[key] = text
    st.session_state.pop(f"{prefix}note", None)


@dataclass(frozen=True)
class _Inputs:
    edits: dict[tuple[str, int], float]
    """(lever, level) → the new value, for the fields whose text was changed."""
    invalid: int
    """Fields whose entry is not a valid value (shown under the field)."""
    starts: dict[str, str]
    """Each field's key → its starting text (what Reset puts back)."""


def _lever_inputs(page: Page, levers: LeverView, prefix: str) -> _Inputs:
    """One field per (lever, level), starting at the first year's value."""
    first = levers.years[0]
    edits: dict[tuple[str, int], float] = {}
    starts: dict[str, str] = {}
    invalid = 0
    header = st.columns([1.4, *([1.0] * len(levers.levels))])
    header[0].caption("Lever")
    for column, level in zip(header[1:], levers.levels, strict=True):
        column.caption(f"**{page.level_name(level)}** (level {level})")
    for spec in PARAMETERS:
        scale = _scale(spec)
        varies = any(
            len({levers.resolved.value(spec.name, year, level) for year in levers.years}) > 1
            for level in levers.levels
        )
        label, *columns = st.columns([1.4, *([1.0] * len(levers.levels))])
        label.markdown(
            f"**{spec.label}** ({_unit(spec)})"
            + ("  \nvaries by year; an edit sets every year" if varies else ""),
            help=spec.description,
        )
        low, high = spec.error_range

        def check(
            typed: float, spec: ParameterSpec = spec, low: float = low, high: float = high
        ) -> str | None:
            value = typed / _scale(spec)
            if not low <= value <= high:
                return f"Allowed: {spec.format_range((low, high))}."
            return None

        for column, level in zip(columns, levers.levels, strict=True):
            stored = levers.resolved.value(spec.name, first, level)
            locked = bool(levers.resolved.locked[spec.name][0, level])
            key = _key(prefix, spec.name, level)
            start = _start_text(spec, stored)
            starts[key] = start
            entry = number_entry(
                column,
                f"{spec.label}, {page.level_name(level)}" + (" (locked)" if locked else ""),
                key,
                start,
                check=check,
                disabled=locked,
                label_visibility="collapsed",
                help=(
                    f"Stored: {spec.format_value(stored)} ({stored:.10g})"
                    + (" · locked in the active set" if locked else "")
                ),
            )
            if entry.value is None:
                invalid += 1
            elif not same_number(entry.value, start):
                edits[(spec.name, level)] = round(entry.value / scale, 10)
    return _Inputs(edits, invalid, starts)


def render(page: Page) -> None:
    state, settings = page.state, page.settings
    st.subheader("Impact")
    forget = st.session_state.pop(_FORGET_KEY, None)
    if forget:
        for key in [key for key in st.session_state if str(key).startswith(forget)]:
            del st.session_state[key]
    saved = st.session_state.pop("impact_saved", None)
    if saved:
        st.success(saved)
    set_id = state.active_set(page.scenario_id)
    if state.census_id is None or set_id is None:
        st.info("The Impact tab needs a census and an active parameter set.")
        return
    levers = lever_view(state.database, state.settings_json, page.scenario_id, set_id)
    workforce = active_census(state.database, state.census_id).workforce
    reference = reference_projection(
        state.database, state.settings_json, state.census_id, page.scenario_id, set_id
    )
    st.caption(
        f"Projection in memory of {len(workforce):,} employees over "
        f"{levers.years[0]}–{levers.years[-1]} (seed {settings.seed}), against the active "
        f"parameter set {set_id}. Nothing is stored until you save."
    )
    _tie_out(page, set_id, reference.metrics)
    prefix = _prefix(page, set_id)
    summary = st.container()  # filled once the edits are known, shown above the inputs
    with st.expander("Levers (by job level; an edit applies to every simulated year)", True):
        inputs = _lever_inputs(page, levers, prefix)
        st.button(
            "Reset to the active set",
            on_click=_reset,
            args=(prefix, inputs.starts),
            key="impact_reset",
            help="Put every field back to the active set's value.",
        )
    edits = inputs.edits
    with summary:
        if inputs.invalid:
            st.error(
                f"{inputs.invalid} field(s) below do not hold a valid value: fix them to see "
                "the projection and to save.",
                icon=":material/error:",
            )
            candidate = None
        else:
            candidate, seconds, how = _projection(page, levers, workforce, edits, reference)
            for warning in group_range_warnings(
                (name, year, level, value)
                for (name, level), value in edits.items()
                for year in levers.years
            ):
                st.warning(warning.message)
            if edits:
                st.caption(
                    f"{len(edits)} lever(s) edited · projected in {seconds * 1000:.0f} ms ({how})"
                )
            else:
                st.caption("No edits: the projection is the active set's.")
            _cards(reference.metrics, candidate, bool(edits))
    if candidate is not None:
        _details(reference.metrics, candidate, set_id)
    _save(page, levers, edits, inputs, set_id)


def _stored_run(page: Page, set_id: int) -> RunRecord | None:
    """The newest stored run of exactly what the projection simulates: this set, the
    census, the seed and the years of planwise.yaml."""
    settings, state = page.settings, page.state
    last_year = settings.start_year + settings.years - 1
    for run in queries.list_runs(state.database, state.runs_version):
        if (
            run.parameter_set_id == set_id
            and run.census_id == state.census_id
            and run.seed == settings.seed
            and (run.start_year, run.end_year) == (settings.start_year, last_year)
        ):
            return run
    return None


def _tie_out(page: Page, set_id: int, projected: RunMetrics) -> None:
    """Whether the projection of the active set matches its stored run, to the dollar."""
    run = _stored_run(page, set_id)
    if run is None:
        st.caption(f"No stored run of set {set_id} with these settings yet to tie out with.")
        return
    stored = queries.run_metrics(page.state.database, run.run_id, run.end_year)
    gaps = {
        name: projected.value(name) - stored.value(name)
        for name in _TIE_OUT
        if abs(round(projected.value(name)) - round(stored.value(name))) >= 1
    }
    figures = " and ".join(
        f"{metric_label(name).lower()} {format_metric(name, stored.value(name))}"
        for name in _TIE_OUT
    )
    if not gaps:
        st.caption(
            f":material/check: Ties out with stored run {run.run_id} to the dollar: {figures}.",
        )
        return
    differences = "; ".join(
        f"{metric_label(name)} {format_difference(name, gap)}" for name, gap in gaps.items()
    )
    st.warning(f"The projection differs from stored run {run.run_id} ({figures}): {differences}.")


def _projection(
    page: Page,
    levers: LeverView,
    workforce: Workforce,
    edits: dict[tuple[str, int], float],
    reference: Projection,
) -> tuple[RunMetrics, float, str]:
    """The edited levers' metrics, the seconds they took (all years) and how they were made."""
    if not edits:
        return reference.metrics, 0.0, ""
    updates: dict[LeverKey, float] = {
        (name, year, level): value
        for (name, level), value in edits.items()
        for year in levers.years
    }
    started = time.perf_counter()
    edited = levers.resolve(levers.lever_set.with_values(updates))
    change = application.project_change(page.settings, workforce, reference, edited)
    return change.metrics, time.perf_counter() - started, change.how


def _cards(reference: RunMetrics, candidate: RunMetrics, edited: bool) -> None:
    st.caption(cards_scope(reference.years))
    columns = st.columns(len(_CARDS))
    for column, name in zip(columns, _CARDS, strict=True):
        after = candidate.value(name)
        before = reference.value(name)
        column.metric(
            metric_label(name),
            format_metric(name, after),
            delta=format_difference(name, after - before) if edited else None,
            delta_color="off",
            help=METRICS[name].description,
        )


def _details(reference: RunMetrics, candidate: RunMetrics, set_id: int) -> None:
    """Every §7 metric of a chosen year side by side, and one metric's path over the years."""
    table, chart = st.columns([3, 2], gap="large")
    with table:
        _comparison(reference, candidate, set_id)
    with chart:
        _chart(reference, candidate, set_id)


def _comparison(reference: RunMetrics, candidate: RunMetrics, set_id: int) -> None:
    final = reference.years[-1]
    year = st.select_slider(
        "Year", options=reference.years, value=final, key="impact_year", persist_state="page"
    )
    comparison = tables.metric_comparison(reference, candidate, year)
    names = comparison["metric"]
    shown = comparison.drop(columns=["unit"])
    shown["metric"] = [metric_label(name) for name in names]
    for column in ("active", "edited"):
        shown[column] = [format_metric(n, v) for n, v in zip(names, shown[column], strict=True)]
    shown["difference"] = [
        format_difference(n, v) for n, v in zip(names, shown["difference"], strict=True)
    ]
    st.container(key="impact_comparison").dataframe(
        shown,
        hide_index=True,
        column_config={
            "metric": "Metric",
            "scope": "Year",
            "active": f"Active (set {set_id})",
            "edited": "Edited",
            "difference": "Difference",
            "description": "What it is",
        },
    )


def _chart(reference: RunMetrics, candidate: RunMetrics, set_id: int) -> None:
    per_year = [name for name, spec in METRICS.items() if spec.per_year]
    chosen = st.selectbox(
        "Chart",
        per_year,
        index=per_year.index("total_compensation_cost"),
        format_func=metric_label,
        key="impact_chart_metric",
        persist_state="page",
    )
    before = [reference.per_year[y][chosen] for y in reference.years]
    after = [candidate.per_year[y][chosen] for y in candidate.years]
    axis = charts.metric_axis(chosen, [*before, *after])
    figure = go.Figure()
    figure.add_scatter(
        x=reference.years, y=axis.scaled(before), name=f"active set {set_id}", mode="lines+markers"
    )
    figure.add_scatter(x=candidate.years, y=axis.scaled(after), name="edited", mode="lines+markers")
    charts.style(figure, metric_label(chosen), axis)
    st.plotly_chart(figure, key="impact_chart")


def _save(
    page: Page,
    levers: LeverView,
    edits: dict[tuple[str, int], float],
    inputs: _Inputs,
    set_id: int,
) -> None:
    """Every edit in one new parameter set (its parent: the active set), made active."""
    prefix = _prefix(page, set_id)
    note = st.text_input(
        "Note for the new parameter set", key=f"{prefix}note", persist_state="page"
    )
    if inputs.invalid:
        st.caption("Save is disabled until every field holds a valid value.")
    if not st.button(
        "Save as the new active set",
        type="primary",
        disabled=not edits or bool(inputs.invalid),
        key="impact_save",
    ):
        return
    chosen = sorted(edits.items())
    first = levers.years[0]
    specs = {spec.name: spec for spec in PARAMETERS}
    described = "; ".join(
        f"{specs[name].label} {page.level_name(level)} "
        f"{specs[name].format_value(levers.resolved.value(name, first, level))} → "
        f"{specs[name].format_value(value)}"
        for (name, level), value in chosen
    )
    request = EditLeversRequest(
        tuple(LeverEdit(name, value, level=level) for (name, level), value in chosen),
        scenario_id=page.scenario_id,
        note=note or f"app edit: {described}",
    )
    update = application.edit_levers(page.workspace, request)
    st.session_state[_FORGET_KEY] = prefix  # the saved set's fields: dropped on the rerun
    st.session_state["impact_saved"] = (
        f"Stored parameter set {update.parameter_set_id} with {len(chosen)} edited lever(s) "
        f"({described}); it is now active."
        if update.stored
        else "The edits match the active set: nothing was stored."
    )
    st.rerun()
