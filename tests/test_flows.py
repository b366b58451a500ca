"""The ingest flow under a real Prefect harness (one temporary server for the whole session)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.ingest import ingest
from newsroom.errors import MediaError, SourceError
from newsroom.manifest import read_manifest
from newsroom.storage import open_store, sha256_file, story_id_from_sha256
from newsroom.types import Transcript
from tests.conftest import SAMPLE


def task_states(flow_run_id) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def latest_artifact(key: str, flow_run_id=None):
    """The newest artifact under `key` (of one flow run: other tests' runs of the same sample share the key)."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    chosen = ArtifactFilter(key=ArtifactFilterKey(any_=[key]),
                            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]) if flow_run_id else None)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=chosen, sort=ArtifactSort.CREATED_DESC)
    assert artifacts, f"no artifact {key}"
    return artifacts[0]


def test_ingest_sample_end_to_end_then_resume_from_cache(local_env):
    state = ingest(str(SAMPLE), return_state=True)
    story_id = state.result()
    assert story_id == story_id_from_sha256(sha256_file(SAMPLE))
    store = open_store()
    manifest = read_manifest(store, story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    assert names == {"source/original.mp4", "ingest/mezzanine.mp4", "ingest/proxy.mp4",
                     "ingest/audio-16k.wav", "ingest/transcript.json", "ingest/transcript.txt"}
    for asset in manifest["assets"]:  # every listed asset exists with the recorded size
        assert store.stat(asset["key"]).size_bytes == asset["bytes"]
    transcript = Transcript.from_dict(store.get_json(f"stories/{story_id}/ingest/transcript.json"))
    assert transcript.language == "en"
    assert "bike lane" in transcript.text.lower() and "maria lopez" in transcript.text.lower()
    assert transcript.speakers == ("S1",)  # one narrator: speaker turns are on by default
    assert manifest["stages"]["ingest"]["language"] == "en"
    by_key = {a["key"].split("/", 2)[2]: a for a in manifest["assets"]}
    assert by_key["ingest/transcript.json"]["model"]["id"] == "whisper-base"
    first_states = task_states(state.state_details.flow_run_id)
    assert first_states["transcribe"] == "Completed"
    summary = latest_artifact(f"ingest-{story_id}", state.state_details.flow_run_id)
    assert "Maria Lopez" in summary.data and "transcript.json" in summary.data

    # Same file again: same story, heavy steps come from the cache instead of being redone.
    wav = store.stat(f"stories/{story_id}/ingest/audio-16k.wav")
    again = ingest(str(SAMPLE), return_state=True)
    assert again.result() == story_id
    states = task_states(again.state_details.flow_run_id)
    assert states["normalise-media"] == states["transcribe"] == "Cached", states
    # The speech audio an earlier run stored from the same bytes is kept, not extracted again.
    assert store.stat(f"stories/{story_id}/ingest/audio-16k.wav").etag == wav.etag
    assert read_manifest(store, story_id)["assets"] == manifest["assets"]

    # A run's glossary is an input of the transcription: it is redone with it, the rest comes from the cache.
    steered = ingest(str(SAMPLE), glossary=["Maria Lopez -> María López", "Brantwick"], return_state=True)
    states = task_states(steered.state_details.flow_run_id)
    assert states["transcribe"] == "Completed" and states["normalise-media"] == "Cached", states
    transcript = Transcript.from_dict(store.get_json(f"stories/{story_id}/ingest/transcript.json"))
    assert "María López" in transcript.text and "Maria Lopez" not in transcript.text


def test_ingest_from_object_key_on_s3(minio_env, media_dir):
    store = open_store()
    store.put_file("inbox/tone-clip.m4a", media_dir / "tone.m4a")
    story_id = ingest("inbox/tone-clip.m4a", language="en", asr_model="tiny.en")
    manifest = read_manifest(store, story_id)
    names = {a["key"].split("/", 2)[2] for a in manifest["assets"]}
    assert "ingest/mezzanine.m4a" in names and "source/original.m4a" in names
    transcript = store.get_json(f"stories/{story_id}/ingest/transcript.json")
    assert transcript["segments"] == [], "a pure tone has no words"
    assert store.exists("inbox/tone-clip.m4a")  # the inbox object is left for the scanner to archive


def test_video_without_audio_ingests_with_a_note(local_env, media_dir):
    story_id = ingest(str(media_dir / "noaudio.mp4"), asr_model="tiny.en")
    manifest = read_manifest(open_store(), story_id)
    assert "no audio track" in manifest["stages"]["ingest"]["note"]
    assert not any(a["key"].endswith("audio-16k.wav") for a in manifest["assets"])


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("text.mp4", MediaError, "not readable media"),
        ("empty.mp4", MediaError, "empty"),
        ("truncated.mp4", MediaError, "cut off"),
        ("damaged-video.mp4", MediaError, "damaged or cut off: .* damaged video frame"),
        ("missing.mp4", SourceError, "neither an existing local file"),
    ],
)
def test_bad_input_leaves_nothing_behind(local_env, media_dir, name, error, message):
    if name == "damaged-video.mp4":  # passes the gate (probe, limits, tail); ingest finds the damage later
        _damage_video_packets(media_dir / "av.mp4", media_dir / name, first=20, count=30)
    with pytest.raises(error, match=message):
        ingest(str(media_dir / name) if name != "missing.mp4" else "no/such/file.mp4")
    assert list(open_store().list("")) == []


def _damage_video_packets(src: Path, dst: Path, *, first: int, count: int) -> None:
    """Flip bytes inside `count` video packets from packet `first` on (the container stays intact)."""
    packets = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                                         "packet=pos,size", "-of", "json", str(src)],
                                        capture_output=True, text=True, check=True).stdout)["packets"]
    data = bytearray(src.read_bytes())
    for packet in packets[first:first + count]:
        pos, size = int(packet["pos"]), int(packet["size"])
        for i in range(pos + size // 4, pos + size // 4 + min(40, size // 2)):
            data[i] ^= 0xFF
    dst.write_bytes(bytes(data))


def test_unsupported_scheme_and_copy_of_sample_is_idempotent(local_env, tmp_path):
    with pytest.raises(SourceError, match="unsupported source scheme"):
        ingest("https://example.com/video.mp4")
    copy = tmp_path / "renamed.mp4"
    shutil.copy(SAMPLE, copy)
    assert ingest(str(copy), asr_model="tiny.en") == story_id_from_sha256(sha256_file(SAMPLE))
