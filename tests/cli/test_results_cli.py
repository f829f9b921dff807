"""`planwise results --compare RUN_A RUN_B`: two stored runs side by side, B − A."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from planwise.cli import app

runner = CliRunner()


def planwise(workspace: Path, *args: str) -> Result:
    result = runner.invoke(app, [*args, "--workspace", str(workspace)])
    return result


def simulate(workspace: Path, *args: str) -> Any:
    result = planwise(workspace, "simulate", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """Run 1: default levers; run 2: a higher merit budget; run 3: only 2027."""
    root = tmp_path_factory.mktemp("results_cli") / "workspace"
    for args in (
        ["init"],
        ["census", "generate", "--employees", "300", "--seed", "1"],
    ):
        result = planwise(root, *args)
        assert result.exit_code == 0, result.output
    first = simulate(root, "--years", "2")
    changed = planwise(root, "levers", "set", "merit_base", "0.06")
    assert changed.exit_code == 0, changed.output
    second = simulate(root, "--years", "2")
    third = simulate(root, "--years", "1", "--start-year", "2027")
    return root, [first, second, third]


def compare_json(workspace: Path, run_a: int, run_b: int) -> dict[str, Any]:
    result = planwise(workspace, "results", "--compare", str(run_a), str(run_b), "--json")
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def by_key(payload: dict[str, Any]) -> dict[tuple[int | None, str], dict[str, Any]]:
    return {(row["simulation_year"], row["metric"]): row for row in payload["rows"]}


def test_runs_remember_their_parameter_sets(runs: tuple[Path, list[Any]]) -> None:
    _, (first, second, _) = runs
    assert (first["parameter_set_id"], second["parameter_set_id"]) == (1, 2)


def test_compare_json_gives_both_values_and_the_difference_b_minus_a(
    runs: tuple[Path, list[Any]],
) -> None:
    workspace, (first, second, _) = runs
    payload = compare_json(workspace, first["run_id"], second["run_id"])
    assert (payload["run_a"], payload["run_b"]) == (first["run_id"], second["run_id"])
    rows = by_key(payload)
    for year in (2025, 2026):
        cost = rows[(year, "total_compensation_cost")]
        assert cost["run_a"] == first["metrics"][str(year)]["total_compensation_cost"]
        assert cost["run_b"] == second["metrics"][str(year)]["total_compensation_cost"]
        assert cost["difference"] == cost["run_b"] - cost["run_a"]
        assert cost["difference"] > 0  # a higher merit budget costs more
        # Common random numbers: a compensation lever moves no one in or out.
        assert rows[(year, "headcount")]["difference"] == 0
    horizon = rows[(None, "compensation_growth_cagr")]
    assert horizon["run_b"] == second["horizon"]["compensation_growth_cagr"]
    assert horizon["difference"] > 0


def test_compare_swapped_runs_negates_the_differences(runs: tuple[Path, list[Any]]) -> None:
    workspace, (first, second, _) = runs
    forward = by_key(compare_json(workspace, first["run_id"], second["run_id"]))
    backward = by_key(compare_json(workspace, second["run_id"], first["run_id"]))
    assert forward.keys() == backward.keys()
    for key, row in forward.items():
        if row["difference"] is not None:
            assert backward[key]["difference"] == pytest.approx(-row["difference"])


def test_compare_csv_has_cents_and_exact_rates_and_a_header_naming_the_runs(
    runs: tuple[Path, list[Any]],
) -> None:
    workspace, (first, second, _) = runs
    result = planwise(
        workspace,
        "results",
        "--compare",
        str(first["run_id"]),
        str(second["run_id"]),
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["simulation_year", "metric", "run_1", "run_2", "difference"]
    cost = next(
        row
        for row in rows
        if row["simulation_year"] == "2026" and row["metric"] == "total_compensation_cost"
    )
    # Money to the cent, counts whole, rates exact (issue 14).
    assert cost["run_2"] == f"{second['metrics']['2026']['total_compensation_cost']:.2f}"
    headcount = next(row for row in rows if row["metric"] == "headcount")
    assert headcount["run_1"].isdigit()
    growth = next(
        row
        for row in rows
        if row["simulation_year"] == "2026" and row["metric"] == "headcount_growth"
    )
    assert float(growth["run_2"]) == second["metrics"]["2026"]["headcount_growth"]
    horizon = [row for row in rows if row["simulation_year"] == ""]
    assert {row["metric"] for row in horizon} == set(first["horizon"])


def test_compare_table_titles_the_difference(runs: tuple[Path, list[Any]]) -> None:
    workspace, _ = runs
    result = planwise(workspace, "results", "--compare", "1", "2")
    assert result.exit_code == 0, result.output
    assert "Run 1 vs run 2 (difference = 2 − 1)" in result.stdout
    # Labels, not metric names, and the horizon figures in a table of their own (issue 14).
    assert "Total compensation cost" in result.stdout and "Over the horizon" in result.stdout
    assert "total_compensation_cost" not in result.stdout


def test_compare_with_an_unknown_run_exits_1(runs: tuple[Path, list[Any]]) -> None:
    workspace, _ = runs
    result = planwise(workspace, "results", "--compare", "1", "99")
    assert result.exit_code == 1
    assert "There is no simulation run 99" in result.stderr


def test_compare_runs_without_a_common_year_exits_1(runs: tuple[Path, list[Any]]) -> None:
    workspace, (first, _, third) = runs
    result = planwise(workspace, "results", "--compare", str(first["run_id"]), str(third["run_id"]))
    assert result.exit_code == 1
    assert "share no simulated year" in result.stderr


def test_a_missing_figure_is_an_empty_csv_field_not_nan(
    runs: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    # Regression: the comparison CSV printed "nan" where `results --format csv` prints "".
    source, _ = runs
    workspace = tmp_path / "workspace"
    shutil.copytree(source, workspace)
    with duckdb.connect(str(workspace / "planwise.duckdb")) as connection:
        connection.execute(
            "UPDATE simulation_metrics SET metric_value = NULL "
            "WHERE run_id = 1 AND simulation_year = 2025 AND metric_name = 'median_merit_increase'"
        )
    result = planwise(workspace, "results", "--compare", "1", "2", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stdout
    row = next(
        row
        for row in csv.DictReader(io.StringIO(result.stdout))
        if row["simulation_year"] == "2025" and row["metric"] == "median_merit_increase"
    )
    assert (row["run_1"], row["difference"]) == ("", "")
    assert row["run_2"] != ""
