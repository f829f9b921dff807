"""What a census column may hold when the file carries types (Parquet).

A column whose stored type cannot hold its meaning — a list or struct employee_id, a
boolean salary, a date column of numbers — is rejected whole, naming the column and its
type, instead of being turned into text and failing (or passing) row by row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planwise.errors import Problem, shown_text

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["column_type_problem"]

# What each canonical column may hold, in the kinds of `_kind`; any column may be all-null.
_ALLOWED_KINDS: dict[str, tuple[frozenset[str], str]] = {
    "employee_id": (frozenset({"text", "integer", "number"}), "text or whole numbers"),
    "birth_date": (frozenset({"text", "date"}), "dates, or text like 2024-03-31"),
    "hire_date": (frozenset({"text", "date"}), "dates, or text like 2024-03-31"),
    "termination_date": (frozenset({"text", "date"}), "dates, or text like 2024-03-31"),
    "annual_salary": (
        frozenset({"text", "integer", "number"}),
        "numbers (an annual rate, like 85000)",
    ),
    "active": (frozenset({"text", "boolean", "integer"}), "booleans, 1/0 or text like true"),
    "job_level": (frozenset({"text", "integer", "number"}), "whole numbers (the job level)"),
    "gender": (frozenset({"text"}), "text"),
    "department": (frozenset({"text", "integer"}), "text (or whole-number codes)"),
}


def _kind(data_type: pa.DataType) -> str:
    """What a Parquet column holds, in the words of `_ALLOWED_KINDS`."""
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):  # a categorical column: its values count
        data_type = data_type.value_type
    checks = (
        ("null", pa.types.is_null),
        ("text", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
        ("text", pa.types.is_string_view),
        ("boolean", pa.types.is_boolean),
        ("integer", pa.types.is_integer),
        ("number", lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t)),
        ("date", lambda t: pa.types.is_date(t) or pa.types.is_timestamp(t)),
    )
    return next((kind for kind, check in checks if check(data_type)), "other")


def column_type_problem(canonical: str, name: str, data_type: pa.DataType | None) -> Problem | None:
    """A problem if the Parquet column cannot hold what `canonical` means, else None."""
    if data_type is None:
        return None
    allowed, described = _ALLOWED_KINDS[canonical]
    if _kind(data_type) in allowed | {"null"}:
        return None
    stored = shown_text(str(data_type))
    called = "" if name.lower() == canonical else f" (the file's column '{shown_text(name)}')"
    return Problem(
        "wrong_column_type",
        f"the Parquet column{called} is stored as {stored}, which cannot hold {canonical} "
        f"values; store it as {described}",
        column=canonical,
    )
