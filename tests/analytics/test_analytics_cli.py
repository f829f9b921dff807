"""`planwise analytics build` and `parse`: JSON output, and exit 1 naming failing tests."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from planwise.application import Workspace
from planwise.cli import app

runner = CliRunner()


def test_build_json_reports_the_nodes(scratch: Workspace) -> None:
    result = runner.invoke(
        app,
        ["analytics", "build", "--select", "stg_scenarios", "--json", "-w", str(scratch.root)],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["success"] is True
    assert payload["models_built"] == ["stg_scenarios"]
    assert payload["tests_failed"] == []
    assert "unique_stg_scenarios_scenario_id" in payload["tests_passed"]


def test_failing_data_tests_exit_1_with_their_names(scratch: Workspace) -> None:
    with scratch.database().transaction() as connection:
        connection.execute(
            "UPDATE simulation_events SET new_job_level = previous_job_level + 2 "
            "WHERE event_type = 'promotion'"
        )
    result = runner.invoke(
        app,
        [
            "analytics",
            "build",
            "--select",
            "assert_promotion_raises_level_by_one",
            "-w",
            str(scratch.root),
        ],
    )
    assert result.exit_code == 1
    assert "assert_promotion_raises_level_by_one" in result.stderr
    assert "failing rows" in result.stderr
    assert "data tests failed" in result.stdout


def test_parse_prints_the_manifest_path(scratch: Workspace) -> None:
    result = runner.invoke(app, ["analytics", "parse", "-w", str(scratch.root)])
    assert result.exit_code == 0, result.output
    manifest = Path(result.stdout.strip())
    assert manifest == scratch.root / ".dbt" / "target" / "manifest.json"
    nodes = json.loads(manifest.read_text())["nodes"]
    assert "model.planwise.fct_compensation_growth" in nodes
    assert "test.planwise.assert_headcount_identity" in nodes
