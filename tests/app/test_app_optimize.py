"""The Auto-Optimize tab: controls in, live progress, the answer out, apply and roll back."""

from __future__ import annotations

import math

from app_support import OpenApp, active_set, frame, switch, texts

from planwise.application import Workspace


def test_a_growth_target_converges_then_apply_and_roll_back(
    open_app: OpenApp, workspace: Workspace
) -> None:
    app = open_app("Auto-Optimize")  # starts from the workspace's targets.yaml
    assert "Starting from targets.yaml" in texts(app)
    assert len(app.data_editor[0].value) == 2  # the file's targets besides the growth one
    start = active_set(workspace)
    app.number_input(key="optimize_target_growth").set_value(4.2)
    app.number_input(key="optimize_tolerance").set_value(0.05)
    app.number_input(key="optimize_max_iterations").set_value(8)
    app.selectbox(key="optimize_mode").set_value("aggressive")
    app.number_input(key="optimize_robustness").set_value(1)
    app.button(key="optimize_start").click().run()
    assert not app.exception, [item.value for item in app.exception]

    assert app.success[0].value.startswith("Converged · optimization")
    targets = app.table[0].value
    assert set(targets.index) == {
        "compensation_growth_cagr",
        "median_merit_increase",
        "new_hire_pay_ratio",
    }
    assert set(targets["within tolerance"]) == {"yes"}
    assert targets.loc["compensation_growth_cagr", "target value"] == "4.200%"
    iterations = frame(app, "optimize_iters")
    assert iterations["kind"].iloc[0] == "start" and iterations["within_tolerance"].iloc[-1]
    assert "merit_base[L1]" in frame(app, "optimize_sensitivities").index
    assert len(frame(app, "optimize_robustness_table")) == 3
    assert "mode aggressive" in texts(app)

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
                "target_value": 0.035,
                "tolerance": 0.001,
                "priority": "medium",
                "year": "final",
            }
        ],
        "deleted_rows": [],
    }
    app.number_input(key="optimize_max_iterations").set_value(12)
    app.number_input(key="optimize_robustness").set_value(0)
    app.run()
    app.button(key="optimize_start").click().run()
    assert not app.exception, [item.value for item in app.exception]
    targets = app.table[0].value
    assert set(targets.index) == {"compensation_growth_cagr", "median_merit_increase"}


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
    assert not [item for item in app.button if item.key == "optimize_start"]


def test_no_target_at_all_is_reported(open_app: OpenApp, workspace: Workspace) -> None:
    workspace.targets_path.unlink()
    app = open_app("Auto-Optimize")
    app.toggle(key="optimize_use_growth").set_value(False).run()
    assert any("targets" in item.value for item in app.error)
