"""Fixtures of the analytics-layer tests: one demo-like workspace, built by dbt once."""

from __future__ import annotations

import os

import pytest
from analytics_support import BuiltWorkspace, make_workspace

from planwise.analytics import build_analytics


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltWorkspace:
    """Two runs (growing, and shrinking under a sparse scenario) plus an optimization,
    with the analytics layer built over them. Tests read it; corruption tests copy it."""
    workspace, runs = make_workspace(tmp_path_factory.mktemp("analytics") / "workspace")
    return BuiltWorkspace(workspace, runs, build_analytics(workspace))
