"""The extra seeds of a robust tuning loop, on Dask (tuning-loop.md, "One-sided and robust
targets").

The loop's own seed is simulated and stored by the loop, as for any target. Each of the
K − 1 extra seeds is simulated once, in memory, on a Dask worker (`seed_plan`): its plans
stay there, as a future held where it was computed. A candidate is then K − 1 pay replays,
each sent to the worker that holds its seed's plans (`replay_sample`), which send back only
the targets' sample — a few floats — while this process replays the loop's seed on the
plans of its stored simulation. Replays are exact because robust targets never move a
structural lever (the targets file rejects that), so the plans made at the start serve
every candidate. The starting workforce and the settings are scattered to every worker
once. Nothing here touches the store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planwise.application.ensembles import SCHEDULER_ENV, _client
from planwise.application.progress import ProgressListener
from planwise.config import Settings
from planwise.errors import UserError
from planwise.optimization.robust import Sample, replay_sample, seed_plan
from planwise.optimization.targets import Target
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.state import Workforce

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["PendingSamples", "SeedPlans", "seed_plans"]

# distributed leaves gather, scatter, wait and who_has unannotated: those calls are marked.
_RETRIES = 3  # a task whose worker was lost runs again elsewhere (its plan is recomputed)


@dataclass(frozen=True)
class PendingSamples:
    """The extra seeds' replays of one candidate, running on the workers."""

    futures: tuple[Future[Sample], ...]


@dataclass
class SeedPlans:
    """The extra seeds' plans on the Dask workers, and replays of candidates on them."""

    client: Client
    settings: Future[Settings]
    targets: tuple[Target, ...]
    seeds: tuple[int, ...]
    """The extra seeds (the loop's seed + 1 … + K − 1)."""
    plans: tuple[Future[Any], ...]
    holders: tuple[str | None, ...]
    """The worker each seed's plans are held on."""
    replays: int = 0
    """Replays run on the workers so far."""

    def submit(self, levers: ResolvedLevers) -> PendingSamples:
        """Replay every extra seed's plans with `levers`, each next to its plans."""
        futures = tuple(
            self.client.submit(
                replay_sample,
                plan,
                self.settings,
                levers,
                self.targets,
                pure=False,
                workers=None if holder is None else [holder],
                allow_other_workers=True,
                retries=_RETRIES,
            )
            for plan, holder in zip(self.plans, self.holders, strict=True)
        )
        return PendingSamples(futures)

    def gather(self, pending: PendingSamples) -> list[Sample]:
        """The extra seeds' samples, in seed order (the order of submission)."""
        samples: list[Sample] = self.client.gather(list(pending.futures))  # type: ignore[no-untyped-call]
        self.replays += len(samples)
        return samples


def _workers(requested: int | None, settings: Settings) -> int:
    workers = requested or settings.compute.workers or os.cpu_count() or 1
    if not 1 <= workers <= 256:
        raise UserError(f"--workers must be between 1 and 256, got {workers}.")
    return workers


@contextmanager
def seed_plans(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    targets: Sequence[Target],
    seeds: Sequence[int],
    *,
    workers: int | None,
    scheduler: str | None,
    on_progress: ProgressListener | None,
) -> Iterator[SeedPlans]:
    """A Dask client (of the cluster at `scheduler`, the workspace's compute.scheduler or
    $PLANWISE_DASK_SCHEDULER; else of a local cluster of `workers` started for the call)
    with each of `seeds` simulated once under `levers` on a worker, where its plans stay.
    Closing it releases the plans."""
    address = scheduler or settings.compute.scheduler or os.environ.get(SCHEDULER_ENV)
    chosen = _workers(workers, settings)
    with _client(chosen, address, on_progress) as client:
        from distributed import wait

        shared_workforce = client.scatter(workforce, broadcast=True)  # type: ignore[no-untyped-call]
        shared_settings = client.scatter(settings, broadcast=True)  # type: ignore[no-untyped-call]
        addresses = sorted(client.scheduler_info()["workers"])
        plans = tuple(
            client.submit(
                seed_plan,
                shared_workforce,
                shared_settings,
                levers,
                settings.start_year,
                settings.years,
                seed,
                key=f"planwise-seed-plan-{seed}-{uuid.uuid4().hex}",
                workers=[addresses[index % len(addresses)]] if addresses else None,
                allow_other_workers=True,
                retries=_RETRIES,
            )
            for index, seed in enumerate(seeds)
        )
        wait(plans)  # type: ignore[no-untyped-call]
        for plan in plans:
            if plan.status == "error":
                plan.result()  # raises the worker's error here; the plans never travel
        located = client.who_has(list(plans))  # type: ignore[no-untyped-call]
        holders = tuple(next(iter(located.get(plan.key, ())), None) for plan in plans)
        yield SeedPlans(client, shared_settings, tuple(targets), tuple(seeds), plans, holders)
