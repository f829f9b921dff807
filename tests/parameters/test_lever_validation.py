"""Validation of comp_levers.csv files: every error rule, warnings, row numbers, formats."""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path

import pytest
from lever_support import REFERENCE_CSV, reference_rows, write_rows

from planwise.errors import ValidationFailed
from planwise.parameters import validation
from planwise.parameters.csv_io import read_levers_csv
from planwise.parameters.validation import (
    LeverDomain,
    LeverFileCheck,
    LeverFileRow,
    validate_lever_rows,
    validate_lever_value,
)

DOMAIN = LeverDomain(levels=(1, 2, 3, 4, 5), years=(2025, 2026, 2027, 2028, 2029))
COLUMNS, ROWS = read_levers_csv(REFERENCE_CSV)
# Row indexes in the reference file (data row i is spreadsheet row i + 2).
MERIT_2025_L1 = 0
HIRE_2025_L1 = 10
PROMOTION_PROBABILITY_2025_L1 = 15


def check(rows: list[LeverFileRow], **options: str) -> LeverFileCheck:
    return validate_lever_rows(COLUMNS, rows, source="levers.csv", domain=DOMAIN, **options)


def with_field(index: int, column: str, value: str) -> list[LeverFileRow]:
    rows = list(ROWS)
    rows[index] = dataclasses.replace(rows[index], values={**rows[index].values, column: value})
    return rows


def test_the_reference_file_is_valid_without_warnings() -> None:
    result = check(list(ROWS))
    assert result.errors == ()
    assert result.warnings == ()
    assert result.scenario_id == "default"
    assert result.lever_set is not None
    assert len(result.lever_set) == 125
    assert {lever.fiscal_year for lever in result.lever_set} == set(DOMAIN.years)
    assert all(lever.is_locked for lever in result.lever_set)
    hire = result.lever_set.get(("new_hire_salary_adjustment", 2025, 1))
    assert hire is not None and hire.value == 1.0


ERROR_CASES = [
    # id, row index, column, bad value, rule
    ("unknown-parameter", MERIT_2025_L1, "parameter_name", "merit_bass", "unknown parameter"),
    ("unknown-event-type", MERIT_2025_L1, "event_type", "BONUS", "unknown event type"),
    ("event-type-of-another-lever", MERIT_2025_L1, "event_type", "hire", "event type mismatch"),
    ("hire-lever-as-raise", HIRE_2025_L1, "event_type", "RAISE", "event type mismatch"),
    ("text-value", MERIT_2025_L1, "parameter_value", "abc", "non-numeric value"),
    ("percent-value", MERIT_2025_L1, "parameter_value", "3%", "non-numeric value"),
    ("empty-value", MERIT_2025_L1, "parameter_value", "", "non-numeric value"),
    ("nan-value", MERIT_2025_L1, "parameter_value", "nan", "non-numeric value"),
    ("infinite-value", MERIT_2025_L1, "parameter_value", "inf", "non-numeric value"),
    ("level-not-configured", MERIT_2025_L1, "job_level", "6", "unknown job level"),
    ("level-zero", MERIT_2025_L1, "job_level", "0", "unknown job level"),
    ("level-fraction", MERIT_2025_L1, "job_level", "1.5", "unknown job level"),
    ("level-text", MERIT_2025_L1, "job_level", "one", "unknown job level"),
    ("year-before-start", MERIT_2025_L1, "fiscal_year", "2024", "unknown fiscal year"),
    ("year-after-horizon", MERIT_2025_L1, "fiscal_year", "2030", "unknown fiscal year"),
    ("year-text", MERIT_2025_L1, "fiscal_year", "FY25", "unknown fiscal year"),
    ("merit-above-error-range", MERIT_2025_L1, "parameter_value", "0.26", "value out of range"),
    ("merit-negative", MERIT_2025_L1, "parameter_value", "-0.01", "value out of range"),
    ("hire-adjustment-below", HIRE_2025_L1, "parameter_value", "0.49", "value out of range"),
    (
        "probability-above-one",
        PROMOTION_PROBABILITY_2025_L1,
        "parameter_value",
        "1.01",
        "value out of range",
    ),
    ("is-locked-word", MERIT_2025_L1, "is_locked", "maybe", "bad is_locked"),
    ("is-locked-number", MERIT_2025_L1, "is_locked", "2", "bad is_locked"),
    ("missing-scenario", MERIT_2025_L1, "scenario_id", "", "missing scenario_id"),
]


@pytest.mark.parametrize(
    ("index", "column", "value", "rule"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_each_error_rejects_the_file_naming_the_row(
    index: int, column: str, value: str, rule: str
) -> None:
    result = check(with_field(index, column, value))
    assert not result.is_valid
    assert result.lever_set is None
    assert [(problem.rule, problem.row, problem.column) for problem in result.errors] == [
        (rule, index + 2, column)
    ]


@pytest.mark.parametrize(
    ("index", "column", "value"),
    [
        (MERIT_2025_L1, "event_type", "raise"),
        (MERIT_2025_L1, "event_type", " Raise "),
        (HIRE_2025_L1, "event_type", "HIRE"),
        (MERIT_2025_L1, "is_locked", "TRUE"),
        (MERIT_2025_L1, "is_locked", "no"),
        (MERIT_2025_L1, "is_locked", ""),
        (MERIT_2025_L1, "parameter_value", "4.5e-2"),
        (MERIT_2025_L1, "fiscal_year", "2025.0"),
        (MERIT_2025_L1, "created_at", "not a date: informational only"),
    ],
    ids=[
        "event-lower",
        "event-mixed-padded",
        "event-upper",
        "locked-TRUE",
        "locked-no",
        "locked-empty",
        "value-exponent",
        "year-spreadsheet-float",
        "created-at-free-text",
    ],
)
def test_accepted_spellings(index: int, column: str, value: str) -> None:
    assert check(with_field(index, column, value)).errors == ()


def test_is_locked_spellings_mean_what_they_say() -> None:
    for text, expected in [("1", True), ("yes", True), ("0", False), ("", False), ("f", False)]:
        result = check(with_field(MERIT_2025_L1, "is_locked", text))
        assert result.lever_set is not None
        lever = result.lever_set.get(("merit_base", 2025, 1))
        assert lever is not None and lever.is_locked is expected, text


def test_a_duplicate_key_names_both_rows() -> None:
    copy = dataclasses.replace(
        ROWS[MERIT_2025_L1],
        row_number=len(ROWS) + 2,
        values={**ROWS[MERIT_2025_L1].values, "parameter_value": "0.05", "event_type": "raise"},
    )
    result = check([*ROWS, copy])
    assert [(problem.rule, problem.row) for problem in result.errors] == [
        ("duplicate row", len(ROWS) + 2)
    ]
    assert "repeats row 2" in result.errors[0].message


def test_rows_of_several_scenarios_are_rejected_unless_they_match() -> None:
    rows = with_field(40, "scenario_id", "high_merit")
    rows = [
        dataclasses.replace(row, values={**row.values, "scenario_id": "high_merit"})
        if row.row_number == 50
        else row
        for row in rows
    ]
    result = check(rows)
    assert [(problem.rule, problem.row) for problem in result.errors] == [
        ("several scenarios", 42),
        ("several scenarios", 50),
    ]
    all_high = [
        dataclasses.replace(row, values={**row.values, "scenario_id": "high_merit"}) for row in ROWS
    ]
    assert check(all_high).scenario_id == "high_merit"


def test_the_scenario_option_overrides_the_file_and_fills_empty_ids() -> None:
    result = check(with_field(MERIT_2025_L1, "scenario_id", ""), scenario_id="stretch")
    assert result.errors == ()
    assert result.lever_set is not None and result.lever_set.scenario_id == "stretch"


def test_a_scenario_id_must_be_a_plain_name() -> None:
    result = check(list(ROWS), scenario_id="my scenario!")
    assert [problem.rule for problem in result.errors] == ["bad scenario_id"]


def test_a_missing_column_is_reported_on_the_header_row() -> None:
    columns = tuple(column for column in COLUMNS if column != "parameter_value")
    result = validate_lever_rows(columns, ROWS, source="levers.csv", domain=DOMAIN)
    assert [(problem.rule, problem.row, problem.column) for problem in result.errors] == [
        ("missing column", 1, "parameter_value")
    ]


def test_a_repeated_header_column_is_an_error() -> None:
    result = validate_lever_rows(
        (*COLUMNS, "parameter_value"), ROWS, source="levers.csv", domain=DOMAIN
    )
    assert [(problem.rule, problem.row, problem.column) for problem in result.errors] == [
        ("duplicate column", 1, "parameter_value")
    ]


def test_a_header_without_rows_is_rejected() -> None:
    assert [problem.rule for problem in check([]).errors] == ["no rows"]


def test_unknown_columns_are_ignored_with_a_warning() -> None:
    result = validate_lever_rows(
        (*COLUMNS, "iteration_id"), ROWS, source="levers.csv", domain=DOMAIN
    )
    assert result.is_valid
    assert [(problem.rule, problem.column) for problem in result.warnings] == [
        ("ignored column", "iteration_id")
    ]


@pytest.mark.parametrize(
    ("index", "value", "risk"),
    [
        (MERIT_2025_L1, "0.09", "budget risk"),
        (MERIT_2025_L1, "0.01", "retention risk"),
        (HIRE_2025_L1, "1.35", "pay-equity risk"),
        (HIRE_2025_L1, "0.85", "retention risk"),
    ],
    ids=["merit-high", "merit-low", "hire-pay-high", "hire-pay-low"],
)
def test_values_outside_the_usual_range_warn_but_do_not_block(
    index: int, value: str, risk: str
) -> None:
    result = check(with_field(index, "parameter_value", value))
    assert result.is_valid
    assert [(problem.rule, problem.row) for problem in result.warnings] == [
        ("outside usual range", index + 2)
    ]
    assert risk in result.warnings[0].message


def test_promotion_probability_has_no_warning_range() -> None:
    result = check(with_field(PROMOTION_PROBABILITY_2025_L1, "parameter_value", "0.95"))
    assert result.is_valid and result.warnings == ()


def test_a_report_of_50_bad_rows_shows_20_examples_and_counts_every_rule(
    tmp_path: Path,
) -> None:
    # Issue 15: a report is bounded like the census's, and each rule shows early.
    rows = reference_rows()
    for row in rows[:40]:  # spreadsheet rows 2–41
        row["parameter_value"] = "lots"
    for row in rows[40:50]:  # rows 42–51
        row["event_type"] = "BONUS"
    result = validate_lever_rows(
        *read_levers_csv(write_rows(tmp_path / "bad.csv", rows)), source="bad.csv", domain=DOMAIN
    )
    assert len(result.errors) == 50  # every error is kept for callers; the report is cut
    assert result.error_counts == {"non-numeric value": 40, "unknown event type": 10}
    with pytest.raises(ValidationFailed) as failure:
        result.require_valid()
    report = str(failure.value)
    lines = report.splitlines()
    assert lines[0] == "bad.csv was rejected: 50 problem(s); nothing was stored."
    assert "  non-numeric value: 40" in lines and "  unknown event type: 10" in lines
    examples = [line for line in lines if line.startswith("  - row ")]
    assert len(examples) == 20
    # Interleaved by rule: rows 2, 42, 3, 43, … 11, 51.
    shown = [int(line.split()[2].rstrip(",")) for line in examples]
    assert shown == [row for pair in zip(range(2, 12), range(42, 52), strict=True) for row in pair]
    assert lines[-1] == "  … and 30 more (counted above)"
    assert "row 12," not in report and "row 41," not in report


def test_a_long_value_is_shortened_in_the_report_and_the_json(tmp_path: Path) -> None:
    rows = reference_rows()
    rows[0]["parameter_value"] = "9" * 100_000  # under the CSV reader's field limit
    rows[1]["scenario_id"] = "s" * 50_000
    result = validate_lever_rows(
        *read_levers_csv(write_rows(tmp_path / "bad.csv", rows)), source="bad.csv", domain=DOMAIN
    )
    assert result.error_counts == {"non-numeric value": 1, "several scenarios": 1}  # 9…9 = inf
    with pytest.raises(ValidationFailed) as failure:
        result.require_valid()
    report = str(failure.value)
    assert len(report) < 2_000
    assert "'" + "9" * 64 + "'…(100,000 characters)" in report
    assert "s" * 64 + "…(50,000 characters)" in report
    as_json = [validation.problem_as_dict(problem) for problem in result.error_examples()]
    assert all(len(str(entry)) < 1_000 for entry in as_json)
    assert as_json[0]["value"] == "9" * 64 + "…(100,000 characters)"


@pytest.mark.parametrize("typed", ["-0.0", "-0", "-0e0", "-.0"])
def test_a_negative_zero_warns_naming_the_row_and_is_stored_as_zero(typed: str) -> None:
    # Issue 15: "-0" is a sign typed by mistake; the value is 0, said once per row.
    result = check(with_field(PROMOTION_PROBABILITY_2025_L1, "parameter_value", typed))
    assert result.is_valid
    assert [(p.rule, p.row, p.column, p.value) for p in result.warnings] == [
        ("negative zero", PROMOTION_PROBABILITY_2025_L1 + 2, "parameter_value", typed)
    ]
    assert "stored as 0" in result.warnings[0].message
    assert result.lever_set is not None
    stored = result.lever_set.get(("promotion_probability", 2025, 1))
    assert stored is not None and str(stored.value) == "0.0"  # not "-0.0"


def test_a_positive_zero_does_not_warn() -> None:
    result = check(with_field(PROMOTION_PROBABILITY_2025_L1, "parameter_value", "0.0"))
    assert result.is_valid and result.warnings == ()


def test_the_levers_a_file_names_are_described_in_their_labels() -> None:
    keys = [("promotion_raise", 2027, 4), ("promotion_raise", 2025, 2)] + [
        ("merit_base", year, level) for year in (2025, 2026) for level in (1, 2, 3, 5)
    ]
    assert validation.describe_lever_keys(keys) == (
        "Merit at levels 1–3, 5 in 2025–2026; "
        "Promotion raise at level 2 in 2025, at level 4 in 2027"
    )


def test_row_numbers_count_the_header_and_blank_lines(tmp_path: Path) -> None:
    lines = REFERENCE_CSV.read_text().splitlines()
    lines[2] = lines[2].replace(",0.040,", ",zero,")  # spreadsheet row 3
    lines.insert(3, "")  # a blank row 4 pushes the next data row to 5
    lines[5] = lines[5].replace(",RAISE,", ",RAIZE,")
    path = tmp_path / "levers.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_lever_rows(*read_levers_csv(path), source=str(path), domain=DOMAIN)
    assert [(problem.rule, problem.row) for problem in result.errors] == [
        ("non-numeric value", 3),
        ("unknown event type", 6),
    ]


def test_a_file_saved_by_excel_with_a_byte_order_mark_and_padded_header_reads(
    tmp_path: Path,
) -> None:
    text = REFERENCE_CSV.read_text()
    header, rest = text.split("\n", 1)
    padded = ",".join(f" {name.upper()} " for name in header.split(","))
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + padded + "\r\n" + rest.replace("\n", "\r\n")).encode())
    columns, rows = read_levers_csv(path)
    assert columns == COLUMNS
    assert check(list(rows)).is_valid


def test_a_row_longer_than_the_header_is_an_error(tmp_path: Path) -> None:
    lines = REFERENCE_CSV.read_text().splitlines()
    lines[1] += ",surplus"
    path = tmp_path / "levers.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_lever_rows(*read_levers_csv(path), source=str(path), domain=DOMAIN)
    assert [(problem.rule, problem.row) for problem in result.errors] == [("extra fields", 2)]


@pytest.mark.parametrize(
    ("name", "value", "level", "year", "rule"),
    [
        ("merit_bas", 0.03, None, None, "unknown parameter"),
        ("merit_base", 0.30, None, None, "value out of range"),
        ("merit_base", float("nan"), None, None, "non-numeric value"),
        ("merit_base", 0.03, 6, None, "unknown job level"),
        ("merit_base", 0.03, None, 2031, "unknown fiscal year"),
    ],
    ids=["unknown-name", "out-of-range", "nan", "level", "year"],
)
def test_a_single_value_is_checked_by_the_same_rules(
    name: str, value: float, level: int | None, year: int | None, rule: str
) -> None:
    errors, _ = validate_lever_value(name, value, DOMAIN, level=level, year=year)
    assert [problem.rule for problem in errors] == [rule]


def test_a_single_value_outside_the_usual_range_only_warns() -> None:
    errors, warnings = validate_lever_value("cola_rate", 0.07, DOMAIN, level=1, year=2025)
    assert errors == []
    assert [problem.rule for problem in warnings] == ["outside usual range"]


def test_the_module_example_runs() -> None:
    outcome = doctest.testmod(validation)
    assert outcome.attempted > 0
    assert outcome.failed == 0
