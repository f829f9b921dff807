"""Keyed random numbers: every draw is a pure function of (seed, employee, year, purpose).

This is what makes runs reproducible bit for bit in any process, and what keeps changing a
compensation lever from reshuffling who is hired, leaves or is promoted (common random
numbers, architecture.md decision 3). There is no global or stateful generator anywhere.

>>> ids = hash_ids(np.array(["E1", "E2"], dtype=object))
>>> a = uniform(42, ids, 2025, Purpose.TERMINATION)
>>> bool(np.all(a == uniform(42, ids, 2025, Purpose.TERMINATION)))
True
>>> bool(np.any(a == uniform(42, ids, 2026, Purpose.TERMINATION)))
False
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

__all__ = ["Purpose", "hash_ids", "uniform"]

UInt64Array = npt.NDArray[np.uint64]

_MASK = (1 << 64) - 1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_LARGEST_BELOW_ONE = 1.0 - 2.0**-53


class Purpose(IntEnum):
    """One constant per decision; no draw serves two purposes."""

    TERMINATION = 1
    TERMINATION_DATE = 2
    PROMOTION = 3
    PERFORMANCE_RATING = 4
    HIRE_LEVEL = 5
    HIRE_SALARY = 6
    HIRE_AGE = 7
    HIRE_DATE = 8
    NEW_HIRE_TERMINATION = 9
    NEW_HIRE_TERMINATION_DATE = 10


def _splitmix64_int(value: int) -> int:
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _splitmix64(values: UInt64Array) -> UInt64Array:
    # uint64 array arithmetic wraps modulo 2**64, which is exactly what the mix needs.
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hash_ids(employee_ids: npt.NDArray[np.object_] | npt.NDArray[np.str_]) -> UInt64Array:
    """A stable 64-bit FNV-1a hash of each id's code points, independent of the other ids."""
    if len(employee_ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    text = np.asarray(employee_ids, dtype=np.str_)
    width = text.dtype.itemsize // 4
    lengths = np.strings.str_len(text)
    code_points = text.view(np.uint32).reshape(len(text), width).astype(np.uint64)
    hashes = np.full(len(text), _FNV_OFFSET, dtype=np.uint64)
    for column in range(width):
        mixed = (hashes ^ code_points[:, column]) * _FNV_PRIME
        hashes = np.where(column < lengths, mixed, hashes)
    return hashes


def uniform(
    seed: int, id_hashes: UInt64Array, year: int, purpose: Purpose
) -> npt.NDArray[np.float64]:
    """Uniform draws in the open interval (0, 1), one per employee."""
    key = _splitmix64_int(_splitmix64_int(_splitmix64_int(seed & _MASK) ^ year) ^ int(purpose))
    mixed = _splitmix64(id_hashes ^ np.uint64(key))
    draws = ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) * (2.0**-53)
    # The top value, (2**53 - 1) + 0.5, rounds to 2**53 and so to exactly 1.0; keep it below.
    return np.minimum(draws, _LARGEST_BELOW_ONE)
