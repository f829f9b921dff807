"""Compensation levers: declarations, parameter sets and their resolution."""

from planwise.parameters.declarations import (
    EVENT_TYPES,
    PARAMETERS,
    STRUCTURAL_PARAMETERS,
    ParameterSpec,
    parameter_spec,
)
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    Lever,
    LeverDifference,
    LeverKey,
    LeverSet,
    ResolvedLevers,
    default_lever_set,
    diff_lever_sets,
    resolve_levers,
)

__all__ = [
    "DEFAULT_SCENARIO",
    "EVENT_TYPES",
    "PARAMETERS",
    "STRUCTURAL_PARAMETERS",
    "Lever",
    "LeverDifference",
    "LeverKey",
    "LeverSet",
    "ParameterSpec",
    "ResolvedLevers",
    "default_lever_set",
    "diff_lever_sets",
    "parameter_spec",
    "resolve_levers",
]
