"""The edit flow end to end under the Prefect harness, on the bundled sample and awkward sources."""

from __future__ import annotations

import json
import subprocess

import pytest

from flows.edit import edit
from flows.ingest import ingest
from newsroom.errors import MediaError
from newsroom.manifest import read_manifest
from newsroom.media import probe
from newsroom.video.restore import PRESETS
from tests.conftest import SAMPLE, ffmpeg
from tests.test_flows import latest_artifact, task_states


def stream_codecs(path) -> list[str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return [s["codec_name"] for s in json.loads(out.stdout)["streams"]]


@pytest.fixture
def edited_sample(local_env, tmp_path):
    story_id = ingest(str(SAMPLE), asr_model="tiny.en")
    state = edit(story_id, target_s=12, upscale="lanczos", headline="City council votes to expand bike lanes",
                 return_state=True)
    return story_id, state


def test_edit_sample_end_to_end(edited_sample, tmp_path):
    from newsroom.storage import open_store

    story_id, state = edited_sample
    assert state.result().endswith("manifest.json")
    store = open_store()
    manifest = read_manifest(store, story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    expected = {"edit/scenes.json", "edit/edit-clean.mp4", "edit/highlight.otio", "edit/highlight.edl",
                "edit/edit-decision.json", "edit/transcript-edit.json", "edit/upscaled.mp4", "edit/subtitles.srt",
                "edit/subtitles.vtt", "edit/subtitles.ttml", "edit/subtitles-report.json", "edit/edit.mp4",
                "edit/edit-burned.mp4", "edit/edit-vertical.mp4", "edit/cover-16x9.png", "edit/cover-9x16.png",
                "edit/cover-1x1.png"}
    assert expected <= names, expected - names
    assert not any("upscale/chunk-" in n for n in names)  # scratch chunks are cleaned up

    def local(name):
        return store.get_file(f"stories/{story_id}/{name}", tmp_path / name.replace("/", "_"))

    decision = json.loads(local("edit/edit-decision.json").read_text())
    assert 8 <= decision["duration_s"] <= 16
    edit_mp4 = probe(local("edit/edit.mp4"))
    assert (edit_mp4.video.width, edit_mp4.video.height) == (1280, 720)  # lanczos x2 of 640x360
    assert edit_mp4.duration_s == pytest.approx(decision["duration_s"], abs=0.1)
    assert "mov_text" in stream_codecs(local("edit/edit.mp4"))
    vertical = probe(local("edit/edit-vertical.mp4"))
    assert (vertical.video.width, vertical.video.height) == (720, 1280) and vertical.has_audio
    assert vertical.duration_s == pytest.approx(decision["duration_s"], abs=0.1)
    report = json.loads(local("edit/subtitles-report.json").read_text())
    assert report["ok"], report["violations"]  # the sample is read at a news pace: every rule holds
    for flag in report["possible_mishearings"]:  # words Whisper was unsure of, on the edit's timeline
        assert flag["message"].startswith("possible mis-hearing: ") and 0 <= flag["start_s"] <= decision["duration_s"]
    assert "-->" in local("edit/subtitles.srt").read_text()
    from PIL import Image

    assert Image.open(local("edit/cover-9x16.png")).size == (1080, 1920)
    assert manifest["stages"]["edit"]["restore"]["preset"]
    assert latest_artifact(f"edit-{story_id}").data.count("edit") > 3
    assert latest_artifact(f"scenes-{story_id}").type == "table"

    # A re-run with the same parameters resumes from the cache instead of re-rendering.
    again = edit(story_id, target_s=12, upscale="lanczos", headline="City council votes to expand bike lanes",
                 return_state=True)
    states = task_states(again.state_details.flow_run_id)
    assert states["highlight-edit"] == "Cached" and states["detect-scenes"] == "Cached", states


def test_edit_without_audio_and_with_esrgan_in_worker_processes(local_env, tmp_path):
    """No speech: the edit follows the scenes, no subtitles; Real-ESRGAN chunks run in 2 worker processes."""
    clip = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=161x97:rate=25", "-t", "1.6", "-vf", "negate=enable='gte(t,0.8)'",
           "-c:v", "libx264", "-pix_fmt", "yuv444p", str(clip))  # odd size (4:4:4 allows it), a cut at 0.8 s
    story_id = ingest(str(clip), asr_model="tiny.en")
    edit(story_id, target_s=30, upscale="esrgan", upscale_workers=2, vertical=False)
    from newsroom.storage import open_store

    store = open_store()
    manifest = read_manifest(store, story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    assert "edit/subtitles.srt" not in names and "edit/edit.mp4" in names
    assert "no speech" in manifest["stages"]["edit"]["highlight"]["note"]
    out = probe(store.get_file(f"stories/{story_id}/edit/edit.mp4", tmp_path / "e.mp4"))
    assert (out.video.width, out.video.height) == (320, 192)  # 161x97 -> even 160x96 mezzanine -> x2
    assert out.duration_s == pytest.approx(1.6, abs=0.05)
    upscaled = next(a for a in manifest["assets"] if a["key"].endswith("edit/upscaled.mp4"))
    assert upscaled["model"]["id"] == "realesrgan-animevideov3"
    cover = next(a for a in manifest["assets"] if a["key"].endswith("edit/cover-16x9.png"))
    assert cover["model"]["id"] == "realesrgan-x4plus"  # a 160x96 source: covers go through x4plus first


def test_audio_only_story_cannot_be_edited(local_env, media_dir):
    story_id = ingest(str(media_dir / "tone.m4a"), asr_model="tiny.en")
    with pytest.raises(MediaError, match="needs pictures"):
        edit(story_id)


def test_flow_restore_choices_match_the_presets():
    from typing import get_args

    from flows.edit import RestorePreset

    assert set(get_args(RestorePreset)) == {"auto", *PRESETS}
