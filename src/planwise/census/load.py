"""Read a census file (CSV or Parquet), validate it as a whole and return the canonical census.

Every rule of simulation-model.md §1 is checked on whole columns at once; a file that breaks
any rule is rejected whole with a report naming rows, columns, values and what is allowed.
Row numbers count the header as row 1, so the first data row is row 2 (the CSV file line).
A file that passes may still carry warnings: a salary an order of magnitude outside every
band is most likely a typing slip (a figure in cents, a monthly figure), so it is named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from planwise.census.column_types import column_type_problem
from planwise.census.model import Census
from planwise.config import JobLevel, Settings
from planwise.errors import Problem, UserError, ValidationFailed, shown_text, shown_value

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COLUMN_ALIASES",
    "MAX_AGE",
    "MAX_EMPLOYEE_ID_CHARACTERS",
    "MAX_EXAMPLES_PER_RULE",
    "MIN_AGE",
    "OPTIONAL_COLUMNS",
    "OUTLIER_FACTOR",
    "REQUIRED_COLUMNS",
    "CensusRejected",
    "DroppedDuplicate",
    "LoadedCensus",
    "job_level_for_salary",
    "read_census",
]

REQUIRED_COLUMNS = ("employee_id", "birth_date", "hire_date", "annual_salary")
OPTIONAL_COLUMNS = ("termination_date", "active", "job_level", "gender", "department")
COLUMN_ALIASES: dict[str, str] = {
    "employee_birth_date": "birth_date",
    "employee_hire_date": "hire_date",
    "employee_termination_date": "termination_date",
    "employee_gross_compensation": "annual_salary",
    "employee_level": "job_level",
    "level_id": "job_level",
}
MIN_AGE = 14
MAX_AGE = 100
MAX_EXAMPLES_PER_RULE = 20
MAX_EMPLOYEE_ID_CHARACTERS = 64
OUTLIER_FACTOR = 10.0
"""A salary at least this many times the top band's maximum, or at most the bottom band's
minimum divided by it, is warned about: an order of magnitude off is a slip, not a policy."""

_SUFFIXES = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})
_GENDERS = {"f": "F", "female": "F", "m": "M", "male": "M"}
_DATE_HINT = "a date like 2024-03-31 (YYYY-MM-DD)"
_SHOWN_ROWS = 10
"""Rows listed in one message (the rows sharing a duplicate employee_id)."""
_SHOWN_HEADER_NAMES = 30
# YYYY-MM-DD, optionally with a time of day and an offset (ignored: a census holds dates).
_ISO_DATE = (
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True)
class DroppedDuplicate:
    """A row left out by `keep_latest`: an earlier row of an employee_id that appears again."""

    employee_id: str
    row: int
    kept_row: int


@dataclass(frozen=True)
class LoadedCensus(Census):
    """A census read from a file, with the duplicate rows `keep_latest` dropped (if any)
    and the warnings about rows it accepted: up to 20 examples per rule, and the counts."""

    dropped_duplicates: tuple[DroppedDuplicate, ...] = ()
    warnings: tuple[Problem, ...] = ()
    warning_counts: Mapping[str, int] = field(default_factory=dict)


class CensusRejected(ValidationFailed):
    """A census file broke at least one rule; nothing was stored."""

    def report(self) -> str:
        first, *rest = super().report().split("\n")
        note = (
            "Rows are numbered as in a spreadsheet: the header is row 1 (for CSV, the file line)."
        )
        return "\n".join([first, note, *rest])


def read_census(path: Path, settings: Settings, *, keep_latest: bool = False) -> LoadedCensus:
    """Read, validate and canonicalize a census file, or raise `CensusRejected`.

    With `keep_latest`, only the last row of each repeated employee_id is kept and the
    others are listed in `dropped_duplicates`; otherwise a repeated id is an error.
    """
    names, body, types = _read_file(path)
    columns = _canonical_columns(path, names, body, types)
    validated = _validate(path, columns, settings, keep_latest)
    census = Census.from_frame(validated.frame, settings.census_as_of)
    return LoadedCensus(
        census.census_id,
        census.as_of_date,
        census.frame,
        validated.dropped,
        tuple(validated.warnings),
        validated.warning_counts,
    )


def job_level_for_salary(
    annual_salary: npt.ArrayLike, job_levels: Sequence[JobLevel]
) -> npt.NDArray[np.int64]:
    """The level whose band holds each (finite) salary: the lowest level whose max ≥ salary.

    Shared boundaries go to the lower level; above the top band is the top level, below the
    bottom band is the bottom level.

    >>> from planwise.config import Settings
    >>> job_level_for_salary(np.array([10.0, 80_000.0, 80_000.01, 9e9]), Settings().job_levels)
    array([1, 1, 2, 5])
    """
    ordered = sorted(job_levels, key=lambda level: level.level)
    maxima = np.array([level.max_salary for level in ordered], dtype=np.float64)
    numbers = np.array([level.level for level in ordered], dtype=np.int64)
    index = np.searchsorted(maxima, np.asarray(annual_salary, dtype=np.float64), side="left")
    return numbers[np.minimum(index, len(numbers) - 1)]


# --- reading -------------------------------------------------------------------------------


_Read = tuple[list[str], pd.DataFrame, dict[str, "pa.DataType"]]
"""The header names, the data rows indexed by row number (the header is row 1), and for a
Parquet file each column's stored type by name."""


def _read_file(path: Path) -> _Read:
    """The header, the rows and (Parquet) the column types of a census file."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UserError(
            f"Census file {path} has an unsupported type '{path.suffix}'; "
            "use a .csv or .parquet file."
        )
    if not path.is_file():
        raise UserError(f"Census file {path} does not exist (or is not a file).")
    return _read_csv(path) if kind == "CSV" else _read_parquet(path)


def _read_csv(path: Path) -> _Read:
    try:
        cells = pd.read_csv(
            path,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,  # keeps row numbers equal to file lines
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise UserError(f"Census file {path} is empty; it needs a header row.") from None
    except pd.errors.ParserError as error:
        raise UserError(f"Census file {path} is not a readable CSV file: {error}") from None
    except UnicodeDecodeError:
        raise UserError(
            f"Census file {path} is not UTF-8 text; save it as CSV UTF-8 and try again."
        ) from None
    cells.index = pd.RangeIndex(1, len(cells) + 1)
    names = [str(name) for name in cells.iloc[0].fillna("")]
    body = cells.iloc[1:]
    blank = (np.strings.strip(body.fillna("").to_numpy(dtype=str)) == "").all(axis=1)
    return names, body[~blank], {}


def _read_parquet(path: Path) -> _Read:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise UserError(
            f"Census file {path} is not a readable Parquet file: {shown_text(str(error), 300)}"
        ) from None
    names = [str(name) for name in table.columns]
    body = table.set_axis(range(len(names)), axis=1)
    types = {field.name: field.type for field in schema}
    return names, body.set_axis(pd.RangeIndex(2, len(table) + 2), axis=0), types


def _header_text(names: Sequence[str]) -> str:
    """The header's names for a message: each shortened, at most 30 of them."""
    shown = ", ".join(shown_text(name) for name in names[:_SHOWN_HEADER_NAMES])
    more = len(names) - _SHOWN_HEADER_NAMES
    return shown + (f" and {more:,} more" if more > 0 else "")


def _rows_text(rows: Sequence[int]) -> str:
    """Row numbers for a message: at most 10 of them, then how many more."""
    shown = ", ".join(map(str, rows[:_SHOWN_ROWS]))
    more = len(rows) - _SHOWN_ROWS
    return shown + (f" and {more:,} more" if more > 0 else "")


def _canonical_columns(
    path: Path,
    names: list[str],
    body: pd.DataFrame,
    types: Mapping[str, pa.DataType],
) -> dict[str, pd.Series]:
    """The known columns by canonical name; unknown columns are ignored. A Parquet column
    whose type cannot hold its meaning is rejected with the missing and repeated ones."""
    stored_types = [types.get(name) for name in names]
    names = [name.strip() for name in names]
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        canonical = COLUMN_ALIASES.get(name.lower(), name.lower())
        if canonical in REQUIRED_COLUMNS or canonical in OPTIONAL_COLUMNS:
            positions.setdefault(canonical, []).append(position)
    problems = [
        Problem(
            "duplicate_column",
            f"columns {', '.join(shown_value(names[p]) for p in found)} all mean "
            f"'{canonical}'; keep exactly one of them",
            row=1,
            column=canonical,
        )
        for canonical, found in positions.items()
        if len(found) > 1
    ]
    for required in REQUIRED_COLUMNS:
        if required not in positions:
            accepted = [required, *(a for a, c in COLUMN_ALIASES.items() if c == required)]
            problems.append(
                Problem(
                    "missing_column",
                    f"required column '{required}' is missing (accepted names, any case: "
                    f"{', '.join(accepted)}); the header has: {_header_text(names)}",
                    row=1,
                    column=required,
                )
            )
    for canonical, found in positions.items():
        problem = column_type_problem(canonical, names[found[0]], stored_types[found[0]])
        if problem is not None:
            problems.append(problem)
    if not problems and body.empty:
        problems.append(Problem("no_rows", "the file has a header but no employee rows"))
    if problems:
        counts: dict[str, int] = {}
        for problem in problems:
            counts[problem.rule] = counts.get(problem.rule, 0) + 1
        raise CensusRejected(str(path), problems, counts)
    return {name: body.iloc[:, found[0]] for name, found in positions.items()}


# --- parsing -------------------------------------------------------------------------------


def _text(cells: pd.Series) -> pd.Series:
    """Cells as trimmed text; empty cells are missing. Whole floats lose their '.0'."""
    if isinstance(cells.dtype, pd.StringDtype):  # CSV cells
        return cells.str.strip().replace({"": pd.NA})
    values = cells.infer_objects()
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if bool((finite == np.floor(finite)).all()) and bool(np.isfinite(finite).all()):
            values = values.astype("Int64")
    return values.astype("str").str.strip().replace({"": pd.NA})


def _dates(cells: pd.Series, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parsed dates (datetime64[s], NaT when missing or bad) and the mask of bad cells.

    `text` is `_text(cells)`; native date columns (Parquet) are used as they are.
    """
    values = cells.infer_objects()
    if pd.api.types.is_datetime64_any_dtype(values):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
        parsed = values
        bad = pd.Series(False, index=cells.index)
    else:
        day = text.str.extract(_ISO_DATE, expand=False)  # the date as written, time dropped
        parsed = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna() & text.notna()
    return parsed.dt.normalize().astype("datetime64[s]"), bad


def _ages(birth: pd.Series, as_of: dt.date) -> pd.Series:
    """Whole years of age at the as-of date (calendar birthdays)."""
    before_birthday = (birth.dt.month > as_of.month) | (
        (birth.dt.month == as_of.month) & (birth.dt.day > as_of.day)
    )
    age: pd.Series = as_of.year - birth.dt.year - before_birthday.astype("int64")
    return age


# --- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Violation:
    rule: str
    column: str
    mask: pd.Series
    shown: pd.Series
    message: str | Callable[[int], str]


@dataclass(frozen=True)
class _Validated:
    frame: pd.DataFrame
    dropped: tuple[DroppedDuplicate, ...]
    warnings: list[Problem]
    warning_counts: dict[str, int]


def _validate(
    path: Path,
    columns: dict[str, pd.Series],
    settings: Settings,
    keep_latest: bool,
) -> _Validated:
    as_of = settings.census_as_of
    as_of_stamp = pd.Timestamp(as_of)
    text = {name: _text(series) for name, series in columns.items()}
    dropped: tuple[DroppedDuplicate, ...] = ()
    if keep_latest:
        ids = text["employee_id"]
        drop = ids.notna() & ids.duplicated(keep="last")
        dropped = _dropped_report(ids, drop)
        columns = {name: series[~drop] for name, series in columns.items()}
        text = {name: series[~drop] for name, series in text.items()}
    ids = text["employee_id"]
    index = ids.index
    missing = pd.Series(pd.NA, index=index, dtype="str")
    violations: list[_Violation] = []

    def check(rule: str, column: str, mask: pd.Series, message: str | Callable[[int], str]) -> None:
        violations.append(_Violation(rule, column, mask, text.get(column, missing), message))

    check("empty_employee_id", "employee_id", ids.isna(), "every row needs an employee_id")
    id_length = ids.str.len()
    check(
        "employee_id_too_long",
        "employee_id",
        id_length > MAX_EMPLOYEE_ID_CHARACTERS,
        lambda row: (
            f"employee_id has {int(id_length[row]):,} characters; at most "
            f"{MAX_EMPLOYEE_ID_CHARACTERS} are allowed"
        ),
    )
    repeated = ids.notna() & ids.duplicated(keep=False)
    rows_of_id = pd.Series(index[repeated.to_numpy()], index=ids[repeated].to_numpy())
    check(
        "duplicate_employee_id",
        "employee_id",
        repeated,
        lambda row: (
            f"employee_id {shown_value(ids[row])} appears on rows "
            f"{_rows_text(rows_of_id.loc[[ids[row]]].tolist())}; each employee_id must be "
            "unique (or import with --keep-latest to keep the last row of each id)"
        ),
    )

    parsed: dict[str, pd.Series] = {}
    for column in ("birth_date", "hire_date", "termination_date"):
        if column not in columns:
            parsed[column] = pd.Series(pd.NaT, index=index, dtype="datetime64[s]")
            continue
        parsed[column], bad = _dates(columns[column], text[column])
        optional = column == "termination_date"
        check("unparseable_date", column, bad, f"{column} must be {_DATE_HINT}")
        if not optional:
            check(
                "missing_date",
                column,
                parsed[column].isna() & ~bad,
                f"{column} is required: {_DATE_HINT}",
            )
    birth, hire, termination = parsed["birth_date"], parsed["hire_date"], parsed["termination_date"]

    active_text = text.get("active", missing).str.lower()
    active_given = active_text.isin(_TRUE)
    inactive_given = active_text.isin(_FALSE)
    check(
        "invalid_active",
        "active",
        active_text.notna() & ~active_given & ~inactive_given,
        "active must be true/false, 1/0, yes/no or y/n (or empty)",
    )
    terminated = termination.notna() & (termination <= as_of_stamp)
    starting = ~terminated & ~inactive_given

    salary = pd.to_numeric(columns["annual_salary"], errors="coerce").astype("float64")
    usable_salary = salary.gt(0) & np.isfinite(salary)
    check(
        "invalid_salary",
        "annual_salary",
        starting & ~usable_salary,
        "annual_salary must be a positive number (an annual rate, like 85000) "
        "for a row in the starting workforce",
    )
    check(
        "hire_after_as_of",
        "hire_date",
        hire > as_of_stamp,
        f"hire_date must be on or before the census as-of date {as_of}",
    )
    ages = _ages(birth, as_of)
    check(
        "age_out_of_range",
        "birth_date",
        (ages < MIN_AGE) | (ages > MAX_AGE),
        lambda row: (
            f"age at the as-of date {as_of} is {int(ages[row])}; it must be between "
            f"{MIN_AGE} and {MAX_AGE}"
        ),
    )
    check(
        "termination_before_hire",
        "termination_date",
        termination < hire,
        lambda row: f"termination_date must be on or after hire_date ({hire[row]:%Y-%m-%d})",
    )

    level_text = text.get("job_level", missing)
    level_number = pd.to_numeric(level_text, errors="coerce")
    level_from_file = level_text.notna()
    allowed = ", ".join(map(str, settings.level_numbers))
    check(
        "unknown_job_level",
        "job_level",
        level_from_file & ~level_number.isin(settings.level_numbers),
        f"job_level must be one of the configured levels {allowed}",
    )
    check(
        "missing_job_level",
        "job_level",
        ~level_from_file & ~usable_salary & ~starting,  # starting rows: invalid_salary
        "job_level is empty and annual_salary is not a positive number, so no level can be "
        "derived from the salary bands; give a job_level or an annual_salary",
    )

    problems, counts = _problems(violations, ids)
    if problems:
        raise CensusRejected(str(path), problems, counts)
    warnings, warning_counts = _problems(
        _salary_outliers(salary.where(usable_salary), text["annual_salary"], settings), ids
    )

    band_level = job_level_for_salary(
        salary.where(usable_salary, 0.0).to_numpy(dtype=np.float64), settings.job_levels
    )
    job_level = np.where(level_from_file, level_number.fillna(0), band_level).astype(np.int64)
    gender = text.get("gender", missing)
    frame = pd.DataFrame(
        {
            "employee_id": ids.astype("str"),
            "birth_date": birth,
            "hire_date": hire,
            "termination_date": termination,
            "active": active_given | (active_text.isna() & ~terminated),
            "job_level": job_level,
            "job_level_source": pd.Series(
                np.where(level_from_file, "file", "salary_band"), index=index, dtype="str"
            ),
            "annual_salary": salary,
            "gender": gender.mask(
                gender.str.lower().isin(_GENDERS), gender.str.lower().map(_GENDERS)
            ),
            "department": text.get("department", missing),
            "in_starting_workforce": starting,
        },
        index=index,
    )
    return _Validated(frame.reset_index(drop=True), dropped, warnings, warning_counts)


def _salary_outliers(salary: pd.Series, shown: pd.Series, settings: Settings) -> list[_Violation]:
    """Salaries an order of magnitude beyond the bands (`OUTLIER_FACTOR`): accepted, and
    named, since 1e9 or 4,500 for a year's pay is most likely a slip."""
    levels = sorted(settings.job_levels, key=lambda level: level.level)
    top, bottom = levels[-1], levels[0]
    above = top.max_salary * OUTLIER_FACTOR
    below = bottom.min_salary / OUTLIER_FACTOR
    return [
        _Violation(
            "salary_far_above_bands",
            "annual_salary",
            salary >= above,
            shown,
            f"annual_salary is {OUTLIER_FACTOR:g}× or more the top band's maximum "
            f"({top.name}, level {top.level}: {top.max_salary:,.0f}); an extra digit, or pay "
            "in cents? Kept as written",
        ),
        _Violation(
            "salary_far_below_bands",
            "annual_salary",
            salary <= below,
            shown,
            f"annual_salary is 1/{OUTLIER_FACTOR:g} or less of the bottom band's minimum "
            f"({bottom.name}, level {bottom.level}: {bottom.min_salary:,.0f}); monthly or "
            "hourly pay? annual_salary is a yearly rate. Kept as written",
        ),
    ]


def _dropped_report(ids: pd.Series, drop: pd.Series) -> tuple[DroppedDuplicate, ...]:
    kept = ids[ids.notna() & ~drop]
    kept_row = pd.Series(kept.index, index=kept.to_numpy())
    gone = ids[drop]
    kept_rows = kept_row.reindex(gone.to_numpy()).to_numpy()
    return tuple(
        DroppedDuplicate(str(employee_id), int(row), int(kept))
        for employee_id, row, kept in zip(gone.to_numpy(), gone.index, kept_rows, strict=True)
    )


def _problems(violations: list[_Violation], ids: pd.Series) -> tuple[list[Problem], dict[str, int]]:
    """Counts per rule, and up to 20 examples per rule interleaved so every rule shows early.

    Each example names the row's employee (`ids`: employee_id by row), or says the row has
    no employee_id."""
    counts: dict[str, int] = {}
    examples: dict[str, list[Problem]] = {}
    for violation in violations:
        mask = violation.mask.fillna(False).astype(bool)
        count = int(mask.sum())
        if count == 0:
            continue
        counts[violation.rule] = counts.get(violation.rule, 0) + count
        found = examples.setdefault(violation.rule, [])
        for row in mask.index[mask.to_numpy()][: MAX_EXAMPLES_PER_RULE - len(found)]:
            message = violation.message
            value = violation.shown[row]
            employee_id = ids.get(row)
            found.append(
                Problem(
                    violation.rule,
                    message(row) if callable(message) else message,
                    row=int(row),
                    column=violation.column,
                    value=None if pd.isna(value) else str(value),
                    employee_id=""
                    if employee_id is None or pd.isna(employee_id)
                    else str(employee_id),
                )
            )
    by_rule = [sorted(found, key=lambda p: p.row or 0) for found in examples.values()]
    interleaved = [p for rank in zip_longest(*by_rule) for p in rank if p is not None]
    return interleaved, counts
