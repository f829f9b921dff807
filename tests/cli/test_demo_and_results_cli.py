"""The main job (`planwise demo`) and `planwise results` end to end through the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planwise.cli import app
from planwise.cli._common import metric_text
from planwise.metrics import METRICS

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("demo") / "ws"
    result = runner.invoke(
        app, ["demo", "--employees", "1500", "--workspace", str(workspace)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    (workspace.parent / "demo_stdout.txt").write_text(result.stdout, encoding="utf-8")
    return workspace


def test_demo_creates_workspace_files(demo_workspace: Path) -> None:
    for name in ("planwise.yaml", "planwise.duckdb", "comp_levers.csv", "targets.yaml"):
        assert (demo_workspace / name).exists(), name


def test_demo_prints_metrics_and_a_converged_target_table(demo_workspace: Path) -> None:
    result = runner.invoke(app, ["optimize", "list", "--json", "--workspace", str(demo_workspace)])
    assert result.exit_code == 0, result.output
    (latest, *_) = json.loads(result.stdout)["optimizations"]
    assert latest["status"] == "converged"
    shown = runner.invoke(
        app,
        ["optimize", "show", str(latest["optimization_id"]), "--workspace", str(demo_workspace)],
    )
    assert shown.exit_code == 0, shown.output
    assert "Every target is within tolerance" in shown.stdout


def test_demo_at_80_columns_shows_every_label_and_value_whole(demo_workspace: Path) -> None:
    # Issue 14: `COLUMNS=80 planwise demo` shows no truncated name or value.
    shown = (demo_workspace.parent / "demo_stdout.txt").read_text(encoding="utf-8")
    assert "…" not in shown
    stored = json.loads(
        runner.invoke(app, ["results", "--run", "1", "--json", "-w", str(demo_workspace)]).stdout
    )
    lines = shown.splitlines()
    for name, spec in METRICS.items():
        row = next(line for line in lines if line.startswith(spec.label + "  "))
        values = (
            [stored["metrics"][str(year)][name] for year in stored["years"]]
            if spec.per_year
            else [stored["horizon"][name]]
        )
        assert row[len(spec.label) :].split() == [metric_text(name, v) for v in values], row
    assert "Optimization 1 · Balanced mode · converged" in shown
    assert "planwise optimize apply 1" in shown and "rollback" not in shown


def test_results_json_has_every_year_and_metric(demo_workspace: Path) -> None:
    result = runner.invoke(app, ["results", "--json", "--workspace", str(demo_workspace)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["years"] == [2025, 2026, 2027, 2028, 2029]
    for year_metrics in payload["metrics"].values():
        assert year_metrics["headcount"] > 0
        assert 0.0 < year_metrics["median_merit_increase"] < 0.1
    assert payload["horizon"]["cumulative_compensation_cost"] == pytest.approx(
        sum(m["total_compensation_cost"] for m in payload["metrics"].values())
    )


def test_results_csv_matches_json(demo_workspace: Path) -> None:
    as_json = json.loads(
        runner.invoke(app, ["results", "--run", "1", "--json", "-w", str(demo_workspace)]).stdout
    )
    as_csv = runner.invoke(
        app, ["results", "--run", "1", "--format", "csv", "-w", str(demo_workspace)]
    ).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    headcounts = {
        int(row["simulation_year"]): float(row["value"])
        for row in rows
        if row["metric"] == "headcount"
    }
    assert headcounts == {int(y): m["headcount"] for y, m in as_json["metrics"].items()}


def test_results_unknown_run_is_a_user_error(demo_workspace: Path) -> None:
    result = runner.invoke(app, ["results", "--run", "999", "-w", str(demo_workspace)])
    assert result.exit_code == 1
    assert "There is no simulation run 999" in result.output
    assert "Traceback" not in result.output


def test_results_rejects_unknown_format(demo_workspace: Path) -> None:
    result = runner.invoke(app, ["results", "--format", "xml", "-w", str(demo_workspace)])
    assert result.exit_code == 1
    assert "table, csv or json" in result.output


def test_uninitialized_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--workspace", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "planwise init" in result.output
