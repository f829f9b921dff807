"""`planwise ensemble`: the JSON contract, tables that fit 80 columns, stored ensembles
shown and listed again, and a user's mistake as a one-paragraph message."""

from __future__ import annotations

import json

import pytest
from distributed import LocalCluster
from typer.testing import CliRunner, Result

from planwise.application import Workspace
from planwise.cli import app

runner = CliRunner()


def planwise(workspace: Workspace, *arguments: str) -> Result:
    return runner.invoke(
        app, [*arguments, "--workspace", str(workspace.root)], env={"COLUMNS": "80"}
    )


@pytest.fixture(scope="module")
def cli_run(workspace: Workspace, cluster: LocalCluster) -> dict[str, object]:
    result = planwise(
        workspace,
        "ensemble",
        "--seeds",
        "4",
        "--first-seed",
        "500",
        "--scenario",
        "default",
        "--scenario",
        "lean",
        "--scheduler",
        cluster.scheduler_address,
        "--threshold",
        "total_compensation_cost:1.5e8",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


def test_the_json_has_bands_differences_and_members(cli_run: dict[str, object]) -> None:
    assert cli_run["members"] == 8
    bands = cli_run["bands"]
    assert isinstance(bands, dict)
    assert set(bands["total_compensation_cost"]["2025"]) >= {"mean", "p10", "p50", "p90"}
    assert set(cli_run["differences"]) == {"lean"}  # type: ignore[arg-type]
    members = cli_run["members_metrics"]
    assert isinstance(members, list) and len(members) == 8
    assert {(m["scenario"], m["seed"]) for m in members} == {
        (scenario, seed) for scenario in ("default", "lean") for seed in range(500, 504)
    }


def test_show_prints_tables_that_fit_80_columns(
    workspace: Workspace, cli_run: dict[str, object]
) -> None:
    ensemble_id = str(cli_run["ensemble_id"])
    shown = planwise(
        workspace, "ensemble", "show", ensemble_id, "--threshold", "total_compensation_cost:1.5e8"
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert "…" not in shown.stdout
    for heading in ("Total compensation cost · default", "lean − default", "Chance total"):
        assert heading in shown.stdout
    assert "total_compensation_cost" not in shown.stdout
    listed = planwise(workspace, "ensemble", "list")
    assert listed.exit_code == 0 and f"{ensemble_id} " in listed.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("ensemble", "--seeds", "2", "--threshold", "cost"), "--threshold must be METRIC:VALUE"),
        (("ensemble",), "needs --seeds N"),
        (("ensemble", "--seeds", "2", "--scenario", "nope"), "Unknown scenario 'nope'"),
        (("ensemble", "show", "999"), "There is no ensemble 999"),
    ],
    ids=["threshold", "no-seeds", "scenario", "unknown-id"],
)
def test_a_mistake_is_one_paragraph_and_exit_1(
    workspace: Workspace, arguments: tuple[str, ...], message: str
) -> None:
    result = planwise(workspace, *arguments)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
