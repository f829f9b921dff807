"""Where a parameter set came from (`parameter_sets.source`)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SetSource"]


class SetSource(StrEnum):
    """How a parameter set was made: every change stores a new set with its source."""

    INIT = "init"
    IMPORT = "import"
    EDIT = "edit"
    OPTIMIZER = "optimizer"
    ROLLBACK = "rollback"
