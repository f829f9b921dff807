"""`build_analytics`: dbt build passes on a demo-like workspace, in its own schema, and
leaves the single-writer database free; user errors are clear."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from analytics_support import BuiltWorkspace, copy_workspace

from planwise import analytics
from planwise.analytics import NodeOutcome, build_analytics
from planwise.errors import DatabaseLockedError, UserError
from planwise.workspace import Workspace

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


def test_a_locked_database_is_a_clear_user_error(built: BuiltWorkspace, tmp_path: Path) -> None:
    workspace = copy_workspace(built.workspace, tmp_path / "locked")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', "
            "flush=True); time.sleep(60)",
            str(workspace.database_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseLockedError, match="in use by another process"):
            build_analytics(workspace, select="stg_scenarios")
    finally:
        holder.kill()
        holder.wait()


def test_a_manifest_cached_on_disk_spares_a_new_process_the_parse(
    built: BuiltWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = copy_workspace(built.workspace, tmp_path / "cached")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fingerprint = analytics._project_fingerprint(
        analytics.dbt_project_dir(), workspace.database_path
    )
    analytics._write_cached_manifest(fingerprint, analytics._manifest(workspace))
    assert list((tmp_path / "cache" / "planwise" / "dbt").glob("manifest-*.pickle"))
    monkeypatch.setattr(analytics, "_MANIFESTS", {})  # as in a new process
    commands: list[str] = []
    run_dbt = analytics._run_dbt

    def recording(workspace: Workspace, command: list[str], *args: Any) -> Any:
        commands.append(command[0])
        return run_dbt(workspace, command, *args)

    monkeypatch.setattr(analytics, "_run_dbt", recording)
    result = build_analytics(workspace, select="fct_compensation_growth")
    assert commands == ["build"]  # no parse
    assert result.success, result.failure_summary()
    assert result.models_built == ("fct_compensation_growth",)


def test_progress_callback_sees_every_node(built: BuiltWorkspace, tmp_path: Path) -> None:
    workspace = copy_workspace(built.workspace, tmp_path / "progress")
    seen: list[NodeOutcome] = []
    result = build_analytics(workspace, select="stg_scenarios", on_node=seen.append)
    assert [(node.name, node.status) for node in seen] == [
        (node.name, node.status) for node in result.nodes
    ]
    assert ("stg_scenarios", "success") in [(node.name, node.status) for node in seen]


def test_a_selection_matching_nothing_is_a_user_error(built: BuiltWorkspace) -> None:
    with pytest.raises(UserError, match="matched no model"):
        build_analytics(built.workspace, select="no_such_model")


def test_a_folder_without_a_database_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no database"):
        build_analytics(Workspace(tmp_path))


def test_the_project_folder_can_be_named_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(analytics.DBT_PROJECT_ENV, str(tmp_path))
    with pytest.raises(UserError, match=r"dbt_project\.yml is missing"):
        analytics.dbt_project_dir()
    monkeypatch.delenv(analytics.DBT_PROJECT_ENV)
    assert (analytics.dbt_project_dir() / "dbt_project.yml").is_file()
