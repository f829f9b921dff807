"""Every table the CLI prints reads whole in an 80-column terminal, in plain words (issue 14).

The workspace is the demo's (its census size and seed, the demo targets) built through the
application layer, without the dbt build the `demo` command adds; the tables are the CLI's
own renderers, run through the command line at COLUMNS=80.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from planwise import application
from planwise.cli import DEMO_EMPLOYEES, DEMO_SEED, app
from planwise.cli._common import metric_text
from planwise.metrics import METRICS

runner = CliRunner()
WIDTH = 80
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def planwise(workspace: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(workspace)], env={"COLUMNS": str(WIDTH)})


def planwise_json(workspace: Path, *args: str) -> Any:
    result = planwise(workspace, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run 1 with the default levers, the demo optimization (set 2 its answer), a second
    scenario, and last an eight-year run (too many years for one table at 80 columns)."""
    root = tmp_path_factory.mktemp("cli80") / "workspace"
    workspace = application.Workspace(root)
    application.init_workspace(workspace)
    application.generate_census(
        workspace, application.GenerateCensusRequest(DEMO_EMPLOYEES, DEMO_SEED)
    )
    application.simulate(workspace, application.SimulateRequest())
    application.optimize(workspace, application.OptimizeRequest(workspace.targets_path))
    application.create_scenario(
        workspace, application.CreateScenarioRequest("stretch", note="a stretch budget")
    )
    application.simulate(workspace, application.SimulateRequest(years=8))
    return root


def assert_fits(result: Result) -> None:
    """Whole names and values: nothing cut short with an ellipsis, no line past 80 (but a
    command to copy, which is never broken)."""
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout
    assert "Traceback" not in result.output
    too_long = [
        line
        for line in result.stdout.splitlines()
        if len(line.rstrip()) > WIDTH and not line.startswith("  planwise ")
    ]
    assert too_long == [], result.stdout


def test_results_show_each_metric_label_with_its_values_whole(demo: Path) -> None:
    stored = planwise_json(demo, "results", "--run", "1")
    result = planwise(demo, "results", "--run", "1")
    assert_fits(result)
    lines = result.stdout.splitlines()
    for name, spec in METRICS.items():
        row = next(line for line in lines if line.startswith(spec.label + "  "))
        values = (
            [stored["metrics"][str(year)][name] for year in stored["years"]]
            if spec.per_year
            else [stored["horizon"][name]]
        )
        cells = row[len(spec.label) :].split()
        assert cells == [metric_text(name, value) for value in values], row
    assert "Over the horizon 2025–2029" in result.stdout
    assert "$" in result.stdout and "%" in result.stdout
    assert SNAKE_CASE.findall(result.stdout) == []


def test_years_that_do_not_fit_are_split_into_tables_not_cut(demo: Path) -> None:
    stored = planwise_json(demo, "results")
    assert len(stored["years"]) == 8
    result = planwise(demo, "results")
    assert_fits(result)
    assert "· 2025–2028" in result.stdout and "· 2029–2032" in result.stdout
    cost = [line for line in result.stdout.splitlines() if line.startswith("Headcount  ")]
    shown = [cell for line in cost for cell in line.split()[1:]]
    expected = [stored["metrics"][str(year)]["headcount"] for year in stored["years"]]
    assert shown == [metric_text("headcount", value) for value in expected]


@pytest.mark.parametrize(
    "args",
    [
        ["results", "--compare", "1", "2"],
        ["optimize", "show", "1"],
        ["optimize", "list"],
        ["levers", "show"],
        ["levers", "show", "--scenario", "stretch", "--year", "2027"],
        ["levers", "history"],
        ["levers", "diff", "1", "2"],
        ["levers", "scenario", "list"],
    ],
    ids=lambda args: " ".join(args),
)
def test_every_table_fits_in_plain_words(demo: Path, args: list[str]) -> None:
    result = planwise(demo, *args)
    assert_fits(result)
    assert SNAKE_CASE.findall(result.stdout) == [], result.stdout


def test_optimize_show_gives_the_verdict_what_changed_and_how_to_apply(demo: Path) -> None:
    result = planwise(demo, "optimize", "show", "1")
    assert_fits(result)
    text = result.stdout
    assert "Optimization 1 · Balanced mode · converged" in text
    assert "What changed from set 1:" in text
    assert f"planwise optimize apply 1 --workspace {demo}" in text
    assert "rollback" not in text
    for label in ("Average salary growth a year (CAGR)", "Median merit increase"):
        assert label in text
    # Sensitivities in the target's unit: percentage points for a rate, levels by name.
    assert "Effect of +1 pp of each lever on Average salary growth a year (CAGR)" in text
    assert re.search(r"Merit +[+−-]\d+\.\d\d pp", text), text
    assert "Senior Manager" in text and "merit_base[L" not in text


def test_levers_show_has_a_row_per_lever_and_years_with_levels_by_name(demo: Path) -> None:
    result = planwise(demo, "levers", "show")
    assert_fits(result)
    text = result.stdout
    assert re.search(r"Merit +2025–2029 +3\.0% +3\.2% +3\.4% +3\.6% +3\.8%", text), text
    assert re.search(r"New-hire pay +2025–2029 +×1\.00", text), text
    for name in ("Staff", "Manager", "Director", "VP"):
        assert name in text
    assert "Parameter set 1; active since" in text


def test_a_census_rejection_names_each_employee(demo: Path, tmp_path: Path) -> None:
    census = tmp_path / "census.csv"
    census.write_text(
        "employee_id,birth_date,hire_date,annual_salary\n"
        "E1,1985-06-15,2015-03-01,85000\n"
        "E2,1990-01-31,2031-07-15,62000\n"
        ",1990-01-31,2020-07-15,-5\n",
        encoding="utf-8",
    )
    result = planwise(demo, "census", "validate", str(census))
    assert result.exit_code == 1
    assert "row 3 (employee E2), column 'hire_date'" in result.stderr
    assert "row 4 (no employee_id), column 'employee_id'" in result.stderr
    assert "row 4 (no employee_id), column 'annual_salary'" in result.stderr
    assert "Traceback" not in result.output


def test_optimize_apply_makes_the_answer_active_and_says_who(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    workspace = tmp_path / "workspace"
    shutil.copytree(demo, workspace)
    result = planwise(workspace, "optimize", "apply", "1", "--user", "alice")
    assert_fits(result)
    assert "Applied parameter set 2, the answer of optimization 1" in result.stderr
    assert "(it was set 1)" in result.stderr
    assert "Levers of scenario default" in result.stdout
    assert "applied by alice" in result.stdout
    shown = planwise_json(workspace, "levers", "show")
    assert shown["parameter_set_id"] == 2
    history = planwise_json(workspace, "levers", "history", "--scenario", "default")
    applied = {row["parameter_set_id"]: row["activated_by"] for row in history["parameter_sets"]}
    assert applied[2] == "alice"
    assert "by alice" in planwise(workspace, "levers", "history").stdout

    again = planwise(workspace, "optimize", "apply", "1")
    assert again.exit_code == 0, again.output
    assert "already the active set" in again.stderr

    unknown = planwise(workspace, "optimize", "apply", "99")
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output


def test_optimize_apply_refuses_an_optimization_without_an_answer(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = application.show_optimization(application.Workspace(demo), 1)
    stored.best_parameter_set_id = None
    monkeypatch.setattr(application, "show_optimization", lambda *_: stored)
    result = planwise(demo, "optimize", "apply", "1")
    assert result.exit_code == 1
    assert "has no answer to apply" in result.stderr
    assert "Traceback" not in result.output


def test_levers_set_groups_range_warnings_one_line_per_lever(demo: Path, tmp_path: Path) -> None:
    import shutil

    workspace = tmp_path / "workspace"
    shutil.copytree(demo, workspace)
    result = planwise(workspace, "levers", "set", "cola_rate", "0.005")
    assert_fits(result)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: COLA 0.5% at levels 1–5 in 2025–2029 is below the usual range 1.0%–6.0% "
        "(retention risk)."
    ]
    assert re.search(r"COLA +Every level +2025–2029 +2\.0% +0\.5% +−1\.5 pp", result.stdout)


def test_results_csv_has_whole_counts_and_cents(demo: Path) -> None:
    result = planwise(demo, "results", "--run", "1", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.stdout.splitlines()[1:]]
    by_metric = {(row[1], row[2]): row[3] for row in rows}
    assert by_metric[("2025", "headcount")] == "10300"
    assert re.fullmatch(r"\d+\.\d\d", by_metric[("2025", "total_compensation_cost")])
    assert re.fullmatch(r"\d+\.\d\d", by_metric[("", "cumulative_compensation_cost")])
    assert len(by_metric[("2025", "median_merit_increase")]) > 6  # full precision
