"""Errors a user can cause and fix. The CLI turns them into a message and exit code 1.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

__all__ = [
    "MAX_EXAMPLES",
    "MAX_SHOWN_CHARACTERS",
    "DatabaseLockedError",
    "Problem",
    "UserError",
    "ValidationFailed",
    "count_by_rule",
    "examples_by_rule",
    "lock_conflict_detail",
    "lock_holder_reads",
    "shown_text",
    "shown_value",
]

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")

MAX_EXAMPLES = 20
"""A report lists at most this many offending rows; the counts per rule cover them all."""
MAX_SHOWN_CHARACTERS = 64
"""A value quoted in a message shows at most this many characters (a valid employee_id or
scenario id whole), then how long it is: a 1 MB cell must not make a 1 MB message."""
_MAX_MESSAGE_CHARACTERS = 1_000
"""Our messages are a sentence or two; a longer one carries a user's text, and is cut."""
_LONG_WORD = re.compile(r"[^\s'\",;]{129,}")
"""Over twice `MAX_SHOWN_CHARACTERS` without a space, quote or separator: no word of ours
is this long, so in a message it is a user's value quoted whole."""


def shown_text(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """User text as a message shows it: control characters escaped, at most `limit`
    characters, then how many there are.

    >>> shown_text("E123")
    'E123'
    >>> shown_text("E" * 100_000, limit=8)
    'EEEEEEEE…(100,000 characters)'
    >>> shown_text("a\\nb")
    'a\\\\nb'
    """
    cut = text[:limit]
    if not cut.isprintable():
        cut = repr(cut)[1:-1]
    return cut if len(text) <= limit else f"{cut}…({len(text):,} characters)"


def shown_value(value: object, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """A value quoted in a message: its `repr`, cut like `shown_text` when it is long.

    >>> shown_value("0.3")
    "'0.3'"
    >>> shown_value("x" * 1_000_000, limit=4)
    "'xxxx'…(1,000,000 characters)"
    """
    if isinstance(value, str):
        whole = repr(value[:limit])
        return whole if len(value) <= limit else f"{whole}…({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text):,} characters)"


class UserError(Exception):
    """Bad input or a request that cannot be carried out; the message says how to fix it."""


@dataclass(frozen=True)
class Problem:
    """One offending value: where it is, what it is, and what is allowed."""

    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    employee_id: str | None = None
    """The employee the row holds (a census row); "" when its employee_id is empty."""

    def describe(self) -> str:
        """Where, what and the value: `row 7 (employee E123), column 'hire_date': …`.

        >>> Problem("r", "hire_date is required", row=7, column="hire_date",
        ...         employee_id="E123").describe()
        "row 7 (employee E123), column 'hire_date': hire_date is required"

        Every part that can hold a user's text is shortened (`shown_text`, `shown_value`),
        so a 1 MB cell gives a line of a few hundred characters.
        """
        where = []
        if self.row is not None:
            who = ""
            if self.employee_id is not None:
                who = (
                    f" (employee {shown_text(self.employee_id)})"
                    if self.employee_id
                    else " (no employee_id)"
                )
            where.append(f"row {self.row}{who}")
        if self.column is not None:
            where.append(f"column '{shown_text(self.column, 2 * MAX_SHOWN_CHARACTERS)}'")
        prefix = ", ".join(where)
        message = _bounded_message(self.message)
        shown = "" if self.value is None else f" (value: {shown_value(self.value)})"
        return f"{prefix}: {message}{shown}" if prefix else f"{message}{shown}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, with user text shortened as in `describe`."""
        return {
            "rule": self.rule,
            "row": self.row,
            "column": None if self.column is None else shown_text(self.column),
            "employee_id": None if self.employee_id is None else shown_text(self.employee_id),
            "message": _bounded_message(self.message),
            "value": _json_value(self.value),
        }


def _bounded_message(message: str) -> str:
    """A message with each overlong word (a user's value a caller quoted whole) shortened,
    and the whole cut at `_MAX_MESSAGE_CHARACTERS`: bounded whoever built it."""
    shortened = _LONG_WORD.sub(lambda word: shown_text(word.group()), message)
    return shown_text(shortened, _MAX_MESSAGE_CHARACTERS)


def _json_value(value: object) -> object:
    """A number as it is; text shortened; anything else as its shortened `repr`."""
    if value is None or isinstance(value, numbers.Real):
        return value
    return shown_text(value) if isinstance(value, str) else shown_value(value)


@dataclass
class ValidationFailed(UserError):
    """A file or setting was rejected as a whole; nothing was stored."""

    source: str
    problems: Sequence[Problem]
    counts: dict[str, int] = field(default_factory=dict)
    """Problems by rule, when `problems` holds only examples; else counted from them."""
    max_examples: int = MAX_EXAMPLES

    def __post_init__(self) -> None:
        super().__init__(self.report())

    def report(self) -> str:
        counts = self.counts or count_by_rule(self.problems)
        total = sum(counts.values())
        lines = [f"{self.source} was rejected: {total} problem(s); nothing was stored."]
        for rule, count in sorted(counts.items()):
            lines.append(f"  {rule}: {count}")
        lines.append("Examples:")
        for problem in list(self.problems)[: self.max_examples]:
            lines.append(f"  - {problem.describe()}")
        hidden = total - min(len(self.problems), self.max_examples)
        if hidden > 0:
            lines.append(f"  … and {hidden:,} more (counted above)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def count_by_rule(problems: Iterable[Problem]) -> dict[str, int]:
    """How many problems each rule found, in the order the rules first appear."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.rule] = counts.get(problem.rule, 0) + 1
    return counts


def examples_by_rule(problems: Iterable[Problem], per_rule: int = MAX_EXAMPLES) -> list[Problem]:
    """Up to `per_rule` problems of each rule, interleaved (each rule's first, then each
    rule's second, …) so that a report cut at 20 lines shows every rule early.

    >>> found = [Problem("a", "x", row=2), Problem("a", "x", row=3), Problem("b", "y", row=9)]
    >>> [(p.rule, p.row) for p in examples_by_rule(found)]
    [('a', 2), ('b', 9), ('a', 3)]
    """
    by_rule: dict[str, list[Problem]] = {}
    for problem in problems:
        found = by_rule.setdefault(problem.rule, [])
        if len(found) < per_rule:
            found.append(problem)
    return [p for rank in zip_longest(*by_rule.values()) for p in rank if p is not None]


class DatabaseLockedError(UserError):
    """Another process holds the workspace database.

    `holder_reads`: the holder has the file open only to read it. DuckDB blocks writers
    then too, which surprises people (a notebook left open blocks every planwise command
    that writes), so the message says so.
    """

    def __init__(self, path: str, detail: str, *, holder_reads: bool = False) -> None:
        if holder_reads:
            message = (
                f"The workspace database {path} is in use by another process that is reading "
                f"it: {detail.strip()}. In DuckDB a process that has a database file open, "
                "even only to read it, blocks every other process from writing it: a "
                "notebook, an IDE database view, the Streamlit app or the Dagster server "
                "reading this workspace keeps this command out. Close that connection (or "
                "the program) or wait for it to finish, then run the command again. Nothing "
                "was changed."
            )
        else:
            message = (
                f"The workspace database {path} is in use by another process: "
                f"{detail.strip()}. DuckDB lets only one process open a database file for "
                "writing, and that blocks readers too. Close the other program (a notebook, "
                "an IDE database view, another planwise command, the Dagster or Streamlit "
                "server) or wait for it to finish, then run the command again. Nothing was "
                "changed."
            )
        super().__init__(message)
        self.path = path
        self.holder_reads = holder_reads


_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_READ_ONLY_HINT = "open this database in read-only mode"
_DETAIL_CHARACTERS = 300


def lock_conflict_detail(message: str) -> str | None:
    """The holder named in a DuckDB lock-conflict message, or None for any other error.

    DuckDB names it, e.g. "Conflicting lock is held in /usr/bin/python3 (PID 123)"; dbt
    passes the same text through, so the analytics build uses this too. The program and
    its PID are kept whole, however long the path.

    >>> lock_conflict_detail('IO Error: Could not set lock on file "/w/planwise.duckdb": '
    ...     'Conflicting lock is held in /usr/bin/python3 (PID 123). See also https://…')
    '/usr/bin/python3 (PID 123)'
    """
    if not any(marker in message.lower() for marker in _LOCK_MARKERS):
        return None
    holder = _HOLDER.search(message)
    if holder is not None:
        return f"{holder['program']} (PID {holder['pid']})"
    for line in message.splitlines():
        if "PID" in line or "lock" in line.lower():
            return _whole_words(line.split(":", 1)[-1].strip())
    return _whole_words(message)


def lock_holder_reads(message: str) -> bool:
    """DuckDB's lock-conflict message says the holder only reads the file (it suggests
    opening the database read-only, which a reader allows)."""
    return _READ_ONLY_HINT in message.lower()


def _whole_words(text: str) -> str:
    """`text` up to `_DETAIL_CHARACTERS`, cut between words, never inside one."""
    if len(text) <= _DETAIL_CHARACTERS:
        return text
    return text[:_DETAIL_CHARACTERS].rsplit(" ", 1)[0] + " …"
