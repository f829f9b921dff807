"""The Auto-Optimize tab: controls in, live progress, the answer out, apply and roll back."""

from __future__ import annotations

import math

from app_support import OpenApp, active_set, finish_optimization, frame, switch, texts

from planwise import application
from planwise.application import Workspace


def test_a_growth_target_converges_then_apply_and_roll_back(
    open_app: OpenApp, workspace: Workspace
) -> None:
    app = open_app("Auto-Optimize")  # starts from the workspace's targets.yaml
    assert "Starting from targets.yaml" in texts(app)
    assert len(app.data_editor[0].value) == 2  # the file's targets besides the growth one
    start = active_set(workspace)
    app.text_input(key="optimize_target_growth").input("4.2")
    app.text_input(key="optimize_tolerance").input("0.05")
    app.text_input(key="optimize_max_iterations").input("8")
    app.selectbox(key="optimize_mode").set_value("aggressive")
    app.text_input(key="optimize_robustness").input("1")
    app.button(key="optimize_start").click().run()
    assert not app.exception, [item.value for item in app.exception]
    finish_optimization(app, workspace)  # it runs in the background, not in the page

    result = application.show_optimization(workspace, 1)
    assert result.verdict.converged
    if result.lever_warnings:  # met only with a lever outside its usual range: amber
        assert app.warning[0].value == "Converged with warnings · optimization 1"
        shown = [item.value for item in app.warning]
        assert all(warning.message in shown for warning in result.lever_warnings)
    else:
        assert app.success[0].value == "Converged · optimization 1"
    assert f"**What changed:** {result.change_summary}" in texts(app)
    targets = app.table[0].value
    assert set(targets.index) == {  # labels, not the metrics' snake_case names
        "Average salary growth a year (CAGR)",
        "Median merit increase",
        "New-hire pay ratio",
    }
    assert set(targets["within tolerance"]) == {"yes"}
    assert targets.loc["Average salary growth a year (CAGR)", "target value"] == "4.200%"
    iterations = frame(app, "optimize_iters")
    assert iterations["kind"].iloc[0] == "start" and iterations["within_tolerance"].iloc[-1]
    sensitivities = frame(app, "optimize_sensitivities")
    assert "Merit · Staff" in sensitivities.index  # levers and levels by name
    assert sensitivities.map(lambda text: text.endswith(" pp")).any().any()  # rates in pp
    assert len(frame(app, "optimize_robustness_table")) == 3
    assert "Aggressive mode" in texts(app)
    assert "The form holds the targets of optimization 1" in texts(app)
    assert app.text_input(key="optimize_target_growth").value == "4.2"

    apply = app.button(key="optimize_apply")
    assert not apply.disabled and app.button(key="optimize_rollback").disabled
    apply.click().run()
    best = active_set(workspace)
    assert best != start and f"Parameter set {best} is now active" in texts(app)
    assert app.button(key="optimize_apply").disabled

    switch(app, "Impact")  # no stale numbers: the Impact tab now starts from the applied set
    assert f"against the active parameter set {best}" in texts(app)
    switch(app, "Auto-Optimize")
    app.button(key="optimize_rollback").click().run()
    restored = active_set(workspace)
    assert restored not in (start, best)
    assert f"a copy of set {start}" in texts(app)
    switch(app, "History")
    assert len(frame(app, "history_optimizations")) == 1


def test_without_a_targets_file_the_growth_control_and_the_editor_make_the_targets(
    open_app: OpenApp, workspace: Workspace
) -> None:
    workspace.targets_path.unlink()
    app = open_app("Auto-Optimize")
    assert "No targets.yaml in the workspace" in texts(app)
    app.session_state["optimize_targets_0"] = {
        "edited_rows": {},
        "added_rows": [
            {
                "metric": "median_merit_increase",
                "target_value": 3.5,  # in %: rates are typed in percent
                "tolerance": 0.1,  # pp
                "priority": "medium",
                "year": "final",
            }
        ],
        "deleted_rows": [],
    }
    app.text_input(key="optimize_max_iterations").input("12")
    app.text_input(key="optimize_robustness").input("0")
    app.run()
    app.button(key="optimize_start").click().run()
    assert not app.exception, [item.value for item in app.exception]
    finish_optimization(app, workspace)
    targets = app.table[0].value
    assert set(targets.index) == {"Average salary growth a year (CAGR)", "Median merit increase"}


def test_an_invalid_target_is_reported_and_nothing_starts(
    open_app: OpenApp, workspace: Workspace
) -> None:
    workspace.targets_path.unlink()
    app = open_app("Auto-Optimize")
    app.session_state["optimize_targets_0"] = {
        "edited_rows": {},
        "added_rows": [
            {
                "metric": "total_compensation_cost",
                "target_value": math.nan,
                "tolerance": math.nan,
                "priority": "high",
                "year": "final",
            }
        ],
        "deleted_rows": [],
    }
    app.run()
    assert any("target_value" in item.value for item in app.error)
    assert app.button(key="optimize_start").disabled  # the issue: shown, and disabled


def test_no_target_at_all_is_reported(open_app: OpenApp, workspace: Workspace) -> None:
    workspace.targets_path.unlink()
    app = open_app("Auto-Optimize")
    app.toggle(key="optimize_use_growth").set_value(False).run()
    assert any("targets" in item.value for item in app.error)
