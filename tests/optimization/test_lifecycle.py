"""An optimization whose process is gone shows as interrupted, never "running" forever;
it can be resumed to convergence. Killed for real: a separate process, SIGKILL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from planwise import application
from planwise.application import OptimizeRequest, ResumeRequest, Workspace
from planwise.optimization import OptimizationStatus

TARGETS = {
    "optimization": {"max_iterations": 8, "levers": ["merit_base", "cola_rate"]},
    "targets": {
        "compensation_growth_cagr": {"target_value": 0.075, "tolerance": 0.0005},
    },
}

# Runs an optimization that stalls after its first stored iteration, so it can be killed
# mid-run: the second full simulation waits for a file that never appears.
_STALLING = """
import sys, time
from pathlib import Path
from planwise import application
from planwise.application import pipeline, OptimizeRequest, Workspace
real = pipeline.simulate_planned
calls = []
def slow(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        Path(sys.argv[2]).touch()
        time.sleep(600)
    return real(*args, **kwargs)
pipeline.simulate_planned = slow
application.optimize(Workspace(Path(sys.argv[1])), OptimizeRequest(targets=%r))
"""


def _status(workspace: Workspace) -> OptimizationStatus:
    [record] = application.list_optimizations(workspace)
    return record.status


def test_a_killed_optimization_is_interrupted_and_resumes_to_convergence(
    workspace: Workspace, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    process = subprocess.Popen(
        [sys.executable, "-c", _STALLING % (TARGETS,), str(workspace.root), str(started)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the optimization never reached its 2nd run"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert _status(workspace) == OptimizationStatus.INTERRUPTED
    [record] = application.list_optimizations(workspace)
    result = application.resume_optimization(workspace, ResumeRequest(record.optimization_id))
    assert result.converged
    assert _status(workspace) != OptimizationStatus.INTERRUPTED


def _set_writer(
    workspace: Workspace, host: str | None, pid: int | None, heartbeat: dt.datetime | None
) -> None:
    with duckdb.connect(str(workspace.database_path)) as connection:
        connection.execute(
            "UPDATE optimization_runs SET status = 'running', writer_host = ?, writer_pid = ?, "
            "writer_started_at = CASE WHEN ? IS NULL THEN NULL ELSE writer_started_at END, "
            "heartbeat_at = ?",
            [host, pid, pid, heartbeat],
        )


@pytest.mark.parametrize(
    ("host", "pid", "minutes_since_heartbeat", "expected"),
    [
        ("this", "this", 0, OptimizationStatus.RUNNING),
        ("this", "this", 600, OptimizationStatus.RUNNING),  # alive: the heartbeat is moot
        ("this", "gone", 0, OptimizationStatus.INTERRUPTED),
        ("elsewhere", "this", 1, OptimizationStatus.RUNNING),
        ("elsewhere", "this", 60, OptimizationStatus.INTERRUPTED),
        (None, None, None, OptimizationStatus.INTERRUPTED),  # from before writers were kept
    ],
    ids=["alive", "alive-quiet", "dead-pid", "other-host-fresh", "other-host-stale", "legacy"],
)
def test_a_running_optimization_is_interrupted_once_its_writer_is_gone(
    shared_workspace: Workspace,
    host: str | None,
    pid: str | None,
    minutes_since_heartbeat: int | None,
    expected: OptimizationStatus,
) -> None:
    if not application.list_optimizations(shared_workspace):
        application.optimize(shared_workspace, OptimizeRequest(targets=TARGETS))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pids = {"this": os.getpid(), "gone": int(gone.stdout)}
    hosts = {"this": socket.gethostname(), "elsewhere": "another-machine"}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _set_writer(
        shared_workspace,
        None if host is None else hosts[host],
        None if pid is None else pids[pid],
        None
        if minutes_since_heartbeat is None
        else now - dt.timedelta(minutes=minutes_since_heartbeat),
    )
    assert _status(shared_workspace) == expected
