"""Errors a user can cause and fix. The CLI turns them into a message and exit code 1.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "DatabaseLockedError",
    "Problem",
    "UserError",
    "ValidationFailed",
    "lock_conflict_detail",
]

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")


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
        """
        where = []
        if self.row is not None:
            who = ""
            if self.employee_id is not None:
                who = f" (employee {self.employee_id})" if self.employee_id else " (no employee_id)"
            where.append(f"row {self.row}{who}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        shown = "" if self.value is None else f" (value: {self.value!r})"
        return f"{prefix}: {self.message}{shown}" if prefix else f"{self.message}{shown}"


@dataclass
class ValidationFailed(UserError):
    """A file or setting was rejected as a whole; nothing was stored."""

    source: str
    problems: Sequence[Problem]
    counts: dict[str, int] = field(default_factory=dict)
    max_examples: int = 20

    def __post_init__(self) -> None:
        super().__init__(self.report())

    def report(self) -> str:
        counts = self.counts or _count_by_rule(self.problems)
        total = sum(counts.values())
        lines = [f"{self.source} was rejected: {total} problem(s); nothing was stored."]
        for rule, count in sorted(counts.items()):
            lines.append(f"  {rule}: {count}")
        lines.append("Examples:")
        for problem in list(self.problems)[: self.max_examples]:
            lines.append(f"  - {problem.describe()}")
        hidden = len(self.problems) - self.max_examples
        if hidden > 0:
            lines.append(f"  … and {hidden} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _count_by_rule(problems: Sequence[Problem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.rule] = counts.get(problem.rule, 0) + 1
    return counts


class DatabaseLockedError(UserError):
    """Another process holds the workspace database."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"The workspace database {path} is in use by another process ({detail.strip()}). "
            "DuckDB lets only one process open a database file for writing, and that blocks "
            "readers too. Close the other program (a notebook, an IDE database view, another "
            "planwise command, the Dagster or Streamlit server) or wait for it to finish, "
            "then run the command again. Nothing was changed."
        )
        self.path = path


def lock_conflict_detail(message: str) -> str | None:
    """The holder named in a DuckDB lock-conflict message, or None for any other error.

    DuckDB names it, e.g. "Conflicting lock is held in /usr/bin/python3 (PID 123)"; dbt
    passes the same text through, so the analytics build uses this too.
    """
    if not any(marker in message.lower() for marker in _LOCK_MARKERS):
        return None
    for line in message.splitlines():
        if "PID" in line or "lock" in line.lower():
            return line.split(":", 1)[-1].strip()[:200]
    return message[:200]
