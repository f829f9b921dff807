"""Optimizations that outlive the page: each runs on a thread of the server process, not of
the script run, so leaving the tab or closing the browser does not stop it.

A process-wide registry holds one job per workspace and scenario: what it was asked, the
iterations it has finished so far (from its progress events), and its result or its error
once done. Every session of the server reads the same registry, so a page opened later
finds the job running or finished. When the server process itself ends, its jobs end with
it; the store then lists such an optimization as interrupted, and the page offers to
resume it (`planwise.application.resume_optimization`).

Nothing here imports Streamlit: the page polls `job_for` and renders.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from planwise import application
from planwise.application import (
    IterationFinished,
    OptimizeRequest,
    ProgressEvent,
    ResumeRequest,
    Workspace,
)
from planwise.errors import UserError
from planwise.optimization import IterationRecord, OptimizationResult

__all__ = ["Job", "JobState", "job_for", "start_optimization", "start_resume"]

_log = logging.getLogger(__name__)
_serials = itertools.count(1)


@dataclass(frozen=True)
class JobState:
    """A consistent reading of a job: what it has done so far and how it ended."""

    iterations: tuple[IterationRecord, ...]
    simulations: int
    budget: int
    finished: bool
    result: OptimizationResult | None
    error: str | None


@dataclass
class Job:
    """One optimization (new or resumed) running on its own thread."""

    serial: int
    database: str
    scenario_id: str
    targets: Mapping[str, Any] | None
    """What a new optimization was asked (None for a resume: its stored targets)."""
    resumes: int | None
    """The optimization a resume continues."""
    started_at: dt.datetime
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _iterations: list[IterationRecord] = field(default_factory=list, repr=False)
    _simulations: int = 0
    _budget: int = 0
    _result: OptimizationResult | None = None
    _error: str | None = None

    def listen(self, event: ProgressEvent) -> None:
        """The loop's progress listener (called on the job's thread)."""
        if isinstance(event, IterationFinished):
            with self._lock:
                self._iterations.append(event.record)
                self._simulations, self._budget = event.simulations, event.budget

    def state(self) -> JobState:
        with self._lock:
            return JobState(
                tuple(self._iterations),
                self._simulations,
                self._budget,
                self._done.is_set(),
                self._result,
                self._error,
            )

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (True) or the timeout passes (False)."""
        return self._done.wait(timeout)

    def _run(self, work: Callable[[Job], OptimizationResult]) -> None:
        try:
            result = work(self)
            with self._lock:
                self._result = result
        except UserError as error:
            with self._lock:
                self._error = str(error)
        except Exception as error:  # a thread has no caller to raise to: keep it for the page
            _log.exception("optimization of %s failed", self.scenario_id)
            with self._lock:
                self._error = f"{type(error).__name__}: {error}"
        finally:
            self._done.set()


_jobs: dict[tuple[str, str], Job] = {}
_registry = threading.Lock()


def job_for(database: str, scenario_id: str) -> Job | None:
    """The latest job of a workspace's scenario in this process (running or finished)."""
    with _registry:
        return _jobs.get((database, scenario_id))


def _start(
    workspace: Workspace,
    scenario_id: str,
    targets: Mapping[str, Any] | None,
    resumes: int | None,
    work: Callable[[Job], OptimizationResult],
) -> Job:
    database = str(workspace.database_path)
    with _registry:
        current = _jobs.get((database, scenario_id))
        if current is not None and current.running:
            raise UserError(
                f"An optimization of scenario '{scenario_id}' is already running (started "
                f"{current.started_at:%H:%M:%S}); wait for it to finish."
            )
        job = Job(
            next(_serials),
            database,
            scenario_id,
            targets,
            resumes,
            dt.datetime.now().replace(microsecond=0),
        )
        _jobs[(database, scenario_id)] = job
    thread = threading.Thread(
        target=job._run,
        args=(work,),
        name=f"planwise-optimization-{job.serial}",
        daemon=True,  # the server's end ends it; the store then lists it as interrupted
    )
    thread.start()
    return job


def start_optimization(workspace: Workspace, request: OptimizeRequest) -> Job:
    """Start a new optimization of the request's scenario on a background thread."""
    targets = request.targets if isinstance(request.targets, Mapping) else None
    return _start(
        workspace,
        request.scenario_id,
        targets,
        None,
        lambda job: application.optimize(workspace, request, job.listen),
    )


def start_resume(workspace: Workspace, scenario_id: str, request: ResumeRequest) -> Job:
    """Continue a stored (interrupted or unfinished) optimization on a background thread."""
    return _start(
        workspace,
        scenario_id,
        None,
        request.optimization_id,
        lambda job: application.resume_optimization(workspace, request, job.listen),
    )
