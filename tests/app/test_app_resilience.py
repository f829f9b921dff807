"""The app under adverse conditions: a database held by another process, no workspace, and
changes made outside the app (no stale numbers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from app_support import OpenApp, frame, set_lever, switch, texts
from streamlit.testing.v1 import AppTest

from planwise import application
from planwise.application import WORKSPACE_ENV, SimulateRequest, Workspace
from planwise_app import APP_SCRIPT

_HOLD_LOCK = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_database_held_by_another_process_is_a_message_and_the_app_recovers(
    open_app: OpenApp, workspace: Workspace
) -> None:
    app = open_app("Results")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(workspace.database_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        app.run()
        assert not app.exception
        assert any("in use by another process" in item.value for item in app.error)
        assert [item.label for item in app.button] == ["Try again"]
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert app.selectbox[0].value == 1  # the Results tab is back


def test_without_a_workspace_the_app_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WORKSPACE_ENV, raising=False)
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
    app.run()
    assert not app.exception
    assert "planwise ui --workspace DIR" in app.error[0].value


def test_a_folder_that_is_not_a_workspace_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path))
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
    app.run()
    assert not app.exception
    assert "is not a PlanWise workspace" in app.error[0].value


def test_changes_made_outside_the_app_show_on_the_next_rerun(
    open_app: OpenApp, workspace: Workspace
) -> None:
    app = open_app("Overview")
    assert "Every lever is inside its usual range." in texts(app)
    set_lever(workspace, "cola_rate", 0.07)  # e.g. from the CLI
    application.simulate(workspace, SimulateRequest(years=2))
    app.run()
    assert any(item.value.startswith("COLA 7.0%") for item in app.warning)
    assert "Latest run 2" in texts(app)
    switch(app, "Results")
    assert app.selectbox[0].value == 2
    assert list(frame(app, "results_all_metrics").columns) == ["2025", "2026"]
    switch(app, "History")
    assert len(frame(app, "history_sets")) == 2
