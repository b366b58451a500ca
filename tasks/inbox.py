"""Inbox tasks: list what is ready, take one object (check, archive, start its package run, clear it)."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment

from newsroom import inbox
from newsroom.errors import MediaError, ObjectNotFoundError
from newsroom.media import probe
from newsroom.storage import sha256_file
from tasks.common import retrying_task, scratch_dir, settings, store


@task(name="list-inbox", cache_policy=NO_CACHE)
def list_inbox(prefix: str, settle_s: float) -> tuple[list[str], list[str]]:
    ready, waiting = inbox.scan(store(), prefix, settle_s=settle_s)
    return [o.key for o in ready], [o.key for o in waiting]


@retrying_task(name="take-inbox-object", cache_policy=NO_CACHE)
def take_object(key: str, package_deployment: str) -> inbox.InboxResult:
    """Readable media -> archive copy -> one package run per content hash -> removed from the inbox."""
    with scratch_dir() as tmp:
        try:
            info = store().stat(key)
            if info.size_bytes > settings().max_source_bytes:
                raise MediaError(f"{info.size_bytes} bytes is over the {settings().max_source_bytes}-byte limit "
                                 "(NEWSROOM_MAX_SOURCE_BYTES)")
            path = store().get_file(key, tmp / PurePosixPath(key).name)
            sha = sha256_file(path)
            media = probe(path)
            if media.video is None and not media.has_audio:
                raise MediaError("it has neither a video nor an audio stream")
        except ObjectNotFoundError:
            return inbox.InboxResult(key, "gone", "removed before the scan reached it (another scan took it?)")
        except MediaError as exc:
            reason = f"not usable media: {exc}"
            return inbox.InboxResult(key, "failed", reason, moved_to=inbox.move_to_failed(store(), key, reason))
    dest = inbox.archive_key(key, sha)
    if not store().exists(dest):
        store().copy(key, dest)
    proposed = f"inbox-{uuid.uuid4().hex[:10]}"
    run = run_deployment(package_deployment, parameters={"source": dest}, timeout=0, as_subflow=False,
                         idempotency_key=f"inbox:{sha}", flow_run_name=proposed, tags=["inbox"])
    store().delete(key)  # only now: the archive copy exists and its run is recorded
    duplicate = run.name != proposed
    return inbox.InboxResult(key, "duplicate" if duplicate else "started",
                             "same content as an earlier upload" if duplicate else "", moved_to=dest,
                             flow_run_id=str(run.id))


@task(name="summarise-inbox", cache_policy=NO_CACHE)
def summarise_inbox(results: list[inbox.InboxResult]) -> None:
    if results:
        create_table_artifact(
            key="inbox-scan", description="What the inbox scan did with each object",
            table=[{"object": r.key, "outcome": r.outcome, "detail": r.detail, "moved to": r.moved_to or "",
                    "flow run": r.flow_run_id or ""} for r in results],
        )
