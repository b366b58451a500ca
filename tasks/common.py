"""What every task shares: the store, scratch space, retry and cache policies, progress artifacts."""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext

from newsroom.config import Settings, get_settings
from newsroom.errors import ObjectNotFoundError, ResourceError, TransientError
from newsroom.manifest import asset_for_file
from newsroom.storage import ObjectStore, open_store
from newsroom.storage.keys import STORY_PREFIX
from newsroom.types import Asset, ModelRef

log = logging.getLogger("newsroom.tasks")
TRANSIENT_RETRIES = 3
RETRY_DELAYS_S = [5, 30, 120]


@cache
def settings() -> Settings:
    return get_settings()


@cache
def store() -> ObjectStore:
    """One store per worker process, configured from the environment (NEWSROOM_* variables)."""
    return open_store(settings())


def reset() -> None:
    """Forget the cached settings and store (tests that change NEWSROOM_* variables call this)."""
    settings.cache_clear()
    store.cache_clear()
    get_settings.cache_clear()


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only failures that may go away (storage briefly unreachable), never bad input."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False


# OS errors that say the machine, not the input, failed: retried like a storage outage.
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.EIO}


def machine_faults_are_transient(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the machine's OS failures (disk full, out of memory, no file handles) into TransientError."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MemoryError as exc:
            raise ResourceError(f"{fn.__name__}: out of memory: it will be retried; give the worker more memory") from exc
        except OSError as exc:
            if exc.errno in _MACHINE_ERRNOS:
                raise ResourceError(f"{fn.__name__}: {exc.strerror or exc} (the worker's disk or memory): it will "
                                    "be retried; free space in the scratch folder (TMPDIR)") from exc
            raise
    return wrapper


def retrying_task(**kwargs: Any):
    """@task with the house retry policy: a few retries with back-off, for transient errors only (storage
    outages, deadlines, a full disk, the OOM killer)."""
    def decorate(fn: Callable[..., Any]):
        return task(retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
                    retry_condition_fn=retry_on_transient, **kwargs)(machine_faults_are_transient(fn))
    return decorate


class StoredInputs(CachePolicy):
    """Cache-key part: the store's identity and the current etag of every object key among the inputs.

    With INPUTS + TASK_SOURCE this makes a re-run resume (same inputs, same code -> cached result) but
    recompute when an input object was replaced or the task now talks to another store.
    """

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        digest = hashlib.sha256(store().location.encode())
        for name in sorted(inputs):
            value = inputs[name]
            if isinstance(value, str) and value.startswith(f"{STORY_PREFIX}/"):
                try:
                    etag = store().stat(value).etag or "?"
                except ObjectNotFoundError:
                    etag = "missing"
                digest.update(f"{name}={value}@{etag};".encode())
        return digest.hexdigest()


RESUMABLE = INPUTS + TASK_SOURCE + StoredInputs()


@contextmanager
def scratch_dir(prefix: str = "newsroom-") -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload(path: Path, key: str, *, step: str, model: ModelRef | None = None,
           metadata: dict[str, str] | None = None) -> Asset:
    """Store a finished local file and describe it for the manifest."""
    asset = asset_for_file(key, path, step=step, model=model)
    store().put_file(key, path, content_type=asset.media_type,
                     metadata={"sha256": asset.sha256, "step": step, **(metadata or {})})
    return asset


class ProgressArtifact:
    """A Prefect progress artifact fed by the library's progress callbacks (throttled)."""

    def __init__(self, description: str, min_step: float = 0.05, min_interval_s: float = 2.0) -> None:
        self._id = create_progress_artifact(progress=0.0, description=description)
        self._last = 0.0
        self._last_time = 0.0
        self._min_step = min_step
        self._min_interval_s = min_interval_s

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        done = fraction >= 1.0
        if done or (fraction - self._last >= self._min_step and now - self._last_time >= self._min_interval_s):
            update_progress_artifact(artifact_id=self._id, progress=round(100 * min(fraction, 1.0), 1))
            self._last, self._last_time = fraction, now
