"""`comp_levers.csv`: the import/export format analysts edit (not the store)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from planwise.errors import UserError
from planwise.parameters.levers import DEFAULT_SCENARIO, LeverSet
from planwise.storage import parameter_store
from planwise.workspace import Workspace

__all__ = ["LEVER_CSV_COLUMNS", "export_active_levers", "write_levers_csv"]

LEVER_CSV_COLUMNS = (
    "scenario_id",
    "fiscal_year",
    "job_level",
    "event_type",
    "parameter_name",
    "parameter_value",
    "is_locked",
    "created_at",
    "created_by",
)


def write_levers_csv(
    lever_set: LeverSet, path: Path, created_at: dt.datetime, created_by: str
) -> None:
    """Write a parameter set's rows; values use `repr` so the round trip is exact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEVER_CSV_COLUMNS)
        for lever in lever_set.levers:
            writer.writerow(
                [
                    lever_set.scenario_id,
                    lever.fiscal_year,
                    lever.job_level,
                    lever.event_type,
                    lever.parameter_name,
                    repr(lever.value),
                    str(lever.is_locked).lower(),
                    created_at.isoformat(sep=" ", timespec="seconds"),
                    created_by,
                ]
            )


def export_active_levers(
    workspace: Workspace, path: Path, scenario_id: str = DEFAULT_SCENARIO
) -> int:
    """Export the scenario's active set to `path`; returns its parameter_set_id."""
    with workspace.database().connect(read_only=True) as connection:
        set_id = parameter_store.active_parameter_set_id(connection, scenario_id)
        if set_id is None:
            raise UserError(f"Scenario '{scenario_id}' has no active parameter set.")
        record = parameter_store.load_parameter_set(connection, set_id)
        lever_set = parameter_store.load_lever_set(connection, set_id)
    write_levers_csv(lever_set, path, record.created_at, record.created_by)
    return set_id
