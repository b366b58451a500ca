"""Highlight planning, rendering and NLE export on hand-made transcripts and ffmpeg clips."""

from __future__ import annotations

import pytest

from newsroom.errors import ConfigError
from newsroom.media import probe
from newsroom.types import Segment, Transcript, Word
from newsroom.video.highlight import (
    EditDecision,
    EditRange,
    plan_highlight,
    render_edit,
    retime_transcript,
    split_sentences,
)
from newsroom.video.scenes import scenes_from_cuts
from newsroom.video.timeline import read_timeline, to_timeline, write_edl, write_otio
from tests.conftest import ffmpeg
from tests.test_video import counted_frames

FPS = 25.0


def transcript_of(sentences: list[tuple[float, str]], gap: float = 0.4, word_s: float = 0.35) -> Transcript:
    """English sentences starting at given times, one word every `word_s` seconds."""
    segments = []
    for start, text in sentences:
        words, t = [], start
        for token in text.split():
            words.append(Word(t, t + word_s - 0.05, token, 0.9))
            t += word_s
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
    return Transcript("en", 60.0, "test", tuple(segments))


SENTENCES = [
    (0.5, "The council approved the new bike lanes today."),
    (4.0, "Twelve kilometres of protected lanes will be built."),
    (8.5, "Shop owners worry about parking."),
    (11.5, "The mayor said the work starts in spring."),
    (16.0, "Cyclists welcomed the decision."),
    (19.0, "A review is planned after six months."),
    (23.5, "Reporting from city hall."),
]


def all_words(t: Transcript) -> list[Word]:
    return [w for s in t.segments for w in s.words]


def test_sentences_follow_punctuation_not_segments():
    t = transcript_of(SENTENCES)
    merged = Transcript("en", 60, "t", (Segment(0, 10, "x", all_words(t)[:5]), Segment(0, 10, "y", all_words(t)[5:])))
    sentences = split_sentences(merged)
    assert [s.text for s in sentences] == [text for _, text in SENTENCES]


def test_plan_hits_the_target_and_never_cuts_inside_a_word():
    t = transcript_of(SENTENCES)
    scenes = scenes_from_cuts([3.9, 11.3, 18.8], FPS, 30.0)
    decision = plan_highlight(t, scenes, target_s=12, headline="Council approves bike lanes")
    assert 8 <= decision.duration_s <= 12 * 1.3
    words = all_words(t)
    for r in decision.ranges:
        start, end = r.start_s(FPS), r.end_s(FPS)
        for w in words:  # every word is either fully inside or fully outside each range
            inside = w.start >= start - 1e-6 and w.end <= end + 1e-6
            outside = w.end <= start + 1e-6 or w.start >= end - 1e-6
            assert inside or outside, (w, start, end)
    assert 0 in decision.ranges[0].sentence_ids  # the headline sentence leads


def test_start_snaps_to_a_nearby_scene_cut():
    t = transcript_of(SENTENCES)
    scenes = scenes_from_cuts([3.7], FPS, 30.0)
    decision = plan_highlight(t, scenes, target_s=4, sentence_ids=[1])
    assert decision.ranges[0].start_frame == round(3.7 * FPS)


def test_editor_choices_and_bad_choices():
    t = transcript_of(SENTENCES)
    scenes = scenes_from_cuts([], FPS, 30.0)
    chosen = plan_highlight(t, scenes, sentence_ids=[2, 3])
    assert [r.sentence_ids for r in chosen.ranges] == [(2,), (3,)]  # 1.65 s apart: two cuts
    adjacent = plan_highlight(t, scenes, sentence_ids=[0, 1])
    assert [r.sentence_ids for r in adjacent.ranges] == [(0, 1)]  # 0.6 s apart: one continuous range
    ranged = plan_highlight(t, scenes, time_ranges=[(1.0, 2.5), (20.0, 22.0)])
    assert [(r.start_frame, r.end_frame) for r in ranged.ranges] == [(25, 62), (500, 550)]
    with pytest.raises(ConfigError, match="unknown sentence ids"):
        plan_highlight(t, scenes, sentence_ids=[99])
    with pytest.raises(ConfigError, match="no time range"):
        plan_highlight(t, scenes, time_ranges=[(40.0, 50.0)])
    with pytest.raises(ConfigError):
        plan_highlight(t, scenes, target_s=0)


def test_no_speech_follows_the_scenes():
    scenes = scenes_from_cuts([2.0, 5.0], FPS, 8.0)
    decision = plan_highlight(None, scenes, target_s=6)
    assert decision.duration_s == pytest.approx(6.0)
    assert "no speech" in decision.note


def test_retimed_transcript_lands_on_the_edit_timeline():
    t = transcript_of(SENTENCES)
    decision = plan_highlight(t, scenes_from_cuts([], FPS, 30.0), sentence_ids=[1, 4])
    retimed = retime_transcript(t, decision)
    assert [s.text for s in retimed.segments] == [SENTENCES[1][1], SENTENCES[4][1]]
    assert retimed.segments[0].words[0].start == pytest.approx(SENTENCES[1][0] - decision.ranges[0].start_s(FPS))
    assert retimed.segments[-1].end <= decision.duration_s


def test_retimed_transcript_keeps_the_speakers_and_the_edit_knows_its_shot_changes():
    t = transcript_of(SENTENCES)
    t = Transcript(t.language, t.duration_s, t.model, tuple(
        Segment(s.start, s.end, s.text, tuple(Word(w.start, w.end, w.word, w.probability, f"S{i % 2 + 1}")
                                                for w in s.words), f"S{i % 2 + 1}") for i, s in enumerate(t.segments)))
    decision = EditDecision(FPS, (EditRange(100, 200), EditRange(210, 270)), 6.4)  # 4.0-8.0 s, 8.4-10.8 s
    retimed = retime_transcript(t, decision)
    assert [s.speaker for s in retimed.segments] == ["S2", "S1"]  # sentences 1 and 2
    assert all(w.speaker == s.speaker for s in retimed.segments for w in s.words)
    # The join at 4 s and a source cut inside each range (5.0 s -> 1.0 s; 9.0 s -> 4.0 + 0.6 s); 13.0 s is cut out.
    scenes = scenes_from_cuts([5.0, 9.0, 13.0], FPS, 30.0)
    assert decision.shot_changes_s(scenes) == pytest.approx((1.0, 4.0, 4.6))


def test_render_is_frame_exact_with_audio_in_sync(tmp_path):
    src = tmp_path / "src.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS:g}", "-f", "lavfi", "-i", "sine=frequency=440",
           "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(src))
    decision = EditDecision(FPS, (EditRange(10, 40), EditRange(60, 61), EditRange(100, 140)), 3.0)
    out = render_edit(src, tmp_path / "edit.mp4", decision)
    info = probe(out)
    assert counted_frames(out) == 30 + 1 + 40
    assert info.video.duration_s == pytest.approx(71 / FPS, abs=0.001)
    assert info.audio.duration_s == pytest.approx(71 / FPS, abs=0.03)


def test_otio_round_trip_and_edl(tmp_path):
    decision = EditDecision(FPS, (EditRange(10, 40, (0,)), EditRange(100, 140, (3, 4))), 3.0)
    timeline = to_timeline(decision, "mezzanine.mp4", media_duration_s=10.0)
    back = read_timeline(write_otio(timeline, tmp_path / "h.otio"))
    clips = list(back.video_tracks()[0].find_clips())
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == [(10, 30), (100, 40)]
    assert list(clips[1].metadata["newsroom"]["sentence_ids"]) == [3, 4]
    assert back.duration().value == 70
    edl = write_edl(timeline, tmp_path / "h.edl").read_text()
    assert "001  SOURCE   V     C        00:00:00:10 00:00:01:15 00:00:00:00 00:00:01:05" in edl
    reread = read_timeline(tmp_path / "h.edl", fps=FPS)
    assert [c.source_range.duration.value for c in reread.video_tracks()[0].find_clips()] == [30, 40]


def test_a_10_fps_clip_exports_an_edl(tmp_path):
    """OTIO's SMPTE formatter refuses 10 fps; the EDL counts non-drop frames at the clip's own rate."""
    clip = tmp_path / "ten.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(clip))
    fps = probe(clip).video.fps
    assert fps == pytest.approx(10.0)
    decision = EditDecision(fps, (EditRange(5, 25, (0,)), EditRange(30, 45, (1,))), 3.5)
    edl = write_edl(to_timeline(decision, clip.name, media_duration_s=5.0), tmp_path / "ten.edl").read_text()
    assert "001  SOURCE   V     C        00:00:00:05 00:00:02:05 00:00:00:00 00:00:02:00" in edl
    assert "00:00:03:00 00:00:04:05 00:00:02:00 00:00:03:05" in edl
