"""`planwise`: the scripting surface. Each command is its options plus one call into the core.

Importing the CLI loads Typer and the lever declarations only; each command imports what it
uses when it runs, so `planwise --help` never loads pandas, the store, dbt, Dagster or
Streamlit.
"""

from __future__ import annotations

from typing import Annotated

import typer

from planwise import application
from planwise.cli._common import (
    DEFAULT_SCENARIO,
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    metrics_tables,
    print_tables,
    say,
    workspace_at,
    year_progress,
)
from planwise.cli.analytics import analytics_app
from planwise.cli.census import census_app
from planwise.cli.ensemble import ensemble_app
from planwise.cli.levers import levers_app
from planwise.cli.optimize import (
    EXIT_NOT_CONVERGED,
    optimize_app,
    render_result,
    workspace_option,
)
from planwise.cli.orchestration import register as register_dagster
from planwise.cli.results import CSV_HELP, render_comparison, render_results
from planwise.cli.ui import register as register_ui
from planwise.errors import UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="planwise",
    help="PlanWise Navigator: workforce compensation planning with an automatic tuning loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(census_app, name="census")
app.add_typer(levers_app, name="levers")
app.add_typer(analytics_app, name="analytics")
app.add_typer(optimize_app, name="optimize")
app.add_typer(ensemble_app, name="ensemble")
register_ui(app)
register_dagster(app)

DEMO_EMPLOYEES = 10_000
DEMO_SEED = 20250101


@command(app, "init")
def init(workspace: WorkspaceOption = None) -> None:
    """Create a workspace: planwise.yaml with every default, the store, the default levers."""
    chosen = workspace_at(workspace)
    created = application.init_workspace(chosen).created
    verb = "Created" if created else "Already initialized:"
    say(f"{verb} workspace {chosen.root}")


@command(app, "simulate")
def simulate(
    years: Annotated[int | None, typer.Option(help="Years to simulate (1–50).")] = None,
    start_year: Annotated[int | None, typer.Option(help="First simulated year.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    scenario: Annotated[
        str, typer.Option(help="Scenario whose active levers to use.")
    ] = DEFAULT_SCENARIO,
    parameter_set: Annotated[
        int | None, typer.Option(help="Use this parameter set instead of the active one.")
    ] = None,
    continue_run: Annotated[
        int | None,
        typer.Option("--continue", help="Extend this stored run by --years (default 1) years."),
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Run the multi-year simulation and store events, snapshots and metrics."""
    request = application.SimulateRequest(
        scenario_id=scenario,
        years=years,
        start_year=start_year,
        seed=seed,
        parameter_set_id=parameter_set,
        continue_run_id=continue_run,
    )
    with year_progress() as on_progress:
        run = application.simulate(workspace_at(workspace), request, on_progress)
    if json_output:
        emit_json(
            {
                "run_id": run.run_id,
                "scenario_id": run.scenario_id,
                "parameter_set_id": run.parameter_set_id,
                "seed": run.seed,
                "years": list(run.metrics.years),
                "metrics": run.metrics.per_year,
                "horizon": run.metrics.horizon,
                "seconds": round(run.total_seconds, 3),
            }
        )
        return
    print_tables(metrics_tables(run.metrics, f"Run {run.run_id} · scenario {run.scenario_id}"))
    say(
        f"Stored run {run.run_id} in {run.total_seconds:.2f} s (engine {run.engine_seconds:.2f} s)."
    )


@command(
    app,
    "results",
    help=f"Print a stored run's metrics per year (or compare two runs).\n\n{CSV_HELP}",
    short_help="Print a stored run's metrics per year (or compare two runs).",
)
def results(
    run: Annotated[int | None, typer.Option("--run", help="Run id (default: the latest).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    compare: Annotated[
        tuple[int, int] | None,
        typer.Option("--compare", help="Two run ids: metrics side by side with differences."),
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    chosen = workspace_at(workspace)
    fmt = "json" if json_output else output_format
    if fmt not in ("table", "csv", "json"):
        raise UserError(f"--format must be table, csv or json, got '{output_format}'.")
    if compare is not None:
        render_comparison(application.compare_runs(chosen, *compare), fmt)
    else:
        render_results(application.run_results(chosen, run), fmt)


@command(app, "demo")
def demo(
    employees: Annotated[int, typer.Option(help="Size of the demo census.")] = DEMO_EMPLOYEES,
    workspace: WorkspaceOption = None,
) -> None:
    """The main job on built-in demo data: init, demo census, simulate, optimize, analytics."""
    from planwise.cli._common import level_names, out
    from planwise_dbt import DbtBuilder

    chosen = workspace_at(workspace)
    application.init_workspace(chosen)
    census = application.generate_census(
        chosen, application.GenerateCensusRequest(employees, DEMO_SEED)
    )
    say(f"Demo census: {census.rows:,} employees ({census.census_id}).")
    run = application.simulate(chosen, application.SimulateRequest())
    print_tables(metrics_tables(run.metrics, f"Demo run {run.run_id}: {census.rows:,} employees"))
    say(f"Simulated and stored in {run.total_seconds:.2f} s.")
    say(f"Optimizing the levers to the demo targets in {chosen.targets_path}.")
    result = application.optimize(chosen, application.OptimizeRequest(chosen.targets_path))
    out().print()
    render_result(result, level_names(chosen), workspace_option(workspace))
    say("Building the dbt marts and running their data tests.")
    analytics = application.build_analytics(chosen, application.AnalyticsRequest(), DbtBuilder())
    out().print(
        f"\nAnalytics: {len(analytics.models_built)} models, {len(analytics.tests_passed)} data "
        f"tests passed, {len(analytics.tests_failed)} failed ({analytics.seconds:.1f} s).",
        markup=False,
    )
    say(f"Workspace: {chosen.root}")
    if analytics.tests_failed or analytics.errors:
        failed = ", ".join(analytics.tests_failed + analytics.errors)
        raise UserError(f"The analytics build failed: {failed}.")
    if not result.converged:
        raise typer.Exit(EXIT_NOT_CONVERGED)


def main() -> None:
    app()
