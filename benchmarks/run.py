"""Reproducible benchmarks of the engine, storage and tuning loop, with JSON output.

Each case runs in a fresh subprocess (so peak memory is the case's own) and reports the
median of several repeats. Usage:

    python benchmarks/run.py --output benchmarks/results/latest.json [--repeats 5] [--quick]
    python benchmarks/run.py --case cli_help   # `planwise --help` against `import numpy`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

YEARS = 5
SEED = 42
CENSUS_SEED = 7

ONE_TARGET = {
    "optimization": {"levers": ["merit_base", "cola_rate"], "max_iterations": 10},
    "targets": {"compensation_growth_cagr": {"target_value": 0.045, "tolerance": 0.0005}},
}
THREE_TARGETS = {
    "optimization": {"max_iterations": 10},
    "targets": {
        "total_compensation_cost": {"target_value": None, "tolerance_pct": 0.01},
        "median_merit_increase": {"target_value": 0.035, "tolerance": 0.001},
        "new_hire_pay_ratio": {"target_value": 0.92, "tolerance": 0.02},
    },
}


def _engine(employees: int, repeats: int) -> dict[str, Any]:
    from planwise.census import generate_census
    from planwise.config import Settings
    from planwise.parameters import default_lever_set, resolve_levers
    from planwise.simulation import replay, simulate_planned

    settings = Settings()
    workforce = generate_census(employees, CENSUS_SEED, settings).starting_workforce()
    years = range(settings.start_year, settings.start_year + YEARS)
    base = default_lever_set(settings.start_year, settings.level_numbers)
    levers = resolve_levers(years, settings.level_numbers, base)
    other = resolve_levers(
        years, settings.level_numbers, base.with_values({("merit_base", 2025, 1): 0.04})
    )
    simulate_seconds, replay_seconds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        planned = simulate_planned(
            workforce, settings, levers, start_year=2025, years=YEARS, seed=SEED
        )
        simulate_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        replay(planned, settings, other)
        replay_seconds.append(time.perf_counter() - started)
    return {
        "engine_seconds_median": statistics.median(simulate_seconds),
        "engine_seconds_all": simulate_seconds,
        "replay_seconds_median": statistics.median(replay_seconds),
        "events_per_run": sum(len(o.events) for o in planned.result.outcomes),
    }


def _workspace(employees: int, root: Path) -> Any:
    from planwise import application

    workspace = application.Workspace(root)
    application.init_workspace(workspace)
    application.generate_census(
        workspace, application.GenerateCensusRequest(employees, CENSUS_SEED)
    )
    return workspace


def _store(employees: int, repeats: int) -> dict[str, Any]:
    from planwise import application

    seconds, engine_seconds = [], []
    with tempfile.TemporaryDirectory() as folder:
        workspace = _workspace(employees, Path(folder) / "ws")
        for _ in range(repeats):
            run = application.simulate(
                workspace, application.SimulateRequest(years=YEARS, seed=SEED)
            )
            seconds.append(run.total_seconds)
            engine_seconds.append(run.engine_seconds)
        size = workspace.database_path.stat().st_size
    return {
        "simulate_and_store_seconds_median": statistics.median(seconds),
        "simulate_and_store_seconds_all": seconds,
        "engine_part_seconds_median": statistics.median(engine_seconds),
        "database_bytes_after_runs": size,
    }


def _optimize(employees: int, repeats: int) -> dict[str, Any]:
    from planwise import application

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        workspace = _workspace(employees, Path(folder) / "ws")
        baseline = application.simulate(
            workspace, application.SimulateRequest(years=YEARS, seed=SEED)
        )
        final_year = baseline.metrics.per_year[max(baseline.metrics.years)]
        final_cost = final_year["total_compensation_cost"]
        three = json.loads(json.dumps(THREE_TARGETS))
        three["targets"]["total_compensation_cost"]["target_value"] = final_cost * 0.97
        for name, targets in (("one_target", ONE_TARGET), ("three_targets", three)):
            runs = []
            for _ in range(repeats):
                started = time.perf_counter()
                result = application.optimize(workspace, application.OptimizeRequest(targets))
                runs.append(
                    {
                        "seconds": time.perf_counter() - started,
                        "converged": result.converged,
                        "simulations": result.simulations,
                        "replays": result.replays,
                    }
                )
            results[name] = {
                "seconds_median": statistics.median(r["seconds"] for r in runs),
                "converged": all(r["converged"] for r in runs),
                "simulations": runs[0]["simulations"],
                "replays": runs[0]["replays"],
                "runs": runs,
            }
    return results


HELP_RATIO_LIMIT = 2.5
"""`planwise --help` may take at most this many times `python -c "import numpy"` (issue 14)."""


def _cli_help(employees: int, repeats: int) -> dict[str, Any]:
    """Whole-process wall time of `planwise --help` against `python -c "import numpy"`, run
    in turn (A B A B …, after one warm-up pair) so a drift of the machine hits both alike."""
    del employees  # the help does not depend on a census
    script = Path(sys.executable).with_name("planwise")
    help_command = (
        [str(script), "--help"]
        if script.exists()
        else [sys.executable, "-c", "from planwise.cli import main; main()", "--help"]
    )
    commands = {
        "planwise_help": help_command,
        "import_numpy": [sys.executable, "-c", "import numpy"],
    }
    environment = {**os.environ, "COLUMNS": "80"}
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(max(repeats, 5) + 1):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=environment)
            seconds[name].append(time.perf_counter() - started)
    for runs in seconds.values():
        del runs[0]  # the warm-up
    ratios = [a / b for a, b in zip(seconds["planwise_help"], seconds["import_numpy"], strict=True)]
    ratio = statistics.median(ratios)
    return {
        "planwise_help_seconds_median": statistics.median(seconds["planwise_help"]),
        "import_numpy_seconds_median": statistics.median(seconds["import_numpy"]),
        "ratio_median": ratio,
        "ratio_limit": HELP_RATIO_LIMIT,
        "within_limit": ratio <= HELP_RATIO_LIMIT,
        "planwise_help_seconds_all": seconds["planwise_help"],
        "import_numpy_seconds_all": seconds["import_numpy"],
    }


CASES = {"engine": _engine, "store": _store, "optimize": _optimize, "cli_help": _cli_help}
SIZE_FREE = frozenset({"cli_help"})
"""Cases that do not depend on the census size: run once, under their own name."""


def _child(case: str, employees: int, repeats: int) -> None:
    result = CASES[case](employees, repeats)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 employees only")
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "EMPLOYEES", "REPEATS"))
    arguments = parser.parse_args()
    if arguments.child:
        case, employees, repeats = arguments.child
        _child(case, int(employees), int(repeats))
        return
    sizes = [10_000] if arguments.quick else [10_000, 100_000]
    cases = arguments.case or list(CASES)
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "years": YEARS,
        "repeats": arguments.repeats,
        "results": {},
    }
    for case in cases:
        for employees in sizes[:1] if case in SIZE_FREE else sizes:
            repeats = arguments.repeats if case != "optimize" else max(1, arguments.repeats // 2)
            output = subprocess.run(
                [sys.executable, __file__, "--child", case, str(employees), str(repeats)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            name = case if case in SIZE_FREE else f"{case}_{employees}"
            report["results"][name] = result
            print(f"{name}: {json.dumps(result)[:300]}", file=sys.stderr)
    text = json.dumps(report, indent=2)
    if arguments.output:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
