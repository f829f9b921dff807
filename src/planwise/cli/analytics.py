"""`planwise analytics …`: the dbt analytics layer over the stored results."""

from __future__ import annotations

import typer

__all__ = ["analytics_app"]

analytics_app = typer.Typer(help="Build the dbt marts and run their data tests.", no_args_is_help=True)
