"""A workspace: a folder with the settings, the DuckDB store, the levers and the targets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from planwise.config import Settings, load_settings, save_settings
from planwise.errors import UserError
from planwise.storage.database import Database

__all__ = ["WORKSPACE_ENV", "Workspace"]

WORKSPACE_ENV = "PLANWISE_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, directory: str | Path | None = None) -> Workspace:
        """`--workspace DIR`, else `$PLANWISE_WORKSPACE`, else `./workspace`."""
        chosen = directory or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().resolve())

    @property
    def settings_path(self) -> Path:
        return self.root / "planwise.yaml"

    @property
    def database_path(self) -> Path:
        return self.root / "planwise.duckdb"

    @property
    def levers_path(self) -> Path:
        return self.root / "comp_levers.csv"

    @property
    def targets_path(self) -> Path:
        return self.root / "targets.yaml"

    @property
    def dagster_home(self) -> Path:
        return self.root / ".dagster"

    @property
    def analytics_path(self) -> Path:
        """Where dbt keeps its artifacts (target, logs) for this workspace."""
        return self.root / ".dbt"

    def settings(self) -> Settings:
        if not self.settings_path.exists():
            raise UserError(
                f"{self.root} is not a PlanWise workspace (no planwise.yaml). "
                f"Create one with 'planwise init --workspace {self.root}'."
            )
        return load_settings(self.settings_path)

    def database(self, settings: Settings | None = None) -> Database:
        chosen = settings or self.settings()
        return Database(self.database_path, chosen.database)

    def write_settings(self, settings: Settings) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        save_settings(settings, self.settings_path)
