"""The broadcast and whole-package flows under the Prefect harness, on the bundled sample."""

from __future__ import annotations

import json

import pytest

from flows.package import DELIVERABLES, newsroom_package
from newsroom.audio import loudness
from newsroom.manifest import read_manifest
from newsroom.media import probe
from newsroom.storage import open_store
from tests.conftest import SAMPLE
from tests.test_flows import latest_artifact


@pytest.fixture
def fast_llm(monkeypatch):
    # The 0.5B model keeps this flow test short; tests/test_llm.py exercises the default 1.5B.
    monkeypatch.setenv("NEWSROOM_LLM_MODEL", "qwen2.5-0.5b-instruct")


def test_whole_package_on_the_sample(local_env, fast_llm, tmp_path):
    story_id = newsroom_package(str(SAMPLE), asr_model="tiny.en", target_s=10)
    store = open_store()
    manifest = read_manifest(store, story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    for key in DELIVERABLES:
        if key != "manifest.json":
            assert key in names, f"{key} missing"
    for asset in manifest["assets"]:  # files written side by side (covers, segment, vertical) are listed as stored
        assert store.stat(asset["key"]).size_bytes == asset["bytes"], asset["key"]
    assert manifest["stages"]["edit"]["cover_headline"] == store.get_json(f"stories/{story_id}/broadcast/draft.json")[
        "headline"]

    def local(name):
        return store.get_file(f"stories/{story_id}/{name}", tmp_path / name.replace("/", "_"))

    draft = json.loads(local("broadcast/draft.json").read_text())
    transcript = json.loads(local("ingest/transcript.json").read_text())
    assert draft["headline"] and draft["anchor_script"] and draft["language"] == "en"
    flat = " ".join(transcript["text"].lower().split())
    for quote in draft["quotes"]:  # every published quote is in the transcript
        words = "".join(c for c in quote["text"].lower() if c.isalnum() or c.isspace()).split()
        assert " ".join(words) in "".join(c for c in flat if c.isalnum() or c.isspace())
    final = local("broadcast/broadcast.mp4")
    info = probe(final)
    assert (info.video.width, info.video.height) == (1280, 720)
    anchor = probe(local("broadcast/anchor.mp4"))
    assert info.duration_s == pytest.approx(anchor.duration_s + probe(local("edit/edit.mp4")).duration_s, abs=0.3)
    measured = loudness.measure(final)
    assert abs(measured.integrated_lufs + 23) <= 1.0 and measured.true_peak_dbtp <= -0.9
    stage = manifest["stages"]["broadcast"]
    assert stage["loudness"]["ok"] and stage["subtitles"]["ok"], stage
    checklist = latest_artifact(f"checklist-{story_id}")
    rows = json.loads(checklist.data) if isinstance(checklist.data, str) else checklist.data
    assert {r["check"] for r in rows} == {"subtitle conformance", "loudness", "quote verification"}
    assert all(r["ok"] for r in rows), rows
    assert draft["headline"] in latest_artifact(f"draft-{story_id}").data


def test_silent_story_gets_no_invented_draft(local_env, fast_llm, media_dir):
    story_id = newsroom_package(str(media_dir / "noaudio.mp4"), asr_model="tiny.en", target_s=5, vertical=False)
    manifest = read_manifest(open_store(), story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    assert "edit/edit.mp4" in names
    assert not any(n.startswith("broadcast/") for n in names)
    assert "nothing to write about" in latest_artifact(f"story-{story_id}").data
