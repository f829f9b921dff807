"""The dbt marts and data tests as Dagster assets and checks (dagster-dbt).

The engine's tables are dbt sources; the translator maps each to the asset that writes it,
so the marts sit downstream of the simulation and the tuning loop in the asset graph, and
each dbt data test becomes an asset check.

The assets are defined from the project's manifest (`dbt/target/manifest.json`), written
by `make install` (`python -m planwise_dbt`); importing this module runs no dbt, except
under `dagster dev`, which writes the manifest again when a project file is newer (as
dagster-dbt's `DbtProject.prepare_if_dev` does). A run builds with the dbt adapter's
arguments and environment for the workspace: the same command as `planwise analytics
build`, in the same target folder.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations.

import sys
from collections.abc import Iterator, Mapping
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
from planwise.application.analytics import AnalyticsTarget
from planwise.application.workspace import Workspace
from planwise.errors import UserError
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dbt import (
    DbtBuilder,
    dbt_command,
    dbt_project_dir,
    manifest_is_current,
    project_target,
)

__all__ = [
    "ANALYTICS_GROUP",
    "PROJECT",
    "SOURCE_ASSETS",
    "dbt_resource",
    "dbt_target_path",
    "planwise_dbt_models",
    "prepared_manifest",
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

# Paths only (and dbt_project.yml's name): constructing it runs nothing.
PROJECT = DbtProject(project_dir=dbt_project_dir(), target_path=project_target().target_path)


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


def prepared_manifest(project: DbtProject = PROJECT) -> Path:
    """The manifest the dbt assets are defined from.

    Under `dagster dev` a missing or stale one is written through the adapter; the code
    server and the run workers load this module at the same time, so a file lock lets one
    of them parse while the others wait for its manifest. Elsewhere it is an error that
    says how to write it.
    """
    manifest = project.manifest_path
    if manifest_is_current(manifest, project.project_dir):
        return manifest
    if project.preparer.using_dagster_dev():
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(manifest.with_name("manifest.lock"), timeout=_PARSE_TIMEOUT_SECONDS):
            if not manifest_is_current(manifest, project.project_dir):
                DbtBuilder().parse(project_target())
        return manifest
    state = "is older than a file of the project" if manifest.exists() else "is missing"
    raise UserError(
        f"The dbt manifest {manifest}, which defines the analytics assets, {state}. Write it "
        f"with '{sys.executable} -m planwise_dbt' ('make install' does), then load the "
        "definitions again."
    )


def _executable() -> str:
    return str(_DBT_EXECUTABLE) if _DBT_EXECUTABLE.exists() else "dbt"


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=_executable())


def dbt_target_path(workspace: Workspace) -> Path:
    """dbt's artifacts for a workspace's builds, the CLI's as well: the next build reuses
    the partial parse kept there (dbt keys it on the profile, which names the database)."""
    return AnalyticsTarget.for_workspace(workspace).target_path


@dbt_assets(
    manifest=prepared_manifest(),
    project=PROJECT,
    dagster_dbt_translator=PlanwiseDbtTranslator(
        DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
    ),
)
def planwise_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, planwise: PlanwiseWorkspace
) -> Iterator[Any]:
    """`dbt build` of the selected marts and their data tests, once per run."""
    command = dbt_command(AnalyticsTarget.for_workspace(planwise.workspace()), "build")
    # The dbt process copies the environment when it starts; its profile reads it.
    with command.environment():
        invocation = dbt.cli(list(command.args), context=context, target_path=command.target_path)
    yield from invocation.stream()
