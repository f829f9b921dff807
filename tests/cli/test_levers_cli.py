"""`planwise levers …` through the command line: exit codes, messages, JSON output."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from planwise.cli import app

REFERENCE_CSV = Path(__file__).parents[1] / "fixtures" / "comp_levers_reference.csv"
runner = CliRunner()


def planwise(workspace: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(workspace)])


def planwise_json(workspace: Path, *args: str) -> Any:
    result = planwise(workspace, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("levers_cli") / "workspace"
    result = runner.invoke(app, ["init", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def _reference_template(_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("levers_cli_reference") / "workspace"
    shutil.copytree(_template, root)
    result = runner.invoke(app, ["levers", "import", str(REFERENCE_CSV), "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def workspace(_template: Path, tmp_path: Path) -> Path:
    """Just initialized: the default scenario's built-in set 1."""
    root = tmp_path / "workspace"
    shutil.copytree(_template, root)
    return root


@pytest.fixture
def reference_workspace(_reference_template: Path, tmp_path: Path) -> Path:
    """Set 2 of the default scenario is the reference file: every value locked."""
    root = tmp_path / "workspace"
    shutil.copytree(_reference_template, root)
    return root


def test_show_json_has_every_parameter_year_and_level_with_its_source(workspace: Path) -> None:
    shown = planwise_json(workspace, "levers", "show")
    assert shown["parameter_set_id"] == 1
    assert len(shown["rows"]) == 5 * 5 * 5
    assert {row["source"] for row in shown["rows"]} == {"scenario"}
    only_2027 = planwise_json(workspace, "levers", "show", "--year", "2027")
    assert {row["fiscal_year"] for row in only_2027["rows"]} == {2027}


def test_set_stores_a_new_set_and_shows_what_changed(workspace: Path) -> None:
    result = planwise(workspace, "levers", "set", "merit_base", "0.04", "--level", "1")
    assert result.exit_code == 0, result.output
    assert "Stored parameter set 2 (edit, parent 1)" in result.stderr
    assert "comp_levers.csv" in result.stderr  # the default scenario's export was refreshed
    # What a simulation uses differently, in plain words (issue 14): label, level name, pp.
    assert "Merit" in result.stdout and "Staff" in result.stdout and "+1.0 pp" in result.stdout
    assert "merit_base" not in result.stdout
    shown = planwise_json(workspace, "levers", "show")
    level_1 = {
        row["fiscal_year"]: row["parameter_value"]
        for row in shown["rows"]
        if row["parameter_name"] == "merit_base" and row["job_level"] == 1
    }
    assert level_1 == dict.fromkeys(range(2025, 2030), 0.04)


def test_set_json_reports_the_new_set_and_its_differences(workspace: Path) -> None:
    update = planwise_json(
        workspace, "levers", "set", "cola_rate", "0.07", "--year", "2026", "--level", "3"
    )
    assert (update["parameter_set_id"], update["parent_id"], update["stored"]) == (2, 1, True)
    assert [(d["fiscal_year"], d["job_level"], d["kind"]) for d in update["differences"]] == [
        (2026, 3, "added")
    ]
    assert [w["rule"] for w in update["warnings"]] == ["outside usual range"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["merit_base", "0.5"], "merit_base must be between 0 and 0.25"),
        (["merit_base", "0.04", "--level", "7"], "job_level must be one of"),
        (["bonus_rate", "0.04"], "unknown parameter"),
        (["merit_base", "0.04", "--scenario", "nope"], "Unknown scenario 'nope'"),
    ],
    ids=["out-of-range", "unknown-level", "unknown-parameter", "unknown-scenario"],
)
def test_set_errors_exit_1_with_a_message(workspace: Path, args: list[str], message: str) -> None:
    result = planwise(workspace, "levers", "set", *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_locked_values_need_force(reference_workspace: Path) -> None:
    workspace = reference_workspace
    refused = planwise(workspace, "levers", "set", "cola_rate", "0.03", "--level", "2")
    assert refused.exit_code == 1
    assert "cola_rate is locked" in refused.stderr and "--force" in refused.stderr
    forced = planwise(workspace, "levers", "set", "cola_rate", "0.03", "--level", "2", "--force")
    assert forced.exit_code == 0, forced.output
    history = planwise_json(workspace, "levers", "history")["parameter_sets"]
    assert [record["source"] for record in history] == ["init", "import", "edit"]


def test_import_of_a_bad_file_exits_1_naming_the_rows(workspace: Path, tmp_path: Path) -> None:
    lines = REFERENCE_CSV.read_text().splitlines()
    lines[3] = lines[3].replace(",0.035,", ",lots,")
    lines[9] = lines[9].replace(",RAISE,", ",BONUS,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = planwise(workspace, "levers", "import", str(bad))
    assert result.exit_code == 1
    assert "nothing was stored" in result.stderr
    assert "row 4, column 'parameter_value'" in result.stderr
    assert "row 10, column 'event_type'" in result.stderr
    assert len(planwise_json(workspace, "levers", "history")["parameter_sets"]) == 1


def test_import_under_a_scenario_and_export_it(workspace: Path, tmp_path: Path) -> None:
    before = (workspace / "comp_levers.csv").read_bytes()
    update = planwise_json(
        workspace, "levers", "import", str(REFERENCE_CSV), "--scenario", "reference"
    )
    assert update["created_scenario"] and update["exported_to"] is None
    assert (workspace / "comp_levers.csv").read_bytes() == before
    out = tmp_path / "reference.csv"
    result = planwise(workspace, "levers", "export", str(out), "--scenario", "reference")
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 125 and {row["scenario_id"] for row in rows} == {"reference"}


def test_validate_defaults_to_the_workspace_file(workspace: Path) -> None:
    result = planwise(workspace, "levers", "validate")
    assert result.exit_code == 0, result.output
    expected = f"{workspace / 'comp_levers.csv'}: valid. 25 row(s) for scenario default"
    assert expected in result.stderr


def test_validate_lists_warnings_and_errors(workspace: Path, tmp_path: Path) -> None:
    lines = REFERENCE_CSV.read_text().splitlines()
    lines[1] = lines[1].replace(",0.045,", ",0.09,")  # a warning: budget risk
    path = tmp_path / "levers.csv"
    path.write_text("\n".join(lines) + "\n")
    warned = planwise(workspace, "levers", "validate", str(path))
    assert warned.exit_code == 0, warned.output
    # One line per lever and side (issue 14), then the file rows it concerns.
    assert "Warning: Merit 9.0% at level 1 in 2025 is above the usual range" in warned.stderr
    assert "budget risk" in warned.stderr
    assert "outside the usual range: 2." in warned.stderr
    lines[2] = lines[2].replace(",0.040,", ",0.40,")  # an error
    path.write_text("\n".join(lines) + "\n")
    report = json.loads(planwise(workspace, "levers", "validate", str(path), "--json").stdout)
    assert report["valid"] is False
    assert [(e["row"], e["rule"]) for e in report["errors"]] == [(3, "value out of range")]
    assert [(w["row"], w["rule"]) for w in report["warnings"]] == [(2, "outside usual range")]
    failed = planwise(workspace, "levers", "validate", str(path))
    assert failed.exit_code == 1 and "row 3" in failed.stderr


def test_diff_and_rollback(workspace: Path) -> None:
    planwise_json(workspace, "levers", "set", "promotion_raise", "0.15")
    diff = planwise_json(workspace, "levers", "diff", "1", "2")
    # Resolved values older → newer over runs of years (issue 14): no "added" rows with None.
    assert {d["kind"] for d in diff["differences"]} == {"changed"}
    assert {d["parameter_name"] for d in diff["differences"]} == {"promotion_raise"}
    assert {(d["first_year"], d["last_year"]) for d in diff["differences"]} == {(2025, 2029)}
    assert all(d["before"] is not None and d["after"] is not None for d in diff["differences"])
    assert planwise_json(workspace, "levers", "diff", "2", "1") == diff  # either order
    table = planwise(workspace, "levers", "diff", "1", "2")
    assert "Set 1 (default) → set 2 (default)" in table.stdout
    assert "Promotion raise  Every level  2025–2029" in table.stdout
    assert "None" not in table.stdout
    rolled = planwise(workspace, "levers", "rollback", "1")
    assert rolled.exit_code == 0, rolled.output
    assert "Stored parameter set 3 (rollback, parent 1)" in rolled.stderr
    again = planwise(workspace, "levers", "rollback", "3")
    assert again.exit_code == 0 and "Nothing changed" in again.stderr
    assert planwise(workspace, "levers", "rollback", "42").exit_code == 1


def test_scenario_create_list_show_and_history(workspace: Path) -> None:
    created = planwise_json(
        workspace, "levers", "scenario", "create", "stretch", "--from", "default"
    )
    assert (created["source_parameter_set_id"], created["parameter_set_id"]) == (1, 2)
    listed = planwise_json(workspace, "levers", "scenario", "list")["scenarios"]
    assert [(s["scenario_id"], s["active_parameter_set_id"]) for s in listed] == [
        ("default", 1),
        ("stretch", 2),
    ]
    duplicate = planwise(workspace, "levers", "scenario", "create", "stretch")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    shown = planwise_json(workspace, "levers", "show", "--scenario", "stretch")
    assert shown["parameter_set_id"] == 2
    history = planwise_json(workspace, "levers", "history", "--scenario", "stretch")
    assert [r["source"] for r in history["parameter_sets"]] == ["init"]


@pytest.mark.parametrize("command", ["set", "import", "rollback"])
def test_help_says_which_changes_rewrite_the_workspace_file(command: str) -> None:
    result = runner.invoke(app, ["levers", command, "--help"])
    assert result.exit_code == 0
    assert "comp_levers.csv" in result.stdout and "'default'" in result.stdout
