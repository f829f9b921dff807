"""PlanWise Navigator: event-sourced workforce compensation planning with a tuning loop."""

__version__ = "0.1.0"

__all__ = ["__version__"]
