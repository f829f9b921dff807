"""Keeping the store bounded: drop the event logs no one needs, and give the space back.

A stored simulation's events and snapshots are most of the store (about 570 MB per run at
a million employees). A run's metrics, its parameter set, the census, the audit and
activation logs are never dropped; nor is the event log of a run someone may still look
at or answer for: the newest run of each scenario, a run of a scenario's active set, an
optimization's start and answer, a member of an ensemble kept on purpose, a run an
applied (or approved) set came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from planwise.errors import UserError

__all__ = ["RunEvents", "drop_events", "referenced_runs", "rewrite_file", "runs_with_events"]


@dataclass(frozen=True)
class RunEvents:
    """A completed run whose event log is stored, and how many rows it holds."""

    run_id: int
    scenario_id: str
    purpose: str
    rows: int


def runs_with_events(connection: duckdb.DuckDBPyConnection) -> list[RunEvents]:
    """Every completed run that keeps an event log, with its stored rows."""
    rows = connection.execute(
        """
        SELECT run.run_id, run.scenario_id, run.purpose,
               coalesce(events.count, 0) + coalesce(snapshots.count, 0) AS stored_rows
        FROM simulation_runs AS run
        LEFT JOIN (SELECT run_id, count(*) AS count FROM simulation_events GROUP BY run_id)
            AS events USING (run_id)
        LEFT JOIN (SELECT run_id, count(*) AS count FROM simulation_snapshots GROUP BY run_id)
            AS snapshots USING (run_id)
        WHERE run.status = 'completed' AND coalesce(run.events_stored, true)
        ORDER BY run.run_id
        """
    ).fetchall()
    return [RunEvents(int(r), str(s), str(p), int(n)) for r, s, p, n in rows]


def referenced_runs(connection: duckdb.DuckDBPyConnection) -> set[int]:
    """The runs whose event logs are kept (see the module's docstring)."""
    statements = (
        # the newest run of each scenario
        "SELECT max(run_id) FROM simulation_runs WHERE status = 'completed' GROUP BY scenario_id",
        # runs of the sets active now
        "SELECT run.run_id FROM simulation_runs AS run JOIN parameter_sets AS set "
        "ON set.parameter_set_id = run.parameter_set_id WHERE set.is_active",
        # runs of sets that were ever applied (made active after they were stored)
        "SELECT run.run_id FROM simulation_runs AS run JOIN parameter_set_activations AS a "
        "ON a.parameter_set_id = run.parameter_set_id WHERE a.action = 'apply'",
        # an optimization's start and answer
        "SELECT iteration.run_id FROM optimization_iterations AS iteration "
        "WHERE iteration.kind = 'start' AND iteration.run_id IS NOT NULL",
        "SELECT run.run_id FROM optimization_runs AS optimization JOIN simulation_runs AS run "
        "ON run.optimization_id = optimization.optimization_id "
        "AND run.parameter_set_id = optimization.best_parameter_set_id",
        # ensemble members kept on purpose
        "SELECT run_id FROM ensemble_members WHERE run_id IS NOT NULL",
    )
    kept: set[int] = set()
    for statement in statements:
        kept.update(int(row[0]) for row in connection.execute(statement).fetchall() if row[0])
    kept.update(_extra_references(connection))
    return kept


def _extra_references(connection: duckdb.DuckDBPyConnection) -> set[int]:
    """Runs named by tables a later feature adds (e.g. approvals' evidence), if present."""
    tables = {
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    kept: set[int] = set()
    if "proposals" in tables:
        kept.update(
            int(run_id)
            for (run_id,) in connection.execute(
                "SELECT run.run_id FROM proposals AS proposal JOIN simulation_runs AS run "
                "ON run.parameter_set_id = proposal.parameter_set_id"
            ).fetchall()
        )
    return kept


def drop_events(connection: duckdb.DuckDBPyConnection, run_ids: list[int]) -> None:
    """Delete the events, snapshots and hires of the runs; they stay, as metrics only."""
    for table in ("simulation_events", "simulation_snapshots", "simulation_hires"):
        connection.execute(f"DELETE FROM {table} WHERE list_contains(?, run_id)", [run_ids])
    connection.execute(
        "UPDATE simulation_runs SET events_stored = false WHERE list_contains(?, run_id)",
        [run_ids],
    )


def rewrite_file(path: Path) -> tuple[int, int]:
    """Copy the database into a new file (DuckDB does not shrink a file when rows are
    deleted; a copy holds only the live rows), then put the copy in its place. Needs the
    file closed by every process (this one included). Returns the sizes before and after.
    """
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise UserError(
            f"{path} has a write-ahead log ({wal.name}) left by a program that did not close it "
            "cleanly. Run any planwise command on the workspace once (it replays the log), "
            "then compact again. Nothing was changed."
        )
    before = path.stat().st_size
    copy = path.with_name(f".{path.name}.{os.getpid()}.compact")
    copy.unlink(missing_ok=True)
    connection = duckdb.connect()
    try:
        # Attached for writing: DuckDB's lock keeps every other program out while copying.
        connection.execute(f"ATTACH {_quoted(path)} AS source")
        connection.execute(f"ATTACH {_quoted(copy)} AS target")
        connection.execute("COPY FROM DATABASE source TO target")
        connection.execute("DETACH source")
        connection.execute("DETACH target")
    except BaseException:
        connection.close()
        copy.unlink(missing_ok=True)
        raise
    connection.close()
    os.replace(copy, path)
    return before, path.stat().st_size


def _quoted(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"
