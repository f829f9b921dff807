"""A small workspace (1,500 employees, one stored run) and the app opened on a tab."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_support import OpenApp
from streamlit.testing.v1 import AppTest

from planwise import application
from planwise.application import (
    WORKSPACE_ENV,
    GenerateCensusRequest,
    SimulateRequest,
    Workspace,
)
from planwise_app import APP_SCRIPT

SMALL_EMPLOYEES = 1_500
CENSUS_SEED = 11


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made once through the application layer; each test gets its own copy."""
    root = tmp_path_factory.mktemp("app_template") / "workspace"
    workspace = Workspace(root)
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(SMALL_EMPLOYEES, CENSUS_SEED))
    application.simulate(workspace, SimulateRequest())
    return root


@pytest.fixture
def workspace(
    template_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    root = tmp_path / "workspace"
    shutil.copytree(template_workspace, root)
    monkeypatch.setenv(WORKSPACE_ENV, str(root))
    return Workspace(root)


@pytest.fixture
def open_app(workspace: Workspace) -> OpenApp:
    """The app, run once with the given tab open; fails on any exception on the page."""

    def open_tab(tab: str) -> AppTest:
        app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
        app.query_params["tab"] = tab
        app.run()
        assert not app.exception, [item.value for item in app.exception]
        return app

    return open_tab
