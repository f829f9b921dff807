"""Validation of lever rows against the declarations (simulation-model.md §4).

Errors reject a whole file (nothing is stored); the report counts them by rule and names up
to 20 offending rows, counted the way a spreadsheet counts them (the header is row 1).
Warnings — a value outside the usual range, with the risk it carries; a negative zero — are
reported and do not block.

>>> domain = LeverDomain(levels=(1, 2, 3, 4, 5), years=(2025, 2026))
>>> row = LeverFileRow(2, {"scenario_id": "default", "fiscal_year": "2025", "job_level": "1",
...     "event_type": "raise", "parameter_name": "merit_base", "parameter_value": "0.3"})
>>> check = validate_lever_rows(REQUIRED_COLUMNS, [row], source="levers.csv", domain=domain)
>>> [problem.describe() for problem in check.errors]
["row 2, column 'parameter_value': merit_base must be between 0 and 0.25 (value: '0.3')"]
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from planwise.config import Settings
from planwise.errors import (
    MAX_EXAMPLES,
    Problem,
    ValidationFailed,
    count_by_rule,
    examples_by_rule,
    shown_text,
)
from planwise.parameters.declarations import EVENT_TYPES, PARAMETERS, ParameterSpec
from planwise.parameters.levers import Lever, LeverKey, LeverSet

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "LeverDomain",
    "LeverFileCheck",
    "LeverFileRow",
    "RangeWarning",
    "check_scenario_id",
    "describe_lever_keys",
    "group_range_warnings",
    "problem_as_dict",
    "validate_lever_rows",
    "validate_lever_value",
]

REQUIRED_COLUMNS = (
    "scenario_id",
    "fiscal_year",
    "job_level",
    "event_type",
    "parameter_name",
    "parameter_value",
)
OPTIONAL_COLUMNS = ("is_locked", "created_at", "created_by")
"""`created_at` and `created_by` are informational: the new set records who stored it, when."""

# Rule names: the report counts problems by rule, and the tests assert them.
MISSING_COLUMN = "missing column"
DUPLICATE_COLUMN = "duplicate column"
EXTRA_FIELDS = "extra fields"
NO_ROWS = "no rows"
MISSING_SCENARIO = "missing scenario_id"
BAD_SCENARIO = "bad scenario_id"
SEVERAL_SCENARIOS = "several scenarios"
UNKNOWN_PARAMETER = "unknown parameter"
UNKNOWN_EVENT_TYPE = "unknown event type"
EVENT_TYPE_MISMATCH = "event type mismatch"
NON_NUMERIC_VALUE = "non-numeric value"
UNKNOWN_LEVEL = "unknown job level"
UNKNOWN_YEAR = "unknown fiscal year"
DUPLICATE_ROW = "duplicate row"
OUT_OF_RANGE = "value out of range"
BAD_IS_LOCKED = "bad is_locked"
# Warnings.
OUTSIDE_USUAL_RANGE = "outside usual range"
IGNORED_COLUMN = "ignored column"
NEGATIVE_ZERO = "negative zero"

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", ""})
_SCENARIO_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SPECS = {spec.name: spec for spec in PARAMETERS}


@dataclass(frozen=True)
class LeverFileRow:
    """One data row of a levers file as read: raw text by (lower-case) column name."""

    row_number: int
    values: Mapping[str, str]
    extra_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeverDomain:
    """What a row may refer to: the configured job levels and the simulated fiscal years."""

    levels: tuple[int, ...]
    years: tuple[int, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> LeverDomain:
        first = settings.start_year
        return cls(tuple(settings.level_numbers), tuple(range(first, first + settings.years)))

    def describe_years(self) -> str:
        return f"{self.years[0]}–{self.years[-1]}"


@dataclass(frozen=True)
class LeverFileCheck:
    """The outcome of validating a file: the lever set it holds, or the errors that reject it."""

    source: str
    scenario_id: str | None
    lever_set: LeverSet | None
    row_count: int
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def is_valid(self) -> bool:
        return not self.errors and self.lever_set is not None

    @property
    def error_counts(self) -> dict[str, int]:
        return count_by_rule(self.errors)

    @property
    def warning_counts(self) -> dict[str, int]:
        return count_by_rule(self.warnings)

    def error_examples(self, per_rule: int = MAX_EXAMPLES) -> list[Problem]:
        """Up to `per_rule` errors of each rule, each rule's first ones early."""
        return examples_by_rule(self.errors, per_rule)

    def warning_examples(self, per_rule: int = MAX_EXAMPLES) -> list[Problem]:
        return examples_by_rule(self.warnings, per_rule)

    def require_valid(self) -> LeverSet:
        """The lever set; `ValidationFailed` if there are errors, with their counts by rule
        and up to 20 examples (each rule's first rows early), like a census report."""
        if self.errors or self.lever_set is None:
            raise ValidationFailed(self.source, self.error_examples(), self.error_counts)
        return self.lever_set


def problem_as_dict(problem: Problem) -> dict[str, object]:
    """A problem as JSON-ready data (for `--json` output and the app); a long text value is
    shortened as in the messages."""
    shown = problem.as_dict()
    return {key: shown[key] for key in ("rule", "row", "column", "message", "value")}


def check_scenario_id(scenario_id: str) -> str | None:
    """A message if `scenario_id` cannot name a scenario, else None."""
    if _SCENARIO_PATTERN.fullmatch(scenario_id) is None:
        return (
            f"scenario id '{shown_text(scenario_id)}' must be 1–64 letters, digits, '_', '.' "
            "or '-', starting with a letter or digit"
        )
    return None


def validate_lever_value(
    name: str,
    value: float,
    domain: LeverDomain,
    *,
    level: int | None = None,
    year: int | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings for one value set from the command line or the app."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    spec = _SPECS.get(name)
    if spec is None:
        errors.append(Problem(UNKNOWN_PARAMETER, _unknown_parameter(name), value=name))
    if level is not None and level not in domain.levels:
        errors.append(Problem(UNKNOWN_LEVEL, _unknown_level(domain), value=level))
    if year is not None and year not in domain.years:
        errors.append(Problem(UNKNOWN_YEAR, _unknown_year(domain), value=year))
    if not math.isfinite(value):
        errors.append(Problem(NON_NUMERIC_VALUE, "the value must be a finite number", value=value))
    elif spec is not None:
        _check_range(spec, value, None, value, errors, warnings)
    return errors, warnings


def validate_lever_rows(
    columns: Sequence[str],
    rows: Sequence[LeverFileRow],
    *,
    source: str,
    domain: LeverDomain,
    scenario_id: str | None = None,
) -> LeverFileCheck:
    """Check every row of a levers file; `scenario_id` overrides the file's scenario."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    _check_columns(columns, errors, warnings)
    if errors:
        return LeverFileCheck(source, scenario_id, None, len(rows), tuple(errors), tuple(warnings))
    if not rows:
        errors.append(Problem(NO_ROWS, "the file has a header but no lever rows", row=2))
    chosen = _check_scenarios(rows, scenario_id, errors)
    levers: list[Lever] = []
    first_row_of: dict[LeverKey, int] = {}
    for row in rows:
        lever = _check_row(row, domain, errors, warnings)
        if lever is None:
            continue
        earlier = first_row_of.setdefault(lever.key, row.row_number)
        if earlier != row.row_number:
            errors.append(
                Problem(
                    DUPLICATE_ROW,
                    f"repeats row {earlier} ({lever.parameter_name}, year {lever.fiscal_year}, "
                    f"level {lever.job_level}); keep one row per parameter, year and level",
                    row=row.row_number,
                )
            )
            continue
        levers.append(lever)
    errors.sort(key=lambda problem: problem.row or 0)
    lever_set = None if errors or chosen is None else LeverSet(chosen, tuple(levers))
    return LeverFileCheck(source, chosen, lever_set, len(rows), tuple(errors), tuple(warnings))


def _check_columns(columns: Sequence[str], errors: list[Problem], warnings: list[Problem]) -> None:
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            errors.append(Problem(DUPLICATE_COLUMN, "the header repeats a column", 1, column))
        seen.add(column)
        if column not in REQUIRED_COLUMNS and column not in OPTIONAL_COLUMNS:
            warnings.append(Problem(IGNORED_COLUMN, "unknown column, ignored", 1, column))
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.append(
                Problem(
                    MISSING_COLUMN,
                    f"the header lacks this column; required: {', '.join(REQUIRED_COLUMNS)}",
                    1,
                    column,
                )
            )


def _check_scenarios(
    rows: Sequence[LeverFileRow], override: str | None, errors: list[Problem]
) -> str | None:
    """The file's one scenario (or the override); every row must name the same one."""
    first: tuple[str, int] | None = None
    for row in rows:
        scenario = row.values.get("scenario_id", "").strip()
        if not scenario:
            if override is None:
                errors.append(
                    Problem(MISSING_SCENARIO, "scenario_id is empty", row.row_number, "scenario_id")
                )
            continue
        if first is None:
            first = (scenario, row.row_number)
        elif scenario != first[0]:
            errors.append(
                Problem(
                    SEVERAL_SCENARIOS,
                    f"scenario '{shown_text(scenario)}' differs from "
                    f"'{shown_text(first[0])}' (row {first[1]}); "
                    "a file holds the rows of one scenario",
                    row.row_number,
                    "scenario_id",
                    scenario,
                )
            )
    chosen = override if override is not None else (None if first is None else first[0])
    if chosen is not None:
        message = check_scenario_id(chosen)
        if message is not None:
            row_number = None if override is not None or first is None else first[1]
            errors.append(Problem(BAD_SCENARIO, message, row_number, "scenario_id", chosen))
    return chosen


def _check_row(
    row: LeverFileRow, domain: LeverDomain, errors: list[Problem], warnings: list[Problem]
) -> Lever | None:
    """The row as a lever, or None after recording its errors."""
    before = len(errors)
    number = row.row_number
    if row.extra_fields:
        errors.append(
            Problem(
                EXTRA_FIELDS,
                f"the row has {len(row.extra_fields)} more field(s) than the header",
                number,
                value=",".join(row.extra_fields),
            )
        )
    name = row.values.get("parameter_name", "").strip()
    spec = _SPECS.get(name)
    if spec is None:
        errors.append(
            Problem(UNKNOWN_PARAMETER, _unknown_parameter(name), number, "parameter_name", name)
        )
    event_text = row.values.get("event_type", "").strip()
    event_type = event_text.upper()
    if event_type not in EVENT_TYPES:
        allowed = ", ".join(sorted(EVENT_TYPES))
        errors.append(
            Problem(
                UNKNOWN_EVENT_TYPE,
                f"event_type must be one of {allowed} (any case)",
                number,
                "event_type",
                event_text,
            )
        )
    elif spec is not None and spec.event_type != event_type:
        errors.append(
            Problem(
                EVENT_TYPE_MISMATCH,
                f"{name} is a {spec.event_type} lever, not {event_type}",
                number,
                "event_type",
                event_text,
            )
        )
    year = _whole_number(row.values.get("fiscal_year", ""))
    if year is None or year not in domain.years:
        errors.append(
            Problem(
                UNKNOWN_YEAR,
                _unknown_year(domain),
                number,
                "fiscal_year",
                row.values.get("fiscal_year", ""),
            )
        )
    level = _whole_number(row.values.get("job_level", ""))
    if level is None or level not in domain.levels:
        errors.append(
            Problem(
                UNKNOWN_LEVEL,
                _unknown_level(domain),
                number,
                "job_level",
                row.values.get("job_level", ""),
            )
        )
    value_text = row.values.get("parameter_value", "").strip()
    value = _number(value_text)
    if value is None:
        hint = " (write rates as fractions: 0.03 for 3%)" if value_text.endswith("%") else ""
        errors.append(
            Problem(
                NON_NUMERIC_VALUE,
                f"parameter_value must be a finite number{hint}",
                number,
                "parameter_value",
                value_text,
            )
        )
    else:
        if value == 0.0 and math.copysign(1.0, value) < 0:
            warnings.append(
                Problem(
                    NEGATIVE_ZERO,
                    "parameter_value is a negative zero (a minus sign typed by mistake?); "
                    "stored as 0",
                    number,
                    "parameter_value",
                    value_text,
                )
            )
            value = 0.0
        if spec is not None:
            _check_range(spec, value, number, value_text, errors, warnings)
    locked_text = row.values.get("is_locked", "").strip()
    if locked_text.lower() not in _TRUE | _FALSE:
        errors.append(
            Problem(
                BAD_IS_LOCKED,
                "is_locked must be true/false, 1/0 or yes/no (empty means false)",
                number,
                "is_locked",
                locked_text,
            )
        )
    if len(errors) > before or spec is None or year is None or level is None or value is None:
        return None
    return Lever(name, year, level, value, locked_text.lower() in _TRUE)


def _check_range(
    spec: ParameterSpec,
    value: float,
    row: int | None,
    shown: object,
    errors: list[Problem],
    warnings: list[Problem],
) -> None:
    column = "parameter_value" if row is not None else None
    message = spec.error_message(value)
    if message is not None:
        errors.append(Problem(OUT_OF_RANGE, message, row, column, shown))
        return
    warning = spec.warning_message(value)
    if warning is not None:
        warnings.append(Problem(OUTSIDE_USUAL_RANGE, warning, row, column))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole_number(text: str) -> int | None:
    value = _number(text.strip())
    if value is None or not value.is_integer():
        return None
    return int(value)


def _unknown_parameter(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), list(_SPECS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown parameter (known: {', '.join(_SPECS)}){hint}"


def _unknown_level(domain: LeverDomain) -> str:
    return f"job_level must be one of the configured levels {', '.join(map(str, domain.levels))}"


def _unknown_year(domain: LeverDomain) -> str:
    return (
        f"fiscal_year must be a simulated year {domain.describe_years()} "
        "(start_year and years in planwise.yaml)"
    )


def describe_lever_keys(keys: Iterable[LeverKey]) -> str:
    """Which levers, levels and years a set of rows names, in the levers' labels: one part
    per lever (and per run of levels that share the same years).

    >>> describe_lever_keys([("cola_rate", 2025, 3)] + [
    ...     ("merit_base", year, level) for year in (2025, 2026) for level in (1, 2, 3)])
    'Merit at levels 1–3 in 2025–2026; COLA at level 3 in 2025'
    """
    years_of: dict[str, dict[int, set[int]]] = {}
    for name, year, level in keys:
        years_of.setdefault(name, {}).setdefault(level, set()).add(year)
    order = {spec.name: position for position, spec in enumerate(PARAMETERS)}
    parts = []
    for name in sorted(years_of, key=lambda known: order.get(known, len(order))):
        spec = _SPECS.get(name)
        label = name if spec is None else spec.label
        by_years: dict[tuple[int, ...], list[int]] = {}
        for level, years in sorted(years_of[name].items()):
            by_years.setdefault(tuple(sorted(years)), []).append(level)
        parts.append(
            f"{label} "
            + ", ".join(
                f"at {_levels_text(levels)} in {_span_text(years)}"
                for years, levels in by_years.items()
            )
        )
    return "; ".join(parts)


@dataclass(frozen=True)
class RangeWarning:
    """Values of one lever outside its usual range on one side, grouped over the levels and
    years that have them: one line per lever and side, not one per year and level."""

    parameter_name: str
    side: str
    """"below" or "above" the usual range."""
    levels: tuple[int, ...]
    years: tuple[int, ...]
    lowest: float
    highest: float

    @property
    def message(self) -> str:
        spec = _SPECS[self.parameter_name]
        assert spec.warning_range is not None  # only levers with a usual range warn
        values = spec.format_value(self.lowest)
        if self.highest != self.lowest:
            values += f"–{spec.format_value(self.highest)}"
        risk = spec.risk_below if self.side == "below" else spec.risk_above
        return (
            f"{spec.label} {values} at {_levels_text(self.levels)} in "
            f"{_span_text(self.years)} is {self.side} the usual range "
            f"{spec.format_range(spec.warning_range)} ({risk})."
        )


def group_range_warnings(values: Iterable[tuple[str, int, int, float]]) -> list[RangeWarning]:
    """Group (lever, year, level, value) entries outside their usual range by lever and side.

    >>> [w.message for w in group_range_warnings(
    ...     [("cola_rate", year, level, 0.005) for year in (2025, 2026) for level in (1, 2)])]
    ['COLA 0.5% at levels 1–2 in 2025–2026 is below the usual range 1.0%–6.0% (retention risk).']
    """
    found: dict[tuple[str, str], list[tuple[int, int, float]]] = {}
    for name, year, level, value in values:
        spec = _SPECS.get(name)
        if spec is None or spec.warning_range is None:
            continue
        low, high = spec.warning_range
        side = "below" if value < low else "above" if value > high else None
        if side is not None:
            found.setdefault((name, side), []).append((year, level, value))
    order = {spec.name: position for position, spec in enumerate(PARAMETERS)}
    return [
        RangeWarning(
            name,
            side,
            tuple(sorted({level for _, level, _ in entries})),
            tuple(sorted({year for year, _, _ in entries})),
            min(value for _, _, value in entries),
            max(value for _, _, value in entries),
        )
        for (name, side), entries in sorted(found.items(), key=lambda item: order[item[0][0]])
    ]


def _span_text(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5 → "1–3, 5": runs of consecutive numbers as ranges."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def _levels_text(levels: Sequence[int]) -> str:
    return f"level {levels[0]}" if len(levels) == 1 else f"levels {_span_text(levels)}"
