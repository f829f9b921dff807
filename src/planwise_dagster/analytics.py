"""The dbt marts and data tests as Dagster assets and checks (dagster-dbt).

The engine's tables are dbt sources; the translator maps each to the asset that writes it,
so the marts sit downstream of the simulation and the tuning loop in the asset graph, and
each dbt data test becomes an asset check.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations.

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from filelock import FileLock

import dagster as dg
from planwise.analytics import DATABASE_ENV, dbt_project_dir
from planwise.workspace import Workspace
from planwise_dagster.resources import PlanwiseWorkspace

__all__ = [
    "ANALYTICS_GROUP",
    "PROJECT",
    "SOURCE_ASSETS",
    "dbt_resource",
    "dbt_target_path",
    "planwise_dbt_models",
    "prepared_project",
]

ANALYTICS_GROUP = "analytics"

# dbt source table → the asset whose materialization writes it.
SOURCE_ASSETS: Mapping[str, str] = {
    "census": "census",
    "census_versions": "census",
    "scenarios": "comp_levers",
    "parameter_sets": "comp_levers",
    "comp_levers": "comp_levers",
    "simulation_runs": "workforce_simulation",
    "fct_yearly_events": "workforce_simulation",
    "fct_workforce_snapshot": "workforce_simulation",
    "simulation_metrics": "workforce_simulation",
    "optimization_runs": "compensation_optimization_loop",
    "optimization_iterations": "compensation_optimization_loop",
}

# The venv's own dbt: a bare `dbt` is not on PATH when Python is run by its full path.
_DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
_PARSE_TIMEOUT_SECONDS = 300
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "seeds")


class PlanwiseDbtTranslator(DagsterDbtTranslator):
    """Sources are the engine's tables (keyed by the asset writing them); one group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            upstream = SOURCE_ASSETS.get(dbt_resource_props["name"])
            if upstream is not None:
                return dg.AssetKey(upstream)
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return ANALYTICS_GROUP


def _newest_input(project_dir: Path) -> float:
    newest = 0.0
    for name in _PROJECT_INPUTS:
        path = project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(item.stat().st_mtime for item in files if item.is_file())])
    return newest


def _executable() -> str:
    return str(_DBT_EXECUTABLE) if _DBT_EXECUTABLE.exists() else "dbt"


def _is_stale(manifest: Path, project_dir: Path) -> bool:
    return not manifest.exists() or manifest.stat().st_mtime < _newest_input(project_dir)


def prepared_project() -> DbtProject:
    """The dbt project with a current manifest: `dbt parse` runs only when it is missing or
    older than a project file (dagster-dbt needs the manifest to define the assets).

    The code server, the run workers and the tests load this module at the same time; a
    file lock lets one of them parse while the others wait for its manifest.
    """
    project = DbtProject(project_dir=dbt_project_dir())
    manifest = project.manifest_path
    if _is_stale(manifest, project.project_dir):
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(manifest.with_name("manifest.lock"), timeout=_PARSE_TIMEOUT_SECONDS):
            if _is_stale(manifest, project.project_dir):
                dbt_resource(project).cli(
                    ["parse", "--quiet"], target_path=project.target_path
                ).wait()
    return project


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=_executable())


PROJECT = prepared_project()


def dbt_target_path(workspace: Workspace) -> Path:
    """dbt's artifacts for a workspace's builds. dbt keys its partial parse on the profile,
    which names the workspace's database: kept here, the next build reuses it (seconds)."""
    return workspace.dagster_home / "dbt-target"


@contextmanager
def _database_environment(database: Path) -> Iterator[None]:
    """`PLANWISE_DATABASE` while the dbt process starts: the workspace this run writes."""
    saved = os.environ.get(DATABASE_ENV)
    os.environ[DATABASE_ENV] = str(database)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(DATABASE_ENV, None)
        else:
            os.environ[DATABASE_ENV] = saved


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=PlanwiseDbtTranslator(
        DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
    ),
)
def planwise_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, planwise: PlanwiseWorkspace
) -> Iterator[Any]:
    """`dbt build` of the selected marts and their data tests, once per run."""
    workspace = planwise.workspace()
    # The dbt process copies the environment when it starts; its profile reads the path.
    with _database_environment(workspace.database_path):
        invocation = dbt.cli(["build"], context=context, target_path=dbt_target_path(workspace))
    yield from invocation.stream()
