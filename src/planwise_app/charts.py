"""Chart axes in the metric's unit: money in $K/$M/$B, rates in %, counts as counts.

Plotly draws numbers as given; these helpers scale a metric's values for its axis and
name the axis with the metric's label and unit, so no chart shows a bare fraction or a
nine-digit dollar figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from planwise.metrics import METRICS, metric_label, money_scale

__all__ = ["Axis", "axis_for", "metric_axis", "style"]


@dataclass(frozen=True)
class Axis:
    """How to show one unit's values: multiply by `factor`, then label and tick."""

    factor: float
    title: str
    prefix: str = ""
    suffix: str = ""

    def scaled(self, values: Iterable[float]) -> list[float]:
        return [value * self.factor for value in values]

    def layout(self) -> dict[str, Any]:
        return {"title": {"text": self.title}, "tickprefix": self.prefix, "ticksuffix": self.suffix}


def axis_for(unit: str, values: Sequence[float], title: str) -> Axis:
    """The axis for values of a unit ("currency", "rate", "count", "ratio")."""
    if unit == "currency":
        finite = [abs(value) for value in values if math.isfinite(value)]
        divisor, suffix = money_scale(max(finite, default=0.0))
        return Axis(1.0 / divisor, f"{title} (${suffix})", "$", suffix)
    if unit == "rate":
        return Axis(100.0, f"{title} (%)", suffix="%")
    if unit == "count":
        return Axis(1.0, title)
    return Axis(1.0, title)


def metric_axis(name: str, values: Sequence[float]) -> Axis:
    """The axis for a metric's values, titled with its label."""
    return axis_for(METRICS[name].unit, values, metric_label(name))


def style(
    figure: go.Figure, title: str, y: Axis, *, x_title: str = "Year", height: int = 320
) -> None:
    """A chart's title, axis titles and units, and a year axis with one tick a year."""
    figure.update_layout(
        title=title,
        height=height,
        margin={"t": 40, "b": 10},
        xaxis={"dtick": 1, "title": {"text": x_title}},
        yaxis=y.layout(),
        legend_title_text="",
    )
