"""Story ids, key rules and the manifest written from per-stage fragments."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from newsroom.errors import InvalidKeyError, ObjectNotFoundError
from newsroom.manifest import asset_for_file, read_manifest, record_assets, write_manifest
from newsroom.storage import manifest_key, story_id_from_sha256, story_id_of, story_key
from newsroom.types import ModelRef

SID = story_id_from_sha256(hashlib.sha256(b"clip").hexdigest())


def test_story_id_is_stable_and_derived_from_content():
    assert hashlib.sha256(b"clip").hexdigest()[:20] == SID
    assert story_id_from_sha256(hashlib.sha256(b"clip").hexdigest()) == SID
    with pytest.raises(ValueError):
        story_id_from_sha256("not-a-digest")


def test_story_keys_stay_inside_their_prefix():
    assert story_key(SID, "ingest", "transcript.json") == f"stories/{SID}/ingest/transcript.json"
    assert story_key(SID, "edit", "chunks/0001.mp4").endswith("edit/chunks/0001.mp4")
    assert story_id_of(story_key(SID, "edit", "x.mp4")) == SID
    for stage, name in [("ingest", "../../other/x"), ("ingest", "/etc/passwd"), ("../x", "a"),
                        ("Ingest", "a"), ("ingest", "a\nb"), ("ingest", ".tmp-x")]:
        with pytest.raises(InvalidKeyError):
            story_key(SID, stage, name)
    for bad_id in ["../x", "ABCDEF", SID[:-1], SID + "0"]:
        with pytest.raises(InvalidKeyError):
            story_key(bad_id, "ingest", "x")
    with pytest.raises(InvalidKeyError):
        story_id_of("inbox/file.mp4")


def test_manifest_merges_stage_fragments(store, tmp_path):
    files = {}
    for stage, name in [("source", "original.mp4"), ("ingest", "transcript.json"), ("edit", "cover.png")]:
        path = tmp_path / name
        path.write_bytes(name.encode() * 10)
        key = story_key(SID, stage, name)
        store.put_file(key, path)
        model = ModelRef("whisper-base", "1") if stage == "ingest" else None
        record_assets(store, SID, stage, [asset_for_file(key, path, step=f"make-{stage}", model=model)],
                      info={"stage": stage})
        files[key] = path
    manifest = write_manifest(store, SID)
    assert [a["key"] for a in manifest["assets"]] == sorted(files)
    by_key = {a["key"]: a for a in manifest["assets"]}
    entry = by_key[story_key(SID, "ingest", "transcript.json")]
    assert entry["sha256"] == hashlib.sha256(files[entry["key"]].read_bytes()).hexdigest()
    assert entry["bytes"] == files[entry["key"]].stat().st_size
    assert entry["model"] == {"id": "whisper-base", "version": "1"}
    assert entry["media_type"] == "application/json"
    assert set(manifest["stages"]) == {"source", "ingest", "edit"}
    assert read_manifest(store, SID) == store.get_json(manifest_key(SID))


def test_tasks_recording_side_by_side_lose_nothing(store, tmp_path):
    # Threads of one flow run record into the same stage fragment at once (e.g. covers next to the edit).
    def record(i: int) -> None:
        path = tmp_path / f"part{i}.txt"
        path.write_text(str(i))
        key = story_key(SID, "edit", path.name)
        store.put_file(key, path)
        record_assets(store, SID, "edit", [asset_for_file(key, path, step="part")], info={f"part{i}": i})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(record, range(24)))
    fragment = store.get_json(story_key(SID, "edit", "assets.json"))
    assert len(fragment["assets"]) == 24 and len(fragment["info"]) == 24


def test_manifest_refuses_to_list_missing_objects(store, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a")
    key = story_key(SID, "ingest", "a.txt")
    record_assets(store, SID, "ingest", [asset_for_file(key, path, step="x")])
    with pytest.raises(ObjectNotFoundError):
        write_manifest(store, SID)
    assert not store.exists(manifest_key(SID))
    with pytest.raises(ObjectNotFoundError, match="ingest it first"):
        read_manifest(store, SID)
