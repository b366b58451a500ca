"""The per-story manifest: every asset with its checksum, size, type, producing step and model.

Each task records what it wrote in a record of its own (`stories/<id>/<stage>/records/<name>.json`): one
PUT of a new object, never a read-merge-write, so tasks in other processes or on other machines (an edit on
one worker, its upscale on another, covers beside the broadcast) can never lose each other's entries.
`stories/<id>/manifest.json` is the merged view, rebuilt from the records and written last (one atomic PUT /
rename), after every asset it lists. Records merge in the order they were written: a later record of the
same key (a re-run) wins. `Manifest` is the typed view of either: `collect()` reads what the stages recorded
so far (what a later stage starts from), `Manifest.from_dict(read_manifest(...))` the published document,
and `verify_story()` re-hashes every object the published manifest lists.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsroom.errors import ObjectChangedError, ObjectNotFoundError
from newsroom.layout import DELIVERABLES, FRAGMENT_NAME, RECORDS_FOLDER, StoryLayout
from newsroom.storage.base import ObjectStore, guess_content_type, sha256_file
from newsroom.storage.keys import story_id_of
from newsroom.types import Asset, ModelRef

__all__ = ["DELIVERABLES", "FRAGMENT_NAME", "AssetProblem", "Manifest", "Record", "Verification", "asset_for_file",
           "collect", "object_sha256", "read_manifest", "read_records", "record_assets", "verify_story",
           "write_manifest"]

log = logging.getLogger("newsroom.manifest")
MANIFEST_SCHEMA_VERSION = 1
RECORD_NAME_HEX_CHARS = 16


@dataclass(frozen=True, slots=True)
class Record:
    """What one task recorded: its assets and info, the cache key of the task run that wrote them (None outside
    a cached task) and the stored objects it consumed and deleted (key -> ETag), e.g. the upscaling chunks."""

    key: str
    stage: str
    recorded_at: str
    info: dict[str, Any] = field(default_factory=dict)
    assets: tuple[Asset, ...] = ()
    cache_key: str | None = None
    consumed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "recorded_at": self.recorded_at, "cache_key": self.cache_key, "info": self.info,
                "assets": [a.to_dict() for a in self.assets], "consumed": self.consumed}

    @classmethod
    def from_dict(cls, key: str, data: dict[str, Any]) -> Record:
        return cls(key=key, stage=data.get("stage", ""), recorded_at=data.get("recorded_at", ""),
                   info=dict(data.get("info", {})), assets=tuple(Asset.from_dict(a) for a in data.get("assets", ())),
                   cache_key=data.get("cache_key"), consumed=dict(data.get("consumed") or {}))


@dataclass(frozen=True, slots=True)
class Manifest:
    """A story's assets and what each stage recorded about its work (`stages`: stage -> info)."""

    story_id: str
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: tuple[Asset, ...] = ()
    updated_at: str = ""
    schema_version: int = MANIFEST_SCHEMA_VERSION

    def has(self, key: str) -> bool:
        """Whether `key` is a recorded asset (stored, with its checksum)."""
        return any(asset.key == key for asset in self.assets)

    def info(self, stage: str) -> dict[str, Any]:
        """What `stage` recorded about its work ({} before it ran)."""
        return self.stages.get(stage, {})

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "story_id": self.story_id, "updated_at": self.updated_at,
                "stages": self.stages, "assets": [asset.to_dict() for asset in self.assets]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(story_id=data["story_id"], stages=dict(data.get("stages", {})),
                   assets=tuple(Asset.from_dict(a) for a in data.get("assets", ())),
                   updated_at=data.get("updated_at", ""),
                   schema_version=int(data.get("schema_version", MANIFEST_SCHEMA_VERSION)))


def asset_for_file(
    key: str, path: str | Path, *, step: str, model: ModelRef | None = None, media_type: str | None = None
) -> Asset:
    """Describe a local file about to be (or just) stored under `key`."""
    path = Path(path)
    return Asset(
        key=key,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        media_type=media_type or guess_content_type(key),
        step=step,
        model=model,
    )


def record_name(stage: str, assets: Iterable[Asset], info: Mapping[str, Any] | None, cache_key: str | None) -> str:
    """A record's file name: the writing task's cache key (so a cached result finds its record), then a digest of
    what it records (so two records of one task run, or of two tasks, never share a name)."""
    digest = hashlib.sha256("\n".join([stage, *sorted(a.key for a in assets), "|", *sorted(info or {})]).encode())
    return f"{(cache_key or 'direct')[:RECORD_NAME_HEX_CHARS]}-{digest.hexdigest()[:RECORD_NAME_HEX_CHARS]}.json"


def record_assets(
    store: ObjectStore, story_id: str, stage: str, assets: Iterable[Asset], info: dict[str, Any] | None = None, *,
    cache_key: str | None = None, consumed: Mapping[str, str] | None = None,
) -> str:
    """Record `assets` (and `info`) in a new record of the stage (one PUT). Returns the record's key."""
    assets = list(assets)
    for asset in assets:
        if story_id_of(asset.key) != story_id:
            raise ValueError(f"asset {asset.key} does not belong to story {story_id}")
    key = StoryLayout(story_id).record(stage, record_name(stage, assets, info, cache_key))
    record = Record(key, stage, datetime.now(UTC).isoformat(timespec="microseconds"), dict(info or {}),
                    tuple(sorted(assets, key=lambda a: a.key)), cache_key, dict(consumed or {}))
    store.put_json(key, record.to_dict())
    return key


def read_records(store: ObjectStore, story_id: str, stage: str | None = None, *,
                 cache_key: str | None = None) -> list[Record]:
    """The story's records (and the one-file fragments of older stories, as records), oldest first; with
    `cache_key`, only the records written by task runs under that cache key."""
    layout = StoryLayout(story_id)
    prefix = layout.prefix + (f"{stage}/" if stage else "")
    legacy, records = [], []
    for obj in store.list(prefix):
        parts = obj.key[len(layout.prefix):].split("/")
        if len(parts) == 2 and parts[1] == FRAGMENT_NAME:
            legacy.append(obj.key)
        elif len(parts) == 3 and parts[1] == RECORDS_FOLDER and parts[2].endswith(".json") and \
                (cache_key is None or parts[2].startswith(f"{cache_key[:RECORD_NAME_HEX_CHARS]}-")):
            records.append(obj.key)
    found = []
    for key in [*([] if cache_key else legacy), *records]:
        try:
            data = store.get_json(key)
        except ObjectNotFoundError:  # removed since the listing (a story being discarded)
            log.debug("record %s vanished while reading story %s", key, story_id)
            continue
        if key in legacy:  # the stage's fragment as one record, older than any record
            data = {**data, "stage": key[len(layout.prefix):].split("/")[0], "recorded_at": ""}
        record = Record.from_dict(key, data)
        if cache_key is None or record.cache_key == cache_key:
            found.append(record)
    return sorted(found, key=lambda r: (r.recorded_at, r.key))


def collect(store: ObjectStore, story_id: str) -> Manifest:
    """What the stages have recorded so far, merged from their records (a later stage starts from this: it
    does not wait for the published manifest). ObjectNotFoundError for a story never ingested."""
    stages: dict[str, dict[str, Any]] = {}
    assets: dict[str, Asset] = {}
    for record in read_records(store, story_id):
        stages[record.stage] = {**stages.get(record.stage, {}), **record.info}
        assets.update((asset.key, asset) for asset in record.assets)
    if not stages:
        raise ObjectNotFoundError(f"story {story_id} has no manifest: ingest it first (newsroom ingest SOURCE)")
    return Manifest(story_id, stages, tuple(assets[k] for k in sorted(assets)))


def write_manifest(store: ObjectStore, story_id: str) -> dict[str, Any]:
    """Rebuild `manifest.json` from every stage fragment and write it (last, atomically). Returns the
    document written."""
    recorded = collect(store, story_id)
    missing, changed = [], []
    for asset in recorded.assets:
        try:
            stored = store.stat(asset.key).metadata.get("sha256")
        except ObjectNotFoundError:
            missing.append(asset.key)
            continue
        if stored and stored != asset.sha256:  # written again after it was recorded, by a run that did not record
            changed.append(asset.key)
    if missing:
        raise ObjectNotFoundError(f"manifest for {story_id} would list missing objects: {missing}")
    if changed:
        raise ObjectChangedError(f"manifest for {story_id}: {changed} changed after they were recorded (their "
                                  "sha256 metadata differs): run the stage that makes them again")
    manifest = Manifest(story_id, recorded.stages, recorded.assets,
                        updated_at=datetime.now(UTC).isoformat(timespec="seconds"))
    document = manifest.to_dict()
    store.put_json(StoryLayout(story_id).manifest, document)
    log.info("manifest for story %s lists %d assets", story_id, len(manifest.assets))
    return document


def read_manifest(store: ObjectStore, story_id: str) -> dict[str, Any]:
    """The published manifest document (a contract: tools outside the code read it)."""
    key = StoryLayout(story_id).manifest
    if not store.exists(key):
        raise ObjectNotFoundError(f"story {story_id} has no manifest: ingest it first (newsroom ingest SOURCE)")
    return store.get_json(key)


def object_sha256(store: ObjectStore, key: str) -> str:
    """The sha256 of a stored object's bytes, read now (through a temporary file; a local store's file as is)."""
    local_path = getattr(store, "local_path", None)
    if local_path is not None:
        return sha256_file(local_path(key))
    with tempfile.TemporaryDirectory(prefix="newsroom-verify-") as tmp:
        return sha256_file(store.get_file(key, Path(tmp) / "object"))


@dataclass(frozen=True, slots=True)
class AssetProblem:
    """A manifest entry its object does not match: `problem` is missing, size or sha256."""

    key: str
    problem: str
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class Verification:
    """`newsroom verify STORY`: every manifest entry re-hashed against its object. `unlisted` are objects under the
    story that no entry lists (left-over scratch such as upscaling chunks, or an object written after the
    manifest was published)."""

    story_id: str
    checked: int
    problems: tuple[AssetProblem, ...] = ()
    unlisted: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"story_id": self.story_id, "ok": self.ok, "checked": self.checked,
                "problems": [{"key": p.key, "problem": p.problem, "expected": p.expected, "found": p.found}
                             for p in self.problems], "unlisted": list(self.unlisted)}


def verify_story(store: ObjectStore, story_id: str) -> Verification:
    """Re-hash every object the published manifest lists and compare size and sha256 with its entry."""
    manifest = Manifest.from_dict(read_manifest(store, story_id))
    layout = StoryLayout(story_id)
    problems = []
    for asset in manifest.assets:
        try:
            info = store.stat(asset.key)
        except ObjectNotFoundError:
            problems.append(AssetProblem(asset.key, "missing", asset.sha256, ""))
            continue
        if info.size_bytes != asset.bytes:
            problems.append(AssetProblem(asset.key, "size", str(asset.bytes), str(info.size_bytes)))
            continue
        found = object_sha256(store, asset.key)
        if found != asset.sha256:
            problems.append(AssetProblem(asset.key, "sha256", asset.sha256, found))
    listed = {asset.key for asset in manifest.assets}
    unlisted = tuple(o.key for o in store.list(layout.prefix)
                     if o.key not in listed and not layout.is_bookkeeping(o.key))
    for problem in problems:
        log.warning("story %s: %s does not match its manifest entry (%s)", story_id, problem.key, problem.problem)
    return Verification(story_id, len(manifest.assets), tuple(problems), unlisted)
