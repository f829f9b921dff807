"""Fixtures for the lever tests: fresh workspaces, copied from templates built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lever_support import REFERENCE_CSV

from planwise import application
from planwise.application import ImportLeversRequest, Workspace


@pytest.fixture(scope="session")
def _initialized_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Each DuckDB connection costs ~0.1 s: tests copy templates instead of rebuilding them.
    root = tmp_path_factory.mktemp("template") / "workspace"
    application.init_workspace(Workspace(root))
    return root


@pytest.fixture(scope="session")
def _reference_workspace(
    _initialized_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("reference") / "workspace"
    shutil.copytree(_initialized_workspace, root)
    application.import_levers(
        Workspace(root), ImportLeversRequest(REFERENCE_CSV, created_by="analyst")
    )
    return root


@pytest.fixture
def workspace(_initialized_workspace: Path, tmp_path: Path) -> Workspace:
    """A workspace as `planwise init` leaves it: scenario `default` with the built-in set 1."""
    root = tmp_path / "workspace"
    shutil.copytree(_initialized_workspace, root)
    return Workspace(root)


@pytest.fixture
def reference_workspace(_reference_workspace: Path, tmp_path: Path) -> Workspace:
    """After importing the reference file: default's active set 2, every value locked."""
    root = tmp_path / "workspace"
    shutil.copytree(_reference_workspace, root)
    return Workspace(root)
