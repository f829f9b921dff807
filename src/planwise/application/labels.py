"""Plain words for the codes the store keeps (status codes, event types, stop reasons,
modes, iteration kinds, set sources): what an analyst reads instead of snake_case.

Metric and lever labels live beside their declarations (`planwise.metrics.METRICS`,
`planwise.parameters.PARAMETERS`); these are the other codes a shell shows.

>>> plain_word("continuous_active")
'Active all year'
>>> lever_key_label("merit_base[L2]", {2: "Manager"})
'Merit · Manager'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from planwise.parameters.declarations import PARAMETERS

__all__ = [
    "WORDS",
    "lever_key_label",
    "plain_word",
]

WORDS: Mapping[str, str] = {
    # Detailed status codes of the year-end snapshot.
    "continuous_active": "Active all year",
    "experienced_termination": "Left during the year",
    "new_hire_active": "Hired this year, still active",
    "new_hire_termination": "Hired and left this year",
    # Event types.
    "hire": "Hire",
    "termination": "Termination",
    "promotion": "Promotion",
    "merit_increase": "Merit increase",
    "cola": "COLA",
    # Termination reasons.
    "experienced": "Experienced leaver",
    "reduction_in_force": "Reduction in force",
    "new_hire": "New-hire leaver",
    # Why an optimization stopped (and its stored status).
    "converged": "Converged",
    "converged_with_warnings": "Converged with warnings",
    "not_converged": "Not converged",
    "infeasible": "Out of reach within the lever bounds",
    "conflicting": "The targets pull against each other",
    "insensitive": "The levers barely move the targets",
    "budget": "Simulation budget spent",
    "failed": "Failed",
    "running": "Running",
    "interrupted": "Interrupted",
    # Optimization modes and target priorities.
    "conservative": "Conservative",
    "balanced": "Balanced",
    "aggressive": "Aggressive",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    # Iteration kinds.
    "start": "Start",
    "step": "Step",
    "probe": "Probe",
    "resume": "Resume",
    "replay": "Pay replay",
    # Where a parameter set came from; why a run was made.
    "init": "Initial",
    "import": "Imported file",
    "edit": "Edit",
    "optimizer": "Optimizer",
    "rollback": "Rollback",
    "simulate": "Simulation",
    "optimization": "Optimization",
    # What differs between two parameter sets.
    "changed": "Value changed",
    "lock": "Lock changed",
}

_LEVER_KEY = re.compile(r"^(?P<family>[a-z_]+)(?:\[L(?P<level>\d+)\])?$")


def plain_word(code: object) -> str:
    """The plain word for a stored code; an unknown code with its underscores as spaces."""
    text = str(code)
    return WORDS.get(text, text.replace("_", " ").capitalize())


def lever_key_label(key: str, level_names: Mapping[int, str]) -> str:
    """A solver's lever key (`merit_base[L2]`, or a family `cola_rate`) in plain words."""
    found = _LEVER_KEY.match(key)
    labels = {spec.name: spec.label for spec in PARAMETERS}
    if found is None or found["family"] not in labels:
        return key
    label = labels[found["family"]]
    if found["level"] is None:
        return f"{label} · every level"
    level = int(found["level"])
    return f"{label} · {level_names.get(level, f'level {level}')}"
