"""Census loading and validation (simulation-model.md §1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planwise.census import CENSUS_COLUMNS, generate_census
from planwise.census.load import (
    CensusRejected,
    DroppedDuplicate,
    job_level_for_salary,
    read_census,
)
from planwise.config import JobLevel, Settings
from planwise.errors import UserError

SETTINGS = Settings()  # as-of date 2024-12-31, five levels 50K-80K-120K-165K-275K-500K
HEADER = (
    "employee_id",
    "birth_date",
    "hire_date",
    "annual_salary",
    "termination_date",
    "active",
    "job_level",
    "gender",
    "department",
)
GOOD_ROWS: tuple[dict[str, str], ...] = (
    {
        "employee_id": "E1",
        "birth_date": "1985-06-15",
        "hire_date": "2015-03-01",
        "annual_salary": "85000",
        "termination_date": "",
        "active": "true",
        "job_level": "2",
        "gender": "F",
        "department": "Sales",
    },
    {
        "employee_id": "E2",
        "birth_date": "1990-01-31",
        "hire_date": "2020-07-15",
        "annual_salary": "62000.50",
        "termination_date": "",
        "active": "true",
        "job_level": "1",
        "gender": "M",
        "department": "Finance",
    },
    {
        "employee_id": "E3",
        "birth_date": "1970-12-01",
        "hire_date": "2001-01-02",
        "annual_salary": "300000",
        "termination_date": "",
        "active": "true",
        "job_level": "5",
        "gender": "",
        "department": "",
    },
)


def write_csv(
    directory: Path, rows: list[dict[str, str]], name: str = "census.csv", header: Any = None
) -> Path:
    path = directory / name
    frame = pd.DataFrame(list(rows), columns=list(header or HEADER), dtype=object)
    frame.to_csv(path, index=False)
    return path


def rows_with(**changes: str) -> list[dict[str, str]]:
    """The good rows with the second one (spreadsheet row 3) changed."""
    rows = [dict(row) for row in GOOD_ROWS]
    rows[1].update(changes)
    return rows


def rejection(path: Path, **kwargs: Any) -> CensusRejected:
    with pytest.raises(CensusRejected) as caught:
        read_census(path, SETTINGS, **kwargs)
    return caught.value


# --- rejection rules ----------------------------------------------------------------------

REJECTIONS = [
    # id, changes to row 3, rule, column, what the message says is allowed
    ("unparseable-birth-date", {"birth_date": "31/01/1990"}, "unparseable_date", "birth_date",
     "YYYY-MM-DD"),
    ("impossible-hire-date", {"hire_date": "2020-02-30"}, "unparseable_date", "hire_date",
     "YYYY-MM-DD"),
    ("unparseable-termination-date", {"termination_date": "soon"}, "unparseable_date",
     "termination_date", "YYYY-MM-DD"),
    ("empty-birth-date", {"birth_date": ""}, "missing_date", "birth_date", "required"),
    ("missing-salary", {"annual_salary": ""}, "invalid_salary", "annual_salary",
     "positive number"),
    ("zero-salary", {"annual_salary": "0"}, "invalid_salary", "annual_salary", "positive number"),
    ("negative-salary", {"annual_salary": "-62000"}, "invalid_salary", "annual_salary",
     "positive number"),
    ("non-numeric-salary", {"annual_salary": "62k"}, "invalid_salary", "annual_salary",
     "positive number"),
    ("infinite-salary", {"annual_salary": "inf"}, "invalid_salary", "annual_salary",
     "positive number"),
    ("hire-after-as-of", {"hire_date": "2025-01-01"}, "hire_after_as_of", "hire_date",
     "on or before the census as-of date 2024-12-31"),
    ("age-under-14", {"birth_date": "2011-01-01"}, "age_out_of_range", "birth_date",
     "between 14 and 100"),
    ("age-over-100", {"birth_date": "1923-12-30"}, "age_out_of_range", "birth_date",
     "between 14 and 100"),
    ("born-after-as-of", {"birth_date": "2030-01-01"}, "age_out_of_range", "birth_date",
     "between 14 and 100"),
    ("termination-before-hire", {"termination_date": "2020-07-14"}, "termination_before_hire",
     "termination_date", "on or after hire_date (2020-07-15)"),
    ("level-not-configured", {"job_level": "6"}, "unknown_job_level", "job_level",
     "one of the configured levels 1, 2, 3, 4, 5"),
    ("level-zero", {"job_level": "0"}, "unknown_job_level", "job_level", "1, 2, 3, 4, 5"),
    ("level-not-integer", {"job_level": "1.5"}, "unknown_job_level", "job_level",
     "1, 2, 3, 4, 5"),
    ("level-text", {"job_level": "Staff"}, "unknown_job_level", "job_level", "1, 2, 3, 4, 5"),
    ("empty-employee-id", {"employee_id": "  "}, "empty_employee_id", "employee_id",
     "needs an employee_id"),
    ("bad-active-flag", {"active": "maybe"}, "invalid_active", "active", "true/false"),
    ("no-level-and-no-salary", {"job_level": "", "annual_salary": "", "active": "false"},
     "missing_job_level", "job_level", "give a job_level or an annual_salary"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "rule", "column", "allowed"),
    [pytest.param(*case[1:], id=case[0]) for case in REJECTIONS],
)
def test_each_rule_rejects_the_file_naming_row_column_and_allowed_values(
    tmp_path: Path, changes: dict[str, str], rule: str, column: str, allowed: str
) -> None:
    error = rejection(write_csv(tmp_path, rows_with(**changes)))

    assert error.counts == {rule: 1}
    (problem,) = error.problems
    assert (problem.rule, problem.row, problem.column) == (rule, 3, column)
    assert allowed in problem.message
    report = str(error)
    # The row names its employee (issue 14), or says it has none.
    employee = "no employee_id" if rule == "empty_employee_id" else "employee E2"
    assert problem.employee_id == ("" if rule == "empty_employee_id" else "E2")
    assert f"row 3 ({employee}), column '{column}'" in report
    assert "header is row 1" in report
    assert "nothing was stored" in report


@pytest.mark.parametrize(
    "hire_date",
    ["2020-07-15", "2020-07-15 00:00:00", "2020-07-15T23:30:00+05:00", "2020-07-15T09:00Z"],
)
def test_a_date_with_a_time_of_day_keeps_the_date_as_written(
    tmp_path: Path, hire_date: str
) -> None:
    census = read_census(write_csv(tmp_path, rows_with(hire_date=hire_date)), SETTINGS)
    assert census.frame["hire_date"].iloc[1] == pd.Timestamp("2020-07-15")


def test_a_valid_edge_of_each_range_is_accepted(tmp_path: Path) -> None:
    rows = [dict(row) for row in GOOD_ROWS]
    rows[0].update(birth_date="2010-12-31", hire_date="2024-12-31")  # exactly 14, hired on as-of
    rows[1].update(birth_date="1924-01-01", termination_date="2020-07-15")  # 100; same-day leave
    census = read_census(write_csv(tmp_path, rows), SETTINGS)
    assert len(census) == 3


def test_duplicate_employee_ids_are_rejected_on_every_row_they_appear(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, {**GOOD_ROWS[0], "annual_salary": "90000"}]
    error = rejection(write_csv(tmp_path, rows))
    assert error.counts == {"duplicate_employee_id": 2}
    assert [(p.row, p.value) for p in error.problems] == [(2, "E1"), (5, "E1")]
    assert "appears on rows 2, 5" in error.problems[0].message
    assert "--keep-latest" in error.problems[0].message


@pytest.mark.parametrize("missing", ["employee_id", "birth_date", "hire_date", "annual_salary"])
def test_a_missing_required_column_is_named(tmp_path: Path, missing: str) -> None:
    header = [name for name in HEADER if name != missing]
    rows = [{k: v for k, v in row.items() if k != missing} for row in GOOD_ROWS]
    error = rejection(write_csv(tmp_path, rows, header=header))
    assert error.counts == {"missing_column": 1}
    assert error.problems[0].column == missing
    assert f"required column '{missing}' is missing" in str(error)


def test_two_columns_meaning_the_same_thing_are_rejected(tmp_path: Path) -> None:
    rows = [{**row, "employee_hire_date": row["hire_date"]} for row in GOOD_ROWS]
    error = rejection(write_csv(tmp_path, rows, header=[*HEADER, "employee_hire_date"]))
    assert error.counts == {"duplicate_column": 1}
    assert "'hire_date', 'employee_hire_date' all mean 'hire_date'" in str(error)


def test_a_header_without_rows_is_rejected(tmp_path: Path) -> None:
    error = rejection(write_csv(tmp_path, []))
    assert error.counts == {"no_rows": 1}


def test_counts_cover_every_bad_row_and_examples_stop_at_20_per_rule(tmp_path: Path) -> None:
    base = GOOD_ROWS[1]
    rows = [{**base, "employee_id": f"S{i}", "annual_salary": "-1"} for i in range(30)]
    rows += [{**base, "employee_id": f"D{i}", "hire_date": "2026-01-01"} for i in range(3)]
    error = rejection(write_csv(tmp_path, rows))

    assert error.counts == {"invalid_salary": 30, "hire_after_as_of": 3}
    salary_rows = [p.row for p in error.problems if p.rule == "invalid_salary"]
    assert salary_rows == list(range(2, 22))  # the first 20, spreadsheet numbering
    shown = str(error).split("Examples:")[1]
    assert "hire_date" in shown.split("…")[0]  # every rule has an example among those shown
    assert "invalid_salary: 30" in str(error)


def test_row_numbers_are_file_lines_even_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text(
        "employee_id,birth_date,hire_date,annual_salary\n"
        "E1,1980-01-01,2010-01-01,70000\n"
        "\n"
        ",,,\n"
        "E2,1980-01-01,2010-01-01,-1\n",
        encoding="utf-8",
    )
    error = rejection(path)
    assert [(p.rule, p.row) for p in error.problems] == [("invalid_salary", 5)]


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    rows = [dict(row) for row in GOOD_ROWS]
    rows[0]["annual_salary"] = "abc"
    rows[2]["job_level"] = "7"
    error = rejection(write_csv(tmp_path, rows))
    assert error.counts == {"invalid_salary": 1, "unknown_job_level": 1}
    assert {(p.row, p.column) for p in error.problems} == {(2, "annual_salary"), (4, "job_level")}


# --- files and columns -------------------------------------------------------------------


def test_an_unsupported_file_type_is_a_clear_user_error(tmp_path: Path) -> None:
    path = tmp_path / "census.xlsx"
    path.write_bytes(b"not really")
    with pytest.raises(UserError, match=r"unsupported type '\.xlsx'.*\.csv or \.parquet"):
        read_census(path, SETTINGS)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(UserError, match=r"nowhere\.csv does not exist"):
        read_census(path, SETTINGS)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"", "is empty", id="empty"),
        pytest.param("employee_id\nÉ1\n".encode("latin-1"), "not UTF-8", id="latin-1"),
        pytest.param(b'employee_id,x\n"E1,2\n', "not a readable CSV", id="open-quote"),
    ],
)
def test_an_unreadable_csv_is_a_clear_user_error(
    tmp_path: Path, content: bytes, match: str
) -> None:
    path = tmp_path / "census.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=match):
        read_census(path, SETTINGS)


def test_a_corrupt_parquet_file_is_a_clear_user_error(tmp_path: Path) -> None:
    path = tmp_path / "census.parquet"
    path.write_bytes(b"PAR1 garbage")
    with pytest.raises(UserError, match="not a readable Parquet file"):
        read_census(path, SETTINGS)


@pytest.mark.parametrize("level_alias", ["employee_level", "level_id", "Job_Level"])
def test_aliases_and_header_case_and_spaces_are_accepted(tmp_path: Path, level_alias: str) -> None:
    aliased = {
        "employee_id": " Employee_ID ",
        "birth_date": "EMPLOYEE_BIRTH_DATE",
        "hire_date": "employee_hire_date",
        "annual_salary": "Employee_Gross_Compensation",
        "termination_date": "employee_termination_date",
        "job_level": level_alias,
    }
    header = [aliased.get(name, name) for name in HEADER]
    rows = [{aliased.get(k, k): v for k, v in row.items()} for row in GOOD_ROWS]
    from_aliases = read_census(write_csv(tmp_path, rows, "aliased.csv", header), SETTINGS)
    plain = read_census(write_csv(tmp_path, list(GOOD_ROWS)), SETTINGS)
    assert from_aliases.census_id == plain.census_id
    assert from_aliases.frame["job_level"].tolist() == [2, 1, 5]


def test_unknown_columns_and_a_byte_order_mark_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffEmployee_ID,birth_date,hire_date,annual_salary,favourite_colour\n"
        "E1,1980-01-01,2010-01-01,70000,blue\n",
        encoding="utf-8",
    )
    census = read_census(path, SETTINGS)
    assert census.frame["employee_id"].tolist() == ["E1"]


def test_parquet_with_native_types_gives_the_same_census_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "census.parquet"
    table = pa.table(
        {
            "employee_id": pa.array([101, 102, 103], pa.int64()),
            "employee_birth_date": pa.array(
                pd.to_datetime(["1985-06-15", "1990-01-31", "1970-12-01"]).date, pa.date32()
            ),
            "hire_date": pa.array(
                pd.to_datetime(["2015-03-01", "2020-07-15", "2001-01-02"]), pa.timestamp("us")
            ),
            "termination_date": pa.array([None, None, None], pa.date32()),
            "annual_salary": pa.array([85000.0, 62000.5, 300000.0]),
            "active": pa.array([True, None, True]),
            "job_level": pa.array([2, 1, None], pa.int64()),
            "gender": ["female", "M", None],
        }
    )
    pq.write_table(table, path)
    rows = [
        {**row, "employee_id": str(100 + i), "gender": row["gender"] or ""}
        for i, row in enumerate(GOOD_ROWS, start=1)
    ]
    rows[1]["active"] = ""
    rows[2]["job_level"] = ""
    header = [name for name in HEADER if name != "department"]
    for row in rows:
        del row["department"]
    from_csv = read_census(write_csv(tmp_path, rows, header=header), SETTINGS)
    from_parquet = read_census(path, SETTINGS)

    assert from_parquet.frame["employee_id"].tolist() == ["101", "102", "103"]
    assert from_parquet.frame["job_level_source"].tolist() == ["file", "file", "salary_band"]
    pd.testing.assert_frame_equal(from_parquet.frame, from_csv.frame)
    assert from_parquet.census_id == from_csv.census_id


def test_parquet_rows_are_numbered_like_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "census.parquet"
    frame = pd.DataFrame([dict(row) for row in rows_with(hire_date="2099-01-01")])
    frame.to_parquet(path)
    error = rejection(path)
    assert [(p.rule, p.row) for p in error.problems] == [("hire_after_as_of", 3)]


# --- canonical output --------------------------------------------------------------------


def test_the_output_has_the_canonical_columns_and_the_generator_dtypes(tmp_path: Path) -> None:
    census = read_census(write_csv(tmp_path, list(GOOD_ROWS)), SETTINGS)
    generated = generate_census(3, 1, SETTINGS)
    assert tuple(census.frame.columns) == CENSUS_COLUMNS
    assert census.frame.dtypes.to_dict() == generated.frame.dtypes.to_dict()
    assert census.as_of_date == SETTINGS.census_as_of
    e3 = census.frame.iloc[2]
    assert pd.isna(e3["gender"]) and pd.isna(e3["department"])
    assert census.frame["termination_date"].isna().all()
    assert census.frame["annual_salary"].tolist() == [85000.0, 62000.5, 300000.0]


def read_table(
    directory: Path, cases: list[Any], *, with_level: bool = True, **column_of_case: int
) -> pd.DataFrame:
    """Read one census with a row per case (the case's values in the named columns).

    Indexed by case id, so a parametrized test can look up its own row.
    """
    rows, header = [], list(HEADER)
    for case in cases:
        row = {**GOOD_ROWS[1], "employee_id": case.id}
        row.update({column: case.values[at] for column, at in column_of_case.items()})
        rows.append(row)
    if not with_level:
        header.remove("job_level")
        rows = [{k: v for k, v in row.items() if k != "job_level"} for row in rows]
    census = read_census(write_csv(directory, rows, header=header), SETTINGS)
    return census.frame.set_index("employee_id")


GENDERS = [
    pytest.param(given, stored, id=f"{given!r}")
    for given, stored in [("f", "F"), ("Female", "F"), (" FEMALE ", "F"), ("m", "M"),
                          ("MALE", "M"), ("X", "X"), ("non-binary", "non-binary"), ("", None)]
]  # fmt: skip


@pytest.fixture(scope="module")
def genders(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return read_table(tmp_path_factory.mktemp("genders"), GENDERS, gender=0)


@pytest.mark.parametrize(("given", "stored"), GENDERS)
def test_gender_is_normalized_and_other_values_kept(
    genders: pd.DataFrame, request: pytest.FixtureRequest, given: str, stored: str | None
) -> None:
    value = genders.loc[request.node.callspec.id, "gender"]
    assert (pd.isna(value) and stored is None) or value == stored


FLAGS = [
    pytest.param("", "", True, True, id="no-flags"),
    pytest.param("", "TRUE", True, True, id="active-true"),
    pytest.param("", "Yes", True, True, id="active-yes"),
    pytest.param("", "1", True, True, id="active-1"),
    pytest.param("", "y", True, True, id="active-y"),
    pytest.param("", "false", False, False, id="active-false"),
    pytest.param("", "0", False, False, id="active-0"),
    pytest.param("", "no", False, False, id="active-no"),
    pytest.param("", "N", False, False, id="active-n"),
    pytest.param("2024-12-31", "", False, False, id="terminated-on-as-of"),
    pytest.param("2023-05-01", "true", False, True, id="terminated-but-flagged-active"),
    pytest.param("2025-01-15", "", True, True, id="termination-after-as-of"),
]


@pytest.fixture(scope="module")
def flags(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return read_table(tmp_path_factory.mktemp("flags"), FLAGS, termination_date=0, active=1)


@pytest.mark.parametrize(("termination_date", "active", "starting", "stored_active"), FLAGS)
def test_starting_workforce_flags(
    flags: pd.DataFrame,
    request: pytest.FixtureRequest,
    termination_date: str,
    active: str,
    starting: bool,
    stored_active: bool,
) -> None:
    row = flags.loc[request.node.callspec.id]
    assert bool(row["in_starting_workforce"]) is starting
    assert bool(row["active"]) is stored_active
    assert len(flags) == len(FLAGS)  # terminated rows stay in the census


def test_a_terminated_row_may_lack_a_salary(tmp_path: Path) -> None:
    path = write_csv(tmp_path, rows_with(termination_date="2022-01-31", annual_salary=""))
    census = read_census(path, SETTINGS)
    assert np.isnan(census.frame["annual_salary"].iloc[1])
    assert not census.frame["in_starting_workforce"].iloc[1]
    assert census.frame["job_level"].iloc[1] == 1  # from the file, not the (missing) pay
    assert census.starting_headcount == len(census.starting_workforce()) == 2


BAND_LEVELS = [
    pytest.param("1000", 1, id="below-bottom-band"),
    pytest.param("50000", 1, id="bottom-min"),
    pytest.param("80000", 1, id="shared-boundary-goes-low"),
    pytest.param("80000.01", 2, id="just-above-boundary"),
    pytest.param("165000", 3, id="level3-max"),
    pytest.param("200000", 4, id="inside-level4"),
    pytest.param("500000", 5, id="top-max"),
    pytest.param("12000000", 5, id="above-top-band"),
]


@pytest.fixture(scope="module")
def band_levels(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return read_table(
        tmp_path_factory.mktemp("bands"), BAND_LEVELS, with_level=False, annual_salary=0
    )


@pytest.mark.parametrize(("salary", "level"), BAND_LEVELS)
def test_levels_come_from_the_salary_bands_when_the_file_has_none(
    band_levels: pd.DataFrame, request: pytest.FixtureRequest, salary: str, level: int
) -> None:
    row = band_levels.loc[request.node.callspec.id]
    assert row["annual_salary"] == float(salary)
    assert (row["job_level"], row["job_level_source"]) == (level, "salary_band")


def test_a_blank_level_is_derived_from_pay_and_flagged_per_row(tmp_path: Path) -> None:
    census = read_census(write_csv(tmp_path, rows_with(job_level="", annual_salary="130000")),
                         SETTINGS)  # fmt: skip
    assert census.frame["job_level"].tolist() == [2, 3, 5]
    assert census.frame["job_level_source"].tolist() == ["file", "salary_band", "file"]


def test_a_level_from_the_file_is_kept_even_if_pay_is_outside_its_band(tmp_path: Path) -> None:
    census = read_census(write_csv(tmp_path, rows_with(job_level="1", annual_salary="450000")),
                         SETTINGS)  # fmt: skip
    assert census.frame["job_level"].iloc[1] == 1
    assert census.frame["job_level"].dtype == np.int64


@st.composite
def bands(draw: st.DrawFn) -> list[JobLevel]:
    count = draw(st.integers(1, 6))
    value = st.floats(1_000, 1_000_000, allow_nan=False)
    minima = sorted(draw(st.lists(value, min_size=count, max_size=count)))
    widths = draw(st.lists(st.floats(1, 500_000), min_size=count, max_size=count))
    maxima = np.maximum.accumulate(np.array(minima) + np.array(widths)).tolist()
    return [
        JobLevel(level=i + 1, name=f"L{i + 1}", min_salary=low, max_salary=high)
        for i, (low, high) in enumerate(zip(minima, maxima, strict=True))
    ]


@settings(max_examples=100, deadline=None)
@given(levels=bands(), salaries=st.lists(st.floats(0.01, 3_000_000), min_size=1, max_size=30))
def test_band_level_is_within_range_and_consistent_with_the_bands(
    levels: list[JobLevel], salaries: list[float]
) -> None:
    ordered = np.sort(np.array(salaries))
    derived = job_level_for_salary(ordered, levels)
    top = len(levels)

    assert derived.dtype == np.int64
    assert ((derived >= 1) & (derived <= top)).all()
    assert (np.diff(derived) >= 0).all()  # more pay never means a lower level
    for salary, level in zip(ordered, derived, strict=True):
        holding = [lv.level for lv in levels if lv.min_salary <= salary <= lv.max_salary]
        if holding:
            assert level == min(holding)
        elif salary > levels[-1].max_salary:
            assert level == top
        elif salary < levels[0].min_salary:
            assert level == 1
        else:  # in a gap between bands: the next band up
            assert levels[level - 1].min_salary > salary
            assert level == 1 or levels[level - 2].max_salary < salary


# --- duplicates ---------------------------------------------------------------------------


def test_keep_latest_keeps_the_last_row_of_each_id_and_reports_the_rest(tmp_path: Path) -> None:
    rows = [
        {**GOOD_ROWS[0], "annual_salary": "-1"},  # row 2: superseded, so not validated
        dict(GOOD_ROWS[1]),  # row 3
        {**GOOD_ROWS[0], "annual_salary": "90000"},  # row 4
        dict(GOOD_ROWS[2]),  # row 5
        {**GOOD_ROWS[0], "annual_salary": "95000"},  # row 6: kept
    ]
    path = write_csv(tmp_path, rows)
    assert rejection(path).counts == {"duplicate_employee_id": 3, "invalid_salary": 1}

    census = read_census(path, SETTINGS, keep_latest=True)
    assert census.frame["employee_id"].tolist() == ["E2", "E3", "E1"]
    assert census.frame.loc[census.frame["employee_id"] == "E1", "annual_salary"].item() == 95000
    assert census.dropped_duplicates == (DroppedDuplicate("E1", 2, 6), DroppedDuplicate("E1", 4, 6))


def test_keep_latest_without_duplicates_drops_nothing(tmp_path: Path) -> None:
    census = read_census(write_csv(tmp_path, list(GOOD_ROWS)), SETTINGS, keep_latest=True)
    assert census.dropped_duplicates == ()
    assert len(census) == 3


# --- identity and round trip --------------------------------------------------------------


def test_the_same_file_read_twice_or_reordered_gives_the_same_census_id(tmp_path: Path) -> None:
    path = write_csv(tmp_path, list(GOOD_ROWS))
    first, second = read_census(path, SETTINGS), read_census(path, SETTINGS)
    reordered = read_census(write_csv(tmp_path, list(GOOD_ROWS)[::-1], "reordered.csv"), SETTINGS)
    changed = read_census(write_csv(tmp_path, rows_with(annual_salary="62000.51"), "c.csv"),
                          SETTINGS)  # fmt: skip
    assert first.census_id == second.census_id == reordered.census_id
    assert changed.census_id != first.census_id


# The id of GOOD_ROWS as a CSV. A content hash is the same in every process and on every
# machine; if this changes, censuses stored earlier no longer match their files.
GOOD_ROWS_CENSUS_ID = "census_51b40ecf5ba15fca"


def test_the_census_id_is_the_same_in_any_process(tmp_path: Path) -> None:
    assert read_census(write_csv(tmp_path, list(GOOD_ROWS)), SETTINGS).census_id == (
        GOOD_ROWS_CENSUS_ID
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_generated_census_survives_a_file_round_trip(tmp_path: Path, suffix: str) -> None:
    generated = generate_census(2_000, 7, SETTINGS)
    path = tmp_path / f"generated{suffix}"
    if suffix == ".csv":
        generated.frame.to_csv(path, index=False)
    else:
        generated.frame.to_parquet(path)

    imported = read_census(path, SETTINGS)

    before, after = generated.starting_workforce(), imported.starting_workforce()
    for name in ("employee_id", "birth_date", "hire_date", "job_level", "annual_salary", "gender"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name), err_msg=name)
    pd.testing.assert_frame_equal(imported.frame, generated.frame)
    assert imported.census_id == generated.census_id
