"""Answers an analyst can sign (issue 14, item 1; tuning-loop.md, "Modes").

- A lever's usual range (its warning range) is a soft bound: on a battery of feasible
  targets drawn inside the usual ranges, every answer stays inside them; a target that
  needs a lever outside its usual range converges "with warnings" naming the lever, the
  levels, the value, the usual range and the targets that missed inside it.
- The analyst's structure across levels is kept: a family that rises with level at the
  start still does at the answer (regression: balanced mode answered merit
  3.37/3.07/3.87/3.47/3.67 % from 3.0/3.2/3.4/3.6/3.8 %).
- The answer says what moved in one plain sentence built from the lever declarations.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from tuning_support import Baseline, LeverValues, baseline_of, query, stored_levers

from planwise import application
from planwise.application import EditLeversRequest, LeverEdit, OptimizeRequest, Workspace
from planwise.config import Settings
from planwise.metrics import metric_label
from planwise.optimization import OptimizationResult
from planwise.optimization.answer import change_summary, lever_changes
from planwise.optimization.report import ChangeKind, OptimizationStatus, Verdict
from planwise.optimization.space import DecisionSpace, Grain
from planwise.optimization.targets import MODES
from planwise.parameters.declarations import parameter_spec
from planwise.parameters.levers import (
    Lever,
    LeverSet,
    ResolvedLevers,
    default_lever_set,
    resolve_levers,
)

BATTERY_SEED = 20_250_114
DRAWS_PER_SHAPE = 2
MAX_SIMULATIONS = 10
ORDER_TOLERANCE = 1e-12
MERIT_AND_COLA = ("merit_base", "cola_rate")
ALL_THREE = ("merit_base", "cola_rate", "new_hire_salary_adjustment")
BANDS: dict[str, dict[str, float]] = {
    "compensation_growth_cagr": {"tolerance": 0.0005},
    "total_compensation_cost": {"tolerance_pct": 0.01},
    "median_merit_increase": {"tolerance": 0.001},
    "new_hire_pay_ratio": {"tolerance": 0.02},
    "merit_spend": {"tolerance_pct": 0.02},
}


@dataclass(frozen=True)
class Shape:
    name: str
    levers: tuple[str, ...]
    metrics: tuple[str, ...]  # final-year targets


SHAPES = (
    Shape("cost+merit", MERIT_AND_COLA, ("total_compensation_cost", "median_merit_increase")),
    Shape("merit+cagr", MERIT_AND_COLA, ("median_merit_increase", "compensation_growth_cagr")),
    Shape(
        "cost+merit+cagr",
        ALL_THREE,
        ("total_compensation_cost", "median_merit_increase", "compensation_growth_cagr"),
    ),
    Shape("ratio+cagr", ALL_THREE, ("new_hire_pay_ratio", "compensation_growth_cagr")),
    # more targets than families: balanced and aggressive need levels moved on their own
    Shape("merit+spend", ("merit_base",), ("median_merit_increase", "merit_spend")),
    Shape(
        "merit+cost+cagr",
        MERIT_AND_COLA,
        ("median_merit_increase", "total_compensation_cost", "compensation_growth_cagr"),
    ),
)


@dataclass(frozen=True)
class Case:
    number: int
    mode: str
    shape: Shape
    draw: dict[str, tuple[float, ...]]  # family → one value per level (levels 1..5)

    @property
    def case_id(self) -> str:
        return f"{self.number:02d}-{self.mode}-{self.shape.name}"

    def lever_values(self, baseline: Baseline) -> LeverValues:
        return {
            family: dict(zip(baseline.levels, values, strict=True))
            for family, values in self.draw.items()
        }


def _draw(rng: np.random.Generator, family: str, mode: str) -> tuple[float, ...]:
    """A point inside the usual range with the start's level order: conservative scales
    the defaults (its only move); otherwise a rising family gets sorted draws and a flat
    one a single value at every level."""
    spec = parameter_spec(family)
    assert spec.warning_range is not None
    low, high = spec.warning_range
    defaults = np.array(spec.defaults)
    if mode == "conservative":
        scale = rng.uniform(low / defaults.min(), high / defaults.max())
        return tuple(float(value) for value in defaults * scale)
    if np.all(defaults == defaults[0]):
        return (float(rng.uniform(low, high)),) * len(defaults)
    return tuple(float(value) for value in np.sort(rng.uniform(low, high, len(defaults))))


def _battery() -> list[Case]:
    rng = np.random.default_rng(BATTERY_SEED)
    cases: list[Case] = []
    for shape in SHAPES:
        for mode in MODES:
            for _ in range(DRAWS_PER_SHAPE):
                draw = {family: _draw(rng, family, mode) for family in shape.levers}
                cases.append(Case(len(cases) + 1, mode, shape, draw))
    return cases


CASES = _battery()


def _targets(case: Case, baseline: Baseline) -> dict[str, Any]:
    metrics = baseline.metrics(case.lever_values(baseline))
    return {
        "optimization": {
            "mode": case.mode,
            "levers": list(case.shape.levers),
            "max_iterations": MAX_SIMULATIONS,
        },
        "targets": {
            metric: {"target_value": metrics.value(metric), **BANDS[metric]}
            for metric in case.shape.metrics
        },
    }


@dataclass(frozen=True)
class Outcome:
    case: Case
    targets: dict[str, Any]
    result: OptimizationResult
    start: ResolvedLevers
    best: ResolvedLevers


@pytest.fixture(scope="module")
def run_case(shared_workspace: Workspace) -> Callable[[Case], Outcome]:
    baseline = baseline_of(shared_workspace.root)
    outcomes: dict[str, Outcome] = {}

    def run(case: Case) -> Outcome:
        if case.case_id not in outcomes:
            targets = _targets(case, baseline)
            result = application.optimize(shared_workspace, OptimizeRequest(targets))
            assert result.best_parameter_set_id is not None
            sets = stored_levers(
                shared_workspace, [result.start_parameter_set_id, result.best_parameter_set_id]
            )
            outcomes[case.case_id] = Outcome(
                case,
                targets,
                result,
                sets[result.start_parameter_set_id],
                sets[result.best_parameter_set_id],
            )
        return outcomes[case.case_id]

    return run


def _assert_inside_usual_ranges(outcome: Outcome) -> None:
    for family in outcome.case.shape.levers:
        low, high = parameter_spec(family).warning_range or (-np.inf, np.inf)
        values = outcome.best.values[family][:, list(outcome.best.levels)]
        assert values.min() >= low - ORDER_TOLERANCE, (family, values)
        assert values.max() <= high + ORDER_TOLERANCE, (family, values)


def _assert_level_order_kept(start: ResolvedLevers, best: ResolvedLevers, family: str) -> None:
    """Each pair of neighbouring levels keeps the direction it had at the start: rising
    stays non-decreasing, falling non-increasing, equal stays equal."""
    levels = list(start.levels)
    before = np.diff(start.values[family][:, levels], axis=1)
    after = np.diff(best.values[family][:, levels], axis=1)
    assert np.all(after[before > 0] >= -ORDER_TOLERANCE), (family, after)
    assert np.all(after[before < 0] <= ORDER_TOLERANCE), (family, after)
    assert np.all(np.abs(after[before == 0]) <= ORDER_TOLERANCE), (family, after)


@pytest.mark.parametrize("case", CASES, ids=[case.case_id for case in CASES])
def test_a_feasible_target_inside_the_usual_ranges_gets_an_answer_inside_them_in_order(
    run_case: Callable[[Case], Outcome], case: Case
) -> None:
    outcome = run_case(case)
    result = outcome.result
    print(case.case_id, outcome.targets, result.change_summary)  # shown when it fails

    assert result.verdict == Verdict.CONVERGED, result.explanation
    assert result.converged and result.stop_reason == "converged"
    assert result.lever_warnings == []
    assert result.simulations <= MAX_SIMULATIONS
    best = next(r for r in result.iterations if r.run_id == result.best_run_id)
    assert best.is_simulation and best.within_tolerance  # confirmed by a full simulation
    _assert_inside_usual_ranges(outcome)
    for family in case.shape.levers:
        _assert_level_order_kept(outcome.start, outcome.best, family)


def test_the_battery_stays_within_its_simulation_budget_in_every_mode(
    run_case: Callable[[Case], Outcome],
) -> None:
    outcomes = [run_case(case) for case in CASES]
    by_mode = {
        mode: [o.result.simulations for o in outcomes if o.case.mode == mode] for mode in MODES
    }
    print(
        "plausible battery: "
        + "; ".join(
            f"{mode} {len(spent)} cases, simulations median {statistics.median(spent):g} "
            f"max {max(spent)}"
            for mode, spent in by_mode.items()
        )
    )

    assert len(outcomes) == len(SHAPES) * len(MODES) * DRAWS_PER_SHAPE
    assert all(max(spent) <= MAX_SIMULATIONS for spent in by_mode.values())


def test_the_battery_is_deterministic_and_drawn_in_order_inside_the_usual_ranges() -> None:
    assert _battery() == CASES
    for case in CASES:
        for family, values in case.draw.items():
            low, high = parameter_spec(family).warning_range or (-np.inf, np.inf)
            assert all(low <= value <= high for value in values)
            assert list(values) == sorted(values)


# --- leaving a usual range only when the targets need it --------------------------------

CAGR_4_PERCENT = {"compensation_growth_cagr": {"target_value": 0.04, "tolerance": 0.0005}}


@pytest.mark.parametrize("mode", MODES)
def test_growth_that_needs_cola_below_its_usual_range_converges_with_a_warning_naming_it(
    shared_workspace: Workspace, mode: str
) -> None:
    """Regression: a 4 % growth target was met by cutting COLA to 0.50 % at every level and
    reported a plain "converged". Merit is held to its usual range by hard bounds here, so
    COLA is the one lever that has to leave it."""
    targets = {
        "optimization": {
            "mode": mode,
            "levers": list(MERIT_AND_COLA),
            "bounds": {"merit_base": [0.02, 0.08]},
        },
        "targets": CAGR_4_PERCENT,
    }

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert result.converged
    assert result.verdict == Verdict.CONVERGED_WITH_WARNINGS
    assert result.stop_reason == "converged"
    [warning] = result.lever_warnings
    assert (warning.lever, warning.label, warning.side) == ("cola_rate", "COLA", "below")
    assert warning.levels == (1, 2, 3, 4, 5)
    assert (warning.usual_low, warning.usual_high) == (0.01, 0.06)
    assert 0.0 <= warning.value < 0.01
    assert warning.outside_by == pytest.approx(0.01 - warning.value)
    message = warning.message
    assert message.startswith(f"COLA is {parameter_spec('cola_rate').format_value(warning.value)}")
    assert "at every level" in message and "below its usual range 1.0%–6.0%" in message
    # why: the target missed at the best point inside the usual ranges
    assert "inside the usual ranges the targets cannot all be met" in message
    assert f"{metric_label('compensation_growth_cagr')} is " in message
    assert "against 4.00% ± 0.05 pp" in message
    assert "COLA" in result.explanation
    [(status, converged)] = query(
        shared_workspace,
        "SELECT status, converged FROM optimization_runs WHERE optimization_id = ?",
        [result.optimization_id],
    )
    assert (status, converged) == (OptimizationStatus.CONVERGED_WITH_WARNINGS, True)
    shown = application.show_optimization(shared_workspace, result.optimization_id)
    assert shown.verdict == Verdict.CONVERGED_WITH_WARNINGS
    assert shown.lever_warnings == result.lever_warnings
    assert shown.changes == result.changes and shown.change_summary == result.change_summary


@pytest.mark.parametrize(
    "mode,levers,cagr",
    [
        ("conservative", MERIT_AND_COLA, 0.04),
        ("balanced", MERIT_AND_COLA, 0.04),
        ("aggressive", ALL_THREE, 0.199),
        ("balanced", ALL_THREE, 0.199),
    ],
    ids=["conservative-4%", "balanced-4%", "aggressive-19.9%", "balanced-19.9%"],
)
def test_every_lever_outside_its_usual_range_is_named_and_only_those(
    shared_workspace: Workspace, mode: str, levers: tuple[str, ...], cagr: float
) -> None:
    """Regression: a 19.9 %/year target "converged" with COLA 12.2 % and new-hire pay ×2."""
    targets = {
        "optimization": {"mode": mode, "levers": list(levers)},
        "targets": {"compensation_growth_cagr": {"target_value": cagr, "tolerance": 0.0005}},
    }

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert result.verdict == Verdict.CONVERGED_WITH_WARNINGS, result.explanation
    assert result.simulations <= MAX_SIMULATIONS
    assert result.best_parameter_set_id is not None
    best = stored_levers(shared_workspace, [result.best_parameter_set_id])[
        result.best_parameter_set_id
    ]
    named = {(warning.lever, warning.side): warning for warning in result.lever_warnings}
    for family in levers:
        low, high = parameter_spec(family).warning_range or (-np.inf, np.inf)
        values = best.values[family][:, list(best.levels)]
        for side, outside in (("below", values < low), ("above", values > high)):
            assert outside.any() == ((family, side) in named), (family, side, values)
            if outside.any():
                warning = named[(family, side)]
                levels = tuple(int(level) for level in np.flatnonzero(outside.any(axis=0)) + 1)
                assert warning.levels == levels
                farthest = values.min() if side == "below" else values.max()
                assert warning.value == pytest.approx(farthest, abs=1e-12)
                assert f"{side} its usual range" in warning.message
    start = stored_levers(shared_workspace, [result.start_parameter_set_id])[
        result.start_parameter_set_id
    ]
    for family in levers:
        _assert_level_order_kept(start, best, family)


def test_a_start_the_analyst_set_outside_its_usual_range_is_not_forced_back_in(
    workspace: Workspace,
) -> None:
    """COLA 0.5 % (below its usual 1–6 %) is the analyst's choice: the answer may keep it
    there, and does not report it as a lever the optimizer moved out."""
    application.edit_levers(workspace, EditLeversRequest((LeverEdit("cola_rate", 0.005),)))
    baseline = baseline_of(workspace.root)
    reachable = baseline.metrics(
        {"cola_rate": dict.fromkeys(baseline.levels, 0.005), "merit_base": {5: 0.045}}
    )
    targets = {
        "optimization": {"mode": "balanced", "levers": list(MERIT_AND_COLA)},
        "targets": {
            "compensation_growth_cagr": {
                "target_value": reachable.value("compensation_growth_cagr"),
                "tolerance": 0.0005,
            }
        },
    }

    result = application.optimize(workspace, OptimizeRequest(targets))

    assert result.verdict == Verdict.CONVERGED, result.explanation
    assert result.lever_warnings == []
    assert result.best_parameter_set_id is not None
    best = stored_levers(workspace, [result.best_parameter_set_id])[result.best_parameter_set_id]
    assert best.values["cola_rate"][:, 1:].min() >= 0.005 - ORDER_TOLERANCE


# --- the decision space: regions and order --------------------------------------------


def _space(
    mode: str, families: tuple[str, ...], locked_merit: tuple[int, ...] = ()
) -> DecisionSpace:
    """The built-in levers over three years (merit of `locked_merit` levels locked)."""
    settings = Settings(years=3)
    lever_set = default_lever_set(settings.start_year, settings.level_numbers)
    if locked_merit:
        lever_set = LeverSet(
            lever_set.scenario_id,
            tuple(
                Lever(*lever.key, lever.value, True)
                if lever.parameter_name == "merit_base" and lever.job_level in locked_merit
                else lever
                for lever in lever_set.levers
            ),
        )
    years = range(settings.start_year, settings.start_year + settings.years)
    resolved = resolve_levers(years, settings.level_numbers, lever_set)
    bounds = {family: parameter_spec(family).error_range for family in families}
    return DecisionSpace.build(resolved, lever_set, families, bounds, mode)


def _shifts(space: DecisionSpace, **per_family: float | list[float]) -> Any:
    """The point that shifts each named family (one change, or one per level 1..5)."""
    point = space.start.copy()
    for index, variable in enumerate(space.variables):
        change = per_family.get(variable.family, 0.0)
        point[index] += change[variable.level - 1] if isinstance(change, list) else change
    return point


def test_the_region_keeps_usual_ranges_and_level_order_until_a_family_is_relaxed() -> None:
    space = _space("balanced", MERIT_AND_COLA)

    assert space.inside(space.start)
    assert space.inside(_shifts(space, cola_rate=-0.01))  # 1.0 %: the usual floor
    assert not space.inside(_shifts(space, cola_rate=-0.011))
    assert space.inside(_shifts(space, cola_rate=-0.011), relaxed=["cola_rate"])
    assert not space.inside(_shifts(space, cola_rate=-0.021), relaxed=["cola_rate"])  # hard
    # merit 3.0/3.2/3.4/3.6/3.8 rises with level: equal neighbours keep the order, a swap not
    assert space.inside(_shifts(space, merit_base=[0.002, 0.0, 0.0, 0.0, 0.0]))
    assert not space.inside(_shifts(space, merit_base=[0.0021, 0.0, 0.0, 0.0, 0.0]))
    assert not space.inside(
        _shifts(space, merit_base=[0.0, 0.0, 0.0, 0.0, -0.0021]), relaxed=["merit_base"]
    )
    # COLA is flat at the start: its levels move as one in every phase
    basis, _ = space.directions(Grain.LEVEL)
    cola_columns = [
        column
        for column in basis.T
        if any(column[i] for i, v in enumerate(space.variables) if v.family == "cola_rate")
    ]
    assert len(cola_columns) == 1


def test_locked_levels_hold_the_order_of_the_levels_that_move() -> None:
    """Merit of levels 1–2 locked at 3.0/3.2 %: level 3 may not drop below 3.2 %."""
    space = _space("balanced", ("merit_base",), locked_merit=(1, 2))

    assert space.inside(_shifts(space, merit_base=[0.0, 0.0, -0.002, -0.002, -0.002]))
    assert not space.inside(_shifts(space, merit_base=[0.0, 0.0, -0.0021, -0.002, -0.002]))
    conservative = _space("conservative", ("merit_base",), locked_merit=(1, 2))
    assert not conservative.inside(np.array([3.1 / 3.4]))  # a scale too far down
    assert conservative.inside(np.array([3.2 / 3.4]))


# --- what changed, in one sentence -----------------------------------------------------


def test_the_change_summary_reads_as_an_analyst_would_say_it() -> None:
    space = _space("balanced", ("cola_rate", "merit_base", "new_hire_salary_adjustment"))
    point = _shifts(space, cola_rate=-0.004, merit_base=0.002)

    changes = lever_changes(space, point)

    assert change_summary(changes) == (
        "COLA 2.0% → 1.6% at every level; Merit +0.2 pp at every level; New-hire pay unchanged."
    )
    assert [change.kind for change in changes] == [
        ChangeKind.SHIFT,
        ChangeKind.SHIFT,
        ChangeKind.UNCHANGED,
    ]
    assert changes[1].shift == pytest.approx(0.002)
    assert changes[0].before == (0.02,) * 5 and changes[0].after == pytest.approx((0.016,) * 5)


@pytest.mark.parametrize(
    "mode,families,change,expected,kind",
    [
        (
            "conservative",
            ("merit_base",),
            1.1,
            "Merit ×1.10 at every level (L1 3.0% → 3.3%, L2 3.2% → 3.52%, L3 3.4% → 3.74%, "
            "L4 3.6% → 3.96%, L5 3.8% → 4.18%).",
            ChangeKind.SCALE,
        ),
        (
            "balanced",
            ("merit_base",),
            [0.0, 0.0, 0.0, 0.002, 0.002],
            "Merit L4 3.6% → 3.8%, L5 3.8% → 4.0%.",
            ChangeKind.PER_LEVEL,
        ),
        (
            "balanced",
            ("new_hire_salary_adjustment",),
            0.05,
            "New-hire pay ×1.00 → ×1.05 at every level.",
            ChangeKind.SHIFT,
        ),
    ],
    ids=["scale", "per-level", "multiplier"],
)
def test_each_kind_of_change_has_its_phrase(
    mode: str, families: tuple[str, ...], change: Any, expected: str, kind: ChangeKind
) -> None:
    space = _space(mode, families)
    point = (
        np.array([change]) if mode == "conservative" else _shifts(space, **{families[0]: change})
    )

    [described] = lever_changes(space, point)

    assert change_summary([described]) == expected
    assert described.kind == kind


def test_a_converged_answer_reports_what_changed_and_round_trips_through_the_store(
    shared_workspace: Workspace,
) -> None:
    targets = {
        "optimization": {"mode": "conservative", "levers": ["cola_rate"]},
        "targets": {"compensation_growth_cagr": {"target_value": 0.065, "tolerance": 0.0005}},
    }

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert result.verdict == Verdict.CONVERGED
    [change] = result.changes
    assert change.lever == "cola_rate" and change.kind in (ChangeKind.SHIFT, ChangeKind.SCALE)
    assert result.change_summary == change_summary(result.changes)
    spec = parameter_spec("cola_rate")
    assert result.change_summary == (
        f"COLA 2.0% → {spec.format_value(change.after[0])} at every level."
    )
    shown = application.show_optimization(shared_workspace, result.optimization_id)
    assert shown.to_dict() == result.to_dict()


def test_a_report_stored_before_verdicts_existed_still_loads() -> None:
    report: dict[str, Any] = {
        "optimization_id": 1,
        "scenario_id": "default",
        "mode": "balanced",
        "converged": True,
        "stop_reason": "converged",
        "explanation": "Every target is within tolerance after 2 full simulation(s).",
        "simulations": 2,
        "replays": 10,
        "best_parameter_set_id": 2,
        "best_run_id": 2,
        "start_parameter_set_id": 1,
        "target_rows": [],
        "sensitivities": {},
        "robustness": None,
        "robustness_warning": None,
        "duration_seconds": 1.0,
        "applied": False,
        "ignored_keys": [],
        "lever_path": [],
    }

    loaded = OptimizationResult.from_report(report, [])

    assert loaded.verdict == Verdict.CONVERGED
    assert (loaded.lever_warnings, loaded.changes, loaded.change_summary) == ([], [], "")
    assert OptimizationResult.from_report({**report, "converged": False}, []).verdict == (
        Verdict.NOT_CONVERGED
    )
