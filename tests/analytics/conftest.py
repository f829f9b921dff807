"""Fixtures of the analytics-layer tests: one demo-like workspace, built by dbt once."""

from __future__ import annotations

import os

import pytest
from analytics_support import BuiltWorkspace, build, copy_workspace, make_workspace

from planwise.application import Workspace


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltWorkspace:
    """Two runs (growing, and shrinking under a sparse scenario) plus an optimization,
    with the analytics layer built over them. Tests read it; corruption tests copy it."""
    workspace, runs = make_workspace(tmp_path_factory.mktemp("analytics") / "workspace")
    return BuiltWorkspace(workspace, runs, build(workspace))


@pytest.fixture
def scratch(built: BuiltWorkspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A fresh copy of the built workspace, for a test to change, at the same path for every
    test: dbt keys its partial parse (kept in the workspace's `.dbt`) on the database path,
    so the project is parsed by the first test's build only."""
    return copy_workspace(built.workspace, tmp_path_factory.getbasetemp() / "scratch")
