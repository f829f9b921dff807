"""Parameter sets: immutable once stored; edits, imports, rollbacks and optimizer steps
create new sets with a parent pointer; one set is active per scenario."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from planwise.config import Settings
from planwise.errors import UserError
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    Lever,
    LeverSet,
    ResolvedLevers,
    resolve_levers,
)

__all__ = [
    "ParameterSetRecord",
    "ScenarioRecord",
    "activate_parameter_set",
    "active_lever_set",
    "active_parameter_set_id",
    "create_parameter_set",
    "default_set_for",
    "ensure_scenario",
    "list_parameter_sets",
    "list_scenarios",
    "load_lever_set",
    "load_levers",
    "load_parameter_set",
    "require_scenario",
    "scenario_exists",
]


@dataclass(frozen=True)
class ParameterSetRecord:
    parameter_set_id: int
    scenario_id: str
    parent_id: int | None
    is_active: bool
    created_at: dt.datetime
    created_by: str
    source: str
    note: str | None
    activated_at: dt.datetime | None = None
    """When the set last became its scenario's active set (None: never)."""
    activated_by: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "parameter_set_id": self.parameter_set_id,
            "scenario_id": self.scenario_id,
            "parent_id": self.parent_id,
            "is_active": self.is_active,
            "created_at": self.created_at.isoformat(sep=" ", timespec="seconds"),
            "created_by": self.created_by,
            "source": self.source,
            "note": self.note,
            "activated_at": None
            if self.activated_at is None
            else self.activated_at.isoformat(sep=" ", timespec="seconds"),
            "activated_by": self.activated_by,
        }


@dataclass(frozen=True)
class ScenarioRecord:
    scenario_id: str
    created_from: str | None
    created_at: dt.datetime
    created_by: str
    note: str | None
    active_parameter_set_id: int | None
    parameter_set_count: int

    def as_dict(self) -> dict[str, object]:
        return {
            "scenario_id": self.scenario_id,
            "created_from": self.created_from,
            "created_at": self.created_at.isoformat(sep=" ", timespec="seconds"),
            "created_by": self.created_by,
            "note": self.note,
            "active_parameter_set_id": self.active_parameter_set_id,
            "parameter_set_count": self.parameter_set_count,
        }


_SET_COLUMNS = (
    "s.parameter_set_id, s.scenario_id, s.parent_id, s.is_active, s.created_at, s.created_by, "
    "s.source, s.note, a.activated_at, a.activated_by"
)
# Each set with its latest activation (if any).
_SETS = """parameter_sets AS s LEFT JOIN (
    SELECT parameter_set_id, arg_max(activated_at, activated_at) AS activated_at,
           arg_max(activated_by, activated_at) AS activated_by
    FROM parameter_set_activations GROUP BY parameter_set_id
) AS a USING (parameter_set_id)"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def scenario_exists(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM scenarios WHERE scenario_id = ?", [scenario_id]
    ).fetchone()
    return bool(row and row[0])


def ensure_scenario(
    connection: duckdb.DuckDBPyConnection,
    scenario_id: str,
    created_by: str,
    created_from: str | None = None,
    note: str | None = None,
) -> None:
    if not scenario_exists(connection, scenario_id):
        connection.execute(
            "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?)",
            [scenario_id, created_from, _now(), created_by, note],
        )


def create_parameter_set(
    connection: duckdb.DuckDBPyConnection,
    levers: LeverSet,
    *,
    source: str,
    created_by: str,
    parent_id: int | None = None,
    note: str | None = None,
    activate: bool = True,
) -> int:
    """Store a new set (and its lever rows); optionally make it the scenario's active set."""
    ensure_scenario(connection, levers.scenario_id, created_by)
    (set_id,) = connection.execute("SELECT nextval('parameter_set_id_seq')").fetchone()  # type: ignore[misc]
    now = _now()
    if activate:
        connection.execute(
            "UPDATE parameter_sets SET is_active = false WHERE scenario_id = ? AND is_active",
            [levers.scenario_id],
        )
    connection.execute(
        "INSERT INTO parameter_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [set_id, levers.scenario_id, parent_id, activate, now, created_by, source, note],
    )
    if activate:
        _record_activation(connection, set_id, levers.scenario_id, now, created_by, source)
    connection.executemany(
        "INSERT INTO comp_levers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                set_id,
                levers.scenario_id,
                lever.fiscal_year,
                lever.job_level,
                lever.event_type,
                lever.parameter_name,
                lever.value,
                lever.is_locked,
                now,
                created_by,
            )
            for lever in levers.levers
        ],
    )
    return int(set_id)


def activate_parameter_set(
    connection: duckdb.DuckDBPyConnection,
    parameter_set_id: int,
    *,
    activated_by: str,
    action: str = "apply",
) -> None:
    """Make a stored set its scenario's active set, recorded in the activation log."""
    record = load_parameter_set(connection, parameter_set_id)
    connection.execute(
        "UPDATE parameter_sets SET is_active = false WHERE scenario_id = ? AND is_active",
        [record.scenario_id],
    )
    connection.execute(
        "UPDATE parameter_sets SET is_active = true WHERE parameter_set_id = ?", [parameter_set_id]
    )
    _record_activation(
        connection, parameter_set_id, record.scenario_id, _now(), activated_by, action
    )


def _record_activation(
    connection: duckdb.DuckDBPyConnection,
    parameter_set_id: int,
    scenario_id: str,
    at: dt.datetime,
    by: str,
    action: str,
) -> None:
    connection.execute(
        "INSERT INTO parameter_set_activations VALUES (?, ?, ?, ?, ?)",
        [parameter_set_id, scenario_id, at, by, action],
    )


def load_parameter_set(
    connection: duckdb.DuckDBPyConnection, parameter_set_id: int
) -> ParameterSetRecord:
    row = connection.execute(
        f"SELECT {_SET_COLUMNS} FROM {_SETS} WHERE s.parameter_set_id = ?",
        [parameter_set_id],
    ).fetchone()
    if row is None:
        raise UserError(
            f"There is no parameter set {parameter_set_id}. 'planwise levers history' lists them."
        )
    return ParameterSetRecord(*row)


def active_parameter_set_id(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> int | None:
    row = connection.execute(
        "SELECT parameter_set_id FROM parameter_sets WHERE scenario_id = ? AND is_active",
        [scenario_id],
    ).fetchone()
    return None if row is None else int(row[0])


def load_lever_set(connection: duckdb.DuckDBPyConnection, parameter_set_id: int) -> LeverSet:
    record = load_parameter_set(connection, parameter_set_id)
    rows = connection.execute(
        "SELECT parameter_name, fiscal_year, job_level, parameter_value, is_locked "
        "FROM comp_levers WHERE parameter_set_id = ?",
        [parameter_set_id],
    ).fetchall()
    return LeverSet(record.scenario_id, tuple(Lever(*row) for row in rows))


def list_parameter_sets(
    connection: duckdb.DuckDBPyConnection, scenario_id: str | None = None
) -> list[ParameterSetRecord]:
    query = (
        f"SELECT {_SET_COLUMNS} FROM {_SETS} "
        "WHERE (? IS NULL OR s.scenario_id = ?) ORDER BY s.parameter_set_id"
    )
    rows = connection.execute(query, [scenario_id, scenario_id]).fetchall()
    return [ParameterSetRecord(*row) for row in rows]


def list_scenarios(connection: duckdb.DuckDBPyConnection) -> list[ScenarioRecord]:
    """Every scenario with its active set and how many sets it has, oldest first."""
    rows = connection.execute(
        """
        SELECT s.scenario_id, s.created_from, s.created_at, s.created_by, s.note,
               max(CASE WHEN p.is_active THEN p.parameter_set_id END),
               count(p.parameter_set_id)
        FROM scenarios AS s
        LEFT JOIN parameter_sets AS p USING (scenario_id)
        GROUP BY ALL
        ORDER BY s.created_at, s.scenario_id
        """
    ).fetchall()
    return [ScenarioRecord(*row) for row in rows]


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
    if not scenario_exists(connection, scenario_id):
        raise UserError(
            f"Unknown scenario '{scenario_id}'. Create it with "
            f"'planwise levers scenario create {scenario_id} --from default'."
        )
    set_id = parameter_set_id or active_parameter_set_id(connection, scenario_id)
    if set_id is None:
        raise UserError(f"Scenario '{scenario_id}' has no active parameter set.")
    lever_set = load_lever_set(connection, set_id)
    default_set: LeverSet | None = None
    if scenario_id != DEFAULT_SCENARIO:
        default_id = default_parameter_set_id or active_parameter_set_id(
            connection, DEFAULT_SCENARIO
        )
        if default_id is not None:
            default_set = load_lever_set(connection, default_id)
    resolved = resolve_levers(list(years), settings.level_numbers, lever_set, default_set)
    return set_id, lever_set, resolved


def default_set_for(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> int | None:
    """The default scenario's active set that fills another scenario's gaps (None for default)."""
    if scenario_id == DEFAULT_SCENARIO:
        return None
    return active_parameter_set_id(connection, DEFAULT_SCENARIO)


def require_scenario(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> None:
    """A user error naming the scenario unless it exists."""
    if not scenario_exists(connection, scenario_id):
        raise UserError(
            f"Unknown scenario '{scenario_id}'. 'planwise levers scenario list' lists them."
        )


def active_lever_set(
    connection: duckdb.DuckDBPyConnection, scenario_id: str
) -> tuple[int | None, LeverSet]:
    """The active set's id and rows (no id and no rows for a scenario without one)."""
    set_id = active_parameter_set_id(connection, scenario_id)
    if set_id is None:
        return None, LeverSet(scenario_id, ())
    return set_id, load_lever_set(connection, set_id)
