"""Typed stage results: each round-trips through to_dict/from_dict (and JSON), and Story/Cut read back what
the stages recorded in the store."""

from __future__ import annotations

import json

import pytest

from newsroom.errors import ConfigError, MediaError
from newsroom.layout import StoryLayout
from newsroom.llm import Draft, Quote
from newsroom.manifest import Manifest, asset_for_file, collect, record_assets
from newsroom.results import (
    BroadcastSegment,
    Covers,
    Cut,
    Highlight,
    IngestedMedia,
    LoudnessReport,
    SourceRef,
    SpeechRef,
    Story,
    SubtitleReport,
    Subtitles,
)
from newsroom.storage import LocalStore
from newsroom.types import MediaInfo, PhonemeTiming, Segment, Speech, StreamInfo, Transcript, Word, WordTiming
from newsroom.video.highlight import EditDecision, EditRange, plan_highlight
from newsroom.video.scenes import SceneList, scenes_from_cuts

SID = "0123456789abcdef0123"
LAYOUT = StoryLayout(SID)


def _json(data: dict) -> dict:
    """Through JSON and back, as the store and Prefect's result storage see a value."""
    return json.loads(json.dumps(data, ensure_ascii=False))


def _transcript() -> Transcript:
    words = [("Good", 0.0, 0.4), ("evening.", 0.45, 1.0), ("The", 1.6, 1.8), ("council", 1.85, 2.3), ("voted.", 2.35, 3.0)]
    return Transcript("en", 3.2, "whisper-tiny.en-int8", (
        Segment(0.0, 1.0, "Good evening.", tuple(Word(s, e, w, 0.9) for w, s, e in words[:2])),
        Segment(1.6, 3.0, "The council voted.", tuple(Word(s, e, w, 0.8) for w, s, e in words[2:])),
    ))


def _scenes() -> SceneList:
    return scenes_from_cuts([0.52, 1.96], 25.0, 3.2)


def _decision() -> EditDecision:
    return plan_highlight(_transcript(), _scenes(), target_s=2.0)


def _draft() -> Draft:
    return Draft("en", "Council votes", "The council voted.", "Body.", "Summary.", ("council",), "Good evening.",
                 (Quote("The council voted", "Maria Lopez", 1.6, 3.0),), ("never said",), "test-model")


def _speech(path: str = "/tmp/anchor.wav") -> Speech:
    return Speech(path, 22050, 1.25, "en", "piper", "Good evening.",
                  (PhonemeTiming("ɡ", 0.0, 0.05), PhonemeTiming("ʊ", 0.05, 0.1)), (WordTiming("Good", 0.0, 0.4),))


def test_library_types_round_trip():
    scenes = _scenes()
    assert SceneList.from_dict(_json(scenes.to_dict())) == scenes
    decision = _decision()
    assert decision.ranges and EditDecision.from_dict(_json(decision.to_dict())) == decision
    speech = _speech()
    assert "path" not in speech.to_dict()  # the timings document has no machine-local path
    assert Speech.from_dict(_json(speech.to_dict()), speech.path) == speech
    info = MediaInfo("/x.mp4", "mov,mp4", 3.2, 1000, 800, (StreamInfo(0, "video", "h264", 3.2, 320, 240, 25.0, 25.0),), 1)
    assert MediaInfo.from_dict(_json(info.to_dict())) == info
    draft = _draft()
    assert Draft.from_dict(_json(draft.to_dict())) == draft


def test_cut_frames_are_the_edits_own_cuts():
    decision = EditDecision(25.0, (EditRange(0, 50), EditRange(100, 130), EditRange(200, 260)), 10.0)
    assert decision.cut_frames == [50, 80]
    assert EditDecision(25.0, (EditRange(0, 50),), 2.0).cut_frames == []


@pytest.mark.parametrize("value", [
    IngestedMedia(3.2, True, True, 25.0, 320, 240, False, True),
    IngestedMedia(2.0, False, True),
    SourceRef(SID, LAYOUT.source(".mp4"), "ab" * 32, "clip.mp4",
              MediaInfo("/x.mp4", "mov,mp4", 3.2, 1000, None, (StreamInfo(1, "audio", "aac", sample_rate_hz=48000),)),
              False, LAYOUT.audio),
    Story(SID, IngestedMedia(3.2, True, True, 25.0, 320, 240), _transcript(), LAYOUT.mezzanine, _draft()),
    Story(SID, None, None, None),
    Highlight(LAYOUT.edit_clean, _decision(), _transcript()),
    Highlight(LAYOUT.edit_clean, _decision(), None),
    Cut(LAYOUT.restored, _scenes(), LAYOUT.upscaled, _decision(), _transcript()),
    SubtitleReport(False, 2, {"max_cps": 2, "min_duration": 0}, cues=7),
    SubtitleReport(True, 0, {"max_cps": 0}),
    Subtitles(LAYOUT.subtitles_srt, LAYOUT.subtitles_vtt, LAYOUT.subtitles_ttml, LAYOUT.subtitles_report,
              SubtitleReport(True, 0, {}, 3)),
    Covers((LAYOUT.cover_16x9, LAYOUT.cover_9x16, LAYOUT.cover_1x1), "Council votes", False),
    SpeechRef(LAYOUT.anchor_wav, LAYOUT.anchor_speech),
    LoudnessReport("broadcast", -23.0, -23.4, -1.6, 6.2, True),
    BroadcastSegment(LAYOUT.broadcast, LAYOUT.broadcast_burned, LAYOUT.broadcast_srt,
                     LoudnessReport("web", -16.0, -16.2, -1.1, 5.0, True), SubtitleReport(True, 0, {})),
], ids=lambda v: type(v).__name__)
def test_stage_results_round_trip(value):
    assert type(value).from_dict(_json(value.to_dict())) == value


def test_report_dicts_keep_the_manifest_contract():
    """What the manifest records about subtitles and loudness keeps its keys (the CMS reads them)."""
    assert SubtitleReport(True, 0, {"max_cps": 0}, cues=4).to_dict() == {
        "cues": 4, "ok": True, "violations": 0, "by_rule": {"max_cps": 0}}
    assert SubtitleReport(True, 0, {}).to_dict() == {"ok": True, "violations": 0, "by_rule": {}}
    assert set(LoudnessReport("broadcast", -23, -23, -1, 5, True).to_dict()) == {
        "profile", "target_lufs", "integrated_lufs", "true_peak_dbtp", "lra_lu", "ok"}
    assert Covers((LAYOUT.cover_9x16, LAYOUT.cover_16x9), "h", True).wide == LAYOUT.cover_16x9
    loud, subs = LoudnessReport("web", -16, -16.3, -1.2, 4, True), SubtitleReport(False, 1, {"max_cps": 1})
    recorded = Manifest(SID, {"broadcast": {"loudness": loud.to_dict(), "subtitles": subs.to_dict()}})
    assert BroadcastSegment.checks_in(_json_manifest(recorded)) == (loud, subs)
    assert BroadcastSegment.checks_in(Manifest(SID, {"edit": {"subtitles": subs.to_dict()}})) is None


def _json_manifest(manifest: Manifest) -> Manifest:
    return Manifest.from_dict(_json(manifest.to_dict()))


def _record(store: LocalStore, key: str, data: dict, stage: str, info: dict | None = None, tmp=None) -> None:
    store.put_json(key, data)
    path = tmp / key.rsplit("/", 1)[1]
    path.write_text(json.dumps(data))
    record_assets(store, SID, stage, [asset_for_file(key, path, step="test")], info=info)


def test_story_and_cut_read_back_what_the_stages_recorded(tmp_path):
    store = LocalStore(tmp_path / "store")
    with pytest.raises(Exception, match="ingest it first"):
        collect(store, SID)
    media = IngestedMedia(3.2, True, True, 25.0, 320, 240)
    _record(store, LAYOUT.mezzanine, {"stand-in": "video"}, "ingest", {"media": media.to_dict()}, tmp_path)
    _record(store, LAYOUT.transcript_json, _transcript().to_dict(), "ingest", {"language": "en"}, tmp_path)
    story = Story.load(store, collect(store, SID))
    assert story == Story(SID, media, _transcript(), LAYOUT.mezzanine, None)
    assert story.language == "en" and story.require_video() == LAYOUT.mezzanine
    with pytest.raises(ConfigError, match="no finished edit"):
        Cut.load(store, collect(store, SID))

    decision, retimed = _decision(), _transcript()
    _record(store, LAYOUT.scenes, _scenes().to_dict(), "edit", tmp=tmp_path)
    _record(store, LAYOUT.edit_clean, {"stand-in": "edit"}, "edit", tmp=tmp_path)
    _record(store, LAYOUT.edit_decision, decision.to_dict(), "edit", tmp=tmp_path)
    _record(store, LAYOUT.edit_transcript, retimed.to_dict(), "edit", tmp=tmp_path)
    cut = Cut.load(store, collect(store, SID))
    assert cut == Cut(LAYOUT.mezzanine, _scenes(), LAYOUT.edit_clean, decision, retimed)
    # Restoration and upscaling, once recorded, are what later steps use.
    _record(store, LAYOUT.restored, {"stand-in": "restored"}, "edit", tmp=tmp_path)
    _record(store, LAYOUT.upscaled, {"stand-in": "upscaled"}, "edit", tmp=tmp_path)
    cut = Cut.load(store, collect(store, SID))
    assert (cut.picture_key, cut.video_key) == (LAYOUT.restored, LAYOUT.upscaled)
    # The draft is part of the story once written; a manifest is not needed for any of this.
    _record(store, LAYOUT.draft_json, _draft().to_dict(), "broadcast", tmp=tmp_path)
    assert Story.load(store, collect(store, SID)).draft == _draft()
    assert not store.exists(LAYOUT.manifest)
    assert Manifest.from_dict(collect(store, SID).to_dict()) == collect(store, SID)


def test_an_audio_only_story_needs_pictures_for_the_edit():
    with pytest.raises(MediaError, match="needs pictures"):
        Story(SID, IngestedMedia(2.0, False, True), None, None).require_video()


def test_resuming_sees_a_replaced_object_behind_a_typed_input(tmp_path, monkeypatch):
    """The resume cache keys on the etags of the objects a typed input names (a Cut's video), as it does for
    a plain key: a re-rendered edit under the same key is not mistaken for the old one."""
    import tasks.common

    monkeypatch.setenv("NEWSROOM_STORAGE_BACKEND", "local")
    monkeypatch.setenv("NEWSROOM_LOCAL_ROOT", str(tmp_path / "store"))
    tasks.common.reset()
    try:
        store = tasks.common.store()
        store.put_bytes(LAYOUT.edit_clean, b"first render")
        cut = Cut(LAYOUT.mezzanine, _scenes(), LAYOUT.edit_clean, _decision(), None)
        policy = tasks.common.StoredInputs()
        first = policy.compute_key(None, {"cut": cut, "story_id": SID}, {})
        assert policy.compute_key(None, {"cut": cut, "story_id": SID}, {}) == first
        store.put_bytes(LAYOUT.edit_clean, b"a longer re-render under the same key")
        assert policy.compute_key(None, {"cut": cut, "story_id": SID}, {}) != first
    finally:
        tasks.common.reset()
