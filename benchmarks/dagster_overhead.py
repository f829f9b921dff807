"""What Dagster adds to the tuning loop on the 10,000-employee demo. Prints one JSON object.

The same optimization (the demo workspace's targets.yaml) runs on fresh copies of one
workspace, alternately from the library (`planwise.optimization.optimize`) and as
`compensation_optimization_job` executed in-process against a persistent Dagster instance
(sqlite event log in a temporary DAGSTER_HOME, like `planwise dagster`). Both sides are
timed after imports and definitions are loaded.

- `optimization_overhead_seconds`: the job's optimization part (inputs, loop, summary and
  their checks) minus the library call — the figure the ≤ 2 s bar is about;
- `analytics`: the job's dbt step (dagster-dbt, every data test as an asset check) next to
  the library's in-process `build_analytics` of the same marts.

    python benchmarks/dagster_overhead.py [--employees 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from planwise import service
from planwise.analytics import build_analytics
from planwise.optimization import optimize
from planwise.workspace import WORKSPACE_ENV, Workspace

DEMO_SEED = 20250101
DBT_STEP = "planwise_dbt_models"


def _fresh_copy(template: Workspace, scratch: Path, name: str) -> Workspace:
    root = scratch / name
    shutil.copytree(template.root, root)
    return Workspace(root)


def _library(workspace: Workspace, with_analytics: bool) -> dict[str, float]:
    started, cpu = time.perf_counter(), time.process_time()
    result = optimize(workspace, workspace.targets_path)
    optimized = time.perf_counter()
    timings = {
        "optimization": optimized - started,
        "optimization_cpu": time.process_time() - cpu,
        "simulations": float(result.simulations),
    }
    if with_analytics:
        build_analytics(workspace)
        timings["analytics"] = time.perf_counter() - optimized
    return timings


def _dagster(workspace: Workspace, instance: Any, with_analytics: bool) -> dict[str, float]:
    import dagster as dg
    from planwise_dagster import defs

    os.environ[WORKSPACE_ENV] = str(workspace.root)
    job = defs.resolve_job_def("compensation_optimization_job")
    selection = None
    if not with_analytics:
        selection = [
            dg.AssetKey(name)
            for name in (
                "census",
                "comp_levers",
                "compensation_optimization_loop",
                "optimization_results_summary",
            )
        ]
    started, cpu = time.perf_counter(), time.process_time()
    result = job.execute_in_process(instance=instance, asset_selection=selection)
    total = time.perf_counter() - started
    timings = {"job": total, "optimization_cpu": time.process_time() - cpu}
    if with_analytics:
        step_seconds = _step_seconds(instance, result.run_id)
        timings["analytics"] = step_seconds[DBT_STEP]
        timings["optimization"] = total - step_seconds[DBT_STEP]
    else:
        timings["optimization"] = total
    return timings


def _step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    import dagster as dg

    starts: dict[str, float] = {}
    durations: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            durations[event.step_key] = entry.timestamp - starts[event.step_key]
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    import dagster as dg

    # dbt and Dagster print progress on stdout; the report alone goes to the real stdout.
    report_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    with tempfile.TemporaryDirectory(prefix="planwise-dagster-bench-") as scratch_name:
        scratch = Path(scratch_name)
        template = Workspace(scratch / "template")
        service.init_workspace(template)
        service.generate_census_into(template, arguments.employees, DEMO_SEED)
        started = time.perf_counter()
        from planwise_dagster import defs  # noqa: F401  (load once, outside the timings)

        load_seconds = time.perf_counter() - started
        home = scratch / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(home)
        instance = dg.DagsterInstance.get()

        # Warm-up: first calls pay for lazy imports and caches on both sides.
        _library(_fresh_copy(template, scratch, "warm-library"), with_analytics=False)
        _dagster(_fresh_copy(template, scratch, "warm-dagster"), instance, with_analytics=False)

        library: list[dict[str, float]] = []
        dagster: list[dict[str, float]] = []
        for repeat in range(arguments.repeats):
            library.append(_library(_fresh_copy(template, scratch, f"lib-{repeat}"), False))
            dagster.append(
                _dagster(_fresh_copy(template, scratch, f"dg-{repeat}"), instance, False)
            )
        library_full = _library(_fresh_copy(template, scratch, "lib-full"), with_analytics=True)
        dagster_full = _dagster(_fresh_copy(template, scratch, "dg-full"), instance, True)
        instance.dispose()

    library_median = statistics.median(item["optimization"] for item in library)
    dagster_median = statistics.median(item["optimization"] for item in dagster)
    cpu_overhead = statistics.median(
        item["optimization_cpu"] for item in dagster
    ) - statistics.median(item["optimization_cpu"] for item in library)
    report = {
        "employees": arguments.employees,
        "repeats": arguments.repeats,
        "simulations": library[0]["simulations"],
        "definitions_load_seconds": round(load_seconds, 3),
        "library_optimization_seconds": [round(item["optimization"], 3) for item in library],
        "dagster_optimization_seconds": [round(item["optimization"], 3) for item in dagster],
        "optimization_overhead_seconds": round(dagster_median - library_median, 3),
        "optimization_overhead_cpu_seconds": round(cpu_overhead, 3),
        "bar_seconds": 2.0,
        "within_bar": dagster_median - library_median <= 2.0,
        "analytics": {
            "library_build_seconds": round(library_full["analytics"], 3),
            "dagster_dbt_step_seconds": round(dagster_full["analytics"], 3),
            "overhead_seconds": round(dagster_full["analytics"] - library_full["analytics"], 3),
        },
        "full_job_seconds": round(dagster_full["job"], 3),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    json.dump(report, report_stream, indent=2)
    report_stream.write("\n")
    report_stream.flush()


if __name__ == "__main__":
    main()
