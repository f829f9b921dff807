"""Census files a hostile or careless user makes (issue 15): bounded reports, a length limit
on employee_id, Parquet columns of the wrong type, and salaries far outside every band."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from planwise.census.load import CensusRejected, LoadedCensus, read_census
from planwise.config import Settings
from planwise.errors import Problem

SETTINGS = Settings()  # five levels: Staff 50K–80K … VP 275K–500K
HEADER = "employee_id,birth_date,hire_date,annual_salary\n"


def census_csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "census.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def row(employee_id: str, salary: str = "85000") -> str:
    return f"{employee_id},1985-06-15,2015-03-01,{salary}"


def rejection(path: Path) -> CensusRejected:
    with pytest.raises(CensusRejected) as caught:
        read_census(path, SETTINGS)
    return caught.value


# --- bounded messages ----------------------------------------------------------------------


def test_a_1_mb_employee_id_gives_a_report_of_a_few_hundred_characters(tmp_path: Path) -> None:
    huge = "E" * 1_048_576
    error = rejection(census_csv(tmp_path, row(huge), row("E2")))
    report = str(error)
    assert len(report) < 2_000
    assert error.counts == {"employee_id_too_long": 1}
    (problem,) = error.problems
    assert (problem.row, problem.column) == (2, "employee_id")
    assert "employee_id has 1,048,576 characters; at most 64 are allowed" in report
    # The employee and the value are shown shortened, each with its length.
    assert f"row 2 (employee {'E' * 64}…(1,048,576 characters))" in report
    assert f"(value: '{'E' * 64}'…(1,048,576 characters))" in report


def test_a_65_character_id_breaks_its_own_rule_and_64_is_accepted(tmp_path: Path) -> None:
    longest, too_long = "A" * 64, "B" * 65
    error = rejection(census_csv(tmp_path, row(longest), row(too_long)))
    assert error.counts == {"employee_id_too_long": 1}
    assert [(p.rule, p.row) for p in error.problems] == [("employee_id_too_long", 3)]
    assert "employee_id has 65 characters; at most 64 are allowed" in error.problems[0].message
    accepted = read_census(census_csv(tmp_path, row(longest)), SETTINGS)
    assert accepted.frame["employee_id"].tolist() == [longest]


def test_a_repeated_id_lists_ten_rows_and_counts_the_rest(tmp_path: Path) -> None:
    error = rejection(census_csv(tmp_path, *(row("E1") for _ in range(30))))
    assert error.counts == {"duplicate_employee_id": 30}
    assert len(error.problems) == 20
    message = error.problems[0].message
    assert "appears on rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 20 more" in message
    assert len(str(error)) < 8_000


def test_a_header_with_huge_names_is_shortened_in_the_missing_column_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "census.csv"
    names = ["employee_id", "birth_date", "X" * 200_000, *(f"extra_{i}" for i in range(50))]
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    error = rejection(path)
    assert error.counts == {"missing_column": 2}
    assert len(str(error)) < 3_000
    assert "…(200,000 characters)" in str(error) and "and 23 more" in str(error)


def test_problem_describe_cuts_every_part_that_holds_user_text() -> None:
    problem = Problem(
        "r", "m" * 5_000, row=2, column="c" * 5_000, value=["v"] * 5_000, employee_id="e" * 5_000
    )
    assert len(problem.describe()) < 1_500
    assert "(value: ['v', 'v'" in problem.describe()
    assert all(len(str(part)) < 1_100 for part in problem.as_dict().values())


# --- Parquet columns of the wrong type -----------------------------------------------------


def parquet(tmp_path: Path, **columns: Any) -> Path:
    base: dict[str, Any] = {
        "employee_id": pa.array(["E1", "E2"]),
        "birth_date": pa.array(["1985-06-15", "1990-01-31"]),
        "hire_date": pa.array(["2015-03-01", "2020-07-15"]),
        "annual_salary": pa.array([85_000.0, 62_000.0]),
    }
    path = tmp_path / "census.parquet"
    pq.write_table(pa.table({**base, **columns}), path)
    return path


WRONG_TYPES = [
    # id, columns, column named, its type as shown, what it should be
    ("list-id", {"employee_id": pa.array([["E1"], ["E2"]])}, "employee_id",
     "list<element: string>", "text or whole numbers"),
    ("struct-id", {"employee_id": pa.array([{"id": 1}, {"id": 2}])}, "employee_id",
     "struct<id: int64>", "text or whole numbers"),
    ("boolean-salary", {"annual_salary": pa.array([True, False])}, "annual_salary", "bool",
     "numbers (an annual rate"),
    ("integer-hire-date", {"hire_date": pa.array([20150301, 20200715])}, "hire_date", "int64",
     "dates, or text"),
    ("float-birth-date", {"birth_date": pa.array([1985.5, 1990.0])}, "birth_date", "double",
     "dates, or text"),
    ("binary-gender", {"gender": pa.array([b"F", b"M"])}, "gender", "binary", "text"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("columns", "column", "stored", "wanted"),
    [pytest.param(*case[1:], id=case[0]) for case in WRONG_TYPES],
)
def test_a_parquet_column_of_the_wrong_type_is_rejected_naming_column_and_type(
    tmp_path: Path, columns: dict[str, Any], column: str, stored: str, wanted: str
) -> None:
    error = rejection(parquet(tmp_path, **columns))
    assert error.counts == {"wrong_column_type": 1}
    (problem,) = error.problems
    assert problem.column == column
    assert f"stored as {stored}, which cannot hold {column} values" in problem.message
    assert wanted in problem.message
    assert f"column '{column}'" in str(error)


def test_an_aliased_parquet_column_of_the_wrong_type_names_the_files_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "census.parquet"
    table = pa.table(
        {
            "employee_id": pa.array([["E1"], ["E2"]]),
            "employee_birth_date": ["1985-06-15", "1990-01-31"],
            "employee_hire_date": ["2015-03-01", "2020-07-15"],
            "employee_gross_compensation": pa.array([True, False]),
        }
    )
    pq.write_table(table, path)
    error = rejection(path)
    assert error.counts == {"wrong_column_type": 2}
    assert [p.column for p in error.problems] == ["employee_id", "annual_salary"]
    assert "(the file's column 'employee_gross_compensation') is stored as bool" in str(error)


@pytest.mark.parametrize(
    "columns",
    [
        {"employee_id": pa.array([101, 102])},
        {"employee_id": pa.array(["E1", "E2"]).dictionary_encode()},
        {"annual_salary": pa.array([85_000, 62_000])},
        {"annual_salary": pa.array(["85000", "62000"])},
        {"active": pa.array([1, 0])},
        {"termination_date": pa.array([None, None], pa.null())},
        {"department": pa.array([101, 102])},
    ],
    ids=["integer-id", "categorical-id", "integer-salary", "text-salary", "active-1-0",
         "all-null-termination", "department-codes"],
)  # fmt: skip
def test_parquet_columns_of_a_type_that_can_hold_their_meaning_are_accepted(
    tmp_path: Path, columns: dict[str, Any]
) -> None:
    assert len(read_census(parquet(tmp_path, **columns), SETTINGS)) == 2


# --- salaries far outside the bands --------------------------------------------------------


def warnings_of(census: LoadedCensus) -> list[tuple[str, int | None, str | None, object]]:
    return [(p.rule, p.row, p.employee_id, p.value) for p in census.warnings]


def test_a_1e9_salary_is_accepted_with_a_warning_naming_row_and_employee(tmp_path: Path) -> None:
    census = read_census(
        census_csv(tmp_path, row("E1"), row("E2", "1e9"), row("E3", "4500")), SETTINGS
    )
    assert len(census) == 3  # accepted: a warning, not an error
    assert census.warning_counts == {"salary_far_above_bands": 1, "salary_far_below_bands": 1}
    assert warnings_of(census) == [
        ("salary_far_above_bands", 3, "E2", "1e9"),
        ("salary_far_below_bands", 4, "E3", "4500"),
    ]
    above, below = census.warnings
    assert above.describe() == (
        "row 3 (employee E2), column 'annual_salary': annual_salary is 10× or more the top "
        "band's maximum (VP, level 5: 500,000); an extra digit, or pay in cents? Kept as "
        "written (value: '1e9')"
    )
    assert "bottom band's minimum (Staff, level 1: 50,000)" in below.message


@pytest.mark.parametrize(
    ("salary", "rule"),
    [
        ("5000000", "salary_far_above_bands"),  # exactly 10 × 500,000
        ("4999999", None),
        ("5000", "salary_far_below_bands"),  # exactly 50,000 / 10
        ("5000.01", None),
        ("600000", None),  # above the top band, not by an order of magnitude
    ],
)
def test_the_outlier_thresholds_are_ten_times_the_band_edges(
    tmp_path: Path, salary: str, rule: str | None
) -> None:
    census = read_census(census_csv(tmp_path, row("E1", salary)), SETTINGS)
    assert list(census.warning_counts) == ([] if rule is None else [rule])


def test_outlier_warnings_show_20_rows_and_count_them_all(tmp_path: Path) -> None:
    census = read_census(
        census_csv(tmp_path, *(row(f"E{i}", "2e9") for i in range(25)), row("OK")), SETTINGS
    )
    assert census.warning_counts == {"salary_far_above_bands": 25}
    assert [p.row for p in census.warnings] == list(range(2, 22))
    assert [p.employee_id for p in census.warnings][:3] == ["E0", "E1", "E2"]


def test_a_terminated_row_with_a_far_off_salary_is_named_too(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_text(
        "employee_id,birth_date,hire_date,annual_salary,termination_date\n"
        "E1,1985-06-15,2015-03-01,85000,\n"
        "E2,1985-06-15,2015-03-01,850,2020-01-31\n"
    )
    census = read_census(path, SETTINGS)
    assert warnings_of(census) == [("salary_far_below_bands", 3, "E2", "850")]
