"""Dagster orchestration of PlanWise: assets, jobs, checks and resources over the core.

Only Dagster-related code imports this package; the core never does.
"""

from planwise_dagster.definitions import defs

__all__ = ["defs"]
