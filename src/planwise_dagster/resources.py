"""Resources: the PlanWise workspace the assets read and write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import Field

import dagster as dg
from planwise.application import WORKSPACE_ENV, Workspace
from planwise.errors import UserError

__all__ = ["PlanwiseWorkspace", "user_errors_as_failures"]


class PlanwiseWorkspace(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The workspace folder (settings, DuckDB store, levers, targets).

    `planwise dagster` passes it through the `PLANWISE_WORKSPACE` environment variable.
    """

    path: str = Field(
        description=f"Workspace folder; set by 'planwise dagster' through ${WORKSPACE_ENV}."
    )

    def workspace(self) -> Workspace:
        return Workspace.resolve(self.path)


@contextmanager
def user_errors_as_failures() -> Iterator[None]:
    """Show a user error (bad input, locked database) as its one-paragraph message.

    Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except UserError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
