"""Fixtures of the tuning-loop tests: a 1,500-employee, three-year workspace built once.

Tests that change the active levers get a copy; the others share one per module (an
optimization never changes what the analyst had unless it is applied).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tuning_support import CENSUS_EMPLOYEES, CENSUS_SEED, SIMULATED_YEARS

from planwise import application
from planwise.application import GenerateCensusRequest, Workspace
from planwise.config import Settings


@pytest.fixture(scope="session")
def _tuning_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tuning_template") / "workspace"
    workspace = Workspace(root)
    application.init_workspace(workspace, Settings(years=SIMULATED_YEARS))
    application.generate_census(workspace, GenerateCensusRequest(CENSUS_EMPLOYEES, CENSUS_SEED))
    return root


@pytest.fixture
def workspace(_tuning_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy: the default scenario's built-in set 1 is active, one census."""
    root = tmp_path / "workspace"
    shutil.copytree(_tuning_template, root)
    return Workspace(root)


@pytest.fixture(scope="module")
def shared_workspace(_tuning_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One copy per module, for tests that only run (never apply) optimizations."""
    root = tmp_path_factory.mktemp("tuning_shared") / "workspace"
    shutil.copytree(_tuning_template, root)
    return Workspace(root)
