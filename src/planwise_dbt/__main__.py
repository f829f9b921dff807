"""`python -m planwise_dbt`: parse the dbt project into its own target folder and print the
manifest's path (`dbt/target/manifest.json`), which Dagster's definitions read.

`make install` runs it; run it again after changing the dbt project (`dagster dev` does).
"""

from __future__ import annotations

from planwise_dbt.builder import DbtBuilder
from planwise_dbt.project import project_target


def main() -> None:
    print(DbtBuilder().parse(project_target()))


if __name__ == "__main__":
    main()
