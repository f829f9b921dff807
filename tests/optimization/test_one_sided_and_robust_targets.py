"""One-sided and robust targets (tuning-loop.md, "One-sided and robust targets"; issue 16):
the file's syntax and its checks, the residuals, the statistics over seeds, and the report.

The loop itself on a real Dask cluster is tested in tests/ensemble/test_robust_targets.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tuning_support import baseline_of, write_targets

from planwise import application
from planwise.application import EvaluateRequest, Workspace
from planwise.errors import UserError
from planwise.metrics import run_metrics
from planwise.optimization import OptimizationResult, StopReason, TargetRow
from planwise.optimization.answer import target_rows
from planwise.optimization.robust import required_seeds, statistic_value
from planwise.optimization.solver import Component, Evaluation, evaluate_samples
from planwise.optimization.targets import (
    Bound,
    Mode,
    Priority,
    Statistic,
    Target,
    load_targets,
)
from planwise.simulation.engine import simulate

YEARS = [2025, 2026, 2027]
COST = "total_compensation_cost"
CAGR = "compensation_growth_cagr"


def _target(
    bound: Bound = Bound.TWO_SIDED,
    statistic: Statistic | None = None,
    share: float | None = None,
    value: float = 100.0,
    tolerance: float = 2.0,
    year: int | str = "final",
) -> Target:
    return Target("t", COST, value, tolerance, Priority.HIGH, year, bound, statistic, share)


# --- the file ---------------------------------------------------------------------------

ROBUST_FILE = {
    "optimization": {"robust_seeds": 8},
    "targets": {
        "cost_budget": {
            "metric": COST,
            "at_most": 1.6e9,
            "tolerance_pct": 0.005,
            "statistic": "share_within",
            "share": 0.9,
            "priority": "high",
        },
        CAGR: {"target_value": 0.045, "tolerance": 0.0005, "statistic": "p50"},
        "floor": {"metric": "headcount", "at_least": 1000, "tolerance": 10, "year": 2026},
    },
}


def test_a_robust_file_reads_as_the_analyst_wrote_it() -> None:
    targets = load_targets(ROBUST_FILE)

    budget, growth, floor = targets.targets
    assert (budget.bound, budget.target_value, budget.statistic, budget.share) == (
        Bound.AT_MOST,
        1.6e9,
        Statistic.SHARE_WITHIN,
        0.9,
    )
    assert budget.tolerance == pytest.approx(8e6)  # the margin: 0.5 % of the bound
    assert (growth.bound, growth.statistic, growth.tolerance) == (Bound.TWO_SIDED, "p50", 0.0005)
    assert (floor.bound, floor.target_value, floor.tolerance, floor.statistic) == (
        Bound.AT_LEAST,
        1000,
        10,
        None,
    )
    assert targets.robust and targets.robust_seeds == 8
    assert targets.seeds(42) == tuple(range(42, 50))  # the loop's seed first


def test_without_a_statistic_a_file_is_not_robust_and_uses_the_loops_seed_alone() -> None:
    targets = load_targets({"targets": {"budget": {"metric": COST, "at_most": 2e8}}})

    [budget] = targets.targets
    assert budget.bound == Bound.AT_MOST
    assert budget.tolerance == pytest.approx(0.02 * 2e8)  # the default relative margin
    assert not targets.robust and targets.seeds(42) == (42,)


def _with_target(**body: Any) -> dict[str, Any]:
    return {"optimization": {"robust_seeds": 4}, "targets": {"cost": {"metric": COST, **body}}}


BAD_ROBUST_TARGETS = [
    pytest.param(
        {"targets": {"cost": {"metric": COST, "target_value": 2e8, "at_most": 2e8}}},
        ["targets.cost", "exactly one of target_value, at_most or at_least", "target_value and"],
        id="target_value and at_most",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "at_most": 2e8, "at_least": 1e8}}},
        ["targets.cost", "not at_most and at_least"],
        id="at_most and at_least",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "tolerance": 5}}},
        ["targets.cost", "needs `target_value:`", "`at_most:` / `at_least:`"],
        id="no value nor bound",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "at_most": float("inf")}}},
        ["targets.cost.at_most", "finite"],
        id="bound not finite",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "at_most": 2e8, "tolerance": 0}}},
        ["targets.cost.tolerance", "greater than 0"],
        id="margin 0",
    ),
    pytest.param(
        {"targets": {"gap": {"metric": "headcount_growth", "at_least": 0}}},
        ["targets.gap", "relative tolerance of a bound (at_least) of 0", "absolute `tolerance:`"],
        id="relative margin on a bound of 0",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "at_mots": 2e8}}},
        ["targets.cost.at_mots", "Extra inputs are not permitted"],
        id="unknown key in a target",
    ),
    pytest.param(
        {"targets": {"cost": {"metric": COST, "at_most": 2e8, "statistic": "p90"}}},
        ["optimization.robust_seeds", "cost names a statistic over seeds", "robust_seeds: K"],
        id="statistic without robust_seeds",
    ),
    pytest.param(
        _with_target(at_most=2e8, statistic="p95"),
        ["targets.cost.statistic", "'mean', 'p10', 'p50', 'p90' or 'share_within'"],
        id="unknown statistic",
    ),
    pytest.param(
        _with_target(at_most=2e8, statistic="share_within"),
        ["targets.cost.share", "share_within needs `share: q`"],
        id="share_within without share",
    ),
    pytest.param(
        _with_target(at_most=2e8, statistic="share_within", share=0),
        ["targets.cost.share", "greater than 0"],
        id="share 0",
    ),
    pytest.param(
        _with_target(at_most=2e8, statistic="share_within", share=1.2),
        ["targets.cost.share", "less than or equal to 1"],
        id="share above 1",
    ),
    pytest.param(
        _with_target(at_most=2e8, statistic="p90", share=0.9),
        ["targets.cost.share", "only to `statistic: share_within`"],
        id="share without share_within",
    ),
    pytest.param(
        {"optimization": {"robust_seeds": 1}, "targets": {COST: {"at_most": 2e8}}},
        ["optimization.robust_seeds", "greater than or equal to 2"],
        id="robust_seeds 1",
    ),
    pytest.param(
        {"optimization": {"robust_seeds": 65}, "targets": {COST: {"at_most": 2e8}}},
        ["optimization.robust_seeds", "less than or equal to 64"],
        id="robust_seeds 65",
    ),
    pytest.param(
        {"optimization": {"robust_seeds": 4}, "targets": {"cost": {"metric": COST, "at_most": 2}}},
        ["optimization.robust_seeds", "no target names a `statistic`"],
        id="robust_seeds without a statistic",
    ),
    pytest.param(
        {
            "optimization": {"robust_seeds": 4, "levers": ["merit_base", "promotion_probability"]},
            "targets": {"cost": {"metric": COST, "at_most": 2e8, "statistic": "p90"}},
        },
        ["optimization.levers", "promotion_probability decides who is promoted"],
        id="structural lever with robust targets",
    ),
]


@pytest.mark.parametrize("content,expected", BAD_ROBUST_TARGETS)
def test_a_bad_one_sided_or_robust_target_is_rejected_naming_the_key(
    content: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    path = write_targets(tmp_path / "targets.yaml", content)

    with pytest.raises(UserError) as raised:
        load_targets(path)

    message = str(raised.value)
    for fragment in expected:
        assert fragment in message, message


def test_the_example_in_the_targets_module_docstring_loads() -> None:
    import yaml

    from planwise.optimization import targets as module

    assert module.__doc__ is not None
    example = module.__doc__.split("```yaml\n")[1].split("```")[0]
    loaded = load_targets(yaml.safe_load(example))

    assert [t.statistic for t in loaded.targets] == ["p90", "p50"]
    assert loaded.targets[0].bound == Bound.AT_MOST


# --- residuals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bound,value,residual",
    [
        pytest.param(Bound.TWO_SIDED, 97.0, -1.5, id="two-sided below"),
        pytest.param(Bound.TWO_SIDED, 101.0, 0.5, id="two-sided inside"),
        pytest.param(Bound.AT_MOST, 90.0, 0.0, id="at_most far below: no pull"),
        pytest.param(Bound.AT_MOST, 98.0, 0.0, id="at_most a margin below: aimed at"),
        pytest.param(Bound.AT_MOST, 99.0, 0.5, id="at_most inside the margin"),
        pytest.param(Bound.AT_MOST, 100.0, 1.0, id="at_most on the bound: met"),
        pytest.param(Bound.AT_MOST, 102.0, 2.0, id="at_most over budget"),
        pytest.param(Bound.AT_LEAST, 110.0, 0.0, id="at_least far above"),
        pytest.param(Bound.AT_LEAST, 100.0, -1.0, id="at_least on the bound: met"),
        pytest.param(Bound.AT_LEAST, 97.0, -2.5, id="at_least short"),
    ],
)
def test_the_residual_is_met_within_one_whatever_the_side(
    bound: Bound, value: float, residual: float
) -> None:
    target = _target(bound)

    assert target.residual(value) == pytest.approx(residual)
    assert target.inside(value) == (abs(residual) <= 1.0)


# --- statistics over seeds --------------------------------------------------------------

SEED_VALUES = [99.0, 104.0, 97.0, 101.0, 95.0, 103.0, 100.5, 98.0]


@pytest.mark.parametrize(
    "target,expected",
    [
        pytest.param(_target(), 99.0, id="not robust: the loop's seed"),
        pytest.param(_target(statistic=Statistic.MEAN), np.mean(SEED_VALUES), id="mean"),
        pytest.param(_target(statistic=Statistic.P10), np.percentile(SEED_VALUES, 10), id="p10"),
        pytest.param(_target(statistic=Statistic.P50), np.median(SEED_VALUES), id="p50"),
        pytest.param(_target(statistic=Statistic.P90), np.percentile(SEED_VALUES, 90), id="p90"),
        pytest.param(
            _target(Bound.AT_MOST, Statistic.SHARE_WITHIN, 0.75),
            101.0,  # the 6th smallest of 8: 6 seeds are at or below it
            id="share_within at_most: the seed at rank ceil(qK)",
        ),
        pytest.param(
            _target(Bound.AT_LEAST, Statistic.SHARE_WITHIN, 0.5),
            100.5,  # the 4th largest
            id="share_within at_least: the seed at rank ceil(qK) from the top",
        ),
        pytest.param(
            _target(Bound.TWO_SIDED, Statistic.SHARE_WITHIN, 0.5),
            98.0,  # distances 1, 4, 3, 1, 5, 3, 0.5, 2: the 4th smallest is 2, median below
            id="share_within two-sided: the target ∓ the ceil(qK)-th distance",
        ),
    ],
)
def test_a_robust_target_is_measured_by_its_statistic_over_the_seeds(
    target: Target, expected: float
) -> None:
    assert statistic_value(target, SEED_VALUES) == pytest.approx(float(expected))


@pytest.mark.parametrize("bound", list(Bound), ids=[bound.value for bound in Bound])
@pytest.mark.parametrize("share", [0.25, 0.5, 0.75, 0.9, 1.0])
def test_share_within_is_met_exactly_when_enough_seeds_are_inside(
    bound: Bound, share: float
) -> None:
    target = _target(bound, Statistic.SHARE_WITHIN, share)
    rng = np.random.default_rng(16)
    for _ in range(200):
        values = list(rng.normal(100.0, 3.0, size=int(rng.integers(2, 12))))
        inside = sum(target.inside(value) for value in values)

        met = target.inside(statistic_value(target, values))

        assert met == (inside >= required_seeds(share, len(values))), (values, share)
        assert met == (inside / len(values) >= share - 1e-12)


def test_an_evaluation_on_seeds_reports_the_share_of_seeds_inside_each_robust_target() -> None:
    budget = Target("budget", COST, 100.0, 2.0, Priority.HIGH, "each", Bound.AT_MOST, "p90")
    growth = Target("growth", CAGR, 0.05, 0.001, Priority.MEDIUM, "final")
    # per seed: cost in 2025, 2026, 2027, then the CAGR (the loop's seed first)
    samples = [
        (90.0, 95.0, 99.0, 0.050),
        (91.0, 96.0, 101.0, 0.070),  # over budget in 2027
        (92.0, 97.0, 100.0, 0.030),
        (93.0, 101.0, 98.0, 0.050),  # over budget in 2026
    ]

    evaluation = evaluate_samples(YEARS, (budget, growth), samples, np.zeros(1))

    assert evaluation.values_by_key == pytest.approx(
        {
            "budget@2025": np.percentile([90, 91, 92, 93], 90),
            "budget@2026": np.percentile([95, 96, 97, 101], 90),
            "budget@2027": np.percentile([99, 101, 100, 98], 90),
            "growth@final": 0.050,  # not robust: the loop's seed
        }
    )
    assert evaluation.share_inside(budget) == 0.5  # inside every year on the 1st and 3rd seed
    assert evaluation.share_inside(growth) is None
    assert not evaluation.within(budget)  # P90 in 2026 is 99.8 … 2027 is 100.7 > 100
    assert evaluation.within(growth)


def test_a_value_missing_on_any_seed_is_a_user_error() -> None:
    budget = Target("budget", COST, 100.0, 2.0, Priority.HIGH, "final", Bound.AT_MOST, "p90")

    with pytest.raises(UserError, match=r"targets\.budget: total_compensation_cost is not"):
        evaluate_samples(YEARS, (budget,), [(1.0,), (math.nan,)], np.zeros(1))


# --- the report -------------------------------------------------------------------------


def _result(rows: list[TargetRow], **extra: Any) -> OptimizationResult:
    return OptimizationResult(
        optimization_id=1,
        scenario_id="default",
        mode=Mode.BALANCED,
        converged=True,
        stop_reason=StopReason.CONVERGED,
        explanation="",
        simulations=2,
        replays=12,
        iterations=[],
        best_parameter_set_id=3,
        best_run_id=2,
        start_parameter_set_id=1,
        target_rows=rows,
        sensitivities={},
        robustness=None,
        robustness_warning=None,
        duration_seconds=1.0,
        **extra,
    )


def _robust_rows() -> list[TargetRow]:
    targets = load_targets(
        {
            "optimization": {"robust_seeds": 4},
            "targets": {
                "budget": {"metric": COST, "at_most": 100.0, "tolerance": 2.0, "statistic": "p90"},
                "growth": {"metric": CAGR, "target_value": 0.05, "tolerance": 0.001},
            },
        }
    )
    budget, growth = targets.targets
    start = Evaluation(
        np.zeros(1),
        (
            Component(budget, "final", 104.0, (101.0, 104.0, 102.0, 99.0)),
            Component(growth, "final", 0.04),
        ),
    )
    best = Evaluation(
        np.ones(1),
        (
            Component(budget, "final", 99.5, (98.0, 99.0, 101.0, 97.0)),
            Component(growth, "final", 0.0505),
        ),
    )
    return target_rows(targets, start, best)


def test_the_report_gives_each_robust_target_its_statistic_and_share_of_seeds_inside() -> None:
    budget, growth = _robust_rows()

    assert (budget.bound, budget.statistic, budget.seeds) == ("at_most", "p90", 4)
    assert (budget.start_value, budget.final_value, budget.within_tolerance) == (104, 99.5, True)
    assert (budget.start_share_inside, budget.share_inside) == (0.25, 0.75)
    assert budget.goal == "P90 ≤ 100"
    assert (growth.bound, growth.statistic, growth.seeds, growth.share_inside) == (
        None,
        None,
        None,
        None,
    )
    assert budget.inside(100.0) and not budget.inside(100.01)
    assert growth.inside(0.0509) and not growth.inside(0.0511)


def test_a_robust_report_round_trips_and_an_old_report_still_loads() -> None:
    result = _result(_robust_rows(), robust_seeds=[42, 43, 44, 45], seed_plans=3, seed_replays=51)

    stored = json.loads(json.dumps(result.to_dict()))
    stored.pop("iterations")
    loaded = OptimizationResult.from_report(stored, [])

    assert loaded.target_rows == result.target_rows
    assert (loaded.robust_seeds, loaded.seed_plans, loaded.seed_replays) == (
        [42, 43, 44, 45],
        3,
        51,
    )
    assert (
        "| budget | total_compensation_cost | final | 104 | 99.5 | P90 ≤ 100 | yes | 75% of 4 |"
        in (loaded.target_table_markdown())
    )

    old = {key: value for key, value in stored.items() if key not in _NEW_KEYS}
    old["target_rows"] = [
        {key: value for key, value in row.items() if key not in _NEW_ROW_KEYS}
        for row in stored["target_rows"]
    ]
    before = OptimizationResult.from_report(old, [])
    assert (before.robust_seeds, before.seed_plans, before.seed_replays) == ([], 0, 0)
    assert before.target_rows[0].bound is None and before.target_rows[0].share_inside is None
    assert before.target_table_markdown().startswith("| target | metric | year | start | final |")


_NEW_KEYS = {"robust_seeds", "seed_plans", "seed_replays"}
_NEW_ROW_KEYS = {"bound", "statistic", "share", "seeds", "share_inside", "start_share_inside"}


def test_the_commented_robust_example_of_the_workspace_targets_file_loads() -> None:
    import yaml

    example = Path(__file__).parents[2] / "src" / "planwise" / "example_targets.yaml"
    commented = example.read_text(encoding="utf-8").split("# optimization:\n")[1]
    block = "optimization:\n" + "\n".join(line[2:] for line in commented.splitlines())

    loaded = load_targets(yaml.safe_load(block))

    budget, growth = loaded.targets
    assert (budget.bound, budget.statistic, budget.share) == (Bound.AT_MOST, "share_within", 0.9)
    assert (growth.statistic, loaded.robust_seeds) == ("p50", 8)
    assert not load_targets(example).robust  # the demo's own targets are unchanged


def test_evaluating_levers_against_robust_targets_simulates_each_seed(
    shared_workspace: Workspace,
) -> None:
    baseline = baseline_of(shared_workspace.root)
    seeds = range(baseline.settings.seed, baseline.settings.seed + 3)
    costs = [
        run_metrics(
            simulate(
                baseline.workforce,
                baseline.settings,
                baseline.levers,
                start_year=baseline.settings.start_year,
                years=baseline.settings.years,
                seed=seed,
            )
        ).value(COST)
        for seed in seeds
    ]
    budget = float(np.median(costs))
    targets = {
        "optimization": {"robust_seeds": 3},
        "targets": {"budget": {"metric": COST, "at_most": budget, "statistic": "p90"}},
    }

    evaluated = application.evaluate_levers(shared_workspace, EvaluateRequest(targets))

    assert evaluated.values == {"budget@final": pytest.approx(np.percentile(costs, 90))}
    assert not evaluated.within_tolerance  # the P90 is above the median
    assert evaluated.metrics.value(COST) == costs[0]  # the loop's seed's own metrics
