"""Impact: move levers and see the projected §7 metrics against the active set, in memory.

The census workforce and the active set's projection are cached per census and parameter
set, so a lever change costs one in-memory simulation (nothing is stored until "Save").
Inputs are driven by the lever declarations: label, description, allowed range, unit.
"""

from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from planwise import application
from planwise.application import EditLeversRequest, LeverEdit, LeverView, Projection
from planwise.metrics import METRICS, RunMetrics, format_difference, format_metric
from planwise.parameters import PARAMETERS, LeverKey, ParameterSpec
from planwise.parameters.validation import LeverDomain, validate_lever_value
from planwise.simulation import Workforce
from planwise_app import tables
from planwise_app.common import Page, active_census, lever_view, reference_projection

__all__ = ["render"]

_CARDS = (
    "total_compensation_cost",
    "average_salary",
    "compensation_growth_cagr",
    "cumulative_compensation_cost",
)
_SAME = 1e-9


def _scale(spec: ParameterSpec) -> float:
    """Rates are shown in percent, multipliers as they are."""
    return 100.0 if spec.unit == "rate" else 1.0


def _prefix(page: Page, set_id: int) -> str:
    # Keyed on the active set: after a save, apply or rollback the inputs start from it.
    return f"impact_{page.scenario_id}_{set_id}_"


def _reset(prefix: str) -> None:
    for key in [key for key in st.session_state if str(key).startswith(prefix)]:
        del st.session_state[key]


def _lever_inputs(levers: LeverView, prefix: str) -> dict[tuple[str, int], float]:
    """One input per (lever, level), starting at the first year's value; returns the edits."""
    first = levers.years[0]
    edits: dict[tuple[str, int], float] = {}
    for spec in PARAMETERS:
        scale = _scale(spec)
        unit = "" if "%" in spec.label else (" (%)" if scale == 100.0 else " (×)")
        varies = any(
            len({levers.resolved.value(spec.name, year, level) for year in levers.years}) > 1
            for level in levers.levels
        )
        label, *columns = st.columns([1.4, *([1.0] * len(levers.levels))])
        label.markdown(
            f"**{spec.label}**{unit}"
            + ("  \nvaries by year; an edit sets every year" if varies else ""),
            help=spec.description,
        )
        for column, level in zip(columns, levers.levels, strict=True):
            current = levers.resolved.value(spec.name, first, level)
            locked = bool(levers.resolved.locked[spec.name][0, level])
            low, high = spec.error_range
            value = column.number_input(
                f"Level {level}" + (" (locked)" if locked else ""),
                min_value=round(min(low, current) * scale, 6),
                max_value=round(max(high, current) * scale, 6),
                value=round(current * scale, 6),
                step=0.1 if scale == 100.0 else 0.01,
                format="%.2f",
                key=f"{prefix}{spec.name}_{level}",
                disabled=locked,
                help="Locked in the active set" if locked else None,
                persist_state="page",
            )
            chosen = round(float(value) / scale, 8)
            if abs(chosen - current) > _SAME:
                edits[(spec.name, level)] = chosen
    return edits


def _findings(page: Page, edits: dict[tuple[str, int], float]) -> tuple[list[str], list[str]]:
    domain = LeverDomain.from_settings(page.settings)
    errors: list[str] = []
    warnings: list[str] = []
    for (name, level), value in edits.items():
        found_errors, found_warnings = validate_lever_value(name, value, domain, level=level)
        errors.extend(f"Level {level}: {problem.describe()}" for problem in found_errors)
        warnings.extend(f"Level {level}: {problem.describe()}" for problem in found_warnings)
    return errors, warnings


def render(page: Page) -> None:
    state, settings = page.state, page.settings
    st.subheader("Impact")
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
    prefix = _prefix(page, set_id)
    summary = st.container()  # filled once the edits are known, shown above the inputs
    with st.expander("Levers (by job level; an edit applies to every simulated year)", True):
        edits = _lever_inputs(levers, prefix)
        st.button("Reset to the active set", on_click=_reset, args=(prefix,))
    errors, warnings = _findings(page, edits)
    with summary:
        if errors:
            for message in errors:
                st.error(message)
            st.info("Fix the errors to see the projection.")
            return
        candidate, seconds, how = _projection(page, levers, workforce, edits, reference)
        for message in warnings:
            st.warning(message)
        if edits:
            st.caption(
                f"{len(edits)} lever(s) edited · projected in {seconds * 1000:.0f} ms ({how})"
            )
        else:
            st.caption("No edits: the projection is the active set's.")
        _cards(reference.metrics, candidate, bool(edits))
    _details(reference.metrics, candidate, set_id)
    _save(page, edits, set_id)


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
    final = reference.years[-1]
    columns = st.columns(len(_CARDS))
    for column, name in zip(columns, _CARDS, strict=True):
        after = candidate.value(name)
        before = reference.value(name)
        scope = str(final) if METRICS[name].per_year else "horizon"
        column.metric(
            f"{name.replace('_', ' ').capitalize()} ({scope})",
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
    shown = comparison.drop(columns=["unit"])
    names = comparison["metric"]
    for column in ("active", "edited"):
        shown[column] = [format_metric(n, v) for n, v in zip(names, shown[column], strict=True)]
    shown["difference"] = [
        format_difference(n, v) for n, v in zip(names, shown["difference"], strict=True)
    ]
    shown = shown.rename(columns={"active": f"active (set {set_id})"})
    st.container(key="impact_comparison").dataframe(shown, hide_index=True)


def _chart(reference: RunMetrics, candidate: RunMetrics, set_id: int) -> None:
    per_year = [name for name, spec in METRICS.items() if spec.per_year]
    chosen = st.selectbox(
        "Chart",
        per_year,
        index=per_year.index("total_compensation_cost"),
        key="impact_chart_metric",
        persist_state="page",
    )
    figure = go.Figure()
    figure.add_scatter(
        x=reference.years,
        y=[reference.per_year[y][chosen] for y in reference.years],
        name=f"active set {set_id}",
        mode="lines+markers",
    )
    figure.add_scatter(
        x=candidate.years,
        y=[candidate.per_year[y][chosen] for y in candidate.years],
        name="edited",
        mode="lines+markers",
    )
    figure.update_layout(title=chosen, height=320, margin={"t": 40, "b": 10}, xaxis={"dtick": 1})
    st.plotly_chart(figure, key="impact_chart")


def _save(page: Page, edits: dict[tuple[str, int], float], set_id: int) -> None:
    """Every edit in one new parameter set (its parent: the active set), made active."""
    note = st.text_input("Note for the new parameter set", key="impact_note", persist_state="page")
    if not st.button("Save as the new active set", type="primary", disabled=not edits):
        return
    chosen = sorted(edits.items())
    described = "; ".join(f"{name} level {level} = {value:g}" for (name, level), value in chosen)
    request = EditLeversRequest(
        tuple(LeverEdit(name, value, level=level) for (name, level), value in chosen),
        scenario_id=page.scenario_id,
        note=note or f"app edit: {described}",
    )
    update = application.edit_levers(page.workspace, request)
    _reset(_prefix(page, set_id))
    st.session_state["impact_saved"] = (
        f"Stored parameter set {update.parameter_set_id} with {len(chosen)} edited lever(s); "
        "it is now active."
        if update.stored
        else "The edits match the active set: nothing was stored."
    )
    st.rerun()
