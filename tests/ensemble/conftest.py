"""Fixtures of the ensemble tests: one small workspace and one real Dask cluster (two
worker processes on 127.0.0.1), closed when the tests end. The code under test makes its
own client of the cluster, as it would of any existing cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from ensemble_support import EMPLOYEES, YEARS

from planwise import application
from planwise.application import (
    CreateScenarioRequest,
    EditLeversRequest,
    GenerateCensusRequest,
    LeverEdit,
    Workspace,
)
from planwise.config import Settings


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    ) as started:
        yield started


@pytest.fixture(scope="module")
def client(cluster: LocalCluster) -> Iterator[Client]:
    """A client of the cluster for a test module that drives Dask itself; closed with the
    module (a client kept open beside the code's own would share its event loop)."""
    with Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Scenario `default` and scenario `lean` (COLA 1.5 % instead of 2 %)."""
    root: Path = tmp_path_factory.mktemp("ensemble") / "workspace"
    workspace = Workspace(root)
    application.init_workspace(workspace, Settings(years=YEARS))
    application.generate_census(workspace, GenerateCensusRequest(EMPLOYEES, 4))
    application.create_scenario(workspace, CreateScenarioRequest("lean"))
    application.edit_levers(
        workspace, EditLeversRequest((LeverEdit("cola_rate", 0.015),), scenario_id="lean")
    )
    return workspace
