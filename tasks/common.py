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
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, InvalidKeyError, ObjectNotFoundError, ResourceError, TransientError
from newsroom.layout import StoryLayout
from newsroom.manifest import asset_for_file, collect, read_records, record_assets, write_manifest
from newsroom.results import Cut, Story
from newsroom.storage import ObjectStore, open_store
from newsroom.storage.keys import STORY_PREFIX, is_story_id, story_id_of
from newsroom.types import Asset, ModelRef

log = logging.getLogger("newsroom.tasks")
TRANSIENT_RETRIES = 3


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
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.EIO}


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
        return task(retries=TRANSIENT_RETRIES, retry_delay_seconds=list(settings().task_retry_delays_s),
                    retry_condition_fn=retry_on_transient, **kwargs)(machine_faults_are_transient(fn))
    return decorate


class StoredInputs(CachePolicy):
    """Cache-key part: the store's identity and the current etag of every object key among the inputs: the
    values themselves, the keys a typed input carries (a `Cut`'s video, a `SpeechRef`'s WAV) and the keys in
    lists, tuples and dicts (the upscaling chunks a join takes).

    With INPUTS + TASK_SOURCE this makes a re-run resume (same inputs, same code -> cached result) but
    recompute when an input object was replaced or the task now talks to another store. An input that a
    finished task consumed and deleted (a joined chunk) counts with the etag that task recorded for it.
    """

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        digest = hashlib.sha256(store().location.encode())
        for name in sorted(inputs):
            for where, key in _stored_keys(name, inputs[name]):
                try:
                    etag = store().stat(key).etag or "?"
                except ObjectNotFoundError:
                    etag = _consumed_etag(key) or "missing"
                digest.update(f"{where}={key}@{etag};".encode())
        return digest.hexdigest()


_MAX_DEPTH = 3


def _stored_keys(name: str, value: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """The object keys in an input: the value itself, the key fields of a typed result, the items of a list,
    tuple or dict (a few levels deep)."""
    if isinstance(value, str):
        if value.startswith(f"{STORY_PREFIX}/"):
            yield name, value
    elif depth >= _MAX_DEPTH:
        return
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from _stored_keys(f"{name}.{item.name}", getattr(value, item.name), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _stored_keys(f"{name}[{index}]", item, depth + 1)
    elif isinstance(value, Mapping):
        for item_key in sorted(value, key=str):
            yield from _stored_keys(f"{name}[{item_key!r}]", value[item_key], depth + 1)


def _consumed_etag(key: str) -> str | None:
    """The etag a task recorded for `key` when it consumed (and deleted) it, e.g. a chunk the join took."""
    try:
        story_id = story_id_of(key)
    except InvalidKeyError:
        return None
    stage = key.split("/")[2]
    for record in reversed(read_records(store(), story_id, stage)):
        if key in record.consumed:
            return record.consumed[key]
    return None


_CACHE_KEYS: OrderedDict[Any, str] = OrderedDict()  # task run id -> its cache key (read by store_outputs)
_CACHE_KEYS_KEPT = 10_000


@dataclass
class Resumable(CachePolicy):
    """The resume cache: `inner`'s key, and a cached result is only reused while what it stands for is still
    stored. Before reuse, each output the task recorded (in its story's records, under this cache key) must
    exist with the sha256 recorded, and each key the cached value names must exist (or have been consumed by a
    later task); otherwise the cached record is expired and the task runs again. A story that was discarded,
    an output deleted or overwritten by hand: recomputed, never handed on as a dangling key."""

    inner: CachePolicy | None = None

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        key = self.inner.compute_key(task_ctx, inputs, flow_parameters, **kwargs) if self.inner else None
        if key is None:
            return None
        story_id = _input_story_id(inputs)
        if story_id is not None:
            results = getattr(task_ctx, "result_store", None)
            if results is not None and results.exists(key):
                problem = _stale(key, story_id, lambda: results.read(key).result)
                if problem:
                    log.warning("%s: the cached result %s is stale (%s): running it again", task_ctx.task.name,
                                key[:12], problem)
                    results.write(None, key=key, expiration=datetime.now(UTC) - timedelta(seconds=1))
        _CACHE_KEYS[task_ctx.task_run.id] = key
        while len(_CACHE_KEYS) > _CACHE_KEYS_KEPT:
            _CACHE_KEYS.popitem(last=False)
        return key

    def __sub__(self, other: str) -> CachePolicy:
        return Resumable(inner=self.inner - other if self.inner else None)


def _input_story_id(inputs: Mapping[str, Any]) -> str | None:
    """The story a task works on: its `story_id` input, or the story id a typed input carries (an article's
    or a bulletin's source)."""
    candidates = [inputs.get("story_id"), *(getattr(v, "story_id", None) for v in inputs.values())]
    return next((c for c in candidates if is_story_id(c)), None)


def _stale(cache_key: str, story_id: str, cached_value: Callable[[], Any]) -> str | None:
    """Why the cached result under `cache_key` may not be reused (None: it may)."""
    records = read_records(store(), story_id, cache_key=cache_key)
    expected: dict[str, str | None] = {asset.key: asset.sha256 for record in records for asset in record.assets}
    if not records:
        try:
            value = cached_value()
        except Exception as exc:  # unreadable: Prefect will say so itself
            log.debug("cannot read the cached value %s: %s", cache_key[:12], exc)
            return None
        expected = {key: None for _, key in _stored_keys("result", value)}
        if not expected:
            return "its story has no record of what it wrote (the story was discarded?)"
    for key, sha256 in expected.items():
        try:
            stored = store().stat(key)
        except ObjectNotFoundError:
            if _consumed_etag(key) is not None:
                continue
            return f"{key} is missing"
        if sha256 and stored.metadata.get("sha256", sha256) != sha256:
            return f"{key} changed since it was recorded"
    return None


RESUMABLE = Resumable(inner=INPUTS + TASK_SOURCE + StoredInputs())


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


def store_outputs(story_id: str, stage: str, *outputs: Output | Asset, info: dict[str, Any] | None = None,
                  consumed: Mapping[str, str] | None = None) -> list[Asset]:
    """The one way a task writes its results: store each finished file (an Asset is an object stored
    already) and record them, with `info` about the work, in a record of the stage (under the task run's cache
    key, which the resume cache checks before it reuses the result). `consumed`: stored inputs (key -> etag)
    the task has used up and deletes next, e.g. the upscaling chunks a join took."""
    assets = [_put(o) if isinstance(o, Output) else o for o in outputs]
    context = TaskRunContext.get()
    cache_key = _CACHE_KEYS.get(context.task_run.id) if context is not None else None
    record_assets(store(), story_id, stage, assets, info=info, cache_key=cache_key, consumed=consumed)
    return assets


@retrying_task(name="remove-objects", cache_policy=NO_CACHE)
def remove_objects(keys: list[str]) -> int:
    """Delete scratch objects once the task that used them up has finished (and recorded what it made): run
    again after a crash, it deletes what is left. Returns how many were still there."""
    removed = 0
    for key in keys:
        if store().exists(key):
            store().delete(key)
            removed += 1
    return removed


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
    """A Prefect progress artifact fed by the library's progress callbacks (throttled). Progress is a courtesy:
    when the Prefect API refuses or does not answer, the error is logged and the work goes on."""

    def __init__(self, description: str, min_step: float = 0.05, min_interval_s: float = 2.0) -> None:
        self._description = description
        self._id = None
        try:
            self._id = create_progress_artifact(progress=0.0, description=description)
        except Exception as exc:  # the API down, a 5xx, no run context: never fail the task for it
            log.warning("progress for %r is not reported (the Prefect API: %s: %s)", description,
                        type(exc).__name__, exc)
        self._last = 0.0
        self._last_time = 0.0
        self._min_step = min_step
        self._min_interval_s = min_interval_s

    def __call__(self, fraction: float) -> None:
        if self._id is None:
            return
        now = time.monotonic()
        done = fraction >= 1.0
        if done or (fraction - self._last >= self._min_step and now - self._last_time >= self._min_interval_s):
            self._last, self._last_time = fraction, now
            try:
                update_progress_artifact(artifact_id=self._id, progress=round(100 * min(fraction, 1.0), 1))
            except Exception as exc:
                log.warning("progress for %r at %.0f%% not reported (the Prefect API: %s: %s)", self._description,
                            100 * fraction, type(exc).__name__, exc)
