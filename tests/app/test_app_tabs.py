"""Each tab of the analysts' app, driven through AppTest on a 1,500-employee workspace:
set the inputs, click, and check that what the page shows changes as it should."""

from __future__ import annotations

from app_support import OpenApp, active_set, frame, set_lever, switch, texts
from streamlit.testing.v1 import AppTest

from planwise import application
from planwise.application import Workspace

SMALL_HEADCOUNT = "1,500"


def _metric(app: AppTest, label_start: str) -> tuple[str, str]:
    for item in app.metric:
        if item.label.startswith(label_start):
            return item.value, item.delta
    raise AssertionError(f"no metric {label_start!r} in {[m.label for m in app.metric]}")


def _lever_key(app: AppTest, ending: str) -> str:
    """The key of the Impact field of a lever and level (`merit_base_1`)."""
    return next(item.key for item in app.text_input if item.key.endswith(ending))


# Overview -----------------------------------------------------------------------------


def test_overview_shows_the_census_the_levers_and_the_baseline(open_app: OpenApp) -> None:
    app = open_app("Overview")
    assert _metric(app, "Starting headcount")[0] == SMALL_HEADCOUNT
    assert "Every lever is inside its usual range." in texts(app)
    levers = frame(app, "overview_lever_table")
    assert set(levers["lever"]) >= {"Merit", "COLA"}  # labels, not snake_case
    assert set(levers["Staff"]) >= {"3.0%", "2.0%", "×1.00"}  # levels by name, values in units
    assert "Latest run 1" in texts(app)
    assert _metric(app, "Headcount")[0] == SMALL_HEADCOUNT  # the census baseline


def test_overview_warns_about_a_lever_outside_its_usual_range(
    open_app: OpenApp, workspace: Workspace
) -> None:
    set_lever(workspace, "merit_base", 0.09, level=2)
    app = open_app("Overview")
    warnings = [item.value for item in app.warning]
    assert any(
        message.startswith("Merit 9.0%") and "usual range" in message for message in warnings
    )
    assert "levers differ from the active set" in texts(app)  # run 1 used the older set


# Impact -------------------------------------------------------------------------------


def test_impact_a_merit_change_moves_the_projection(open_app: OpenApp) -> None:
    app = open_app("Impact")
    before, delta = _metric(app, "Total compensation cost")
    assert delta == ""
    key = _lever_key(app, "merit_base_1")
    app.text_input(key=key).input("6").run()
    assert not app.exception
    after, delta = _metric(app, "Total compensation cost")
    assert after != before and delta.startswith("+$")
    assert "pay replayed on the active set's plan" in texts(app)
    comparison = frame(app, "impact_comparison")
    assert comparison.loc[comparison["metric"] == "Median merit increase", "difference"].item() != (
        "+0.00 pp"
    )
    app.text_input(key=key).input("3").run()  # back to the active value
    assert _metric(app, "Total compensation cost") == (before, "")


def test_impact_a_promotion_change_runs_the_full_simulation(open_app: OpenApp) -> None:
    app = open_app("Impact")
    key = _lever_key(app, "promotion_probability_1")
    app.text_input(key=key).input("30").run()
    assert "full simulation" in texts(app)
    assert _metric(app, "Total compensation cost")[1] != ""


def test_impact_warns_and_saves_a_new_active_set(open_app: OpenApp, workspace: Workspace) -> None:
    app = open_app("Impact")
    key = _lever_key(app, "cola_rate_3")
    app.text_input(key=key).input("7").run()
    assert any("COLA 7.0%" in item.value for item in app.warning)
    before = active_set(workspace)
    save = next(item for item in app.button if item.label == "Save as the new active set")
    save.click().run()
    assert not app.exception
    after = active_set(workspace)
    assert after is not None and after != before
    assert f"Stored parameter set {after}" in texts(app)
    # The inputs now start from the saved set: no edits, and the value is the new one.
    assert "No edits" in texts(app)
    new_key = _lever_key(app, "cola_rate_3")
    assert app.text_input(key=new_key).value == "7.00"
    assert f"Active parameter set: {after}" in texts(app)


def test_impact_saves_every_edit_in_one_parameter_set(
    open_app: OpenApp, workspace: Workspace
) -> None:
    """Regression: Save stored one parameter set per edited lever (issue 13's follow-up)."""
    app = open_app("Impact")
    app.text_input(key=_lever_key(app, "merit_base_1")).input("4")
    app.text_input(key=_lever_key(app, "cola_rate_2")).input("3").run()
    before = application.lever_history(workspace, "default")
    save = next(item for item in app.button if item.label == "Save as the new active set")
    save.click().run()
    assert not app.exception
    after = application.lever_history(workspace, "default")
    assert len(after) == len(before) + 1  # one set holding both edits
    saved = active_set(workspace)
    assert (
        saved == after[-1].parameter_set_id and after[-1].parent_id == before[-1].parameter_set_id
    )
    levers = application.lever_view(workspace, "default", saved)
    for year in levers.years:
        assert levers.resolved.value("merit_base", year, 1) == 0.04
        assert levers.resolved.value("cola_rate", year, 2) == 0.03
    assert f"Stored parameter set {saved} with 2 edited lever(s)" in texts(app)


# Run and Results ----------------------------------------------------------------------


def test_run_stores_a_run_and_results_show_it(open_app: OpenApp, workspace: Workspace) -> None:
    app = open_app("Run")
    assert "Runs happen in this app's process, not through Dagster" in texts(app)
    app.text_input(key="run_years").input("2")
    app.text_input(key="run_seed").input("7")
    next(item for item in app.button if item.label.startswith("Run scenario")).click().run()
    assert not app.exception
    assert "Stored run 2" in texts(app)
    stored = application.run_results(workspace, 2).run
    assert (stored.seed, stored.end_year - stored.start_year + 1) == (7, 2)
    switch(app, "Results")
    assert app.selectbox[0].value == 2  # the newest run, without asking
    assert list(frame(app, "results_all_metrics").columns) == ["2025", "2026"]


def test_results_filters_by_status_and_pages_the_event_log(open_app: OpenApp) -> None:
    app = open_app("Results")
    everyone = frame(app, "results_level_table")
    app.multiselect(key="results_statuses").set_value(["new_hire_active"]).run()
    new_hires = frame(app, "results_level_table")
    assert new_hires["employees"].sum() < everyone["employees"].sum()

    app.multiselect(key="events_types").set_value(["hire"]).run()
    first_page = frame(app, "events_table")
    assert set(first_page["event_type"]) == {"hire"} and len(first_page) == 50
    page = next(item for item in app.number_input if item.key.startswith("events_page"))
    page.set_value(2).run()
    second_page = frame(app, "events_table")
    assert set(second_page["employee_id"]).isdisjoint(set(first_page["employee_id"]))
    assert any(item.value.startswith("Events 51–100 of") for item in app.caption)
    labels = [item.label for item in app.get("download_button")]
    assert labels == ["Metrics (CSV)", "Metrics and levels (Excel)"]


# History ------------------------------------------------------------------------------


def test_history_diffs_and_rolls_back_a_parameter_set(
    open_app: OpenApp, workspace: Workspace
) -> None:
    first = active_set(workspace)
    edited = set_lever(workspace, "merit_base", 0.05, level=1)
    app = open_app("History")
    sets = frame(app, "history_sets")
    assert list(sets["parameter_set_id"])[:2] == [edited, first]
    app.selectbox(key="history_after").set_value(edited)
    app.selectbox(key="history_before").set_value(first).run()
    diff = frame(app, "history_diff")
    assert set(diff["Lever"]) == {"Merit"} and set(diff[f"Set {edited}"]) == {"5.0%"}
    assert list(diff.columns[3:5]) == [f"Set {first}", f"Set {edited}"]  # older → newer

    app.selectbox(key="history_rollback_to").set_value(first)
    app.button(key="history_rollback").click().run()
    assert not app.exception
    restored = active_set(workspace)
    assert restored not in (first, edited)
    assert f"a copy of set {first}" in texts(app)
    assert "No optimization has run yet" in texts(app)


def test_edits_survive_switching_tabs(open_app: OpenApp) -> None:
    app = open_app("Impact")
    key = _lever_key(app, "merit_base_2")
    app.text_input(key=key).input("5.5").run()
    edited = _metric(app, "Total compensation cost")
    switch(app, "Auto-Optimize")
    app.text_input(key="optimize_target_growth").input("3.9")
    app.session_state["optimize_targets_0"] = {
        "edited_rows": {},
        "added_rows": [{"metric": "headcount", "target_value": 12000, "tolerance": 50}],
        "deleted_rows": [],
    }
    app.run()
    switch(app, "Overview")
    switch(app, "Impact")
    assert app.text_input(key=key).value == "5.5"
    assert _metric(app, "Total compensation cost") == edited
    switch(app, "Auto-Optimize")
    assert app.text_input(key="optimize_target_growth").value == "3.9"
    assert list(app.data_editor[0].value["metric"]) == [
        "median_merit_increase",
        "new_hire_pay_ratio",
        "headcount",
    ]
