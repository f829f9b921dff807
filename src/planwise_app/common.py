"""What every tab shares: the workspace, the store's state, cached loads, error display.

No stale numbers: each rerun reads a small `StoreState` (ids of the active census, the
active parameter sets, the latest run and optimization) through `planwise.application`,
and every cache below is keyed on those ids. A new run, an apply or a rollback changes an
id, so every page shows the new state without clearing anything by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from planwise import application
from planwise.application import (
    WORKSPACE_ENV,
    ActiveCensus,
    LeverView,
    Projection,
    StoreState,
    Workspace,
)
from planwise.config import Settings
from planwise.errors import DatabaseLockedError, UserError

__all__ = [
    "Page",
    "active_census",
    "cards_scope",
    "lever_view",
    "reference_projection",
    "render_guarded",
    "workspace_from",
    "workspace_of",
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
        return _settings(self.state.settings_json)

    @property
    def level_names(self) -> dict[int, str]:
        """Job levels by name (Staff … VP), as planwise.yaml declares them."""
        return {level.level: level.name for level in self.settings.job_levels}

    def level_name(self, level: int) -> str:
        return self.level_names.get(level, f"Level {level}")


@st.cache_resource(max_entries=4, show_spinner=False)
def _settings(settings_json: str) -> Settings:
    return Settings.model_validate_json(settings_json)


def workspace_of(database: str) -> Workspace:
    """The workspace of a `StoreState.database` path (the caches below are keyed on it)."""
    return Workspace(Path(database).parent)


@st.cache_resource(max_entries=2, show_spinner="Loading the census…")
def active_census(database: str, census_id: str) -> ActiveCensus:
    """The census and its starting workforce, loaded once per census version."""
    return application.active_census(workspace_of(database), census_id)


@st.cache_resource(max_entries=8, show_spinner=False)
def lever_view(
    database: str, settings_json: str, scenario_id: str, parameter_set_id: int
) -> LeverView:
    """Parameter sets are immutable, so this is keyed on the set's id (and the settings)."""
    return application.lever_view(workspace_of(database), scenario_id, parameter_set_id)


@st.cache_resource(max_entries=8, show_spinner="Projecting the active levers…")
def reference_projection(
    database: str, settings_json: str, census_id: str, scenario_id: str, parameter_set_id: int
) -> Projection:
    """The active set's projection, the reference the Impact tab compares against."""
    workforce = active_census(database, census_id).workforce
    levers = lever_view(database, settings_json, scenario_id, parameter_set_id)
    return application.project(_settings(settings_json), workforce, levers.resolved)


def cards_scope(years: Sequence[int]) -> str:
    """What the metric cards cover: the final year, or (growth a year, cumulative cost) the
    whole horizon."""
    return (
        f"Headcount, cost and salaries in {years[-1]}; growth a year and cumulative cost over "
        f"{years[0]}–{years[-1]}."
    )


def render_guarded(name: str, render: Callable[[], None]) -> None:
    """Run one part of a page; a locked database or a user error is a message, not a crash."""
    try:
        render()
    except DatabaseLockedError as error:
        st.error(str(error), icon=":material/lock:")
        st.button("Try again", key=f"retry_{name}")
    except UserError as error:
        st.warning(str(error))
