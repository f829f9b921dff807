"""Fixtures of the Dagster shell's tests: a small workspace, an ephemeral Dagster instance,
and a Dask cluster for the ensemble assets."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dagster_support import CENSUS_SEED, EMPLOYEES, YEARS

from planwise import application
from planwise.application import WORKSPACE_ENV, GenerateCensusRequest, Workspace
from planwise.config import Settings

if TYPE_CHECKING:
    from distributed import LocalCluster


def pytest_configure(config: pytest.Config) -> None:
    # Before any Dagster run or dbt invocation of the session.
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized workspace with a 1,500-employee census and a 3-year horizon."""
    root = tmp_path_factory.mktemp("template") / "workspace"
    workspace = Workspace(root)
    application.init_workspace(workspace, Settings(years=YEARS))
    application.generate_census(workspace, GenerateCensusRequest(EMPLOYEES, CENSUS_SEED))
    return root


@pytest.fixture
def workspace(template_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh copy of the template, reaching Dagster through $PLANWISE_WORKSPACE.

    Every test's copy sits at the same path, and dbt's artifacts are carried from one test
    to the next: dbt keys its partial parse on the database path, and a full parse costs
    seconds of CPU per test that builds the marts.
    """
    from planwise_dagster.analytics import dbt_target_path

    root = template_workspace.parent.parent / "workspace"
    dbt_artifacts = template_workspace.parent.parent / "dbt-artifacts"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template_workspace, root)
    workspace = Workspace(root)
    target = dbt_target_path(workspace)
    if dbt_artifacts.exists():
        shutil.copytree(dbt_artifacts, target)
    monkeypatch.setenv(WORKSPACE_ENV, str(root))
    yield workspace
    if target.exists():
        shutil.rmtree(dbt_artifacts, ignore_errors=True)
        shutil.copytree(target, dbt_artifacts)


@pytest.fixture
def instance() -> Any:
    """An in-memory Dagster instance: the run's events, without an event-log database."""
    import dagster as dg

    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A real Dask cluster (two worker processes on 127.0.0.1), closed when the test module
    ends; the assets reach it by address, as they would any existing cluster."""
    from distributed import LocalCluster

    with LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    ) as started:
        yield started
