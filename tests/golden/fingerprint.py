"""A SHA-256 fingerprint of everything the engine writes: every event column, every snapshot
column, every year.

Why these fields: they are the whole public output of `simulate` (§6 of
simulation-model.md), the rows the store and the dbt marts are built from. Metrics are
aggregates and can stay equal while individual events move (two people swap raises, a
termination lands on another day); a fingerprint over the raw columns catches that, so a
refactor of `planwise.simulation` that claims to change nothing can prove it bit for bit.
Numeric and date columns are hashed as their raw bytes (dtype and order matter), object
columns (`employee_id`, `gender`) as "|"-joined text. `population_ids` is not hashed on its
own: it reaches the hash through `employee_id`, the id of each event's employee.

The digests were recorded on the engine as of the golden figures; a deliberate change of the
model updates them (`.venv/bin/python tests/golden/regenerate.py` prints the new ones).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from planwise.census import generate_census
from planwise.config import Settings
from planwise.parameters import default_lever_set, resolve_levers
from planwise.simulation import simulate

EVENT_FIELDS = (
    "event_id",
    "employee_index",
    "event_type",
    "event_sequence",
    "effective_date",
    "previous_job_level",
    "new_job_level",
    "previous_salary",
    "new_salary",
    "merit_rate",
    "performance_rating",
    "termination_reason",
    "hazard_weight",
)
SNAPSHOT_FIELDS = (
    "birth_date",
    "hire_date",
    "termination_date",
    "start_job_level",
    "job_level",
    "start_annual_salary",
    "annual_salary",
    "prorated_compensation",
    "status_code",
)


class FingerprintCase(NamedTuple):
    """A generated census, simulated over five years of the built-in levers."""

    employees: int
    seed: int
    census_seed: int

    @property
    def label(self) -> str:
        return f"{self.employees}-employees-seed-{self.seed}-census-{self.census_seed}"


# The committed digests: change them only when the model changes on purpose.
RECORDED_FINGERPRINTS: dict[FingerprintCase, str] = {
    FingerprintCase(2000, seed=7, census_seed=11): (
        "c782620613b41ea0fb55e5f0672f52b8020d93f4436effc3d20d3c8eeca8e436"
    ),
    FingerprintCase(500, seed=42, census_seed=3): (
        "c7f7775047723740ec0df6ecffbf98188a0b83447c80f753a8110292baa768e7"
    ),
}


def engine_hash(employees: int, seed: int, census_seed: int, years: int = 5) -> str:
    """Hex SHA-256 of the events and snapshots of a run on a generated census."""
    settings = Settings()
    census = generate_census(employees, census_seed, settings)
    workforce = census.starting_workforce()
    levers = resolve_levers(
        list(range(settings.start_year, settings.start_year + years)),
        settings.level_numbers,
        default_lever_set(settings.start_year, settings.level_numbers),
    )
    result = simulate(
        workforce, settings, levers, start_year=settings.start_year, years=years, seed=seed
    )
    digest = hashlib.sha256()
    for outcome in result.outcomes:
        events = outcome.events
        for name in EVENT_FIELDS:
            digest.update(np.ascontiguousarray(getattr(events, name)).tobytes())
        digest.update("|".join(map(str, events.employee_id)).encode())
        snapshot = outcome.snapshot
        for name in SNAPSHOT_FIELDS:
            digest.update(np.ascontiguousarray(getattr(snapshot, name)).tobytes())
        digest.update("|".join(map(str, snapshot.employee_id)).encode())
        digest.update("|".join(map(str, snapshot.gender)).encode())
    return digest.hexdigest()


def case_hash(case: FingerprintCase) -> str:
    return engine_hash(case.employees, case.seed, case.census_seed)
