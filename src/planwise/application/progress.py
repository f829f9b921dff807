"""Progress as a typed event stream: the core emits, every shell renders.

A use case that takes time accepts `on_progress: ProgressListener | None` and calls it with
one of the events below as work advances. The CLI draws a progress bar, the app a bar and
a live table, Dagster log lines; none of them parses text to know where a run is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planwise.optimization.report import IterationRecord

__all__ = [
    "ClusterStarted",
    "IterationFinished",
    "MemberSimulated",
    "ProgressEvent",
    "ProgressListener",
    "StepFinished",
    "StepStarted",
    "YearSimulated",
    "emit",
]


@dataclass(frozen=True)
class YearSimulated:
    """A simulated year is done (its rows are on their way to the store)."""

    year: int
    done: int
    """Years done so far in this call, this one included."""
    total: int
    """Years this call simulates."""


@dataclass(frozen=True)
class IterationFinished:
    """The tuning loop finished an iteration (a full simulation or a replay)."""

    record: IterationRecord
    simulations: int
    """Full simulations spent so far, this one included."""
    budget: int
    """Full simulations the loop may spend."""


@dataclass(frozen=True)
class StepStarted:
    """A named step of a longer job started (a dbt node, a Dagster step, a phase)."""

    name: str
    kind: str = "step"


@dataclass(frozen=True)
class StepFinished:
    """A named step finished, with how it ended (e.g. success, pass, fail, error)."""

    name: str
    status: str
    kind: str = "step"
    seconds: float = 0.0


@dataclass(frozen=True)
class MemberSimulated:
    """A member of an ensemble (a scenario under a seed) finished."""

    scenario_id: str
    seed: int
    done: int
    total: int


@dataclass(frozen=True)
class ClusterStarted:
    """The Dask cluster an ensemble runs on is ready (its dashboard, when local)."""

    workers: int
    dashboard_link: str | None
    scheduler: str | None
    """The address of an existing cluster; None for a local cluster started for the call."""


ProgressEvent = (
    YearSimulated
    | IterationFinished
    | StepStarted
    | StepFinished
    | MemberSimulated
    | ClusterStarted
)
ProgressListener = Callable[[ProgressEvent], None]


def emit(listener: ProgressListener | None, event: ProgressEvent) -> None:
    """Hand an event to the listener, if there is one."""
    if listener is not None:
        listener(event)
