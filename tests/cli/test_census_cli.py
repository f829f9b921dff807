"""`planwise census …` through the CLI: exit codes, messages, and what gets stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from planwise.cli import app

HEADER = "employee_id,birth_date,hire_date,annual_salary,job_level\n"
GOOD = HEADER + "E1,1985-06-15,2015-03-01,85000,2\nE2,1990-01-31,2020-07-15,62000.50,1\n"
BAD_SALARY = HEADER + "E1,1985-06-15,2015-03-01,85000,2\nE2,1990-01-31,2020-07-15,-5,1\n"
DUPLICATED = GOOD + "E1,1985-06-15,2015-03-01,91000,2\n"


@pytest.fixture(scope="module")
def initialized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("initialized") / "workspace"
    result = CliRunner().invoke(app, ["init", "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert (workspace / "planwise.duckdb").is_file()
    return workspace


@pytest.fixture
def workspace(initialized: Path, tmp_path: Path) -> Path:
    """A fresh copy of an initialized workspace (init is the slow part)."""
    copy = tmp_path / "workspace"
    copy.mkdir()
    for item in initialized.iterdir():
        if item.is_file():
            (copy / item.name).write_bytes(item.read_bytes())
    return copy


def census_file(directory: Path, content: str, name: str = "census.csv") -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def census_versions(workspace: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(workspace / "planwise.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT census_id, row_count, starting_headcount, is_active FROM census_versions"
        ).fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_census_is_rejected_whole_with_row_and_column(workspace: Path) -> None:
    path = census_file(workspace, BAD_SALARY)
    before = digest(workspace / "planwise.duckdb")

    code, _, stderr = invoke("census", "import", str(path), "--workspace", str(workspace))

    assert code == 1
    assert "row 3 (employee E2), column 'annual_salary'" in stderr
    assert "positive number" in stderr and "nothing was stored" in stderr
    assert "Traceback" not in stderr
    assert digest(workspace / "planwise.duckdb") == before


def test_a_good_census_is_stored_and_made_active(workspace: Path) -> None:
    path = census_file(workspace, GOOD)

    code, stdout, stderr = invoke(
        "census", "import", str(path), "--json", "--workspace", str(workspace)
    )

    assert code == 0, stderr
    reported = json.loads(stdout)
    assert reported["rows"] == 2 and reported["starting_headcount"] == 2
    assert reported["dropped_duplicates"] == 0
    assert census_versions(workspace) == [(reported["census_id"], 2, 2, True)]


def test_keep_latest_imports_and_says_how_many_rows_were_dropped(workspace: Path) -> None:
    path = census_file(workspace, DUPLICATED)

    code, _, stderr = invoke("census", "import", str(path), "--workspace", str(workspace))
    assert code == 1
    assert "employee_id 'E1' appears on rows 2, 4" in stderr
    assert census_versions(workspace) == []

    code, _, stderr = invoke(
        "census", "import", str(path), "--keep-latest", "--workspace", str(workspace)
    )
    assert code == 0, stderr
    assert "Dropped 1 duplicate employee_id row(s)" in stderr
    assert "row 2 (employee E1, kept row 4)" in stderr
    assert [row[1:] for row in census_versions(workspace)] == [(2, 2, True)]


def test_validate_checks_without_storing(workspace: Path) -> None:
    before = digest(workspace / "planwise.duckdb")
    good, bad = census_file(workspace, GOOD), census_file(workspace, BAD_SALARY, "bad.csv")

    code, _, stderr = invoke("census", "validate", str(good), "--workspace", str(workspace))
    assert code == 0
    assert "valid. 2 rows, 2 in the starting workforce" in stderr

    code, _, stderr = invoke("census", "validate", str(bad), "--workspace", str(workspace))
    assert code == 1
    assert "row 3 (employee E2), column 'annual_salary'" in stderr
    assert digest(workspace / "planwise.duckdb") == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("missing.csv", None, "does not exist", id="missing-file"),
        pytest.param("census.txt", GOOD, "use a .csv or .parquet file", id="wrong-suffix"),
        pytest.param("nohire.csv", "employee_id,birth_date,annual_salary\nE1,1980-01-01,1\n",
                     "required column 'hire_date' is missing", id="missing-column"),
    ],
)  # fmt: skip
def test_unusable_files_exit_1_with_a_message_and_no_traceback(
    workspace: Path, name: str, content: str | None, message: str
) -> None:
    path = workspace / name
    if content is not None:
        census_file(workspace, content, name)

    code, _, stderr = invoke("census", "import", str(path), "--workspace", str(workspace))

    assert code == 1
    assert message in stderr
    assert "Traceback" not in stderr
    assert census_versions(workspace) == []


def test_generate_stores_an_active_census(workspace: Path) -> None:
    code, stdout, stderr = invoke(
        "census", "generate", "--employees", "50", "--seed", "3", "--json",
        "--workspace", str(workspace),
    )  # fmt: skip
    assert code == 0, stderr
    reported = json.loads(stdout)
    assert census_versions(workspace) == [(reported["census_id"], 50, 50, True)]
