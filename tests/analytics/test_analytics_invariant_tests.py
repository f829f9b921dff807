"""Each singular data test can fail: one stored row, corrupted in a copy of the database,
makes the matching test fail (simulation-model.md §8, plus the marts' own checks)."""

from __future__ import annotations

import pytest
from analytics_support import CORRUPTIONS, BuiltWorkspace, Corruption, build

from planwise.application import Workspace

_IDS = [
    f"{case.test_name}-{index}" if index else case.test_name
    for index, case in (
        (sum(1 for earlier in CORRUPTIONS[:position] if earlier.test_name == c.test_name), c)
        for position, c in enumerate(CORRUPTIONS)
    )
]


@pytest.mark.parametrize("case", CORRUPTIONS, ids=_IDS)
def test_corrupting_one_row_fails_the_matching_test(
    built: BuiltWorkspace, case: Corruption, scratch: Workspace
) -> None:
    assert case.test_name in built.result.tests_passed  # passes before the corruption
    with scratch.database().transaction() as connection:
        found = connection.execute(case.find).fetchall()
        assert len(found) == 1, "no row to corrupt"
        connection.execute(case.update, list(found[0]))
    result = build(scratch, select=case.select or case.test_name)
    assert case.test_name in result.tests_failed, result.failure_summary()
    (node,) = [node for node in result.nodes if node.name == case.test_name]
    assert node.status == "fail" and node.failures, node
