"""`planwise levers import` / `validate` on partial, bad and odd files (issue 15): a partial
file is merged (the output says so) unless --replace; reports stop at 20 examples with the
counts; a negative zero is warned about."""

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
HEADER = "scenario_id,fiscal_year,job_level,event_type,parameter_name,parameter_value\n"
runner = CliRunner()


def planwise(workspace: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(workspace)])


def planwise_json(workspace: Path, *args: str) -> Any:
    result = planwise(workspace, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def _reference_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("levers_import_modes") / "workspace"
    assert runner.invoke(app, ["init", "--workspace", str(root)]).exit_code == 0
    imported = planwise(root, "levers", "import", str(REFERENCE_CSV))
    assert imported.exit_code == 0, imported.output
    return root


@pytest.fixture
def workspace(_reference_template: Path, tmp_path: Path) -> Path:
    """Set 2 of the default scenario is the reference file: 125 rows, every value locked."""
    root = tmp_path / "workspace"
    shutil.copytree(_reference_template, root)
    return root


def resolved(workspace: Path) -> dict[tuple[str, int, int], float]:
    rows = planwise_json(workspace, "levers", "show")["rows"]
    return {
        (row["parameter_name"], row["fiscal_year"], row["job_level"]): row["parameter_value"]
        for row in rows
    }


def cola_file(tmp_path: Path) -> Path:
    path = tmp_path / "cola.csv"
    path.write_text(
        HEADER + "".join(f"default,2025,{level},RAISE,cola_rate,0.03\n" for level in (1, 2, 3))
    )
    return path


def test_a_partial_import_merges_and_says_so(workspace: Path, tmp_path: Path) -> None:
    before = resolved(workspace)
    path = cola_file(tmp_path)
    result = planwise(workspace, "levers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert (
        f"Merged 3 row(s) of {path} into set 2 of scenario default: COLA at levels 1–3 in "
        "2025; the other levers keep their values." in result.stderr
    )
    assert "Stored parameter set 3 (import, parent 2)" in result.stderr
    # The file unlocks three locked values: warned about, as before.
    assert result.stderr.count("is locked at 0.025 in the active set") == 3
    after = resolved(workspace)
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {("cola_rate", 2025, level) for level in (1, 2, 3)}
    assert after[("merit_base", 2027, 4)] == before[("merit_base", 2027, 4)]


def test_a_partial_import_with_replace_replaces_the_whole_set(
    workspace: Path, tmp_path: Path
) -> None:
    path = cola_file(tmp_path)
    update = planwise_json(workspace, "levers", "import", str(path), "--replace")
    assert (update["mode"], update["file_rows"], update["parameter_set_id"]) == ("replace", 3, 3)
    assert update["summary"].startswith("Replaced the whole set 2 of scenario default with the 3")
    assert sum(d["after"] is None for d in update["differences"]) == 122  # rows it dropped
    with (workspace / "comp_levers.csv").open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    # Levers without a row now take the built-in defaults.
    assert resolved(workspace)[("merit_base", 2025, 1)] == 0.030


def test_import_json_says_merge(workspace: Path, tmp_path: Path) -> None:
    update = planwise_json(workspace, "levers", "import", str(cola_file(tmp_path)))
    assert update["mode"] == "merge"
    assert [w["rule"] for w in update["warnings"]] == ["locked value changed"] * 3
    assert len(update["differences"]) == 3


def test_replace_text_says_the_whole_set_was_replaced(workspace: Path, tmp_path: Path) -> None:
    result = planwise(workspace, "levers", "import", str(cola_file(tmp_path)), "--replace")
    assert result.exit_code == 0, result.output
    assert "Replaced the whole set 2 of scenario default" in result.stderr
    # 122 dropped + 3 changed locked values: 20 listed, the rest counted.
    assert result.stderr.count("Warning: ") == 20  # COLA 3% is inside its usual range
    assert "… and 105 more 'locked value changed' warning(s)." in result.stderr


def test_a_negative_zero_warns_naming_the_row(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "zero.csv"
    path.write_text(
        HEADER
        + "default,2025,5,PROMOTION,promotion_probability,-0.0\n"
        + "default,2025,4,PROMOTION,promotion_probability,0.02\n"
        + "default,2026,5,PROMOTION,promotion_probability,-0\n"
    )
    checked = planwise(workspace, "levers", "validate", str(path))
    assert checked.exit_code == 0, checked.output
    for row, typed in ((2, "-0.0"), (4, "-0")):
        assert (
            f"Warning: row {row}, column 'parameter_value': parameter_value is a negative zero "
            f"(a minus sign typed by mistake?); stored as 0 (value: '{typed}')" in checked.stderr
        )
    imported = planwise_json(workspace, "levers", "import", str(path))
    zero_rows = [
        (w["row"], w["value"]) for w in imported["warnings"] if w["rule"] == "negative zero"
    ]
    assert zero_rows == [(2, "-0.0"), (4, "-0")]
    values = resolved(workspace)
    stored = [values[("promotion_probability", year, 5)] for year in (2025, 2026)]
    assert [str(value) for value in stored] == ["0.0", "0.0"]  # not "-0.0"


def fifty_bad_rows(tmp_path: Path) -> Path:
    lines = REFERENCE_CSV.read_text().splitlines()
    for index in range(1, 41):  # rows 2–41: a word for a value
        fields = lines[index].split(",")
        fields[5] = "lots"
        lines[index] = ",".join(fields)
    for index in range(41, 51):  # rows 42–51: an event type that does not exist
        fields = lines[index].split(",")
        fields[3] = "BONUS"
        lines[index] = ",".join(fields)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_file_with_50_bad_rows_shows_20_examples_and_the_counts(
    workspace: Path, tmp_path: Path
) -> None:
    path = fifty_bad_rows(tmp_path)
    result = planwise(workspace, "levers", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert f"{path} was rejected: 50 problem(s); nothing was stored." in result.stderr
    assert "non-numeric value: 40" in result.stderr and "unknown event type: 10" in result.stderr
    assert result.stderr.count("  - row ") == 20
    assert "row 2, column 'parameter_value'" in result.stderr
    assert "row 42, column 'event_type'" in result.stderr  # each rule shows early
    assert "… and 30 more (counted above)" in result.stderr
    history = planwise_json(workspace, "levers", "history")["parameter_sets"]
    assert len(history) == 2  # nothing stored

    report = json.loads(planwise(workspace, "levers", "validate", str(path), "--json").stdout)
    assert report["valid"] is False
    assert report["error_counts"] == {"non-numeric value": 40, "unknown event type": 10}
    assert len(report["errors"]) == 30  # up to 20 of each rule
    assert [e["row"] for e in report["errors"][:4]] == [2, 42, 3, 43]
