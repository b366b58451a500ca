"""Story ids, key rules and the manifest written from per-stage fragments."""

from __future__ import annotations

import hashlib
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest

from newsroom.errors import InvalidKeyError, ObjectChangedError, ObjectNotFoundError
from newsroom.layout import DELIVERABLES, StoryLayout
from newsroom.manifest import (
    Manifest,
    asset_for_file,
    collect,
    read_manifest,
    read_records,
    record_assets,
    verify_story,
    write_manifest,
)
from newsroom.storage import story_id_from_sha256, story_id_of, story_key
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
    assert read_manifest(store, SID) == store.get_json(StoryLayout(SID).manifest)
    # The typed view: the published document round-trips, and the fragments read the same before publishing.
    view = Manifest.from_dict(manifest)
    assert view.to_dict() == manifest and view.has(story_key(SID, "edit", "cover.png"))
    assert not view.has(story_key(SID, "edit", "other.png")) and view.info("ingest") == {"stage": "ingest"}
    assert collect(store, SID).assets == view.assets and collect(store, SID).stages == view.stages


def _record_parts(store, tmp_path, first: int, count: int) -> None:
    for i in range(first, first + count):
        path = tmp_path / f"part{i}.txt"
        path.write_text(str(i))
        key = story_key(SID, "edit", path.name)
        store.put_file(key, path)
        record_assets(store, SID, "edit", [asset_for_file(key, path, step="part")], info={f"part{i}": i})


def test_tasks_recording_side_by_side_lose_nothing(store, tmp_path):
    # Threads of one flow run record into the same stage at once (e.g. covers next to the edit), and so do
    # processes on other workers (an edit's upscale on the heavy pool): each record is an object of its own.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: _record_parts(store, tmp_path, i, 1), range(12)))
    fork = multiprocessing.get_context("fork")
    processes = [fork.Process(target=_record_parts, args=(store, tmp_path, 12 + 4 * n, 4)) for n in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    view = collect(store, SID)
    assert len(view.assets) == 24 and len(view.info("edit")) == 24
    assert len(read_records(store, SID, "edit")) == 24
    assert not store.exists(StoryLayout(SID).fragment("edit"))  # nothing is read-merged-written any more


def test_a_later_record_of_the_same_key_wins_and_old_fragments_still_read(store, tmp_path):
    layout = StoryLayout(SID)
    store.put_json(layout.fragment("ingest"), {"stage": "ingest", "info": {"language": "en", "old": 1}, "assets": []})
    path = tmp_path / "t.json"
    for text in ("first", "second"):
        path.write_text(text)
        store.put_file(layout.transcript_json, path)
        record_assets(store, SID, "ingest", [asset_for_file(layout.transcript_json, path, step=text)],
                      info={"language": text})
    view = collect(store, SID)
    assert view.info("ingest") == {"language": "second", "old": 1}
    assert [a.step for a in view.assets] == ["second"]


def test_verify_rehashes_every_entry_and_names_what_differs(store, tmp_path):
    layout = StoryLayout(SID)
    keys = []
    for name in ("a.bin", "b.bin", "c.bin"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 1000)
        key = story_key(SID, "edit", name)
        store.put_file(key, path)
        record_assets(store, SID, "edit", [asset_for_file(key, path, step="x")])
        keys.append(key)
    write_manifest(store, SID)
    result = verify_story(store, SID)
    assert result.ok and result.checked == 3 and result.unlisted == ()
    data = bytearray(store.get_bytes(keys[0]))
    data[100] ^= 0x01  # the same size, one bit changed
    store.put_bytes(keys[0], bytes(data))
    store.delete(keys[1])
    store.put_bytes(story_key(SID, "edit", "upscale/chunk-0000.mp4"), b"left over")
    result = verify_story(store, SID)
    assert not result.ok
    assert {(p.key, p.problem) for p in result.problems} == {(keys[0], "sha256"), (keys[1], "missing")}
    assert result.unlisted == (story_key(SID, "edit", "upscale/chunk-0000.mp4"),)
    assert layout.is_bookkeeping(layout.manifest) and not layout.is_bookkeeping(keys[2])


def test_the_manifest_refuses_an_object_changed_after_it_was_recorded(store, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("recorded")
    key = story_key(SID, "edit", "a.txt")
    asset = asset_for_file(key, path, step="x")
    store.put_file(key, path, metadata={"sha256": asset.sha256})
    record_assets(store, SID, "edit", [asset])
    write_manifest(store, SID)
    path.write_text("written again, not recorded")
    store.put_file(key, path, metadata={"sha256": asset_for_file(key, path, step="x").sha256})
    with pytest.raises(ObjectChangedError, match="changed after they were recorded"):
        write_manifest(store, SID)


def test_manifest_refuses_to_list_missing_objects(store, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a")
    key = story_key(SID, "ingest", "a.txt")
    record_assets(store, SID, "ingest", [asset_for_file(key, path, step="x")])
    with pytest.raises(ObjectNotFoundError):
        write_manifest(store, SID)
    assert not store.exists(StoryLayout(SID).manifest)
    with pytest.raises(ObjectNotFoundError, match="ingest it first"):
        read_manifest(store, SID)


def test_one_layout_names_every_key_and_the_handed_out_files():
    layout = StoryLayout(SID)
    files = StoryLayout.files()
    keys = [layout.key(f) for f in files.values()]
    assert len(set(keys)) == len(keys)  # no two names for one key
    assert layout.transcript_json == f"stories/{SID}/ingest/transcript.json" == story_key(SID, "ingest", "transcript.json")
    assert layout.manifest == f"stories/{SID}/manifest.json"
    assert layout.cover("9x16") == layout.cover_9x16 and layout.subtitles("vtt") == layout.subtitles_vtt
    assert layout.source(".mov") == f"stories/{SID}/source/original.mov"
    assert layout.upscale_chunk(7).endswith("edit/upscale/chunk-0007.mp4")
    assert layout.fragment("edit") == f"stories/{SID}/edit/assets.json"
    assert layout.record("edit", "x.json") == f"stories/{SID}/edit/records/x.json"
    # The handed-out files are the table's marked rows: the same for --out, the webhook and the artifact.
    assert {k.removeprefix(layout.prefix): n for k, n in layout.handouts().items()} == DELIVERABLES
    assert "manifest.json" in DELIVERABLES.values() and "edit/edit-clean.mp4" not in DELIVERABLES
    with pytest.raises(InvalidKeyError):
        StoryLayout("../" + SID)


def test_no_module_spells_a_story_key_outside_the_layout():
    """Keys under stories/<id>/ come from newsroom/layout.py: no other module builds one by hand."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    hand_built = re.compile(r"story_key\(|[\"']stories/|f[\"']stories/|manifest_key\(")
    allowed = {root / "newsroom" / "layout.py", root / "newsroom" / "storage" / "keys.py"}
    offenders = [f"{path.relative_to(root)}:{n}" for folder in ("newsroom", "tasks", "flows", "bench")
                 for path in sorted((root / folder).rglob("*.py")) if path not in allowed
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                 if hand_built.search(line) and not line.lstrip().startswith("#")]
    assert offenders == []
