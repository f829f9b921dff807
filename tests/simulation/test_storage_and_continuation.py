"""Runs through the application layer: the stored event log, continuation, and the CLI's refusals.

One workspace (2,000 generated employees) serves the module: a 2025–2027 run in one call,
and a 2025 run continued twice by one year.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sim_support import event_frame, snapshot_frame
from typer.testing import CliRunner

from planwise import application
from planwise.application import (
    GenerateCensusRequest,
    SimulateRequest,
    SimulationRun,
    Workspace,
)
from planwise.cli import app
from planwise.storage import runs
from run_support import outcomes_of, result_of

EVENT_COLUMNS = [
    "event_id",
    "simulation_year",
    "employee_id",
    "event_type",
    "event_sequence",
    "effective_date",
    "previous_job_level",
    "new_job_level",
    "previous_salary",
    "new_salary",
    "merit_rate",
    "performance_rating",
    "termination_reason",
]
SNAPSHOT_COLUMNS = [
    "simulation_year",
    "employee_id",
    "hire_date",
    "termination_date",
    "start_job_level",
    "job_level",
    "start_annual_salary",
    "annual_salary",
    "prorated_compensation",
    "employment_status",
    "detailed_status_code",
]


@dataclass(frozen=True)
class Runs:
    workspace: Workspace
    whole: SimulationRun  # 2025–2027 in one call
    continued: SimulationRun  # 2025, then continued to 2026 and 2027


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    workspace = Workspace(tmp_path_factory.mktemp("workspace"))
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(2000, 1))
    whole = application.simulate(workspace, SimulateRequest(years=3))
    first = application.simulate(workspace, SimulateRequest(years=1))
    application.simulate(workspace, SimulateRequest(years=1, continue_run_id=first.run_id))
    continued = application.simulate(
        workspace, SimulateRequest(years=1, continue_run_id=first.run_id)
    )
    return Runs(workspace, whole, continued)


def _query(workspace: Workspace, sql: str, parameters: list[object]) -> pd.DataFrame:
    with workspace.database().connect(read_only=True) as connection:
        return connection.execute(sql, parameters).df()


def _stored_events(workspace: Workspace, run_id: int) -> pd.DataFrame:
    columns = ", ".join(EVENT_COLUMNS)
    return _query(
        workspace,
        f"SELECT {columns} FROM fct_yearly_events WHERE run_id = ? "
        "ORDER BY simulation_year, employee_id, event_sequence",
        [run_id],
    )


def _stored_snapshots(workspace: Workspace, run_id: int) -> pd.DataFrame:
    columns = ", ".join(SNAPSHOT_COLUMNS)
    return _query(
        workspace,
        f"SELECT {columns} FROM fct_workforce_snapshot WHERE run_id = ? "
        "ORDER BY simulation_year, employee_id",
        [run_id],
    )


def test_stored_event_log_equals_the_in_memory_result(stored: Runs) -> None:
    memory = event_frame(result_of(stored.workspace, stored.whole)).rename(
        columns={"year": "simulation_year"}
    )
    memory = memory.sort_values(["simulation_year", "employee_id", "event_sequence"])
    memory = memory.reset_index(drop=True)
    table = _stored_events(stored.workspace, stored.whole.run_id)
    assert len(table) == len(memory) > 10_000
    assert table.event_id.is_unique
    for column in ("event_id", "simulation_year", "employee_id", "event_type", "event_sequence"):
        assert (table[column].to_numpy() == memory[column].to_numpy()).all(), column
    assert (
        pd.to_datetime(table.effective_date).to_numpy() == memory.effective_date.to_numpy()
    ).all()
    # Amounts to the bit; a hire has no previous level or salary (NULL), others have both.
    is_hire = memory.event_type == "hire"
    assert table.previous_salary[is_hire].isna().all()
    assert table.previous_job_level[is_hire].isna().all()
    for column in ("previous_salary", "previous_job_level"):
        assert (table[column][~is_hire].to_numpy() == memory[column][~is_hire].to_numpy()).all()
    assert (table.new_salary.to_numpy() == memory.new_salary.to_numpy()).all()
    assert (table.new_job_level.to_numpy() == memory.new_job_level.to_numpy()).all()
    merit = memory.event_type == "merit_increase"
    assert (table.merit_rate[merit].to_numpy() == memory.merit_rate[merit].to_numpy()).all()
    assert table.merit_rate[~merit].isna().all()
    assert (table.performance_rating[merit] == memory.performance_rating[merit]).all()
    terminated = memory.event_type == "termination"
    assert (
        table.termination_reason[terminated].to_numpy()
        == memory.termination_reason[terminated].to_numpy()
    ).all()
    assert table.termination_reason[~terminated].isna().all()


def test_stored_snapshot_equals_the_in_memory_result(stored: Runs) -> None:
    memory = snapshot_frame(result_of(stored.workspace, stored.whole)).sort_values(
        ["year", "employee_id"]
    )
    table = _stored_snapshots(stored.workspace, stored.whole.run_id)
    assert len(table) == len(memory)
    for stored_column, memory_column in [
        ("employee_id", "employee_id"),
        ("start_job_level", "start_job_level"),
        ("job_level", "job_level"),
        ("start_annual_salary", "start_annual_salary"),
        ("annual_salary", "annual_salary"),
        ("prorated_compensation", "prorated_compensation"),
        ("detailed_status_code", "status"),
    ]:
        assert (table[stored_column].to_numpy() == memory[memory_column].to_numpy()).all()
    active = memory.status.isin(["continuous_active", "new_hire_active"]).to_numpy()
    assert (table.employment_status.to_numpy() == np.where(active, "active", "terminated")).all()


def test_one_three_year_run_equals_a_run_continued_twice(stored: Runs) -> None:
    whole = _stored_events(stored.workspace, stored.whole.run_id)
    continued = _stored_events(stored.workspace, stored.continued.run_id)
    assert sorted(whole.simulation_year.unique()) == [2025, 2026, 2027]
    pd.testing.assert_frame_equal(whole, continued, check_exact=True)
    pd.testing.assert_frame_equal(
        _stored_snapshots(stored.workspace, stored.whole.run_id),
        _stored_snapshots(stored.workspace, stored.continued.run_id),
        check_exact=True,
    )
    with stored.workspace.database().connect(read_only=True) as connection:
        record = runs.load_run(connection, stored.continued.run_id)
        whole_metrics = runs.load_run_metrics(connection, stored.whole.run_id)
        continued_metrics = runs.load_run_metrics(connection, stored.continued.run_id)
    assert (record.start_year, record.end_year) == (2025, 2027)
    assert whole_metrics.years == continued_metrics.years == [2025, 2026, 2027]
    assert whole_metrics.baseline == continued_metrics.baseline
    for year in whole_metrics.years:
        _assert_same_numbers(whole_metrics.per_year[year], continued_metrics.per_year[year])
    _assert_same_numbers(whole_metrics.horizon, continued_metrics.horizon)
    # The continuation's own in-memory metrics are the stored ones.
    _assert_same_numbers(stored.continued.metrics.horizon, continued_metrics.horizon)


def _assert_same_numbers(first: dict[str, float], second: dict[str, float]) -> None:
    assert first.keys() == second.keys()
    for name, value in first.items():
        other = second[name]
        assert (math.isnan(value) and math.isnan(other)) or value == other, name


def test_continuation_starts_from_the_stored_year_end_state(stored: Runs) -> None:
    with stored.workspace.database().connect(read_only=True) as connection:
        workforce = runs.load_year_end_workforce(connection, stored.whole.run_id, 2026)
    outcome_2026 = outcomes_of(stored.workspace, stored.whole)[1]
    snapshot = outcome_2026.snapshot
    active = snapshot.is_active
    assert (workforce.employee_id == snapshot.employee_id[active]).all()
    assert (workforce.job_level == snapshot.job_level[active]).all()
    assert (workforce.annual_salary == snapshot.annual_salary[active]).all()
    assert (workforce.hire_date == snapshot.hire_date[active]).all()


# -- the CLI's refusals ----------------------------------------------------------------------

HOLD_OPEN = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def locked_database(stored: Runs) -> Iterator[Path]:
    path = stored.workspace.database_path
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready", holder.stderr
        yield path
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _invoke(*arguments: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.output, result.exception


def test_simulate_on_a_locked_database_explains_instead_of_a_traceback(
    stored: Runs, locked_database: Path
) -> None:
    code, output, exception = _invoke("simulate", "--workspace", str(stored.workspace.root))
    assert code == 1
    assert "in use by another process" in output
    assert "Traceback" not in output
    assert isinstance(exception, SystemExit)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--years", "0"], "--years must be between 1 and 50, got 0", id="years-0"),
        pytest.param(["--years", "51"], "--years must be between 1 and 50, got 51", id="years-51"),
        pytest.param(
            ["--start-year", "2024"],
            "--start-year 2024 must come after the census as-of date 2024-12-31",
            id="start-year-not-after-census",
        ),
        pytest.param(
            ["--scenario", "no_such_scenario"],
            "Unknown scenario 'no_such_scenario'",
            id="unknown-scenario",
        ),
    ],
)
def test_simulate_refuses_a_bad_request_with_a_clear_message(
    stored: Runs, arguments: list[str], message: str
) -> None:
    with stored.workspace.database().connect(read_only=True) as connection:
        before = len(runs.list_runs(connection))
    code, output, exception = _invoke(
        "simulate", "--workspace", str(stored.workspace.root), *arguments
    )
    assert code == 1
    assert message in " ".join(output.split())
    assert "Traceback" not in output
    assert isinstance(exception, SystemExit)
    with stored.workspace.database().connect(read_only=True) as connection:
        assert len(runs.list_runs(connection)) == before
