"""Number fields that never change a value behind the analyst's back.

Streamlit's number input clamps a typed value to its bounds, keeps the last valid value
when the field is cleared, and rounds what it shows to its format — and sends that
rounding back. These fields are text inputs instead: what the user typed is read as
typed, checked, and an invalid entry is a message beside the field (the caller disables
its action), never a silent substitute. A field's text starts as a rounding of the stored
value; while that text is unchanged the caller keeps the stored value itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

__all__ = ["Entry", "decimal_text", "number_entry", "parse_number", "same_number"]

_DECORATIONS = re.compile(r"[\s,$%×]|pp$")


def parse_number(text: str) -> float | None:
    """The number typed (`3.5`, `3.5%`, `×1.05`, `12,000`, `$1,200`), or None.

    >>> parse_number(" 3.5 % "), parse_number("×1.05"), parse_number("12,000")
    (3.5, 1.05, 12000.0)
    >>> parse_number("abc") is None, parse_number("") is None, parse_number("nan") is None
    (True, True, True)
    """
    cleaned = _DECORATIONS.sub("", text.strip().lower().removeprefix("x"))
    cleaned = cleaned.replace("−", "-")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def decimal_text(value: float, least: int = 2, most: int = 4) -> str:
    """A number with at most `most` and at least `least` decimals, trailing zeros dropped.

    >>> decimal_text(3.0), decimal_text(3.1723456), decimal_text(1.05), decimal_text(12.5, 0)
    ('3.00', '3.1723', '1.05', '12.5')
    """
    text = f"{value:.{most}f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    decimals += "0" * max(0, least - len(decimals))
    text = f"{whole}.{decimals}" if decimals else whole
    return text.removeprefix("-") if float(text) == 0 else text


def same_number(typed: float, shown: str) -> bool:
    """Whether a typed value is the value a field's starting text shows (so not an edit)."""
    start = parse_number(shown)
    return start is not None and math.isclose(typed, start, rel_tol=0.0, abs_tol=1e-12)


@dataclass(frozen=True)
class Entry:
    """What a number field holds: its text, the number (None if blank or invalid) and the
    reason it is invalid (None if valid)."""

    text: str
    value: float | None
    error: str | None

    @property
    def valid(self) -> bool:
        return self.error is None


def number_entry(
    container: Any,
    label: str,
    key: str,
    start: str,
    *,
    check: Callable[[float], str | None] | None = None,
    whole: bool = False,
    help: str | None = None,
    disabled: bool = False,
    label_visibility: str = "visible",
) -> Entry:
    """A text field for a number, its starting text `start` (set once; reset it by
    writing `st.session_state[key]`), checked as typed: not a number, not whole when it
    must be, or refused by `check` → an error shown right under the field."""
    if key not in st.session_state:
        st.session_state[key] = start
    text = str(
        container.text_input(
            label,
            key=key,
            help=help,
            disabled=disabled,
            label_visibility=label_visibility,
            persist_state="page",
        )
        or ""
    )
    value = parse_number(text)
    error: str | None = None
    if value is None:
        error = "Type a number." if not text.strip() else f"“{text.strip()}” is not a number."
    elif whole and not float(value).is_integer():
        error = f"Type a whole number (not {text.strip()})."
    elif check is not None:
        error = check(value)
    if error is not None:
        container.error(error, icon=":material/error:")
        return Entry(text, None, error)
    return Entry(text, value, None)
