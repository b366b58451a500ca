"""The per-story manifest: every asset with its checksum, size, type, producing step and model.

Each stage records its assets in its own fragment (`stories/<id>/<stage>/assets.json`), so stages that
run in parallel never overwrite each other's entries; `stories/<id>/manifest.json` is the merged view,
rebuilt from the fragments and written last (one atomic PUT / rename), after every asset it lists.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsroom.errors import ObjectNotFoundError
from newsroom.storage.base import ObjectStore, guess_content_type, sha256_file
from newsroom.storage.keys import manifest_key, story_id_of, story_key, story_prefix
from newsroom.types import Asset, ModelRef

log = logging.getLogger("newsroom.manifest")
MANIFEST_SCHEMA_VERSION = 1
FRAGMENT_NAME = "assets.json"
_FRAGMENT_LOCK = threading.RLock()  # one merge at a time per process (see record_assets)

# A story's finished files (keys under stories/<id>/) and their names when handed out: `newsroom run
# --out DIR` copies them, the webhook's status answer links them.
DELIVERABLES = {
    "ingest/transcript.json": "transcript.json",
    "ingest/transcript.txt": "transcript.txt",
    "edit/subtitles.srt": "subtitles.srt",
    "edit/subtitles.vtt": "subtitles.vtt",
    "edit/subtitles.ttml": "subtitles.ttml",
    "edit/cover-16x9.png": "cover-16x9.png",
    "edit/cover-9x16.png": "cover-9x16.png",
    "edit/cover-1x1.png": "cover-1x1.png",
    "edit/edit.mp4": "edit.mp4",
    "edit/edit-burned.mp4": "edit-burned.mp4",
    "edit/edit-vertical.mp4": "edit-vertical.mp4",
    "edit/highlight.otio": "highlight.otio",
    "edit/highlight.edl": "highlight.edl",
    "broadcast/draft.json": "draft.json",
    "broadcast/draft.md": "draft.md",
    "broadcast/anchor.wav": "anchor.wav",
    "broadcast/anchor.mp4": "anchor.mp4",
    "broadcast/broadcast.mp4": "broadcast.mp4",
    "broadcast/broadcast-burned.mp4": "broadcast-burned.mp4",
    "manifest.json": "manifest.json",
}


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
    key = story_key(story_id, stage, FRAGMENT_NAME)
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


def write_manifest(store: ObjectStore, story_id: str) -> dict[str, Any]:
    """Rebuild `manifest.json` from every stage fragment and write it (last, atomically)."""
    prefix = story_prefix(story_id)
    stages: dict[str, Any] = {}
    assets: dict[str, dict[str, Any]] = {}
    for obj in store.list(prefix):
        parts = obj.key[len(prefix):].split("/")
        if len(parts) == 2 and parts[1] == FRAGMENT_NAME:
            fragment = store.get_json(obj.key)
            stages[parts[0]] = fragment.get("info", {})
            for asset in fragment.get("assets", []):
                assets[asset["key"]] = asset
    missing = [k for k in assets if not store.exists(k)]
    if missing:
        raise ObjectNotFoundError(f"manifest for {story_id} would list missing objects: {missing}")
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "story_id": story_id,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "stages": stages,
        "assets": [assets[k] for k in sorted(assets)],
    }
    store.put_json(manifest_key(story_id), manifest)
    log.info("manifest for story %s lists %d assets", story_id, len(assets))
    return manifest


def read_manifest(store: ObjectStore, story_id: str) -> dict[str, Any]:
    key = manifest_key(story_id)
    if not store.exists(key):
        raise ObjectNotFoundError(f"story {story_id} has no manifest: ingest it first (newsroom ingest SOURCE)")
    return store.get_json(key)


def manifest_assets(manifest: dict[str, Any]) -> list[Asset]:
    return [Asset.from_dict(a) for a in manifest.get("assets", [])]
