"""Issue 14 in the app, through AppTest: no value changes that nobody edited, an invalid
entry blocks the action, Reset resets, the optimization runs outside the page, scenarios
are made in the app, and what the pages show reads in plain words and units.

(The browser test drives the same defects where only a browser shows them: a number
input's rounding sent back by the page, leaving the page while the loop runs.)"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from app_support import OpenApp, active_set, frame, set_lever, switch, texts
from streamlit.testing.v1 import AppTest

from planwise import application
from planwise.application import OptimizeRequest, SimulateRequest, Workspace
from planwise.errors import UserError
from planwise_app import background


def _key(app: AppTest, ending: str) -> str:
    return next(item.key for item in app.text_input if item.key.endswith(ending))


def _save(app: AppTest) -> Any:
    return app.button(key="impact_save")


# Impact: stored values kept, invalid entries blocked, Reset -----------------------------


def test_an_unrounded_stored_value_is_shown_rounded_and_never_written_back(
    open_app: OpenApp, workspace: Workspace
) -> None:
    """Regression: after applying an optimizer set, Impact counted 15 edits and Save would
    have stored the levers rounded to the inputs' two decimals."""
    stored = 0.031723456789
    set_lever(workspace, "merit_base", stored, level=1)
    app = open_app("Impact")
    field = app.text_input(key=_key(app, "merit_base_1"))
    assert field.value == "3.1723"  # a rounding to read …
    assert "No edits: the projection is the active set's." in texts(app)  # … not an edit
    assert _save(app).disabled
    field.input("3.1723").run()  # typing what it shows is no edit either
    assert "No edits" in texts(app)

    app.text_input(key=_key(app, "cola_rate_2")).input("2.5").run()
    assert "1 lever(s) edited" in texts(app)
    _save(app).click().run()
    saved = application.lever_view(workspace, "default", active_set(workspace))
    for year in saved.years:
        assert saved.resolved.value("merit_base", year, 1) == stored  # exactly, not 0.0317
        assert saved.resolved.value("cola_rate", year, 2) == 0.025


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        pytest.param("abc", "“abc” is not a number.", id="not-a-number"),
        pytest.param("", "Type a number.", id="blank"),
        pytest.param("30", "Allowed: 0.0%–25.0%.", id="out-of-range-not-clamped"),
    ],
)
def test_an_invalid_entry_is_a_message_under_its_field_and_save_is_disabled(
    open_app: OpenApp, typed: str, message: str
) -> None:
    app = open_app("Impact")
    app.text_input(key=_key(app, "merit_base_2")).input("4").run()
    assert "1 lever(s) edited" in texts(app)
    app.text_input(key=_key(app, "merit_base_1")).input(typed).run()
    assert message in [item.value for item in app.error]
    assert "1 field(s) below do not hold a valid value" in texts(app)
    assert _save(app).disabled  # the valid edit waits too: nothing half-applied
    assert not app.metric  # no projection of a value nobody typed


def test_reset_puts_every_field_back_to_the_active_set(open_app: OpenApp) -> None:
    app = open_app("Impact")
    app.text_input(key=_key(app, "merit_base_1")).input("4.5")
    app.text_input(key=_key(app, "cola_rate_3")).input("nonsense").run()
    app.button(key="impact_reset").click().run()
    assert app.text_input(key=_key(app, "merit_base_1")).value == "3.00"
    assert app.text_input(key=_key(app, "cola_rate_3")).value == "2.00"
    assert "No edits: the projection is the active set's." in texts(app)
    assert not app.error


def test_impact_ties_out_with_the_stored_run_of_the_active_set(open_app: OpenApp) -> None:
    app = open_app("Impact")
    assert any(
        item.value.startswith(":material/check: Ties out with stored run 1 to the dollar")
        for item in app.caption
    )


# Auto-Optimize: the loop runs outside the page ------------------------------------------


@pytest.fixture
def held_optimization(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """`application.optimize` replaced by one that waits until the test releases it."""
    release = threading.Event()

    def waiting(workspace: Workspace, request: OptimizeRequest, listen: Any = None) -> Any:
        assert release.wait(timeout=60)
        raise UserError("released by the test")

    monkeypatch.setattr(application, "optimize", waiting)
    return release


def test_an_optimization_runs_on_the_server_and_outlives_the_page(
    open_app: OpenApp, workspace: Workspace, held_optimization: threading.Event
) -> None:
    app = open_app("Auto-Optimize")
    app.button(key="optimize_start").click().run()
    job = background.job_for(str(workspace.database_path), "default")
    assert job is not None and job.running
    assert any(item.value.startswith("Running (optimization") for item in app.info)
    assert app.button(key="optimize_start").disabled  # one per workspace and scenario
    with pytest.raises(UserError, match="already running"):
        background.start_optimization(workspace, OptimizeRequest())
    switch(app, "Overview")  # the page leaves; the loop does not stop
    assert job.running
    switch(app, "Auto-Optimize")
    assert any(item.value.startswith("Running (optimization") for item in app.info)
    held_optimization.set()
    assert job.wait(timeout=30)
    app.run()
    assert "The optimization started here stopped: released by the test" in texts(app)
    assert not app.button(key="optimize_start").disabled


def test_the_form_shows_the_targets_of_the_optimization_shown(
    open_app: OpenApp, workspace: Workspace
) -> None:
    application.optimize(
        workspace,
        OptimizeRequest(
            targets={
                "optimization": {"max_iterations": 3, "mode": "conservative"},
                "targets": {
                    "compensation_growth_cagr": {"target_value": 0.041, "tolerance": 0.002}
                },
            }
        ),
    )  # e.g. from the CLI
    app = open_app("Auto-Optimize")
    assert "The form holds the targets of optimization 1, shown below." in texts(app)
    assert app.text_input(key="optimize_target_growth").value == "4.1"
    assert app.text_input(key="optimize_tolerance").value == "0.20"
    assert app.text_input(key="optimize_max_iterations").value == "3"
    assert app.selectbox(key="optimize_mode").value == "conservative"
    assert app.data_editor[0].value.empty  # the file's other targets are not this one's


# Scenarios and comparisons ----------------------------------------------------------------


def test_a_scenario_is_made_as_a_named_copy_in_the_app(
    open_app: OpenApp, workspace: Workspace
) -> None:
    app = open_app("Overview")
    app.text_input(key="scenario_new_name").input("low_cola")
    app.text_input(key="scenario_new_note").input("COLA at 1% from 2026")
    app.button(key="scenario_create").click().run()
    assert app.selectbox(key="scenario").value == "low_cola"  # and it is the one shown
    assert "Scenario 'low_cola': copy of 'default', made by" in texts(app)
    assert "COLA at 1% from 2026" in texts(app)
    created = application.lever_view(workspace, "low_cola")
    original = application.lever_view(workspace, "default")
    assert (created.resolved.values["cola_rate"] == original.resolved.values["cola_rate"]).all()
    app.text_input(key="scenario_new_name").input("low_cola")
    app.button(key="scenario_create").click().run()
    assert any("already exists" in item.value for item in app.error)


def test_two_runs_compare_side_by_side(open_app: OpenApp, workspace: Workspace) -> None:
    set_lever(workspace, "cola_rate", 0.03)
    application.simulate(workspace, SimulateRequest())
    app = open_app("Results")
    comparison = frame(app, "results_comparison")
    assert list(comparison.columns) == ["metric", "year", "run 1", "run 2", "difference"]
    cost = comparison[comparison["metric"] == "Total compensation cost"]
    assert cost["difference"].item().startswith("+$")
    growth = comparison[comparison["metric"] == "Average salary growth"]
    assert growth["difference"].item().endswith(" pp")


# Plain words and units ----------------------------------------------------------------------


def test_results_by_level_count_actives_by_default_with_readable_names(
    open_app: OpenApp,
) -> None:
    app = open_app("Results")
    statuses = app.multiselect(key="results_statuses")
    assert statuses.value == ["continuous_active", "new_hire_active"]
    assert statuses.options[:2] == ["Active all year", "Left during the year"]
    levels = frame(app, "results_level_table")
    assert set(levels["job_level"]) == {1, 2, 3, 4, 5}


def test_the_overview_warns_once_per_lever_and_side(
    open_app: OpenApp, workspace: Workspace
) -> None:
    set_lever(workspace, "cola_rate", 0.005)  # every level and year: 25 values below
    app = open_app("Overview")
    cola = [item.value for item in app.warning if item.value.startswith("COLA")]
    assert cola == [
        "COLA 0.5% at levels 1–5 in 2025–2029 is below the usual range 1.0%–6.0% (retention risk)."
    ]


def test_history_shows_who_applied_a_set_and_when(open_app: OpenApp, workspace: Workspace) -> None:
    first = active_set(workspace)
    set_lever(workspace, "merit_base", 0.04, level=2)
    application.rollback(workspace, int(first or 0), created_by="dana")
    app = open_app("History")
    sets = frame(app, "history_sets")
    newest = sets.iloc[0]
    assert newest["created_by"] == "dana" and newest["activated_by"] == "dana"
    assert newest["activated_at"] != "never"
    caption = next(item.value for item in app.caption if item.value.startswith("From the older"))
    assert "applied by" in caption
