"""The PlanWise dbt project: where it is, and the seed generated from the lever declarations.

>>> render_lever_defaults_csv().splitlines()[0]
'parameter_name,event_type,job_level,default_value'
"""

from __future__ import annotations

import os
from pathlib import Path

from planwise.application.analytics import AnalyticsTarget
from planwise.application.workspace import Workspace
from planwise.config import DatabaseSettings
from planwise.errors import UserError
from planwise.parameters.declarations import PARAMETERS

__all__ = [
    "DBT_PROJECT_ENV",
    "dbt_project_dir",
    "lever_defaults_seed_path",
    "manifest_is_current",
    "project_target",
    "render_lever_defaults_csv",
]

DBT_PROJECT_ENV = "PLANWISE_DBT_PROJECT_DIR"
# What a parse reads: a manifest older than any of these describes another project.
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "seeds")


def dbt_project_dir() -> Path:
    """The dbt project: `$PLANWISE_DBT_PROJECT_DIR`, else `dbt/` of the (editable) checkout."""
    configured = os.environ.get(DBT_PROJECT_ENV)
    candidate = (
        Path(configured).expanduser().resolve()
        if configured
        else Path(__file__).resolve().parents[2] / "dbt"
    )
    if not (candidate / "dbt_project.yml").is_file():
        source = f"${DBT_PROJECT_ENV}" if configured else "the planwise checkout"
        raise UserError(
            f"No dbt project at {candidate} (from {source}): dbt_project.yml is missing. "
            f"Set {DBT_PROJECT_ENV} to the folder holding PlanWise's dbt_project.yml."
        )
    return candidate


def project_target() -> AnalyticsTarget:
    """The project's own artifact folders (`dbt/target`, `dbt/logs`): where the manifest
    that describes the project, whatever the workspace, is written (Dagster's definitions
    read it). The database is the profile's default, `$PLANWISE_WORKSPACE` (or ./workspace)
    `/planwise.duckdb`; parsing never opens it.
    """
    database = DatabaseSettings()
    return AnalyticsTarget(
        database_path=Workspace.resolve().database_path,
        memory_limit=database.memory_limit,
        threads=database.threads,
        artifacts_path=dbt_project_dir(),
    )


def manifest_is_current(manifest: Path, project_dir: Path | None = None) -> bool:
    """The manifest exists and is newer than every file of the project."""
    if not manifest.is_file():
        return False
    written = manifest.stat().st_mtime
    project = project_dir or dbt_project_dir()
    for name in _PROJECT_INPUTS:
        path = project / name
        for item in path.rglob("*") if path.is_dir() else (path,):
            if item.is_file() and item.stat().st_mtime > written:
                return False
    return True


def lever_defaults_seed_path(project_dir: Path | None = None) -> Path:
    return (project_dir or dbt_project_dir()) / "seeds" / "lever_defaults.csv"


def render_lever_defaults_csv() -> str:
    """The `lever_defaults` seed, generated from the lever declarations (one row per level).

    Regenerate the file after changing a declaration:
    `python -c "from planwise_dbt import *; lever_defaults_seed_path().write_text(
    render_lever_defaults_csv())"`.
    """
    lines = ["parameter_name,event_type,job_level,default_value"]
    for spec in PARAMETERS:
        for level, value in enumerate(spec.defaults, start=1):
            lines.append(f"{spec.name},{spec.event_type},{level},{value!r}")
    return "\n".join(lines) + "\n"
