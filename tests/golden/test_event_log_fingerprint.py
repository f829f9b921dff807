"""The engine's whole output, fingerprinted: every event and snapshot column of fixed runs.

The golden figures check aggregates; this checks the rows. A change to
`planwise.simulation` that is meant to be a pure refactor must leave these SHA-256 digests
identical (see `fingerprint.py` for the fields and why). If one differs, the engine's output
changed: find out why before touching the digest.
"""

from __future__ import annotations

import pytest
from demo_figures import REGENERATE_COMMAND
from fingerprint import RECORDED_FINGERPRINTS, FingerprintCase, case_hash

CASES = list(RECORDED_FINGERPRINTS)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_engine_output_is_unchanged(case: FingerprintCase) -> None:
    assert case_hash(case) == RECORDED_FINGERPRINTS[case], (
        f"The events or snapshots of {case.label} changed. The model changed on purpose? "
        f"`{REGENERATE_COMMAND}` prints the new digests; copy them into "
        "tests/golden/fingerprint.py and say why in the commit."
    )


def test_the_fingerprint_sees_the_seed() -> None:
    """Guards the guard: a fingerprint that ignored the engine's output would always pass."""
    case = FingerprintCase(500, seed=42, census_seed=3)
    other_seed = case._replace(seed=43)
    assert case_hash(other_seed) != RECORDED_FINGERPRINTS[case]
