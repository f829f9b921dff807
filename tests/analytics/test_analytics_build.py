"""`build_analytics`: dbt build passes on a demo-like workspace, in its own schema, and
leaves the single-writer database free; user errors are clear."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from analytics_support import BuiltWorkspace, build

import planwise_dbt
from planwise.application import Workspace
from planwise.application.progress import ProgressEvent, StepFinished
from planwise.errors import DatabaseLockedError, UserError

MODELS = {
    "stg_census",
    "stg_census_versions",
    "stg_scenarios",
    "stg_parameter_sets",
    "stg_comp_levers",
    "stg_simulation_runs",
    "stg_yearly_events",
    "stg_workforce_snapshot",
    "stg_simulation_metrics",
    "stg_optimization_runs",
    "stg_optimization_iterations",
    "int_run_job_levels",
    "int_effective_parameters",
    "int_run_baselines",
    "int_employee_year_pay",
    "fct_compensation_growth",
    "fct_compensation_horizon",
    "fct_workforce_summary",
    "fct_compensation_cost",
    "fct_optimization_metrics",
    "dim_job_levels",
}
SINGULAR_TESTS = {
    "assert_headcount_identity",
    "assert_single_termination_and_nothing_after",
    "assert_hire_precedes_other_events",
    "assert_promotion_raises_level_by_one",
    "assert_salary_chain_continuous",
    "assert_year_end_level_matches_promotions",
    "assert_new_hire_termination_after_hire",
    "assert_effective_dates_within_year",
    "assert_prorated_pay_bounded",
    "assert_marts_match_engine_metrics",
    "assert_cost_components_sum_to_total",
    "assert_workforce_flows_balance",
}


def test_build_passes_every_data_test(built: BuiltWorkspace) -> None:
    result = built.result
    assert result.success, result.failure_summary()
    assert set(result.models_built) == MODELS
    assert result.seeds_loaded == ("lever_defaults",)
    assert set(result.tests_passed) >= SINGULAR_TESTS
    assert len(result.tests_passed) > 60


def test_marts_live_in_their_own_schema(built: BuiltWorkspace) -> None:
    with built.workspace.database().connect(read_only=True) as connection:
        rows = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
        (event_columns,) = connection.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = 'fct_yearly_events'"
        ).fetchall()
    analytics_tables = {name for schema, name in rows if schema == "analytics"}
    engine_tables = {name for schema, name in rows if schema == "main"}
    assert MODELS | {"lever_defaults"} <= analytics_tables
    assert not MODELS & engine_tables
    assert event_columns == (16,)  # the engine's own view, untouched


def test_database_is_free_for_another_process_after_a_build(built: BuiltWorkspace) -> None:
    opener = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
    database = str(built.workspace.database_path)
    completed = subprocess.run(
        [sys.executable, "-c", opener, database], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_another_process_can_write_right_after_a_build(scratch: Workspace) -> None:
    """dbt-duckdb closes the database itself when the build's last connection closes
    (profiles.yml `keep_open: false`): nothing of dbt's holds the file afterwards."""
    build(scratch, select="stg_scenarios")
    writer = (
        "import duckdb, sys; connection = duckdb.connect(sys.argv[1]); "
        "connection.execute('CREATE TABLE written_after_build AS SELECT 1 AS one'); "
        "connection.close()"
    )
    completed = subprocess.run(
        [sys.executable, "-c", writer, str(scratch.database_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    with scratch.database().transaction() as connection:  # and this process, at once
        connection.execute("INSERT INTO written_after_build VALUES (2)")


def test_a_locked_database_is_a_clear_user_error(scratch: Workspace) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', "
            "flush=True); time.sleep(60)",
            str(scratch.database_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseLockedError, match="in use by another process"):
            build(scratch, select="stg_scenarios")
    finally:
        holder.kill()
        holder.wait()


def test_the_partial_parse_kept_in_the_workspace_spares_the_next_build_the_parse(
    scratch: Workspace,
) -> None:
    """dbt keeps its parse of the project in the workspace's target folder and rewrites it
    only after parsing anew: untouched by the next build (each invocation, in this process
    or a new one, reads it from disk), so that build did not parse the project again."""
    build(scratch, select="stg_scenarios")
    saved = scratch.root / ".dbt" / "target" / "partial_parse.msgpack"
    written = saved.stat().st_mtime_ns
    result = build(scratch, select="fct_compensation_growth")
    assert saved.stat().st_mtime_ns == written  # no parse
    assert result.success, result.failure_summary()
    assert result.models_built == ("fct_compensation_growth",)


def test_progress_callback_sees_every_node(scratch: Workspace) -> None:
    events: list[ProgressEvent] = []
    result = build(scratch, select="stg_scenarios", on_progress=events.append)
    seen = [event for event in events if isinstance(event, StepFinished)]
    assert len(seen) == len(events)
    assert [(event.name, event.status) for event in seen] == [
        (node.name, node.status) for node in result.nodes
    ]
    assert ("stg_scenarios", "success") in [(event.name, event.status) for event in seen]
    assert [event.kind for event in seen] == [node.resource_type for node in result.nodes]


def test_a_selection_matching_nothing_is_a_user_error(built: BuiltWorkspace) -> None:
    with pytest.raises(UserError, match="matched no model"):
        build(built.workspace, select="no_such_model")


def test_a_folder_without_a_database_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no database"):
        build(Workspace(tmp_path))


def test_the_project_folder_can_be_named_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(planwise_dbt.DBT_PROJECT_ENV, str(tmp_path))
    with pytest.raises(UserError, match=r"dbt_project\.yml is missing"):
        planwise_dbt.dbt_project_dir()
    monkeypatch.delenv(planwise_dbt.DBT_PROJECT_ENV)
    assert (planwise_dbt.dbt_project_dir() / "dbt_project.yml").is_file()
