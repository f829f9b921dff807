"""Shared helpers of the tuning-loop tests: the workspace's baseline, in-memory metrics at
chosen lever values, stored lever values, and the command line."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from planwise.application import Workspace
from planwise.cli import app
from planwise.config import Settings
from planwise.metrics import RunMetrics, run_metrics
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.engine import simulate
from planwise.simulation.state import Workforce
from planwise.storage import census_store, parameter_store
from planwise.storage.parameter_store import load_levers

CENSUS_EMPLOYEES = 1500
CENSUS_SEED = 11
SIMULATED_YEARS = 3
FAMILIES = ("merit_base", "cola_rate", "new_hire_salary_adjustment")

LeverValues = Mapping[str, Mapping[int, float]]
"""family → level → value, the same in every simulated year."""

runner = CliRunner()


@dataclass(frozen=True)
class Baseline:
    """What an optimization of the `default` scenario starts from, held in memory."""

    settings: Settings
    workforce: Workforce
    levers: ResolvedLevers
    parameter_set_id: int

    @property
    def years(self) -> list[int]:
        return list(self.levers.years)

    @property
    def levels(self) -> tuple[int, ...]:
        return self.levers.levels

    def value(self, family: str, level: int) -> float:
        return float(self.levers.values[family][0, level])

    def with_values(self, values: LeverValues) -> ResolvedLevers:
        changed = {name: array.copy() for name, array in self.levers.values.items()}
        for family, per_level in values.items():
            for level, value in per_level.items():
                changed[family][:, level] = value
        return ResolvedLevers(
            self.levers.years, self.levels, changed, self.levers.sources, self.levers.locked
        )

    def metrics(self, values: LeverValues) -> RunMetrics:
        """A full simulation in memory, with the loop's seed (common random numbers)."""
        result = simulate(
            self.workforce,
            self.settings,
            self.with_values(values),
            start_year=self.settings.start_year,
            years=self.settings.years,
            seed=self.settings.seed,
        )
        return run_metrics(result)


@functools.cache
def baseline_of(root: Path) -> Baseline:
    workspace = Workspace(root)
    settings = workspace.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    with workspace.database(settings).connect(read_only=True) as connection:
        census = census_store.load_census(connection, census_store.active_census_id(connection))
        set_id, _, levers = load_levers(connection, settings, "default", years)
    return Baseline(settings, census.starting_workforce(), levers, set_id)


def stored_levers(workspace: Workspace, parameter_set_ids: list[int]) -> dict[int, ResolvedLevers]:
    """Stored parameter sets resolved over the simulated years, as an optimization sees them."""
    settings = workspace.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    resolved: dict[int, ResolvedLevers] = {}
    with workspace.database(settings).connect(read_only=True) as connection:
        for set_id in parameter_set_ids:
            scenario = parameter_store.load_parameter_set(connection, set_id).scenario_id
            resolved[set_id] = load_levers(connection, settings, scenario, years, set_id)[2]
    return resolved


def active_set_id(workspace: Workspace, scenario_id: str = "default") -> int | None:
    with workspace.database().connect(read_only=True) as connection:
        return parameter_store.active_parameter_set_id(connection, scenario_id)


def query(
    workspace: Workspace, sql: str, parameters: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    with workspace.database().connect(read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def planwise(workspace: Workspace, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(workspace.root)])


def write_targets(path: Path, targets: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(targets), encoding="utf-8")  # JSON is YAML
    return path
