"""The bucket inbox: which uploaded objects are ready, and where handled ones go (archive/ or failed/).

Objects dropped under the inbox prefix (default `inbox/`) become stories: the scan (flows/inbox.py) checks
each ready object is readable media, copies it to `archive/<story id>/<name>`, starts one package run per
content hash, and only then removes it from the inbox. Unreadable objects move to `failed/<time>/<name>`
with a `<name>.error.json` that says why. Nothing is deleted before its copy exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Literal

from newsroom.errors import InvalidKeyError
from newsroom.storage import ObjectStore
from newsroom.storage.keys import clean_name, story_id_from_sha256, validate_new_key
from newsroom.types import ObjectInfo

log = logging.getLogger("newsroom.inbox")
ARCHIVE_PREFIX = "archive"
FAILED_PREFIX = "failed"
ERROR_SUFFIX = ".error.json"
ORIGINAL_NAME_METADATA = "filename"  # the name as dropped (before NFC and cleaning), kept on the archive copy
Outcome = Literal["started", "duplicate", "retried", "failed", "waiting", "gone", "error"]


@dataclass(frozen=True, slots=True)
class InboxResult:
    """What a scan did with one inbox object."""

    key: str
    outcome: Outcome
    detail: str = ""
    moved_to: str | None = None
    flow_run_id: str | None = None
    elapsed_s: float = 0.0  # how long the scan spent on it


def _age_s(info: ObjectInfo, now: datetime) -> float:
    if not info.last_modified:
        return float("inf")
    modified = datetime.fromisoformat(info.last_modified)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return (now - modified).total_seconds()


def scan(store: ObjectStore, prefix: str, *, settle_s: float, now: datetime | None = None
         ) -> tuple[list[ObjectInfo], list[ObjectInfo]]:
    """(ready, waiting) objects under `prefix`. Waiting ones changed within `settle_s` (maybe still uploading);
    folder markers, hidden names (`.part` files of uploaders) and error records are not candidates."""
    now = now or datetime.now(UTC)
    ready, waiting = [], []
    for info in store.list(prefix):
        name = PurePosixPath(info.key).name
        if info.key.endswith("/") or name.startswith(".") or name.endswith(ERROR_SUFFIX):
            continue
        (waiting if _age_s(info, now) < settle_s else ready).append(info)
    return ready, waiting


def original_name(key: str) -> str:
    return PurePosixPath(key).name


def archive_key(key: str, sha256_hex: str) -> str:
    """`archive/<story id>/<name>` (the name cleaned: NFC, no control characters): the same content always
    lands in the same place. InvalidKeyError when the name has nothing usable left."""
    return validate_new_key(f"{ARCHIVE_PREFIX}/{story_id_from_sha256(sha256_hex)}/{clean_name(original_name(key))}")


def move_to_failed(store: ObjectStore, key: str, reason: str, *, now: datetime | None = None) -> str:
    """Copy `key` to `failed/<time>/<name>` with an error record beside it, then delete the original."""
    now = now or datetime.now(UTC)
    try:
        name = clean_name(original_name(key))
    except InvalidKeyError:
        name = "unnamed"
    dest = validate_new_key(f"{FAILED_PREFIX}/{now:%Y%m%dT%H%M%SZ}/{name}")
    store.copy(key, dest)
    store.put_json(dest + ERROR_SUFFIX, {"source_key": key, "failed_key": dest, "error": reason,
                                         "at": now.isoformat(timespec="seconds")})
    store.delete(key)
    log.warning("moved %s to %s: %s", key, dest, reason)
    return dest
