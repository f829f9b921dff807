"""The levers a simulation uses: a scenario's active (or named) set, resolved for its years."""

from __future__ import annotations

import duckdb

from planwise.config import Settings
from planwise.errors import UserError
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    LeverSet,
    ResolvedLevers,
    resolve_levers,
)
from planwise.storage import parameter_store

__all__ = ["default_set_for", "load_levers"]


def load_levers(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    scenario_id: str,
    years: range,
    parameter_set_id: int | None = None,
    default_parameter_set_id: int | None = None,
) -> tuple[int, LeverSet, ResolvedLevers]:
    """The (active or named) parameter set of a scenario, resolved for the years.

    Gaps of another scenario's set are filled from the default scenario's active set, or
    from `default_parameter_set_id` when given (a stored run's own).
    """
    if not parameter_store.scenario_exists(connection, scenario_id):
        raise UserError(
            f"Unknown scenario '{scenario_id}'. Create it with "
            f"'planwise levers scenario create {scenario_id} --from default'."
        )
    set_id = parameter_set_id or parameter_store.active_parameter_set_id(connection, scenario_id)
    if set_id is None:
        raise UserError(f"Scenario '{scenario_id}' has no active parameter set.")
    lever_set = parameter_store.load_lever_set(connection, set_id)
    default_set: LeverSet | None = None
    if scenario_id != DEFAULT_SCENARIO:
        default_id = default_parameter_set_id or parameter_store.active_parameter_set_id(
            connection, DEFAULT_SCENARIO
        )
        if default_id is not None:
            default_set = parameter_store.load_lever_set(connection, default_id)
    resolved = resolve_levers(list(years), settings.level_numbers, lever_set, default_set)
    return set_id, lever_set, resolved


def default_set_for(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> int | None:
    """The default scenario's active set that fills another scenario's gaps (None for default)."""
    if scenario_id == DEFAULT_SCENARIO:
        return None
    return parameter_store.active_parameter_set_id(connection, DEFAULT_SCENARIO)
