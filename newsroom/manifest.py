"""The per-story manifest: every asset with its checksum, size, type, producing step and model.

Each stage records its assets in its own fragment (`stories/<id>/<stage>/assets.json`), so stages that
run in parallel never overwrite each other's entries; `stories/<id>/manifest.json` is the merged view,
rebuilt from the fragments and written last (one atomic PUT / rename), after every asset it lists.
`Manifest` is the typed view of either: `collect()` reads what the stages recorded so far (what a later
stage starts from), `Manifest.from_dict(read_manifest(...))` the published document.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsroom.errors import ObjectNotFoundError
from newsroom.layout import DELIVERABLES, FRAGMENT_NAME, StoryLayout
from newsroom.storage.base import ObjectStore, guess_content_type, sha256_file
from newsroom.storage.keys import story_id_of
from newsroom.types import Asset, ModelRef

__all__ = ["DELIVERABLES", "FRAGMENT_NAME", "Manifest", "asset_for_file", "collect", "read_manifest",
           "record_assets", "write_manifest"]

log = logging.getLogger("newsroom.manifest")
MANIFEST_SCHEMA_VERSION = 1
_FRAGMENT_LOCK = threading.RLock()  # one merge at a time per process (see record_assets)

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


def record_assets(
    store: ObjectStore, story_id: str, stage: str, assets: Iterable[Asset], info: dict[str, Any] | None = None
) -> str:
    """Merge `assets` (and `info`) into the stage's fragment. Returns the fragment key."""
    key = StoryLayout(story_id).fragment(stage)
    assets = list(assets)
    for asset in assets:
        if story_id_of(asset.key) != story_id:
            raise ValueError(f"asset {asset.key} does not belong to story {story_id}")
    # A stage's tasks run side by side in one flow run's threads (covers next to the edit, the transcript
    # next to the mezzanine): the read-merge-write of their shared fragment must not interleave.
    with _FRAGMENT_LOCK:
        fragment: dict[str, Any] = {"stage": stage, "info": {}, "assets": []}
        if store.exists(key):
            fragment = store.get_json(key)
        by_key = {a["key"]: a for a in fragment.get("assets", [])}
        by_key.update((asset.key, asset.to_dict()) for asset in assets)
        fragment["assets"] = [by_key[k] for k in sorted(by_key)]
        fragment["info"] = {**fragment.get("info", {}), **(info or {})}
        store.put_json(key, fragment)
    return key


def collect(store: ObjectStore, story_id: str) -> Manifest:
    """What the stages have recorded so far, merged from their fragments (a later stage starts from this:
    it does not wait for the published manifest). ObjectNotFoundError for a story never ingested."""
    layout = StoryLayout(story_id)
    stages: dict[str, dict[str, Any]] = {}
    assets: dict[str, Asset] = {}
    for obj in store.list(layout.prefix):
        parts = obj.key[len(layout.prefix):].split("/")
        if len(parts) == 2 and parts[1] == FRAGMENT_NAME:
            fragment = store.get_json(obj.key)
            stages[parts[0]] = fragment.get("info", {})
            for asset in fragment.get("assets", []):
                assets[asset["key"]] = Asset.from_dict(asset)
    if not stages:
        raise ObjectNotFoundError(f"story {story_id} has no manifest: ingest it first (newsroom ingest SOURCE)")
    return Manifest(story_id, stages, tuple(assets[k] for k in sorted(assets)))


def write_manifest(store: ObjectStore, story_id: str) -> dict[str, Any]:
    """Rebuild `manifest.json` from every stage fragment and write it (last, atomically). Returns the
    document written."""
    recorded = collect(store, story_id)
    missing = [a.key for a in recorded.assets if not store.exists(a.key)]
    if missing:
        raise ObjectNotFoundError(f"manifest for {story_id} would list missing objects: {missing}")
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
