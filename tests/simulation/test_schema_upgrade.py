"""An older workspace database whose upgrade only adds tables is brought up to date in
place, on first use, whether that use reads or writes; nothing stored is lost."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planwise import application
from planwise.application import (
    EditLeversRequest,
    GenerateCensusRequest,
    LeverEdit,
    SimulateRequest,
    Workspace,
)
from planwise.errors import UserError
from planwise.storage.schema import SCHEMA_VERSION


def _as_version_3(workspace: Workspace) -> None:
    """What a version-3 file looks like: no activation log, no writer columns on the
    optimizations, no pending end year on the runs, version 3 recorded."""
    with duckdb.connect(str(workspace.database_path)) as connection:
        connection.execute("DROP TABLE parameter_set_activations")
        for column in ("writer_host", "writer_pid", "writer_started_at", "heartbeat_at"):
            connection.execute(f"ALTER TABLE optimization_runs DROP COLUMN {column}")
        connection.execute("ALTER TABLE simulation_runs DROP COLUMN pending_end_year")
        connection.execute("DELETE FROM schema_info")
        connection.execute("INSERT INTO schema_info VALUES (3, current_timestamp)")


def _rows(workspace: Workspace, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(workspace.database_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def old_workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "workspace")
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(300, 2))
    application.edit_levers(workspace, EditLeversRequest((LeverEdit("cola_rate", 0.025),)))
    application.simulate(workspace, SimulateRequest(years=1))
    _as_version_3(workspace)
    return workspace


@pytest.mark.parametrize("first_use", ["read", "write"])
def test_a_version_3_database_is_upgraded_in_place_on_first_use(
    old_workspace: Workspace, first_use: str
) -> None:
    runs = (
        "SELECT run_id, scenario_id, parameter_set_id, census_id, seed, start_year, end_year, "
        "status, started_at, finished_at, settings_json FROM simulation_runs"
    )
    runs_before = _rows(old_workspace, runs)
    if first_use == "read":
        history = application.lever_history(old_workspace)
    else:
        application.edit_levers(old_workspace, EditLeversRequest((LeverEdit("cola_rate", 0.03),)))
        history = application.lever_history(old_workspace)
    assert _rows(old_workspace, "SELECT max(schema_version) FROM schema_info") == [
        (SCHEMA_VERSION,)
    ]
    assert _rows(old_workspace, runs) == runs_before
    # The set active before the upgrade is recorded as activated when it was made.
    active = [record for record in history if record.is_active]
    assert len(active) == 1
    assert active[0].activated_at is not None and active[0].activated_by is not None


def test_a_database_of_an_older_incompatible_version_is_refused_unchanged(
    old_workspace: Workspace,
) -> None:
    with duckdb.connect(str(old_workspace.database_path)) as connection:
        connection.execute("UPDATE schema_info SET schema_version = 2")
    before = old_workspace.database_path.read_bytes()
    with pytest.raises(UserError, match="schema version 2"):
        application.lever_history(old_workspace)
    assert old_workspace.database_path.read_bytes() == before


def test_applying_a_set_records_who_applied_it_and_when(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "workspace")
    application.init_workspace(workspace)
    application.edit_levers(workspace, EditLeversRequest((LeverEdit("cola_rate", 0.025),)))
    application.apply_parameter_set(workspace, 1, applied_by="dana")
    records = {record.parameter_set_id: record for record in application.lever_history(workspace)}
    assert records[1].is_active and records[1].activated_by == "dana"
    assert records[2].activated_at is not None and records[2].activated_by != "dana"
    log = _rows(
        workspace,
        "SELECT parameter_set_id, activated_by, action FROM parameter_set_activations "
        "ORDER BY activated_at, parameter_set_id",
    )
    assert [(row[0], row[2]) for row in log] == [(1, "init"), (2, "edit"), (1, "apply")]
    assert log[-1][1] == "dana"
