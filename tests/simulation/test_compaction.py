"""`compact`: the event logs no one references are dropped (their runs keep their
metrics), the ones someone may still look at stay, and the file shrinks."""

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
from planwise.application.maintenance import CompactRequest, compact_workspace


def _rows(workspace: Workspace, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(workspace.database_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """Runs 1 and 2 of the first set, then run 3 of an edited (now active) set."""
    workspace = Workspace(tmp_path / "workspace")
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(3_000, 2))
    application.simulate(workspace, SimulateRequest(years=3))
    application.simulate(workspace, SimulateRequest(years=3, seed=7))
    application.edit_levers(workspace, EditLeversRequest((LeverEdit("cola_rate", 0.025),)))
    application.simulate(workspace, SimulateRequest(years=3))
    return workspace


def test_compact_drops_unreferenced_event_logs_keeps_metrics_and_shrinks_the_file(
    workspace: Workspace,
) -> None:
    metrics_before = _rows(workspace, "SELECT * FROM simulation_metrics ORDER BY ALL")
    kept_events = _rows(workspace, "SELECT * FROM fct_yearly_events WHERE run_id = 3 ORDER BY ALL")
    planned = compact_workspace(workspace, CompactRequest(dry_run=True))
    assert planned.dropped_runs == (1, 2) and planned.kept_runs == (3,)
    assert planned.bytes_after == planned.bytes_before  # a dry run changes nothing
    done = compact_workspace(workspace, CompactRequest())
    assert done.dropped_runs == (1, 2)
    assert done.bytes_after < done.bytes_before
    assert _rows(workspace, "SELECT DISTINCT run_id FROM simulation_events") == [(3,)]
    assert _rows(workspace, "SELECT * FROM simulation_metrics ORDER BY ALL") == metrics_before
    assert (
        _rows(workspace, "SELECT * FROM fct_yearly_events WHERE run_id = 3 ORDER BY ALL")
        == kept_events
    )
    # the runs are still listed and their results still read, as metrics only
    assert [run.run_id for run in application.list_runs(workspace)] == [3, 2, 1]
    assert application.run_results(workspace, 1).metrics.years == [2025, 2026, 2027]
    # and the store keeps working: the sequences carry on
    assert application.simulate(workspace, SimulateRequest(years=1)).run_id == 4


def test_compacting_twice_drops_nothing_more(workspace: Workspace) -> None:
    compact_workspace(workspace, CompactRequest())
    again = compact_workspace(workspace, CompactRequest())
    assert again.dropped_runs == () and again.dropped_rows == 0
