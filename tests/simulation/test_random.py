"""Keyed random numbers (simulation-model.md §2): u(seed, employee, year, purpose) in (0, 1)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from planwise.simulation import Purpose, hash_ids, uniform

IDS = np.array([f"EMP{index:06d}" for index in range(1, 20_001)], dtype=object)
HASHES = hash_ids(IDS)
MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MULTIPLIERS = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _splitmix64(value: int) -> int:
    z = (value + _GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * _MULTIPLIERS[0]) & MASK
    z = ((z ^ (z >> 27)) * _MULTIPLIERS[1]) & MASK
    return z ^ (z >> 31)


def _undo_xorshift(value: int, shift: int) -> int:
    result = value
    for _ in range(64 // shift + 1):
        result = value ^ (result >> shift)
    return result & MASK


def _splitmix64_preimage(target: int) -> int:
    """The input whose splitmix64 mix is `target` (the mix is a bijection of 64-bit words)."""
    z = _undo_xorshift(target, 31)
    z = (z * pow(_MULTIPLIERS[1], -1, 1 << 64)) & MASK
    z = _undo_xorshift(z, 27)
    z = (z * pow(_MULTIPLIERS[0], -1, 1 << 64)) & MASK
    z = _undo_xorshift(z, 30)
    return (z - _GOLDEN) & MASK


def _hash_whose_mix_is(target: int, seed: int, year: int, purpose: Purpose) -> np.ndarray:
    """An id hash whose draw for (seed, year, purpose) is made from the 64 bits `target`."""
    key = _splitmix64(_splitmix64(_splitmix64(seed & MASK) ^ year) ^ int(purpose))
    return np.array([_splitmix64_preimage(target) ^ key], dtype=np.uint64)


def test_preimage_helper_inverts_the_mix() -> None:
    for value in (0, 1, 12345, MASK, 0xDEADBEEF << 20):
        assert _splitmix64(_splitmix64_preimage(value)) == value


@pytest.mark.parametrize(
    "bits",
    [pytest.param(0, id="all-zero-bits"), pytest.param(MASK, id="all-one-bits")]
    + [pytest.param(MASK >> shift, id=f"top-{shift}-bits-clear") for shift in (1, 11, 12)],
)
@pytest.mark.parametrize(
    "purpose", [Purpose.TERMINATION, Purpose.PERFORMANCE_RATING], ids=["termination", "rating"]
)
def test_draws_stay_strictly_inside_zero_one_even_for_extreme_hashes(
    bits: int, purpose: Purpose
) -> None:
    draw = uniform(42, _hash_whose_mix_is(bits, 42, 2025, purpose), 2025, purpose)
    assert 0.0 < draw[0] < 1.0


@pytest.mark.parametrize("purpose", list(Purpose), ids=lambda purpose: purpose.name.lower())
def test_draws_are_in_the_open_unit_interval(purpose: Purpose) -> None:
    draws = uniform(7, HASHES, 2026, purpose)
    assert draws.dtype == np.float64
    assert draws.shape == IDS.shape
    assert ((draws > 0.0) & (draws < 1.0)).all()


@given(
    ids=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=20, unique=True),
    other=st.lists(st.text(min_size=0, max_size=60), max_size=20),
)
def test_an_ids_hash_does_not_depend_on_the_other_ids_in_the_array(
    ids: list[str], other: list[str]
) -> None:
    alone = np.concatenate([hash_ids(np.array([one], dtype=object)) for one in ids])
    together = hash_ids(np.array([*other, *ids], dtype=object))[len(other) :]
    assert (alone == together).all()


def test_hash_is_fnv1a_of_the_code_points_a_stable_value_in_any_process() -> None:
    expected = 0xCBF29CE484222325
    for character in "EMP000001":
        expected = ((expected ^ ord(character)) * 0x100000001B3) & MASK
    assert int(hash_ids(np.array(["EMP000001"], dtype=object))[0]) == expected
    # A wider array, with longer ids and non-ASCII ones, gives the same hash for the same id.
    mixed = np.array(["EMP000001", "NH_2031_000017", "Zoë-Ørsted", ""], dtype=object)
    assert int(hash_ids(mixed)[0]) == expected
    assert len(set(hash_ids(mixed).tolist())) == 4


def test_draws_are_a_pure_function_of_their_key() -> None:
    first = uniform(42, HASHES, 2025, Purpose.PROMOTION)
    again = uniform(42, HASHES.copy(), 2025, Purpose.PROMOTION)
    assert (first == again).all()
    # An employee's draw is the same whether drawn alone, in a subset or reordered.
    subset = np.array([17, 3, 19_999, 5_000])
    assert (uniform(42, HASHES[subset], 2025, Purpose.PROMOTION) == first[subset]).all()


KEYS = [
    pytest.param(42, 2025, Purpose.TERMINATION, id="base"),
    pytest.param(43, 2025, Purpose.TERMINATION, id="other-seed"),
    pytest.param(42, 2026, Purpose.TERMINATION, id="other-year"),
    pytest.param(42, 2025, Purpose.TERMINATION_DATE, id="other-purpose"),
]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(a.values, b.values, id=f"{a.id}-vs-{b.id}")
        for a, b in itertools.combinations(KEYS, 2)
    ],
)
def test_draws_differ_and_are_uncorrelated_across_seed_year_and_purpose(
    first: tuple[int, int, Purpose], second: tuple[int, int, Purpose]
) -> None:
    a = uniform(first[0], HASHES, first[1], first[2])
    b = uniform(second[0], HASHES, second[1], second[2])
    assert np.count_nonzero(a == b) == 0
    assert abs(stats.spearmanr(a, b).statistic) < 0.03


def test_every_purpose_has_its_own_stream() -> None:
    draws = np.stack([uniform(42, HASHES, 2025, purpose) for purpose in Purpose])
    assert len({int(p) for p in Purpose}) == len(Purpose) == 10
    correlation = np.corrcoef(draws)
    off_diagonal = correlation[~np.eye(len(Purpose), dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.03


@pytest.mark.parametrize(
    ("seed", "year", "purpose"),
    [
        pytest.param(0, 2025, Purpose.TERMINATION, id="seed0-termination"),
        pytest.param(42, 2025, Purpose.HIRE_SALARY, id="seed42-hire-salary"),
        pytest.param(2**62 + 1, 2099, Purpose.PERFORMANCE_RATING, id="huge-seed-rating"),
        pytest.param(7, 1999, Purpose.NEW_HIRE_TERMINATION_DATE, id="seed7-nh-date"),
    ],
)
def test_draws_are_uniform_kolmogorov_smirnov(seed: int, year: int, purpose: Purpose) -> None:
    draws = uniform(seed, HASHES, year, purpose)
    assert stats.kstest(draws, "uniform").pvalue > 0.001
    # Sequential ids must not leave a pattern between neighbours either.
    assert abs(stats.pearsonr(draws[:-1], draws[1:]).statistic) < 0.03


def test_new_hire_ids_get_their_own_uniform_draws() -> None:
    ids = np.array([f"NH_2026_{index:06d}" for index in range(1, 5_001)], dtype=object)
    draws = uniform(42, hash_ids(ids), 2026, Purpose.HIRE_LEVEL)
    assert stats.kstest(draws, "uniform").pvalue > 0.001
    assert len(np.unique(draws)) == len(ids)
