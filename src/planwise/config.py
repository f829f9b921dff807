"""Simulation settings (`planwise.yaml`): every default of the simulation model, validated on load.

The pydantic models below are the single declaration of the settings: `planwise init`
writes their defaults to `planwise.yaml`, and loading the file validates every key.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planwise.errors import Problem, UserError, ValidationFailed

__all__ = [
    "MAX_SEED",
    "YAML_LOADER",
    "AgeShare",
    "ComputeSettings",
    "DatabaseSettings",
    "EffectiveDates",
    "HazardBand",
    "JobLevel",
    "PerformanceRating",
    "Settings",
    "check_seed",
    "load_settings",
    "read_yaml",
    "save_settings",
]

SHARE_TOLERANCE = 1e-9
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

MAX_SEED = 2**63 - 1
"""Seeds are whole numbers from 0 to 2**63 − 1: the store keeps them in BIGINT columns. One
range everywhere a seed enters (settings, simulate, census generate, ensembles, targets)."""

MAX_YAML_BYTES = 1_000_000
"""A settings or targets file is a page of text; a bigger one is not one of ours."""

_MEMORY_LIMIT = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*$",
    re.IGNORECASE,
)
_MEMORY_UNITS = {
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 2.0**10,
    "mib": 2.0**20,
    "gib": 2.0**30,
    "tib": 2.0**40,
}
MIN_MEMORY_BYTES = 100e6
"""Below ~100 MB DuckDB runs out of memory on the smallest workspace."""

Rate = Annotated[float, Field(ge=-0.5, le=1.0)]
Multiplier = Annotated[float, Field(ge=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobLevel(_Model):
    """A job level and its salary band (annual rates)."""

    level: int = Field(ge=1)
    name: str
    min_salary: float = Field(gt=0)
    max_salary: float = Field(gt=0)

    @model_validator(mode="after")
    def _band_ordered(self) -> JobLevel:
        if self.max_salary <= self.min_salary:
            raise ValueError(
                f"level {self.level}: max_salary {self.max_salary} must exceed "
                f"min_salary {self.min_salary}"
            )
        return self

    @property
    def midpoint(self) -> float:
        return (self.min_salary + self.max_salary) / 2.0


class HazardBand(_Model):
    """A multiplier that applies from `lower` (whole years, inclusive) up to the next band."""

    lower: int = Field(ge=0)
    multiplier: Multiplier


class AgeShare(_Model):
    """A share of hires whose age is uniform in [min_age, max_age] (whole years, inclusive)."""

    min_age: int = Field(ge=14, le=100)
    max_age: int = Field(ge=14, le=100)
    share: float = Field(ge=0.0, le=1.0)


class PerformanceRating(_Model):
    rating: int
    share: float = Field(ge=0.0, le=1.0)
    merit_multiplier: Multiplier


class EffectiveDates(_Model):
    """Month and day of each raise within the year (`MM-DD`)."""

    cola: str = "01-01"
    promotion: str = "02-01"
    merit: str = "04-01"

    @field_validator("cola", "promotion", "merit")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(f"2023-{value}")  # a non-leap year: Feb 29 is refused
        except ValueError as error:
            raise ValueError(f"'{value}' is not a month-day like '04-01'") from error
        return value

    def on(self, purpose: str, year: int) -> dt.date:
        month_day: str = getattr(self, purpose)
        return dt.date.fromisoformat(f"{year}-{month_day}")


class DatabaseSettings(_Model):
    memory_limit: str = Field(
        default="8GB",
        description="DuckDB's memory limit: a number with a unit (8GB, 512MiB) or a share "
        "of the machine's memory (70%)",
    )
    threads: int = Field(default=2, ge=1, le=256)

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, value: str) -> str:
        """Checked here, not by DuckDB when a connection opens: a value DuckDB cannot parse
        would otherwise stop every command with DuckDB's own error."""
        found = _MEMORY_LIMIT.match(value)
        if found is None:
            raise ValueError(
                f"'{_shortened(value)}' is not a memory size: give a number with a unit, "
                "e.g. 8GB, 512MiB (KB, MB, GB, TB or KiB, MiB, GiB, TiB), or a share of the "
                "machine's memory such as 70%"
            )
        number, unit = float(found["number"]), found["unit"].lower()
        if unit == "%":
            if not 1 <= number <= 100:
                raise ValueError(f"a share of the machine's memory is 1% to 100%, got {value}")
        elif number * _MEMORY_UNITS[unit] < MIN_MEMORY_BYTES:
            raise ValueError(f"{value.strip()} is too little: DuckDB needs at least 100MB")
        return value.strip()


class ComputeSettings(_Model):
    """Where ensembles run: a local Dask cluster (default) or an existing one by address."""

    scheduler: str | None = Field(
        default=None,
        description="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(also $PLANWISE_DASK_SCHEDULER); unset: a local cluster on this machine",
    )
    workers: int | None = Field(
        default=None, ge=1, le=256, description="local cluster workers (default: CPU cores)"
    )


def _default_levels() -> list[JobLevel]:
    return [
        JobLevel(level=1, name="Staff", min_salary=50_000, max_salary=80_000),
        JobLevel(level=2, name="Manager", min_salary=80_000, max_salary=120_000),
        JobLevel(level=3, name="Senior Manager", min_salary=120_000, max_salary=165_000),
        JobLevel(level=4, name="Director", min_salary=165_000, max_salary=275_000),
        JobLevel(level=5, name="VP", min_salary=275_000, max_salary=500_000),
    ]


def _bands(pairs: list[tuple[int, float]]) -> list[HazardBand]:
    return [HazardBand(lower=lower, multiplier=multiplier) for lower, multiplier in pairs]


class Settings(_Model):
    """Everything a simulation needs besides the census and the compensation levers."""

    start_year: int = Field(default=2025, ge=1900, le=2200)
    years: int = Field(default=5, ge=1, le=50)
    seed: int = Field(default=42, ge=0, le=MAX_SEED)
    as_of_date: dt.date | None = Field(
        default=None, description="census as-of date; default Dec 31 of the year before start"
    )
    target_growth_rate: Rate = 0.03
    termination_rate: float = Field(default=0.12, ge=0.0, lt=1.0)
    new_hire_termination_rate: float = Field(default=0.25, ge=0.0, lt=1.0)
    job_levels: list[JobLevel] = Field(default_factory=_default_levels)
    hire_level_mix: dict[int, float] = Field(
        default_factory=lambda: {1: 0.40, 2: 0.30, 3: 0.20, 4: 0.08, 5: 0.02}
    )
    hire_salary_sigma: float = Field(default=0.05, ge=0.0, le=1.0)
    hire_age_bands: list[AgeShare] = Field(
        default_factory=lambda: [
            AgeShare(min_age=22, max_age=25, share=0.20),
            AgeShare(min_age=26, max_age=30, share=0.30),
            AgeShare(min_age=31, max_age=35, share=0.20),
            AgeShare(min_age=36, max_age=45, share=0.20),
            AgeShare(min_age=46, max_age=55, share=0.10),
        ]
    )
    termination_age_multipliers: list[HazardBand] = Field(
        default_factory=lambda: _bands(
            [(0, 0.7), (25, 1.3), (35, 1.0), (45, 1.6), (55, 1.0), (65, 1.2)]
        )
    )
    termination_tenure_multipliers: list[HazardBand] = Field(
        default_factory=lambda: _bands([(0, 1.8), (2, 0.6), (5, 0.5), (10, 0.4), (20, 0.3)])
    )
    termination_level_multipliers: dict[int, Multiplier] = Field(
        default_factory=lambda: {1: 1.0, 2: 0.9, 3: 0.8, 4: 0.7, 5: 0.6}
    )
    promotion_age_multipliers: list[HazardBand] = Field(
        default_factory=lambda: _bands(
            [(0, 1.6), (25, 1.4), (35, 1.1), (45, 0.7), (55, 0.3), (65, 0.1)]
        )
    )
    promotion_tenure_multipliers: list[HazardBand] = Field(
        default_factory=lambda: _bands([(0, 0.5), (2, 1.5), (5, 1.8), (10, 0.8), (20, 0.2)])
    )
    performance_ratings: list[PerformanceRating] = Field(
        default_factory=lambda: [
            PerformanceRating(rating=1, share=0.05, merit_multiplier=0.0),
            PerformanceRating(rating=2, share=0.15, merit_multiplier=0.5),
            PerformanceRating(rating=3, share=0.55, merit_multiplier=1.0),
            PerformanceRating(rating=4, share=0.20, merit_multiplier=1.4),
            PerformanceRating(rating=5, share=0.05, merit_multiplier=1.8),
        ]
    )
    effective_dates: EffectiveDates = Field(default_factory=EffectiveDates)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)

    @field_validator(
        "termination_age_multipliers",
        "termination_tenure_multipliers",
        "promotion_age_multipliers",
        "promotion_tenure_multipliers",
    )
    @classmethod
    def _bands_ordered(cls, bands: list[HazardBand]) -> list[HazardBand]:
        if not bands or bands[0].lower != 0:
            raise ValueError("the first band must start at 0")
        lowers = [band.lower for band in bands]
        if any(b <= a for a, b in itertools.pairwise(lowers)):
            raise ValueError(f"band lower bounds must increase strictly, got {lowers}")
        return bands

    @field_validator("hire_age_bands")
    @classmethod
    def _age_bands(cls, bands: list[AgeShare]) -> list[AgeShare]:
        _check_shares([band.share for band in bands])
        for a, b in itertools.pairwise(bands):
            if a.max_age < a.min_age or b.min_age <= a.max_age:
                raise ValueError("age bands must be ordered and must not overlap")
        return bands

    @field_validator("performance_ratings")
    @classmethod
    def _ratings(cls, ratings: list[PerformanceRating]) -> list[PerformanceRating]:
        _check_shares([rating.share for rating in ratings])
        if sum(r.share * r.merit_multiplier for r in ratings) <= 0:
            raise ValueError("the expected merit multiplier must be positive")
        return ratings

    @model_validator(mode="after")
    def _levels_consistent(self) -> Settings:
        numbers = [level.level for level in self.job_levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"job_levels must be numbered 1..n in order, got {numbers}")
        for lower, upper in zip(self.job_levels, self.job_levels[1:], strict=False):
            if upper.min_salary < lower.min_salary or upper.max_salary < lower.max_salary:
                raise ValueError(
                    f"salary bands must be ordered: level {upper.level} band "
                    f"{upper.min_salary}-{upper.max_salary} is below level {lower.level}"
                )
        for key in ("hire_level_mix", "termination_level_multipliers"):
            mapping: dict[int, float] = getattr(self, key)
            if sorted(mapping) != numbers:
                raise ValueError(f"{key} must give a value for each level {numbers}")
        _check_shares(list(self.hire_level_mix.values()), "hire_level_mix")
        if self.as_of_date is not None and self.as_of_date.year >= self.start_year:
            raise ValueError(
                f"as_of_date {self.as_of_date} must fall before the start year {self.start_year}"
            )
        return self

    @property
    def level_numbers(self) -> list[int]:
        return [level.level for level in self.job_levels]

    @property
    def top_level(self) -> int:
        return len(self.job_levels)

    @property
    def census_as_of(self) -> dt.date:
        return self.as_of_date or dt.date(self.start_year - 1, 12, 31)

    @property
    def merit_multipliers(self) -> list[float]:
        """Rating multipliers rescaled so that their expected value is exactly 1."""
        expected = sum(r.share * r.merit_multiplier for r in self.performance_ratings)
        return [r.merit_multiplier / expected for r in self.performance_ratings]


def _check_shares(shares: list[float], name: str = "shares") -> None:
    if abs(sum(shares) - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{name} must sum to 1, got {sum(shares):.12g}")


def check_seed(seed: int, name: str = "--seed") -> None:
    """Raise a `UserError` unless 0 ≤ seed ≤ `MAX_SEED` (the store's BIGINT); `name` is
    how the user gave it (`--seed`, `seed in planwise.yaml`)."""
    if not 0 <= seed <= MAX_SEED:
        raise UserError(
            f"{name} must be a whole number from 0 to {MAX_SEED} (2**63 − 1, the largest "
            f"seed the store keeps), got {_shortened(seed)}."
        )


def read_yaml(path: Path, what: str = "file") -> Any:
    """A small YAML file of ours (settings, targets), read as a user may have left it.

    Every way the file can be wrong is a `UserError` naming it: missing, a folder,
    unreadable, larger than `MAX_YAML_BYTES`, not UTF-8 (the byte and line), not YAML,
    nested too deeply, or using aliases (`*name`): a file of settings needs none, and
    aliases are how a few lines of YAML expand to billions of values.
    """
    try:
        if path.is_dir():
            raise UserError(f"The {what} {path} is a folder; name a YAML file.")
        with path.open("rb") as handle:
            data = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"The {what} {path} does not exist.") from None
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise UserError(f"The {what} {path} cannot be read: {reason}.") from None
    if len(data) > MAX_YAML_BYTES:
        raise UserError(
            f"The {what} {path} is larger than {MAX_YAML_BYTES:,} bytes; a YAML file of "
            "settings is a few kilobytes. Check that it is the right file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UserError(
            f"The {what} {path} is not UTF-8 text: byte 0x{data[error.start]:02x} on line "
            f"{line} is not valid UTF-8. Save the file as UTF-8 (in most editors: Save As, "
            "encoding UTF-8) and run the command again."
        ) from None
    try:
        for event in yaml.parse(text, Loader=YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise ValidationFailed(
                    str(path),
                    [
                        Problem(
                            "yaml",
                            f"uses an alias (*{event.anchor}); write each value out "
                            "instead (aliases are refused: they can expand a few lines "
                            "into billions of values)",
                        )
                    ],
                )
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as error:
        raise ValidationFailed(str(path), [Problem("yaml", f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise ValidationFailed(
            str(path), [Problem("yaml", "nested too deeply to be a file of settings")]
        ) from None


def load_settings(path: Path) -> Settings:
    """Read and validate `planwise.yaml`; a bad key is reported by name."""
    raw: Any = read_yaml(path, "settings file") or {}
    if not isinstance(raw, dict):
        raise ValidationFailed(str(path), [Problem("yaml", "must be a mapping of settings")])
    return settings_from_mapping(raw, str(path))


def settings_from_mapping(raw: dict[str, Any], source: str = "settings") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        problems = [
            Problem(
                rule="setting",
                column=".".join(str(part) for part in issue["loc"]) or None,
                message=issue["msg"],
                value=_shown_input(issue.get("input")),
            )
            for issue in error.errors()
        ]
        raise ValidationFailed(source, problems) from None


def _shown_input(value: object) -> object:
    """A rejected value as a message shows it: scalars whole, long text shortened,
    mappings and lists left out (the key names where they are)."""
    if isinstance(value, dict | list | tuple):
        return None
    if isinstance(value, str) and len(value) > _SHOWN_CHARACTERS:
        return _shortened(value)
    return value


_SHOWN_CHARACTERS = 80


def _shortened(value: object) -> str:
    """A value for a message: at most `_SHOWN_CHARACTERS` characters of it."""
    if isinstance(value, int) and abs(value) >= 10**_SHOWN_CHARACTERS:
        return f"a number of {len(str(abs(value)))} digits"
    text = str(value)
    if len(text) <= _SHOWN_CHARACTERS:
        return text
    return f"{text[: _SHOWN_CHARACTERS - 1]}…({len(text):,} characters)"


def save_settings(settings: Settings, path: Path) -> None:
    data = settings.model_dump(mode="json", exclude_none=True)
    header = (
        "# PlanWise Navigator simulation settings. Every value is validated on load;\n"
        "# see shared/design/simulation-model.md §3 for what each one means.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
