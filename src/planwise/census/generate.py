"""A realistic, reproducible synthetic census for demos, tests and benchmarks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from planwise.census.model import Census
from planwise.config import Settings

__all__ = ["GENERATED_LEVEL_MIX", "generate_census"]

GENERATED_LEVEL_MIX = (0.45, 0.28, 0.15, 0.09, 0.03)
_DEPARTMENTS = np.array(
    ["Engineering", "Finance", "Operations", "Sales", "People", "Legal"], dtype=object
)
_MEAN_TENURE_YEARS = 5.0
_MIN_HIRE_AGE = 18.0


def _level_mix(levels: int) -> npt.NDArray[np.float64]:
    """About 45/28/15/9/3 % for five levels; a similar pyramid (ratio 0.6) for other counts."""
    if levels == len(GENERATED_LEVEL_MIX):
        return np.asarray(GENERATED_LEVEL_MIX, dtype=np.float64)
    weights = np.power(0.6, np.arange(levels, dtype=np.float64))
    mix: npt.NDArray[np.float64] = weights / weights.sum()
    return mix


def generate_census(employees: int, seed: int, settings: Settings) -> Census:
    """`employees` active people as of the settings' as-of date.

    Level mix about 45/28/15/9/3 % (five levels; a similar pyramid otherwise), salaries
    log-normal around each band's midpoint and inside the band, ages 22–65, tenure roughly
    exponential (mean ~5 years) and never longer than the years since age 18.
    """
    rng = np.random.default_rng(seed)
    as_of = np.datetime64(settings.census_as_of, "D")
    levels = settings.job_levels
    mix = _level_mix(len(levels))
    level = rng.choice(np.arange(1, len(levels) + 1), size=employees, p=mix)
    low = np.array([0.0] + [lv.min_salary for lv in levels])[level]
    high = np.array([0.0] + [lv.max_salary for lv in levels])[level]
    midpoint = (low + high) / 2
    spread = np.log(high / low) / 6  # ±3σ spans the band
    salary = np.clip(midpoint * np.exp(rng.normal(0.0, spread)), low, high)
    salary = np.round(salary, 2)
    age_years = rng.uniform(22.0, 66.0, size=employees)
    tenure_years = np.minimum(
        rng.exponential(_MEAN_TENURE_YEARS, size=employees), age_years - _MIN_HIRE_AGE
    )
    birth = as_of - np.round(age_years * 365.25).astype("timedelta64[D]")
    hire = as_of - np.round(tenure_years * 365.25).astype("timedelta64[D]")
    width = max(6, len(str(employees)))
    ids = np.strings.add(
        "EMP", np.strings.zfill(np.arange(1, employees + 1).astype(np.str_), width)
    )
    frame = pd.DataFrame(
        {
            "employee_id": ids.astype(object),
            "birth_date": birth.astype("datetime64[s]"),
            "hire_date": hire.astype("datetime64[s]"),
            "termination_date": pd.Series(pd.NaT, index=range(employees), dtype="datetime64[s]"),
            "active": True,
            "job_level": level.astype(np.int64),
            "job_level_source": "file",
            "annual_salary": salary,
            "gender": rng.choice(np.array(["F", "M"], dtype=object), size=employees),
            "department": rng.choice(_DEPARTMENTS, size=employees),
            "in_starting_workforce": True,
        }
    )
    return Census.from_frame(frame, dt.date.fromisoformat(str(as_of)))
