"""Inbox tasks: list what is ready, take one object (check, archive, start its package run, clear it)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from pathlib import PurePosixPath

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment

from newsroom import inbox
from newsroom.errors import (
    InvalidKeyError,
    MediaError,
    ObjectNotFoundError,
    TransientError,
    is_transient_failure,
)
from newsroom.media.gate import admit_media
from newsroom.storage import sha256_file
from newsroom.storage.keys import clean_name
from tasks.common import retrying_task, scratch_dir, settings, store

log = logging.getLogger("newsroom.tasks.inbox")
ATTEMPTS_PREFIX = "runs/inbox-attempts"
MAX_ATTEMPTS = 5  # an object that errors this many scans in a row goes to failed/ (a poison object)
MAX_RERUNS = 10  # re-drops of content whose runs keep failing for the machine's reasons


@task(name="list-inbox", cache_policy=NO_CACHE)
def list_inbox(prefix: str, settle_s: float, max_objects: int) -> tuple[list[str], list[str], list[str]]:
    """(this scan's batch, waiting, left for later). The batch takes objects that failed fewer earlier
    attempts first, oldest first, so a few poison objects can never starve the rest."""
    ready, waiting = inbox.scan(store(), prefix, settle_s=settle_s)
    ready.sort(key=lambda o: (attempts(o.key), o.last_modified or "", o.key))
    keys = [o.key for o in ready]
    return keys[:max_objects], [o.key for o in waiting], keys[max_objects:]


def _attempts_key(key: str) -> str:
    return f"{ATTEMPTS_PREFIX}/{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}.json"


def attempts(key: str) -> int:
    try:
        return int(store().get_json(_attempts_key(key)).get("attempts", 0))
    except (ObjectNotFoundError, ValueError, AttributeError):
        return 0


@task(name="note-inbox-error", cache_policy=NO_CACHE)
def note_error(key: str, reason: str) -> inbox.InboxResult:
    """An object whose take failed (after its retries) stays for the next scan; after MAX_ATTEMPTS scans
    in a row it is moved to failed/ with the last reason, so it never blocks the inbox."""
    count = attempts(key) + 1
    if count >= MAX_ATTEMPTS:
        try:
            moved = inbox.move_to_failed(store(), key, f"gave up after {count} attempts: {reason}")
        except ObjectNotFoundError:
            return inbox.InboxResult(key, "gone", "removed before it could be moved to failed/")
        store().delete(_attempts_key(key))
        return inbox.InboxResult(key, "failed", f"gave up after {count} attempts: {reason}", moved_to=moved)
    store().put_json(_attempts_key(key), {"key": key, "attempts": count, "last_error": reason[:500]})
    return inbox.InboxResult(key, "error", f"attempt {count} of {MAX_ATTEMPTS}: {reason}")


@retrying_task(name="take-inbox-object", cache_policy=NO_CACHE)
def take_object(key: str, package_deployment: str) -> inbox.InboxResult:
    """Usable media -> archive copy (cleaned name, original kept in its metadata) -> one package run per
    content hash -> removed from the inbox. Unusable names and media go to failed/ with the reason;
    machine failures (storage, disk, deadlines) raise TransientError and the object stays."""
    started = time.monotonic()
    result = _take(key, package_deployment)
    return dataclasses.replace(result, elapsed_s=round(time.monotonic() - started, 3))


def _take(key: str, package_deployment: str) -> inbox.InboxResult:
    name = inbox.original_name(key)
    with scratch_dir() as tmp:
        try:
            cleaned = clean_name(name)
            info = store().stat(key)
            if info.size_bytes > settings().max_source_bytes:
                raise MediaError(f"{info.size_bytes:,} bytes is over the {settings().max_source_bytes:,}-byte limit "
                                 "(NEWSROOM_MAX_SOURCE_BYTES)")
            path = store().get_file(key, tmp / f"source{PurePosixPath(cleaned).suffix[:16]}")
            sha = sha256_file(path)
            admit_media(path, settings())
        except ObjectNotFoundError:
            return inbox.InboxResult(key, "gone", "removed before the scan reached it (another scan took it?)")
        except InvalidKeyError as exc:
            return _failed(key, f"unusable file name: {exc}")
        except TransientError:
            raise
        except MediaError as exc:
            return _failed(key, f"not usable media: {exc}")
        except OSError as exc:  # our scratch disk: full, or unwritable
            raise TransientError(f"the worker's scratch folder failed ({exc}): retry when there is space") from exc
    dest = inbox.archive_key(key, sha)
    if not store().exists(dest):
        store().copy(key, dest, metadata={inbox.ORIGINAL_NAME_METADATA: name[:500]})
    outcome, detail, run_id = _start_package(package_deployment, dest, sha)
    store().delete(key)  # only now: the archive copy exists and its run is recorded
    store().delete(_attempts_key(key))
    return inbox.InboxResult(key, outcome, detail, moved_to=dest, flow_run_id=run_id)


def _failed(key: str, reason: str) -> inbox.InboxResult:
    moved = inbox.move_to_failed(store(), key, reason)
    store().delete(_attempts_key(key))
    return inbox.InboxResult(key, "failed", reason, moved_to=moved)


def _start_package(deployment: str, source: str, sha: str) -> tuple[str, str, str]:
    """One package run per content hash (the Prefect server enforces the idempotency key). When the run
    for this content failed because of the machine (crashed, out of memory, disk full, a deadline), a new
    one is started; a run that refused the content stays the answer."""
    key = f"inbox:{sha}"
    for _ in range(MAX_RERUNS):
        proposed = f"inbox-{uuid.uuid4().hex[:10]}"
        run = run_deployment(deployment, parameters={"source": source}, timeout=0, as_subflow=False,
                             idempotency_key=key, flow_run_name=proposed, tags=["inbox"])
        if run.name == proposed:
            return ("retried" if key != f"inbox:{sha}" else "started"), \
                ("the earlier run failed for a transient reason" if key != f"inbox:{sha}" else ""), str(run.id)
        state = run.state
        if state is None or not is_transient_failure(state.type.value, state.message):
            earlier = f" (its run ended {state.name}: {state.message})" if state and state.is_final() and \
                not state.is_completed() else ""
            return "duplicate", f"same content as an earlier upload{earlier}", str(run.id)
        log.info("the run %s for this content ended %s (%s): starting it again", run.id, state.name, state.message)
        key = f"inbox:{sha}:after:{run.id}"
    return "duplicate", f"runs for this content failed {MAX_RERUNS} times in a row", str(run.id)


@task(name="summarise-inbox", cache_policy=NO_CACHE)
def summarise_inbox(results: list[inbox.InboxResult]) -> None:
    if results:
        create_table_artifact(
            key="inbox-scan", description="What the inbox scan did with each object",
            table=[{"object": r.key, "outcome": r.outcome, "detail": r.detail, "moved to": r.moved_to or "",
                    "flow run": r.flow_run_id or ""} for r in results],
        )
