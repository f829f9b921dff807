"""The compensation levers, declared once: name, event type, unit, defaults, ranges, meaning.

Validation, the CLI help, the optimizer's default bounds and the app's widgets all read
these declarations (simulation-model.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EVENT_TYPES",
    "PARAMETERS",
    "STRUCTURAL_PARAMETERS",
    "ParameterSpec",
    "parameter_spec",
]


@dataclass(frozen=True)
class ParameterSpec:
    """One lever: its defaults by job level and the ranges it is validated against.

    `structural` marks a lever that changes the structure of a year, not only its pay:
    `promotion_probability` changes who is promoted. The engine plans a year (who leaves,
    is promoted, rated, hired) with the structural levers only, so a compensation-only
    replay, which pays stored plans again, cannot move a structural lever; moving one
    needs a full simulation.
    """

    name: str
    event_type: str
    label: str
    description: str
    defaults: tuple[float, ...]
    error_range: tuple[float, float]
    warning_range: tuple[float, float] | None
    risk_below: str
    risk_above: str
    per_level: bool = True
    unit: str = "rate"
    structural: bool = False

    def default_for(self, level: int) -> float:
        """The built-in default for a level; levels past the declared ones take the last."""
        return self.defaults[min(level, len(self.defaults)) - 1]

    def error_message(self, value: float) -> str | None:
        low, high = self.error_range
        if not low <= value <= high:
            return f"{self.name} must be between {low:g} and {high:g}"
        return None

    def warning_message(self, value: float) -> str | None:
        if self.warning_range is None:
            return None
        low, high = self.warning_range
        if value < low or value > high:
            return (
                f"{self.label} {self.format_value(value)} is outside the usual range "
                f"{self.format_range(self.warning_range)} "
                f"({self.risk_below if value < low else self.risk_above})"
            )
        return None

    def format_value(self, value: float) -> str:
        """A value as an analyst reads it: rates in percent, multipliers with ×.

        >>> parameter_spec("cola_rate").format_value(0.02)
        '2.0%'
        >>> parameter_spec("new_hire_salary_adjustment").format_value(1.05)
        '×1.05'
        """
        if self.unit == "multiplier":
            return f"×{value:.2f}"
        return f"{_trimmed(value * 100)}%"

    def format_change(self, before: float, after: float) -> str:
        """A change of the value: percentage points for rates, a difference of the factor
        for multipliers.

        >>> parameter_spec("merit_base").format_change(0.030, 0.032)
        '+0.2 pp'
        """
        if self.unit == "multiplier":
            return f"{after - before:+.2f}"
        return f"{'+' if after >= before else '−'}{_trimmed(abs(after - before) * 100)} pp"

    def format_range(self, bounds: tuple[float, float]) -> str:
        return f"{self.format_value(bounds[0])}–{self.format_value(bounds[1])}"


PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        name="merit_base",
        event_type="RAISE",
        label="Merit",
        description="Merit raise for a rating-3 employee, by level, before the rating multiplier.",
        defaults=(0.030, 0.032, 0.034, 0.036, 0.038),
        error_range=(0.0, 0.25),
        warning_range=(0.02, 0.08),
        risk_below="retention risk",
        risk_above="budget risk",
    ),
    ParameterSpec(
        name="cola_rate",
        event_type="RAISE",
        label="COLA",
        description="Cost-of-living adjustment applied to every active employee on the COLA date.",
        defaults=(0.020, 0.020, 0.020, 0.020, 0.020),
        error_range=(0.0, 0.15),
        warning_range=(0.01, 0.06),
        risk_below="retention risk",
        risk_above="budget risk",
    ),
    ParameterSpec(
        name="new_hire_salary_adjustment",
        event_type="HIRE",
        label="New-hire pay",
        description="Multiplier on the band midpoint for a new hire's salary.",
        defaults=(1.00, 1.00, 1.00, 1.00, 1.00),
        error_range=(0.5, 2.0),
        warning_range=(0.90, 1.30),
        risk_below="retention risk",
        risk_above="pay-equity risk: new hires out-earn incumbents",
        unit="multiplier",
    ),
    ParameterSpec(
        name="promotion_probability",
        event_type="PROMOTION",
        label="Promotion probability",
        description="Yearly base probability of promotion to the next level.",
        defaults=(0.12, 0.08, 0.05, 0.02, 0.00),
        error_range=(0.0, 1.0),
        warning_range=None,
        risk_below="",
        risk_above="",
        structural=True,
    ),
    ParameterSpec(
        name="promotion_raise",
        event_type="PROMOTION",
        label="Promotion raise",
        description="Raise on promotion (at least the new level's band minimum).",
        defaults=(0.12, 0.12, 0.12, 0.12, 0.12),
        error_range=(0.0, 1.0),
        warning_range=(0.05, 0.30),
        risk_below="retention risk",
        risk_above="budget risk",
    ),
)

EVENT_TYPES: frozenset[str] = frozenset(spec.event_type for spec in PARAMETERS)

STRUCTURAL_PARAMETERS: frozenset[str] = frozenset(
    spec.name for spec in PARAMETERS if spec.structural
)
"""The names of the levers declared `structural`: a pay replay cannot move them."""

_BY_NAME = {spec.name: spec for spec in PARAMETERS}


def parameter_spec(name: str) -> ParameterSpec:
    """The declaration of a lever; KeyError for an unknown name."""
    return _BY_NAME[name]


def _trimmed(percent: float) -> str:
    """A percentage with two decimals at most and one at least: 2.0, 3.25, 3.2."""
    text = f"{percent:.2f}"
    if text.endswith("0"):
        text = text[:-1]
    return "0.0" if text in ("-0.0", "0.0") else text
