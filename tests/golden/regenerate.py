"""Rewrite the golden figures of the demo scenario and print the event-log fingerprints.

Run from the repository root when the model changed on purpose:

    .venv/bin/python tests/golden/regenerate.py

It rewrites `tests/golden/demo_metrics.csv` (checked by `test_golden_figures.py`) and prints
the SHA-256 fingerprint of each case of `fingerprint.RECORDED_FINGERPRINTS` next to the
recorded digest; copy changed digests into `fingerprint.py` by hand (checked by
`test_event_log_fingerprint.py`). Review the diff of both before committing: every changed
figure should be explained by the change to the model.
"""

from __future__ import annotations

from demo_figures import GOLDEN_CSV, demo_run_metrics, golden_rows, write_golden_csv
from fingerprint import RECORDED_FINGERPRINTS, case_hash


def main() -> None:
    rows = golden_rows(demo_run_metrics())
    write_golden_csv(rows)
    print(f"Wrote {len(rows)} golden figures to {GOLDEN_CSV}.")
    for case, recorded in RECORDED_FINGERPRINTS.items():
        digest = case_hash(case)
        verdict = "unchanged" if digest == recorded else f"CHANGED (recorded {recorded})"
        print(f"{case.label}: {digest} {verdict}")


if __name__ == "__main__":
    main()
