"""The dated raises of a year: COLA, promotions and merit (simulation-model.md §5 steps 2–4).

Each raise is planned without compensation levers (who gets it, at which level, with which
rating) and paid with them by the planned raise's own `pay`, so a replay pays a stored
plan again. `RAISE_STEPS` is the one list of them: the engine plans them in effective-date
order (the dates are settings), and on a shared date in the order of this list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planwise.config import EffectiveDates
from planwise.simulation import rules
from planwise.simulation.outputs import EventType
from planwise.simulation.pay import PayLedger
from planwise.simulation.plan import YearDraft, multiplier_by_band
from planwise.simulation.random import Purpose, uniform

__all__ = [
    "RAISE_STEPS",
    "PlannedCola",
    "PlannedMerit",
    "PlannedPromotions",
    "RaiseStep",
    "in_effective_date_order",
    "plan_cola",
    "plan_merit",
    "plan_promotions",
]

IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class PlannedCola:
    """Everyone still employed on the COLA date, with their level on that date."""

    day: int
    covered: IndexArray
    level: IntArray

    def pay(self, ledger: PayLedger) -> None:
        """Salary × (1 + `cola_rate` of the level); a zero rate is no change and no event."""
        rate = ledger.levers["cola_rate"][self.level]
        changed = rate != 0
        who, level, rate = self.covered[changed], self.level[changed], rate[changed]
        new = rules.apply_cola(ledger.salary[who], rate)
        ledger.events.add(EventType.COLA, who, self.day, level, level, ledger.salary[who], new)
        ledger.raise_salaries(self.day, who, new)


@dataclass(frozen=True)
class PlannedPromotions:
    """The promoted, each with the level they are promoted from."""

    day: int
    promoted: IndexArray
    level: IntArray

    def pay(self, ledger: PayLedger) -> None:
        """Salary × (1 + `promotion_raise`), but at least the new level's band minimum."""
        who, level = self.promoted, self.level
        new = rules.promote(
            ledger.salary[who],
            ledger.levers["promotion_raise"][level],
            ledger.tables.band_minimum_next[level],
        )
        ledger.events.add(
            EventType.PROMOTION, who, self.day, level, level + 1, ledger.salary[who], new
        )
        ledger.raise_salaries(self.day, who, new)


@dataclass(frozen=True)
class PlannedMerit:
    """Everyone still employed on the merit date, with their level then and their rating.

    `rating` is the 0-based index into the settings' performance ratings.
    """

    day: int
    rated: IndexArray
    level: IntArray
    rating: IntArray

    def pay(self, ledger: PayLedger) -> None:
        """Salary × (1 + `merit_base` of the level × the rating's multiplier), on the salary
        after any COLA and promotion before it; a zero rate is no change and no event."""
        rate = rules.merit_rate(
            ledger.levers["merit_base"][self.level], self.rating, ledger.tables.merit_multipliers
        )
        changed = rate > 0
        who, level, rate = self.rated[changed], self.level[changed], rate[changed]
        new = ledger.salary[who] * (1.0 + rate)
        ledger.events.add(
            EventType.MERIT_INCREASE,
            who,
            self.day,
            level,
            level,
            ledger.salary[who],
            new,
            merit=rate,
            rating=self.rating[changed] + 1,
        )
        ledger.raise_salaries(self.day, who, new)


def plan_cola(draft: YearDraft, day: int) -> None:
    """§5 step 2: COLA covers every employee still employed on its date."""
    covered = np.flatnonzero(draft.employed_on(day))
    draft.raises.append(PlannedCola(day, covered, draft.job_level[covered]))


def plan_promotions(draft: YearDraft, day: int) -> None:
    """§5 step 3: who is promoted on the promotion date; their level then sticks.

    Eligible: employed then, tenure ≥ 1, below the top level. Probability
    `min(1, promotion_probability[level] × age mult × tenure mult)`.
    """
    settings = draft.settings
    probability = rules.promotion_probability(
        draft.structural_levers["promotion_probability"][draft.job_level],
        multiplier_by_band(draft.age, settings.promotion_age_multipliers),
        multiplier_by_band(draft.tenure, settings.promotion_tenure_multipliers),
    )
    eligible = draft.employed_on(day) & (draft.tenure >= 1) & (draft.job_level < settings.top_level)
    drawn = uniform(draft.seed, draft.start.id_hash, draft.year, Purpose.PROMOTION)
    promoted = np.flatnonzero(eligible & (drawn < probability))
    draft.raises.append(PlannedPromotions(day, promoted, draft.job_level[promoted]))
    draft.job_level[promoted] += 1


def plan_merit(draft: YearDraft, day: int) -> None:
    """§5 step 4: everyone still employed on the merit date is rated, at their level then."""
    rated = np.flatnonzero(draft.employed_on(day))
    rating = rules.performance_rating(
        uniform(draft.seed, draft.start.id_hash[rated], draft.year, Purpose.PERFORMANCE_RATING),
        draft.tables.rating_shares,
    )
    draft.raises.append(PlannedMerit(day, rated, draft.job_level[rated], rating))


@dataclass(frozen=True)
class RaiseStep:
    """A dated raise: `name` keys its date in `settings.effective_dates`; `plan` decides on
    that day (0-based day of the year) who gets it and adds it to the draft."""

    name: str
    plan: Callable[[YearDraft, int], None]


RAISE_STEPS: tuple[RaiseStep, ...] = (
    RaiseStep("cola", plan_cola),
    RaiseStep("promotion", plan_promotions),
    RaiseStep("merit", plan_merit),
)
"""The dated raises; on a shared effective date they happen in this order (§5)."""


def in_effective_date_order(
    steps: Sequence[RaiseStep], dates: EffectiveDates, year: int
) -> list[tuple[RaiseStep, int]]:
    """Each step with its day of `year` (0-based), by date; a shared date keeps `steps` order.

    >>> [step.name for step, _ in in_effective_date_order(RAISE_STEPS, EffectiveDates(), 2025)]
    ['cola', 'promotion', 'merit']
    >>> same_day = EffectiveDates(cola="04-01", promotion="04-01", merit="01-01")
    >>> [(step.name, day) for step, day in in_effective_date_order(RAISE_STEPS, same_day, 2025)]
    [('merit', 0), ('cola', 90), ('promotion', 90)]
    """
    dated = [(step, dates.on(step.name, year).timetuple().tm_yday - 1) for step in steps]
    # sorted is stable: raises on the same day keep the order of `steps`.
    return sorted(dated, key=lambda pair: pair[1])
