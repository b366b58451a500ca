"""Loudness mastering and segment assembly on ffmpeg-generated media (real ffmpeg measurements)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from newsroom.audio import loudness
from newsroom.broadcast.segment import (
    LOWER_THIRD_TEXT_MAX_W_PX,
    LowerThird,
    assemble_segment,
    fit_lower_third,
    join_transcripts,
)
from newsroom.errors import ConfigError, MediaError
from newsroom.media import probe
from newsroom.media.frames import read_frame
from newsroom.types import Segment, Transcript, Word
from tests.conftest import ffmpeg


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("segment")
    # "Anchor": 2 s, quiet speech-like tone bursts; "story": 3 s, loud, different size and rate, mono.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i",
           "sine=frequency=220:sample_rate=24000,volume=0.05,apulsator=hz=2", "-t", "2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(d / "anchor.mp4"))
    ffmpeg("-f", "lavfi", "-i", "smptehdbars=size=852x480:rate=30", "-f", "lavfi", "-i",
           "sine=frequency=660:sample_rate=44100,volume=0.9", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-ac", "1", "-shortest", str(d / "story.mp4"))
    ffmpeg("-f", "lavfi", "-i", "rgbtestsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", str(d / "silent-story.mp4"))
    return d


def test_assembled_segment_is_one_format_with_lower_thirds(clips, tmp_path):
    out = assemble_segment(clips / "anchor.mp4", clips / "story.mp4", tmp_path / "seg.mp4",
                           lower_thirds=[LowerThird("Prices up 5% in May", 0.2, 1.5),
                                         LowerThird("Maria Lopez, council member", 2.5, 4.0, "name")]).path
    info = probe(out)
    assert (info.video.width, info.video.height, info.video.avg_fps) == (1280, 720, 25)
    assert (info.audio.sample_rate_hz, info.audio.channels) == (48000, 2)
    assert info.duration_s == pytest.approx(5.0, abs=0.1)
    plain = assemble_segment(clips / "anchor.mp4", clips / "story.mp4", tmp_path / "plain.mp4").path
    band = (slice(520, 700), slice(40, 900))
    with_text = read_frame(out, 1.0, width=1280, height=720)[band].astype(int)
    without = read_frame(plain, 1.0, width=1280, height=720)[band].astype(int)
    assert np.abs(with_text - without).mean() > 10  # the headline box is drawn in the lower third
    after = read_frame(out, 1.8, width=1280, height=720)[band].astype(int)
    assert np.abs(after - read_frame(plain, 1.8, width=1280, height=720)[band].astype(int)).mean() < 2


def test_story_without_audio_gets_silence(clips, tmp_path):
    out = probe(assemble_segment(clips / "anchor.mp4", clips / "silent-story.mp4", tmp_path / "s.mp4").path)
    assert out.has_audio and out.duration_s == pytest.approx(4.0, abs=0.1)


@pytest.mark.parametrize("name", ["broadcast", "web"])
def test_mastering_hits_the_target(clips, tmp_path, name):
    seg = assemble_segment(clips / "anchor.mp4", clips / "story.mp4", tmp_path / "seg.mp4").path
    target = loudness.profile(name)
    before = loudness.measure(seg)
    result = loudness.master(seg, tmp_path / "m.mp4", target)
    assert abs(result.integrated_lufs - target.integrated_lufs) <= 1.0, (before, result)
    assert result.true_peak_dbtp <= target.true_peak_dbtp + 0.1
    assert loudness.measure(tmp_path / "m.mp4") == result
    assert probe(tmp_path / "m.mp4").video.width == 1280  # video copied through


SRT = """1
00:00:00,500 --> 00:00:01,800
The council met tonight.

2
00:00:02,200 --> 00:00:04,600
Bike lanes will double by spring.
"""


@pytest.mark.parametrize("name", ["broadcast", "web"])
def test_one_pass_renders_soft_and_burned_variants_mastered(clips, tmp_path, name):
    srt = tmp_path / "seg.srt"
    srt.write_text(SRT, "utf-8")
    target = loudness.profile(name)
    seg = assemble_segment(clips / "anchor.mp4", clips / "story.mp4", tmp_path / "soft.mp4",
                           lower_thirds=[LowerThird("City council votes", 0.2, 1.5)], subtitles=srt,
                           burned=tmp_path / "burned.mp4", master_to=target)
    soft, burned = probe(seg.path), probe(seg.burned)
    assert soft.duration_s == pytest.approx(5.0, abs=0.1) and burned.duration_s == pytest.approx(5.0, abs=0.1)
    assert [s.codec for s in soft.streams if s.kind == "subtitle"] == ["mov_text"]
    assert not [s for s in burned.streams if s.kind == "subtitle"]
    for path in (seg.path, seg.burned):  # both variants carry the mastered audio, measured independently
        measured = loudness.measure(path)
        assert abs(measured.integrated_lufs - target.integrated_lufs) <= 1.0, measured
        assert measured.true_peak_dbtp <= target.true_peak_dbtp + 0.1
    assert seg.loudness == loudness.measure(seg.path)
    band, top = (slice(600, 700), slice(200, 1080)), (slice(0, 400), slice(0, 1280))
    for t, shown in ((1.0, True), (2.0, False), (3.0, True)):
        a = read_frame(seg.path, t, width=1280, height=720).astype(int)
        b = read_frame(seg.burned, t, width=1280, height=720).astype(int)
        assert (np.abs(a[band] - b[band]).mean() > 3) == shown, t  # the subtitle is drawn only while its cue is on
        assert np.abs(a[top] - b[top]).mean() < 1.5  # and nowhere else


def test_a_missed_target_is_re_mastered_once_for_both_variants(tmp_path, caplog):
    # Clicks at full scale over a very quiet tone: linear loudnorm cannot reach the target under the peak
    # limit, so the one-pass render misses and the sound is re-mastered.
    clicks = "aevalsrc='if(lt(mod(t\\,0.5)\\,0.002)\\,0.99\\,0.003*sin(2*PI*440*t))':s=48000"
    for name, seconds in (("anchor", 4), ("story", 3)):
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}", "-f", "lavfi", "-i",
               f"{clicks}:d={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
               str(tmp_path / f"{name}.mp4"))
    srt = tmp_path / "seg.srt"
    srt.write_text(SRT, "utf-8")
    with caplog.at_level("INFO", logger="newsroom"):
        seg = assemble_segment(tmp_path / "anchor.mp4", tmp_path / "story.mp4", tmp_path / "soft.mp4",
                               subtitles=srt, burned=tmp_path / "burned.mp4", master_to=loudness.profile("broadcast"))
    assert "re-mastering the audio" in caplog.text
    assert caplog.text.count("mastered to") == 1  # worked out once, for the soft variant

    def sound(path):  # the audio packets, bit for bit
        return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5",
                               "-"], capture_output=True, text=True, check=True).stdout

    assert sound(seg.path) == sound(seg.burned)  # the burned copy carries the re-mastered track
    assert loudness.measure(seg.burned) == seg.loudness == loudness.measure(seg.path)
    soft, burned = probe(seg.path), probe(seg.burned)
    assert [s.codec for s in soft.streams if s.kind == "subtitle"] == ["mov_text"]
    assert burned.has_video and not [s for s in burned.streams if s.kind == "subtitle"]


def test_segment_keeps_sound_and_picture_in_step(tmp_path):
    # An anchor whose sound ends 1 s before its picture: the story's sound must still start with its picture.
    ffmpeg("-f", "lavfi", "-i", "color=black:size=640x360:rate=25:duration=3", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=48000:duration=2,volume=0.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(tmp_path / "anchor.mp4"))
    ffmpeg("-f", "lavfi", "-i", "color=white:size=640x360:rate=25:duration=2", "-f", "lavfi", "-i",
           "sine=frequency=880:sample_rate=48000:duration=2,volume=4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(tmp_path / "story.mp4"))
    out = assemble_segment(tmp_path / "anchor.mp4", tmp_path / "story.mp4", tmp_path / "seg.mp4").path
    rate = 8000
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:a", "-ac", "1", "-ar", str(rate),
                          "-f", "s16le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(pcm, np.int16).astype(float)
    loud = np.flatnonzero(np.abs(samples[2 * rate:]) > 8000)  # the loud story tone, after the anchor's tone
    assert loud.size and abs(2 * rate + loud[0] - 3 * rate) < 0.08 * rate  # it starts with the white picture at 3 s


def test_a_burned_copy_needs_subtitles(clips, tmp_path):
    with pytest.raises(MediaError, match="needs subtitles"):
        assemble_segment(clips / "anchor.mp4", clips / "story.mp4", tmp_path / "o.mp4", burned=tmp_path / "b.mp4")


def test_mastering_refuses_silence_and_unknown_profiles(clips, tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "2", "-c:a", "aac", str(silent))
    with pytest.raises(MediaError, match="silent"):
        loudness.master(silent, tmp_path / "out.mp4")
    with pytest.raises(MediaError, match="no audio"):
        loudness.master(clips / "silent-story.mp4", tmp_path / "out.mp4")
    with pytest.raises(ConfigError, match="unknown loudness profile"):
        loudness.profile("radio")


def test_lower_third_text_never_overflows():
    long = fit_lower_third("A very long headline " * 10, "headline", "en")
    assert len(long.lines) == 2 and long.truncated and long.lines[-1].endswith("...")
    assert long.width_px <= LOWER_THIRD_TEXT_MAX_W_PX and long.font_size_px < 40  # shrunk first, then cut
    zh = fit_lower_third("市政府今天宣布将在明年增加公共交通投资新建三条地铁线路专家表示这项计划有助于减少交通拥堵" * 3, "headline", "zh")
    assert len(zh.lines) == 2 and zh.lines[-1].endswith("…") and zh.width_px <= LOWER_THIRD_TEXT_MAX_W_PX
    name = fit_lower_third("Maria Lopez, council member for the northern district and chair of the transport committee",
                           "name", "en")
    assert len(name.lines) == 1 and name.width_px <= LOWER_THIRD_TEXT_MAX_W_PX
    short = fit_lower_third("City council votes", "headline", "en")
    assert short.lines == ("City council votes",) and short.font_size_px == 40 and not short.truncated


def test_join_transcripts_shifts_the_story():
    words = (Word(0.1, 0.4, "Hello", 1.0),)
    first = Transcript("en", 2.0, "tts", (Segment(0.1, 0.4, "Hello", words),))
    second = Transcript("en", 3.0, "asr", (Segment(0.5, 0.9, "World", (Word(0.5, 0.9, "World", 0.9),)),))
    joined = join_transcripts(first, second, offset_s=2.0)
    assert joined.duration_s == 5.0
    assert joined.segments[1].words[0].start == pytest.approx(2.5)
    # The story's speakers come along (the segment's subtitles start a cue at each speaker change).
    spoken = Transcript("en", 3.0, "asr", (Segment(0.5, 0.9, "World", (Word(0.5, 0.9, "World", 0.9, "S2"),), "S2"),))
    joined = join_transcripts(first, spoken, offset_s=2.0)
    assert joined.segments[1].speaker == "S2" and joined.segments[1].words[0].speaker == "S2"
