"""`planwise census import|validate` on hostile files (issue 15): bounded messages, Parquet
columns of the wrong type, and salaries far outside the bands (accepted with a warning)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from planwise.cli import app

HEADER = "employee_id,birth_date,hire_date,annual_salary\n"
runner = CliRunner()


@pytest.fixture(scope="module")
def _initialized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bounded_census") / "workspace"
    assert runner.invoke(app, ["init", "--workspace", str(root)]).exit_code == 0
    return root


@pytest.fixture
def workspace(_initialized: Path, tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(_initialized, root)
    return root


def census(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["census", *args, "--workspace", str(workspace)])
    return result.exit_code, result.stdout, result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_salaries_far_outside_the_bands_are_accepted_with_warnings(
    workspace: Path, tmp_path: Path
) -> None:
    path = tmp_path / "census.csv"
    path.write_text(
        HEADER
        + "E1,1985-06-15,2015-03-01,85000\n"
        + "E2,1985-06-15,2015-03-01,1000000000\n"
        + "E3,1985-06-15,2015-03-01,4200\n"
    )
    code, _, stderr = census(workspace, "validate", str(path))
    assert code == 0, stderr
    assert (
        "2 row(s) accepted with a warning (salary_far_above_bands 1, salary_far_below_bands 1):"
        in stderr
    )
    assert (
        "Warning: row 3 (employee E2), column 'annual_salary': annual_salary is 10× or more "
        "the top band's maximum (VP, level 5: 500,000)" in stderr
    )
    assert "Warning: row 4 (employee E3), column 'annual_salary'" in stderr
    assert "valid. 3 rows" in stderr

    code, stdout, stderr = census(workspace, "import", str(path), "--json")
    assert code == 0, stderr
    stored = json.loads(stdout)
    assert stored["rows"] == 3
    assert stored["warning_counts"] == {"salary_far_above_bands": 1, "salary_far_below_bands": 1}
    assert [(w["rule"], w["row"], w["employee_id"], w["value"]) for w in stored["warnings"]] == [
        ("salary_far_above_bands", 3, "E2", "1000000000"),
        ("salary_far_below_bands", 4, "E3", "4200"),
    ]

    code, _, stderr = census(workspace, "import", str(path))
    assert code == 0 and "Stored census" in stderr and "row 3 (employee E2)" in stderr


def test_25_outliers_show_20_and_count_the_rest(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_text(HEADER + "".join(f"E{i},1985-06-15,2015-03-01,9e9\n" for i in range(25)))
    code, _, stderr = census(workspace, "validate", str(path))
    assert code == 0, stderr
    assert "25 row(s) accepted with a warning (salary_far_above_bands 25)" in stderr
    assert stderr.count("Warning: ") == 20
    assert "… and 5 more (counted above)." in stderr


def test_a_1_mb_employee_id_gives_a_short_message_and_stores_nothing(
    workspace: Path, tmp_path: Path
) -> None:
    path = tmp_path / "census.csv"
    path.write_text(HEADER + "X" * 1_048_576 + ",1985-06-15,2015-03-01,85000\n")
    before = digest(workspace / "planwise.duckdb")
    code, _, stderr = census(workspace, "import", str(path))
    assert code == 1
    assert len(stderr) < 4_000
    assert "Traceback" not in stderr
    assert "employee_id_too_long: 1" in stderr
    assert "employee_id has 1,048,576 characters; at most 64 are allowed" in stderr
    assert digest(workspace / "planwise.duckdb") == before


@pytest.mark.parametrize(
    ("column", "values", "stored"),
    [
        ("employee_id", pa.array([["E1"], ["E2"]]), "list<element: string>"),
        ("annual_salary", pa.array([True, False]), "bool"),
    ],
    ids=["list-id", "boolean-salary"],
)
def test_a_parquet_column_of_the_wrong_type_is_rejected(
    workspace: Path, tmp_path: Path, column: str, values: pa.Array, stored: str
) -> None:
    columns = {
        "employee_id": pa.array(["E1", "E2"]),
        "birth_date": pa.array(["1985-06-15", "1990-01-31"]),
        "hire_date": pa.array(["2015-03-01", "2020-07-15"]),
        "annual_salary": pa.array([85_000.0, 62_000.0]),
        column: values,
    }
    path = tmp_path / "census.parquet"
    pq.write_table(pa.table(columns), path)
    code, _, stderr = census(workspace, "import", str(path))
    assert code == 1
    assert "wrong_column_type: 1" in stderr
    assert f"column '{column}': the Parquet column is stored as {stored}" in stderr
    assert "Traceback" not in stderr
