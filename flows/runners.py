"""The one place that picks the task runner for chunked work (Real-ESRGAN chunks): a process pool on this
machine (the default), or a Dask cluster through prefect-dask (NEWSROOM_TASK_RUNNER=dask and
NEWSROOM_DASK_ADDRESS=tcp://host:8786), so chunks are spread over the cluster's machines."""

from __future__ import annotations

from typing import Any

from newsroom.config import get_settings
from newsroom.errors import ConfigError


def chunk_task_runner(max_workers: int | None = None) -> Any:
    """A task runner for mapped chunks. `max_workers` sizes the local process pool; a Dask cluster brings its
    own workers (its size is the cluster's)."""
    settings = get_settings()
    if settings.task_runner == "dask":
        if not settings.dask_address:
            raise ConfigError("NEWSROOM_TASK_RUNNER=dask needs NEWSROOM_DASK_ADDRESS (the scheduler, e.g. "
                              "tcp://10.0.0.5:8786)")
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError("NEWSROOM_TASK_RUNNER=dask needs prefect-dask: pip install 'newsroom[dask]'") from exc
        return DaskTaskRunner(address=settings.dask_address)
    from prefect.task_runners import ProcessPoolTaskRunner

    return ProcessPoolTaskRunner(max_workers=max_workers)
