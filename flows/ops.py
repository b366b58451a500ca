"""Operations bootstrap: the work pools and named concurrency limits the deployments rely on.

Prefect treats a tag whose concurrency limit does not exist as unlimited, so a cluster that forgot to
create them would run every heavy task at once. `newsroom ops bootstrap` creates (or updates) them and is
safe to run any number of times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists

from tasks.broadcast import ANCHOR_TAG, LLM_TAG
from tasks.edit import UPSCALE_TAG
from tasks.ingest import HEAVY_TAG as ASR_TAG

log = logging.getLogger("newsroom.ops")
WORK_POOLS = {
    "cpu": "Ingest, edit, the package flow and inbox scans.",
    "heavy": "Super-resolution, anchor rendering and the LLM: machines with a GPU or many cores.",
}
# Task tag -> slots across the whole cluster (override with the concurrency_limits setting or
# `newsroom ops bootstrap --limit TAG=N`).
DEFAULT_LIMITS = {LLM_TAG: 1, ANCHOR_TAG: 1, UPSCALE_TAG: 2, ASR_TAG: 2}


@dataclass(frozen=True, slots=True)
class BootstrapReport:
    pools_created: list[str]
    pools_existing: list[str]
    limits: dict[str, int]


async def bootstrap(limits: dict[str, int] | None = None, pool_type: str = "process") -> BootstrapReport:
    """Create the pools and set the limits: defaults, then the concurrency_limits setting, then `limits`."""
    from newsroom.config import get_settings

    wanted = {**DEFAULT_LIMITS, **get_settings().concurrency_limits, **(limits or {})}
    created, existing = [], []
    async with get_client() as client:
        for name, description in WORK_POOLS.items():
            try:
                await client.create_work_pool(WorkPoolCreate(name=name, type=pool_type, description=description))
                created.append(name)
            except ObjectAlreadyExists:
                existing.append(name)
        for tag, slots in wanted.items():
            await client.create_concurrency_limit(tag=tag, concurrency_limit=slots)  # creates or updates
        found = {limit.tag: limit.concurrency_limit for limit in await client.read_concurrency_limits(limit=200, offset=0)}
    missing = [tag for tag in wanted if found.get(tag) != wanted[tag]]
    if missing:
        raise RuntimeError(f"concurrency limits not in place after bootstrap: {', '.join(missing)}")
    log.info("work pools created %s, existing %s; limits %s", created, existing, wanted)
    return BootstrapReport(created, existing, {tag: found[tag] for tag in wanted})
