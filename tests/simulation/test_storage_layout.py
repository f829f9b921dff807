"""How runs are stored: the normalized tables behind the contract views, one transaction
per run even though years are written on a background thread, the schema version, and
connections sharing one attachment of the file per process."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from planwise import application
from planwise.application import (
    GenerateCensusRequest,
    ImportCensusRequest,
    SimulateRequest,
    Workspace,
    pipeline,
)
from planwise.census import generate_census
from planwise.config import DatabaseSettings
from planwise.errors import UserError
from planwise.parameters import default_lever_set, resolve_levers
from planwise.simulation import YearOutcome, simulate
from planwise.storage import runs
from planwise.storage.database import Database
from run_support import outcomes_of

STORED_TABLES = (
    "simulation_runs",
    "simulation_hires",
    "simulation_employees",
    "simulation_events",
    "simulation_snapshots",
    "simulation_metrics",
)


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "workspace")
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(600, 3))
    return workspace


def _counts(workspace: Workspace) -> dict[str, int]:
    with workspace.database().connect(read_only=True) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in STORED_TABLES
        }


def test_each_employee_is_stored_once_per_run_and_keys_follow_the_engine_order(
    workspace: Workspace,
) -> None:
    run = application.simulate(workspace, SimulateRequest(years=3))
    outcomes = outcomes_of(workspace, run)
    hires = [outcome.counts.hires for outcome in outcomes]
    starting = len(run.result.starting_workforce)
    with workspace.database().connect(read_only=True) as connection:
        keys = connection.execute(
            "SELECT employee_key FROM simulation_employees WHERE run_id = ? ORDER BY employee_key",
            [run.run_id],
        ).fetchnumpy()["employee_key"]
        duplicated = connection.execute(
            "SELECT count(*) - count(DISTINCT employee_id) FROM simulation_employees "
            "WHERE run_id = ?",
            [run.run_id],
        ).fetchall()[0][0]
        hired_keys = connection.execute(
            "SELECT employee_key FROM simulation_hires WHERE run_id = ? ORDER BY employee_key",
            [run.run_id],
        ).fetchnumpy()["employee_key"]
        for outcome in outcomes:
            stored_ids = connection.execute(
                "SELECT employee_id FROM fct_workforce_snapshot "
                "WHERE run_id = ? AND simulation_year = ? ORDER BY employee_key",
                [run.run_id, outcome.year],
            ).fetchnumpy()["employee_id"]
            assert list(stored_ids) == list(outcome.snapshot.employee_id)
    assert list(keys) == list(range(starting + sum(hires)))
    assert duplicated == 0
    # the starting workforce's attributes are the census's; only hires are stored per run
    assert list(hired_keys) == list(range(starting, starting + sum(hires)))


def test_a_census_with_people_outside_the_starting_workforce_maps_keys_to_the_right_people(
    tmp_path: Path,
) -> None:
    workspace = Workspace(tmp_path / "imported")
    application.init_workspace(workspace)
    frame = generate_census(300, 11, workspace.settings()).frame.drop(
        columns="in_starting_workforce"
    )
    # every third person hired before June 2024 left at the end of June
    left = (frame.index % 3 == 1) & (pd.to_datetime(frame["hire_date"]) < "2024-06-01")
    frame["termination_date"] = frame["termination_date"].astype(object)
    frame.loc[left, "termination_date"] = "2024-06-30"
    frame.loc[left, "active"] = False
    frame.to_csv(tmp_path / "census.csv", index=False)
    census = application.import_census(
        workspace, ImportCensusRequest(tmp_path / "census.csv")
    ).census
    assert census.starting_headcount == 300 - left.sum() < 250

    run = application.simulate(workspace, SimulateRequest(years=2))
    with workspace.database().connect(read_only=True) as connection:
        for outcome in outcomes_of(workspace, run):
            stored = connection.execute(
                "SELECT employee_id, birth_date, hire_date, coalesce(gender, '') AS gender "
                "FROM fct_workforce_snapshot WHERE run_id = ? AND simulation_year = ? "
                "ORDER BY employee_key",
                [run.run_id, outcome.year],
            ).fetchnumpy()
            snapshot = outcome.snapshot
            assert list(stored["employee_id"]) == list(snapshot.employee_id)
            np.testing.assert_array_equal(stored["birth_date"], snapshot.birth_date)
            np.testing.assert_array_equal(stored["hire_date"], snapshot.hire_date)
            assert list(stored["gender"]) == list(snapshot.gender)


def _stored_run(workspace: Workspace, run_id: int) -> list[list[Any]]:
    """A run's events and snapshot rows, every column but the run id."""
    with workspace.database().connect(read_only=True) as connection:
        return [
            connection.execute(
                f"SELECT * EXCLUDE (run_id) FROM {view} WHERE run_id = ? ORDER BY ALL", [run_id]
            ).fetchall()
            for view in ("fct_yearly_events", "fct_workforce_snapshot")
        ]


def test_rows_are_inserted_in_whole_row_groups_and_stored_the_same_as_in_one_insert(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = application.simulate(
        workspace, SimulateRequest(years=3, seed=5)
    )  # 600 employees: one insert
    inserted: list[tuple[str, int]] = []
    original = runs.insert_frame

    def spy(connection: Any, table_name: str, frame: Any) -> None:
        inserted.append((table_name, frame.num_rows))
        original(connection, table_name, frame)

    monkeypatch.setattr(runs, "insert_frame", spy)
    monkeypatch.setattr(runs.YearWriter, "row_group_size", 64)
    batched = application.simulate(workspace, SimulateRequest(years=3, seed=5))
    assert _stored_run(workspace, batched.run_id) == _stored_run(workspace, whole.run_id)
    for table_name in ("simulation_events", "simulation_snapshots"):
        sizes = [rows for name, rows in inserted if name == table_name]
        assert len(sizes) > 2  # inserted while the engine ran, not only at the end
        assert all(rows % 64 == 0 and rows >= 128 for rows in sizes[:-1])
        assert sizes[-1] > 0  # the rest, at the end


def test_a_storage_failure_in_a_later_year_stores_nothing_of_the_run(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(workspace)
    original = runs.YearWriter.write

    def fail_in_the_second_year(self: runs.YearWriter, outcome: YearOutcome) -> None:
        if outcome.year == 2026:
            raise OSError("disk full")
        original(self, outcome)

    monkeypatch.setattr(runs.YearWriter, "write", fail_in_the_second_year)
    with pytest.raises(OSError, match="disk full"):
        application.simulate(workspace, SimulateRequest(years=3))
    assert _counts(workspace) == before
    monkeypatch.undo()
    assert (
        application.simulate(workspace, SimulateRequest(years=3)).run_id >= 1
    )  # the store still works


def test_an_engine_failure_after_stored_years_stores_nothing_of_the_run(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(workspace)
    original = pipeline.simulate_planned

    def fail_after_two_years(*args: Any, **kwargs: Any) -> Any:
        on_year = kwargs.pop("on_year")
        seen: list[int] = []

        def count(outcome: YearOutcome) -> None:
            on_year(outcome)
            seen.append(outcome.year)
            if len(seen) == 2:
                raise RuntimeError("engine stopped")

        return original(*args, on_year=count, **kwargs)

    monkeypatch.setattr(pipeline, "simulate_planned", fail_after_two_years)
    with pytest.raises(RuntimeError, match="engine stopped"):
        application.simulate(workspace, SimulateRequest(years=3))
    assert _counts(workspace) == before


def test_a_database_of_another_schema_version_is_refused_and_left_unchanged(
    workspace: Workspace,
) -> None:
    with workspace.database().transaction() as connection:
        connection.execute("UPDATE schema_info SET schema_version = 1")
    digest = hashlib.sha256(workspace.database_path.read_bytes()).hexdigest()
    with pytest.raises(UserError, match="storage schema version 1") as error:
        application.simulate(workspace, SimulateRequest(years=1))
    assert "planwise init --workspace NEW_FOLDER" in str(error.value)
    assert hashlib.sha256(workspace.database_path.read_bytes()).hexdigest() == digest


def test_connections_in_one_process_share_the_file_and_release_it_when_the_last_closes(
    workspace: Workspace,
) -> None:
    database = workspace.database()
    script = (
        "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).close(); print('opened')"
    )
    command = [sys.executable, "-c", script, str(workspace.database_path)]
    with database.connect() as outer:
        with database.connect() as inner, database.connect(read_only=True) as reader:
            inner.execute("INSERT INTO scenarios VALUES ('shared', NULL, now(), 'test', NULL)")
            seen = reader.execute("SELECT count(*) FROM scenarios WHERE scenario_id = 'shared'")
            assert seen.fetchall() == [(1,)]
        (count,) = outer.execute(
            "SELECT count(*) FROM scenarios WHERE scenario_id = 'shared'"
        ).fetchall()[0]
        assert count == 1
        held = subprocess.run(command, capture_output=True, text=True, check=False)
        assert held.returncode != 0 and "lock" in held.stderr.lower()  # still attached
    released = subprocess.run(command, capture_output=True, text=True, check=False)
    assert released.stdout.strip() == "opened", released.stderr


def test_a_writer_waits_for_this_process_readers_then_attaches_for_writing(
    workspace: Workspace,
) -> None:
    database = workspace.database()
    reading = threading.Event()
    done = threading.Event()

    def read_a_while() -> None:
        with database.connect(read_only=True) as connection:
            reading.set()
            connection.execute("SELECT count(*) FROM census").fetchall()
            done.wait(timeout=30)

    reader = threading.Thread(target=read_a_while)
    reader.start()
    reading.wait(timeout=30)
    threading.Timer(0.2, done.set).start()
    with database.connect() as writer:
        assert done.is_set()  # the reader finished before the writer got the file
        writer.execute("INSERT INTO scenarios VALUES ('after', NULL, now(), 'test', NULL)")
    reader.join()


def test_opening_a_writer_inside_a_reader_of_the_same_thread_fails_at_once(
    workspace: Workspace,
) -> None:
    database = workspace.database()
    with (
        database.connect(read_only=True),
        pytest.raises(RuntimeError, match="read-only"),
        database.connect(),
    ):
        pass
    with database.connect() as writer:  # the reader is gone: writing works again
        writer.execute("INSERT INTO scenarios VALUES ('later', NULL, now(), 'test', NULL)")


def test_the_memory_limit_and_threads_settings_apply_to_each_connection(
    workspace: Workspace,
) -> None:
    def applied(memory_limit: str, threads: int) -> tuple[str, str]:
        database = Database(
            workspace.database_path, DatabaseSettings(memory_limit=memory_limit, threads=threads)
        )
        with database.connect(read_only=True) as connection:
            ((limit, count),) = connection.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')"
            ).fetchall()
        return str(limit), str(count)

    assert applied("1GB", 1) == ("953.6 MiB", "1")
    assert applied("1GB", 1) == ("953.6 MiB", "1")  # unchanged: not set again, still applied
    assert applied("2GB", 2) == ("1.8 GiB", "2")
    assert applied("1GB", 2) == ("953.6 MiB", "2")


@pytest.mark.parametrize("announced", [2, 4])
def test_every_year_handed_over_is_stored_even_when_not_the_number_announced(
    workspace: Workspace, announced: int
) -> None:
    settings = workspace.settings()
    workforce = generate_census(600, 3, settings).starting_workforce()
    levers = resolve_levers(
        range(2025, 2028), settings.level_numbers, default_lever_set(2025, settings.level_numbers)
    )
    result = simulate(workforce, settings, levers, start_year=2025, years=3, seed=1)
    with workspace.database().transaction() as connection:
        with runs.writing_years(connection, 99, 2025, workforce, announced) as store_year:
            for outcome in result.outcomes:
                store_year(outcome)
        stored = connection.execute(
            "SELECT (SELECT count(*) FROM simulation_events WHERE run_id = 99), "
            "(SELECT count(*) FROM simulation_snapshots WHERE run_id = 99), "
            "(SELECT count(*) FROM simulation_hires WHERE run_id = 99)"
        ).fetchall()[0]
    assert stored == (
        sum(len(outcome.events) for outcome in result.outcomes),
        sum(len(outcome.snapshot) for outcome in result.outcomes),
        sum(outcome.counts.hires for outcome in result.outcomes),
    )


def _stored_rows(workspace: Workspace, run_id: int) -> tuple[object, ...]:
    with workspace.database().connect(read_only=True) as connection:
        events = connection.execute(
            "SELECT * EXCLUDE (run_id) FROM fct_yearly_events WHERE run_id = ? "
            "ORDER BY simulation_year, employee_key, event_sequence",
            [run_id],
        ).fetchall()
        snapshots = connection.execute(
            "SELECT * EXCLUDE (run_id) FROM fct_workforce_snapshot WHERE run_id = ? "
            "ORDER BY simulation_year, employee_key",
            [run_id],
        ).fetchall()
    return tuple(events), tuple(snapshots)


def test_a_large_run_committed_in_parts_stores_exactly_what_one_transaction_does(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = application.simulate(workspace, SimulateRequest(years=3, seed=5))
    monkeypatch.setattr(runs.YearWriter, "row_group_size", 64)
    monkeypatch.setattr(runs.YearWriter, "commit_rows", 1_000)  # a part every ~1,000 rows
    parts = application.simulate(workspace, SimulateRequest(years=3, seed=5))
    assert _stored_rows(workspace, parts.run_id) == _stored_rows(workspace, whole.run_id)
    assert parts.metrics == whole.metrics


def test_a_failure_after_parts_were_committed_removes_every_part(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(workspace)
    monkeypatch.setattr(runs.YearWriter, "row_group_size", 64)
    monkeypatch.setattr(runs.YearWriter, "commit_rows", 1_000)
    original = pipeline.simulate_planned

    def fail_in_the_third_year(*args: Any, **kwargs: Any) -> Any:
        on_year = kwargs.pop("on_year")

        def count(outcome: YearOutcome) -> None:
            if outcome.year == 2027:
                raise RuntimeError("engine stopped")
            on_year(outcome)

        return original(*args, on_year=count, **kwargs)

    monkeypatch.setattr(pipeline, "simulate_planned", fail_in_the_third_year)
    with pytest.raises(RuntimeError, match="engine stopped"):
        application.simulate(workspace, SimulateRequest(years=3))
    assert _counts(workspace) == before


# A run killed after part of it was committed: a separate process, SIGKILL.
_KILLED = """
import os, signal, sys
from pathlib import Path
from planwise import application
from planwise.application import SimulateRequest, Workspace
from planwise.storage import runs
runs.YearWriter.row_group_size = 64
runs.YearWriter.commit_rows = 1_000
write = runs.YearWriter.write
def dying(self, outcome):
    if self.parts_committed:  # killed once part of the run is committed
        os.kill(os.getpid(), signal.SIGKILL)
    write(self, outcome)
runs.YearWriter.write = dying
application.simulate(Workspace(Path(sys.argv[1])), SimulateRequest(years=3))
"""


def test_parts_of_a_killed_run_are_never_read_and_the_next_run_removes_them(
    workspace: Workspace,
) -> None:
    before = _counts(workspace)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED, str(workspace.root)], capture_output=True, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    with workspace.database().connect(read_only=True) as connection:
        ((left_behind,),) = connection.execute("SELECT count(*) FROM simulation_events").fetchall()
    assert left_behind > before["simulation_events"]  # parts were committed ...
    assert application.list_runs(workspace) == []  # ... but no reader sees them
    with workspace.database().connect(read_only=True) as connection:
        ((visible,),) = connection.execute("SELECT count(*) FROM fct_yearly_events").fetchall()
    assert visible == 0
    run = application.simulate(workspace, SimulateRequest(years=1))
    after = _counts(workspace)
    with workspace.database().connect(read_only=True) as connection:
        ((own,),) = connection.execute(
            "SELECT count(*) FROM simulation_events WHERE run_id = ?", [run.run_id]
        ).fetchall()
    assert after["simulation_events"] == before["simulation_events"] + own


@pytest.mark.parametrize(
    ("memory_limit", "accepted"),
    [
        ("8GB", True),
        ("512 MiB", True),
        ("70%", True),
        ("1.5gb", True),
        ("lots", False),
        ("8", False),  # DuckDB: "Unknown unit for memory"
        ("8 gigabytes", False),
        ("0GB", False),  # DuckDB accepts it, then runs out of memory at once
        ("150%", False),
        ("1PB", False),
    ],
)
def test_the_memory_limit_is_checked_in_the_settings_not_by_duckdb_at_connect(
    memory_limit: str, accepted: bool
) -> None:
    """Seen: a memory_limit DuckDB cannot parse stopped every command with a traceback."""
    if not accepted:
        with pytest.raises(ValueError, match="memory_limit"):
            DatabaseSettings(memory_limit=memory_limit)
        return
    settings = DatabaseSettings(memory_limit=memory_limit)
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{settings.memory_limit}'")  # DuckDB agrees


def test_a_missing_or_foreign_database_file_is_a_user_error_and_is_never_created(
    workspace: Workspace,
) -> None:
    database = workspace.database()
    workspace.database_path.unlink()
    for read_only in (True, False):
        with (
            pytest.raises(UserError, match=r"has no database \(planwise.duckdb\)"),
            database.connect(read_only=read_only),
        ):
            pass
    assert not workspace.database_path.exists()
    workspace.database_path.write_text("employee_id\nE1\n", encoding="utf-8")
    for read_only in (True, False):
        with (
            pytest.raises(UserError, match="is not a PlanWise store"),
            database.connect(read_only=read_only),
        ):
            pass
    assert workspace.database_path.read_text(encoding="utf-8") == "employee_id\nE1\n"
