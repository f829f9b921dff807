"""Create a workspace: settings with every default, the store, the default levers."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from importlib import resources

from planwise.application.workspace import Workspace
from planwise.config import Settings
from planwise.parameters.csv_io import write_levers_csv
from planwise.parameters.levers import DEFAULT_SCENARIO, default_lever_set
from planwise.parameters.sources import SetSource
from planwise.storage import parameter_store

__all__ = ["WorkspaceInitialized", "current_user", "init_workspace"]


def current_user() -> str:
    """Who a change is recorded as: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


@dataclass(frozen=True)
class WorkspaceInitialized:
    root: str
    created: bool
    """False when everything was there already (nothing is ever overwritten)."""


def init_workspace(workspace: Workspace, settings: Settings | None = None) -> WorkspaceInitialized:
    """Write `planwise.yaml` (if missing), create the store, the default parameter set, an
    example `targets.yaml` and `comp_levers.csv`. Never overwrites existing files or sets."""
    created = False
    workspace.require_folder()
    if not workspace.settings_path.exists():
        workspace.write_settings(settings or Settings())
        created = True
    chosen = workspace.settings()
    database = workspace.database(chosen)
    existed = workspace.database_path.exists()
    database.initialize()
    with database.transaction() as connection:
        if parameter_store.active_parameter_set_id(connection, DEFAULT_SCENARIO) is None:
            parameter_store.create_parameter_set(
                connection,
                default_lever_set(chosen.start_year, chosen.level_numbers),
                source=SetSource.INIT,
                created_by=current_user(),
                note="built-in defaults",
            )
            created = True
        active = parameter_store.active_parameter_set_id(connection, DEFAULT_SCENARIO)
        assert active is not None  # created above if it was missing
        record = parameter_store.load_parameter_set(connection, active)
        lever_set = parameter_store.load_lever_set(connection, active)
    if not workspace.targets_path.exists():
        example = resources.files("planwise").joinpath("example_targets.yaml")
        workspace.targets_path.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    if not workspace.levers_path.exists():
        write_levers_csv(lever_set, workspace.levers_path, record.created_at, record.created_by)
    return WorkspaceInitialized(str(workspace.root), created or not existed)
