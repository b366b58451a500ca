"""What every task shares: the store, scratch space, retry and cache policies, progress artifacts, the one
write path (`store_outputs`), the story's loaders and the manifest publisher."""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ObjectNotFoundError, ResourceError, TransientError
from newsroom.layout import StoryLayout
from newsroom.manifest import asset_for_file, collect, record_assets, write_manifest
from newsroom.results import Cut, Story
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
    """Cache-key part: the store's identity and the current etag of every object key among the inputs,
    also the keys a typed input carries (a `Cut`'s video, a `SpeechRef`'s WAV).

    With INPUTS + TASK_SOURCE this makes a re-run resume (same inputs, same code -> cached result) but
    recompute when an input object was replaced or the task now talks to another store.
    """

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        digest = hashlib.sha256(store().location.encode())
        for name in sorted(inputs):
            for where, key in _stored_keys(name, inputs[name]):
                try:
                    etag = store().stat(key).etag or "?"
                except ObjectNotFoundError:
                    etag = "missing"
                digest.update(f"{where}={key}@{etag};".encode())
        return digest.hexdigest()


def _stored_keys(name: str, value: Any) -> Iterator[tuple[str, str]]:
    """The object keys in an input: the value itself, or the key fields of a typed result (one level)."""
    if isinstance(value, str):
        if value.startswith(f"{STORY_PREFIX}/"):
            yield name, value
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            inner = getattr(value, item.name)
            if isinstance(inner, str) and inner.startswith(f"{STORY_PREFIX}/"):
                yield f"{name}.{item.name}", inner


RESUMABLE = INPUTS + TASK_SOURCE + StoredInputs()


@contextmanager
def scratch_dir(prefix: str = "newsroom-") -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Output:
    """A finished local file, its key in the story's layout, the step that made it and the model it used."""

    path: Path
    key: str
    step: str
    model: ModelRef | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)  # stored with the object (beside its sha256)


def store_outputs(story_id: str, stage: str, *outputs: Output | Asset, info: dict[str, Any] | None = None
                  ) -> list[Asset]:
    """The one way a task writes its results: store each finished file (an Asset is an object stored
    already) and record them, with `info` about the work, in the stage's manifest fragment."""
    assets = [_put(o) if isinstance(o, Output) else o for o in outputs]
    record_assets(store(), story_id, stage, assets, info=info)
    return assets


def _put(output: Output) -> Asset:
    asset = asset_for_file(output.key, output.path, step=output.step, model=output.model)
    store().put_file(output.key, output.path, content_type=asset.media_type,
                     metadata={"sha256": asset.sha256, "step": output.step, **output.metadata})
    return asset


@retrying_task(name="load-story", cache_policy=NO_CACHE)
def load_story(story_id: str, language: str = "auto") -> Story:
    """The story as its stages recorded it so far (the transcript read once, here, for the whole flow).
    `language` other than auto must be the story's own: ConfigError otherwise (nothing is translated)."""
    story = Story.load(store(), collect(store(), story_id))
    if language != "auto" and story.language not in (None, language):
        raise ConfigError(f"story {story_id} is in {story.language!r}; drafts are written in the transcript's "
                          "language (translation is not supported): use language='auto'")
    return story


@retrying_task(name="load-cut", cache_policy=NO_CACHE)
def load_cut(story_id: str) -> Cut:
    """The finished edit as the covers and the broadcast segment use it (ConfigError before the edit ran)."""
    return Cut.load(store(), collect(store(), story_id))


def story_terms(story_id: str, language: str) -> tuple[str, ...]:
    """The glossary terms a story was transcribed with: its run's own (recorded by ingest) and the newsroom's
    (NEWSROOM_GLOSSARY), for the mis-hearing flags to spare the names written as the glossary writes them."""
    from newsroom.asr.glossary import load_glossary
    from newsroom.errors import ObjectNotFoundError
    from newsroom.layout import INGEST

    try:
        own = collect(store(), story_id).info(INGEST).get("glossary") or ()
    except ObjectNotFoundError:  # a draft written from a transcript that was not ingested here
        own = ()
    return load_glossary(settings().glossary, language, extra=own).for_language(language).terms


@retrying_task(name="publish-manifest", cache_policy=NO_CACHE)
def publish_manifest(story_id: str) -> str:
    """Write the story's manifest.json last, after every asset it lists. Returns its key."""
    write_manifest(store(), story_id)
    return StoryLayout(story_id).manifest


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
