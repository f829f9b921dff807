"""What every tab shares: the workspace, the store's state, cached loads, error display.

No stale numbers: each rerun reads a small `StoreState` (ids of the active census, the
active parameter sets, the latest run and optimization) in one short read-only connection,
and every cache below is keyed on those ids. A new run, an apply or a rollback changes an id,
so every page shows the new state without clearing anything by hand. Connections are opened
inside a function call and closed before it returns, never held across reruns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import streamlit as st

from planwise.census import Census
from planwise.config import Settings
from planwise.errors import DatabaseLockedError, UserError
from planwise.metrics import RunMetrics, run_metrics
from planwise.parameters import DEFAULT_SCENARIO, LeverSet, ResolvedLevers, resolve_levers
from planwise.parameters.validation import LeverDomain, validate_lever_value
from planwise.simulation import (
    PlannedRun,
    Workforce,
    replay,
    simulate,
    simulate_planned,
)
from planwise.storage import census_store, parameter_store
from planwise.workspace import WORKSPACE_ENV, Workspace

__all__ = [
    "LeverContext",
    "Page",
    "Projection",
    "StoreState",
    "lever_context",
    "lever_findings",
    "load_census",
    "project",
    "project_active",
    "read_store_state",
    "render_guarded",
    "workspace_from",
]


def workspace_from(argv: Sequence[str], environment: dict[str, str] | os._Environ[str]) -> Path:
    """The workspace given after `--` (`--workspace DIR`), else `$PLANWISE_WORKSPACE`.

    The app never falls back to a folder relative to where it happens to run.
    """
    arguments = list(argv)
    for index, argument in enumerate(arguments):
        if argument == "--workspace" and index + 1 < len(arguments):
            return Path(arguments[index + 1]).expanduser().resolve()
        if argument.startswith("--workspace="):
            return Path(argument.split("=", 1)[1]).expanduser().resolve()
    chosen = environment.get(WORKSPACE_ENV)
    if not chosen:
        raise UserError(
            "No workspace given. Start the app with 'planwise ui --workspace DIR', or set "
            f"{WORKSPACE_ENV} to the workspace folder."
        )
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class Page:
    """What a tab renders for: the workspace, its current state and the chosen scenario."""

    workspace: Workspace
    state: StoreState
    scenario_id: str

    @property
    def settings(self) -> Settings:
        return self.state.settings


@dataclass(frozen=True)
class StoreState:
    """The ids that say which data is current; caches are keyed on them."""

    database: str
    settings_json: str
    census_id: str | None
    active_sets: tuple[tuple[str, int], ...]
    scenarios: tuple[str, ...]
    latest_run_id: int | None
    runs_version: int
    latest_optimization_id: int | None
    latest_parameter_set_id: int | None
    optimizations_version: int
    """Changes when an optimization stores an iteration or finishes."""

    @property
    def settings(self) -> Settings:
        return _settings(self.settings_json)

    def active_set(self, scenario_id: str) -> int | None:
        return dict(self.active_sets).get(scenario_id)


@st.cache_resource(max_entries=4, show_spinner=False)
def _settings(settings_json: str) -> Settings:
    return Settings.model_validate_json(settings_json)


def read_store_state(workspace: Workspace) -> StoreState:
    """One short read-only connection: the ids of everything that is current."""
    settings = workspace.settings()
    with workspace.database(settings).connect(read_only=True) as connection:
        row = connection.execute(
            """
            SELECT
                (SELECT census_id FROM census_versions WHERE is_active LIMIT 1),
                (SELECT max(run_id) FROM simulation_runs),
                (SELECT coalesce(sum(end_year), 0) + count(*) FROM simulation_runs),
                (SELECT max(optimization_id) FROM optimization_runs),
                (SELECT max(parameter_set_id) FROM parameter_sets),
                (SELECT count(finished_at) * 100003 + coalesce(sum(iterations), 0)
                 FROM optimization_runs)
            """
        ).fetchone() or (None, None, 0, None, None, 0)
        active = connection.execute(
            "SELECT scenario_id, parameter_set_id FROM parameter_sets WHERE is_active "
            "ORDER BY scenario_id"
        ).fetchall()
        scenarios = connection.execute(
            "SELECT scenario_id FROM scenarios ORDER BY scenario_id = ? DESC, scenario_id",
            [DEFAULT_SCENARIO],
        ).fetchall()
    return StoreState(
        database=str(workspace.database_path),
        settings_json=settings.model_dump_json(),
        census_id=row[0],
        active_sets=tuple((str(s), int(i)) for s, i in active),
        scenarios=tuple(str(s) for (s,) in scenarios) or (DEFAULT_SCENARIO,),
        latest_run_id=None if row[1] is None else int(row[1]),
        runs_version=int(row[2]),
        latest_optimization_id=None if row[3] is None else int(row[3]),
        latest_parameter_set_id=None if row[4] is None else int(row[4]),
        optimizations_version=int(row[5] or 0),
    )


def _workspace_of(database: str) -> Workspace:
    return Workspace(Path(database).parent)


@st.cache_resource(max_entries=2, show_spinner="Loading the census…")
def load_census(database: str, census_id: str) -> tuple[Census, Workforce]:
    """The census and its starting workforce, loaded once per census version."""
    workspace = _workspace_of(database)
    with workspace.database().connect(read_only=True) as connection:
        census = census_store.load_census(connection, census_id)
    return census, census.starting_workforce()


@dataclass(frozen=True)
class LeverContext:
    """A scenario's active set, the default scenario's set, and their resolution."""

    parameter_set_id: int
    lever_set: LeverSet
    default_set: LeverSet | None
    years: tuple[int, ...]
    levels: tuple[int, ...]
    resolved: ResolvedLevers

    def resolve(self, lever_set: LeverSet) -> ResolvedLevers:
        return resolve_levers(list(self.years), list(self.levels), lever_set, self.default_set)


@st.cache_resource(max_entries=8, show_spinner=False)
def lever_context(
    database: str, settings_json: str, scenario_id: str, parameter_set_id: int
) -> LeverContext:
    """Parameter sets are immutable, so this is keyed on the set's id (and the settings)."""
    settings = _settings(settings_json)
    years = tuple(range(settings.start_year, settings.start_year + settings.years))
    with _workspace_of(database).database(settings).connect(read_only=True) as connection:
        lever_set = parameter_store.load_lever_set(connection, parameter_set_id)
        default_set = None
        if scenario_id != DEFAULT_SCENARIO:
            default_id = parameter_store.active_parameter_set_id(connection, DEFAULT_SCENARIO)
            if default_id is not None:
                default_set = parameter_store.load_lever_set(connection, default_id)
    levels = tuple(settings.level_numbers)
    resolved = resolve_levers(list(years), list(levels), lever_set, default_set)
    return LeverContext(parameter_set_id, lever_set, default_set, years, levels, resolved)


def lever_findings(lever_set: LeverSet, settings: Settings) -> tuple[list[str], list[str]]:
    """Errors and warnings for every value of a set, by the same rules as the CLI."""
    domain = LeverDomain.from_settings(settings)
    errors: list[str] = []
    warnings: list[str] = []
    for lever in lever_set.levers:
        found_errors, found_warnings = validate_lever_value(
            lever.parameter_name, lever.value, domain, level=lever.job_level, year=lever.fiscal_year
        )
        where = f"{lever.parameter_name}, {lever.fiscal_year}, level {lever.job_level}"
        errors.extend(f"{where}: {problem.describe()}" for problem in found_errors)
        warnings.extend(f"{where}: {problem.describe()}" for problem in found_warnings)
    return errors, warnings


@dataclass(frozen=True)
class Projection:
    """An in-memory simulation of the active set: its plans (for replays) and metrics."""

    planned: PlannedRun
    metrics: RunMetrics


@st.cache_resource(max_entries=8, show_spinner="Projecting the active levers…")
def project_active(
    database: str, settings_json: str, census_id: str, scenario_id: str, parameter_set_id: int
) -> Projection:
    """The active set's projection, the reference the Impact tab compares against."""
    settings = _settings(settings_json)
    _, workforce = load_census(database, census_id)
    context = lever_context(database, settings_json, scenario_id, parameter_set_id)
    planned = simulate_planned(
        workforce,
        settings,
        context.resolved,
        start_year=settings.start_year,
        years=settings.years,
        seed=settings.seed,
    )
    return Projection(planned, run_metrics(planned.result))


def project(
    settings: Settings, workforce: Workforce, reference: Projection, levers: ResolvedLevers
) -> tuple[RunMetrics, str]:
    """The metrics of other levers, in memory; nothing is stored. Also says how.

    Compensation levers leave the plan (who leaves, is promoted, hired) unchanged, so the
    engine's exact pay replay on the reference's plans gives the full simulation's figures
    at a fraction of the cost; a structural lever needs the full simulation.
    """
    if reference.planned.can_replay(levers):
        result = replay(reference.planned, settings, levers)
        return run_metrics(result), "pay replayed on the active set's plan (exact)"
    result = simulate(
        workforce,
        settings,
        levers,
        start_year=settings.start_year,
        years=settings.years,
        seed=settings.seed,
    )
    return run_metrics(result), "full simulation (a structural lever changed)"


def render_guarded(name: str, render: Callable[[], None]) -> None:
    """Run one part of a page; a locked database or a user error is a message, not a crash."""
    try:
        render()
    except DatabaseLockedError as error:
        st.error(str(error), icon=":material/lock:")
        st.button("Try again", key=f"retry_{name}")
    except UserError as error:
        st.warning(str(error))
    except duckdb.ConnectionException as error:
        # Another task of this app holds the file with other settings (e.g. writing).
        st.warning(f"The workspace database is busy in this app ({error}). Try again shortly.")
