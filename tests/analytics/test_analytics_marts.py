"""The marts agree with the core: every §7 metric per run and year, the baselines, the
horizon, the resolved levers, the cost decomposition, the flows and the optimizer's JSON."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pytest
from analytics_support import (
    LEAN_SCENARIO,
    MONEY_TOLERANCE,
    BuiltWorkspace,
    assert_metric_equal,
)

from planwise.metrics import HORIZON_METRICS, YEAR_METRICS
from planwise.storage import runs
from planwise.storage.parameter_store import load_levers
from run_support import outcomes_of

YEAR_METRIC_NAMES = [spec.name for spec in YEAR_METRICS]
HORIZON_METRIC_NAMES = [spec.name for spec in HORIZON_METRICS]


@contextmanager
def reading(built: BuiltWorkspace) -> Iterator[duckdb.DuckDBPyConnection]:
    with built.workspace.database().connect(read_only=True) as connection:
        yield connection


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(params))
    columns = [description[0] for description in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("run_index", [0, 1], ids=["growing", "shrinking-lean"])
@pytest.mark.parametrize("name", YEAR_METRIC_NAMES)
def test_compensation_growth_equals_the_core_every_year(
    built: BuiltWorkspace, run_index: int, name: str
) -> None:
    run = built.runs[run_index]
    with reading(built) as connection:
        mart = {
            row["simulation_year"]: row[name]
            for row in _rows(
                connection,
                "SELECT * FROM analytics.fct_compensation_growth WHERE run_id = ?",
                run.run_id,
            )
        }
        stored = runs.load_run_metrics(connection, run.run_id)
    assert sorted(mart) == run.metrics.years == stored.years
    for year in run.metrics.years:
        where = f"run {run.run_id} {year} {name}"
        assert_metric_equal(name, mart[year], run.metrics.per_year[year][name], where)
        assert_metric_equal(name, mart[year], stored.per_year[year][name], f"{where} (stored)")


@pytest.mark.parametrize("run_index", [0, 1], ids=["growing", "shrinking-lean"])
def test_horizon_and_baseline_equal_the_core(built: BuiltWorkspace, run_index: int) -> None:
    run = built.runs[run_index]
    with reading(built) as connection:
        (row,) = _rows(
            connection,
            "SELECT * FROM analytics.fct_compensation_horizon WHERE run_id = ?",
            run.run_id,
        )
    for name in HORIZON_METRIC_NAMES:
        assert_metric_equal(name, row[name], run.metrics.horizon[name], f"run {run.run_id} {name}")
    baseline = run.metrics.baseline
    assert row["baseline_year"] == baseline.year
    assert row["baseline_headcount"] == baseline.headcount
    for name in ("total_compensation_cost", "average_salary", "median_salary"):
        assert abs(row[f"baseline_{name}"] - getattr(baseline, name)) <= MONEY_TOLERANCE, name


def test_the_shrinking_run_has_reductions_and_level_five_without_raises(
    built: BuiltWorkspace,
) -> None:
    """Coverage guards: the second run exercises reductions in force and the proration
    equality branch (employed all year without a salary change)."""
    run = built.runs[1]
    assert all(outcome.counts.reductions > 0 for outcome in outcomes_of(built.workspace, run))
    with reading(built) as connection:
        (unchanged,) = connection.execute(
            """SELECT count(*) FROM fct_workforce_snapshot AS snapshot
               WHERE run_id = ? AND detailed_status_code = 'continuous_active'
                 AND NOT EXISTS (SELECT 1 FROM fct_yearly_events AS event
                                 WHERE event.run_id = snapshot.run_id
                                   AND event.simulation_year = snapshot.simulation_year
                                   AND event.employee_id = snapshot.employee_id)""",
            [run.run_id],
        ).fetchall()
    assert unchanged[0] > 0


@pytest.mark.parametrize("run_index", [0, 1], ids=["default-set", "sparse-lean-set"])
def test_effective_parameters_equal_the_core_resolution(
    built: BuiltWorkspace, run_index: int
) -> None:
    run = built.runs[run_index]
    settings = built.workspace.settings()
    years = range(run.result.start_year, run.metrics.years[-1] + 1)
    with reading(built) as connection:
        _, _, resolved = load_levers(
            connection, settings, run.scenario_id, years, run.parameter_set_id
        )
        mart = {
            (row["parameter_name"], row["fiscal_year"], row["job_level"]): row
            for row in _rows(
                connection,
                "SELECT * FROM analytics.int_effective_parameters WHERE parameter_set_id = ?",
                run.parameter_set_id,
            )
        }
    expected = resolved.rows()
    assert expected
    for core in expected:
        row = mart[(core["parameter_name"], core["fiscal_year"], core["job_level"])]
        key = (core["parameter_name"], core["fiscal_year"], core["job_level"])
        assert row["parameter_value"] == core["parameter_value"], key
        assert row["source"] == core["source"], key
        assert row["is_locked"] == core["is_locked"], key
    if run.scenario_id == LEAN_SCENARIO:
        assert {core["source"] for core in expected} == {"scenario", "default scenario", "built-in"}


def test_cost_components_add_up_to_the_year_cost(built: BuiltWorkspace) -> None:
    with reading(built) as connection:
        rows = _rows(
            connection,
            """SELECT cost.run_id, cost.simulation_year,
                      sum(base_cost + new_hire_cost + cola_cost + promotion_cost + merit_cost)
                          AS components,
                      sum(cost.cola_spend) AS cola_spend,
                      sum(cost.merit_spend) AS merit_spend,
                      sum(cost.promotion_spend) AS promotion_spend,
                      any_value(growth.total_compensation_cost) AS total_compensation_cost,
                      any_value(growth.cola_spend) AS growth_cola_spend,
                      any_value(growth.merit_spend) AS growth_merit_spend,
                      any_value(growth.promotion_spend) AS growth_promotion_spend
               FROM analytics.fct_compensation_cost AS cost
               JOIN analytics.fct_compensation_growth AS growth USING (run_id, simulation_year)
               GROUP BY ALL""",
        )
    assert len(rows) == sum(len(run.metrics.years) for run in built.runs)
    for row in rows:
        assert abs(row["components"] - row["total_compensation_cost"]) <= MONEY_TOLERANCE
        for name in ("cola_spend", "merit_spend", "promotion_spend"):
            assert abs(row[name] - row[f"growth_{name}"]) <= MONEY_TOLERANCE, name


@pytest.mark.parametrize("run_index", [0, 1], ids=["growing", "shrinking-lean"])
def test_workforce_flows_equal_the_engine_counts(built: BuiltWorkspace, run_index: int) -> None:
    run = built.runs[run_index]
    with reading(built) as connection:
        flows = {
            row["simulation_year"]: row
            for row in _rows(
                connection,
                """SELECT simulation_year, sum(starting_headcount) AS starting,
                          sum(hires) AS hires, sum(terminations) AS terminations,
                          sum(ending_headcount) AS ending,
                          sum(promotions_in) AS promotions_in,
                          sum(promotions_out) AS promotions_out
                   FROM analytics.fct_workforce_summary WHERE run_id = ? GROUP BY ALL""",
                run.run_id,
            )
        }
    for outcome in outcomes_of(built.workspace, run):
        counts, row = outcome.counts, flows[outcome.year]
        assert row["starting"] == counts.start
        assert row["hires"] == counts.hires
        assert row["terminations"] == (
            counts.experienced_terminations + counts.reductions + counts.new_hire_terminations
        )
        assert row["ending"] == run.metrics.per_year[outcome.year]["headcount"]
        assert row["promotions_in"] == row["promotions_out"]


def test_job_levels_are_the_run_settings(built: BuiltWorkspace) -> None:
    settings = built.workspace.settings()
    with reading(built) as connection:
        rows = _rows(
            connection,
            "SELECT * FROM analytics.dim_job_levels WHERE run_id = ? ORDER BY job_level",
            built.runs[0].run_id,
        )
    assert [
        (row["job_level"], row["job_level_name"], row["min_salary"], row["max_salary"])
        for row in rows
    ] == [
        (level.level, level.name, level.min_salary, level.max_salary)
        for level in settings.job_levels
    ]
    assert [row["is_top_level"] for row in rows] == [False] * (len(rows) - 1) + [True]


def test_optimization_json_is_unnested(built: BuiltWorkspace) -> None:
    with reading(built) as connection:
        rows = _rows(
            connection,
            """SELECT iteration, measure_kind, measure_key, measure_name, job_level,
                      target_year, measure_value, residual, is_residual_within_tolerance
               FROM analytics.fct_optimization_metrics ORDER BY ALL""",
        )
    by_key = {(row["iteration"], row["measure_kind"], row["measure_key"]): row for row in rows}
    assert len(rows) == 6 + 3  # two levers per iteration; 2 + 1 + 0 targets
    lever = by_key[(0, "lever", "merit_base[L1]")]
    assert (lever["measure_name"], lever["job_level"], lever["measure_value"]) == (
        "merit_base",
        1,
        0.03,
    )
    merit = by_key[(0, "metric", "median_merit_increase@final")]
    assert (merit["measure_name"], merit["target_year"]) == ("median_merit_increase", "final")
    assert (merit["measure_value"], merit["residual"]) == (0.034, -1.5)
    assert merit["is_residual_within_tolerance"] is False
    cost = by_key[(0, "metric", "total_compensation_cost@2026")]
    assert (cost["target_year"], cost["measure_value"], cost["residual"]) == ("2026", None, None)
    assert by_key[(1, "metric", "median_merit_increase@final")]["is_residual_within_tolerance"]
    assert not [row for row in rows if row["iteration"] == 2 and row["measure_kind"] == "metric"]
