"""The dbt adapter: PlanWise's dbt project run the same way by the CLI, the app and Dagster.

The core describes the analytics build (`planwise.application.analytics`) and never imports
dbt; this package implements its `AnalyticsBuilder` (`DbtBuilder`, dbt in this process) and
gives Dagster what it needs to run the same project with the same arguments and environment
(`dbt_project_dir`, `dbt_command`). Importing it does not import dbt. It never imports
Dagster or Streamlit.
"""

from planwise_dbt.builder import DbtBuilder
from planwise_dbt.command import DATABASE_ENV, DbtCommand, dbt_command
from planwise_dbt.project import (
    DBT_PROJECT_ENV,
    dbt_project_dir,
    lever_defaults_seed_path,
    manifest_is_current,
    project_target,
    render_lever_defaults_csv,
)

__all__ = [
    "DATABASE_ENV",
    "DBT_PROJECT_ENV",
    "DbtBuilder",
    "DbtCommand",
    "dbt_command",
    "dbt_project_dir",
    "lever_defaults_seed_path",
    "manifest_is_current",
    "project_target",
    "render_lever_defaults_csv",
]
