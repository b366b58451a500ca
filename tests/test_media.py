"""The ffmpeg layer on clips generated with ffmpeg, and the bad inputs it must refuse clearly."""

from __future__ import annotations

import subprocess
import wave

import pytest

from newsroom import media
from newsroom.errors import MediaError, NoAudioError
from newsroom.media.damage import DamagedMediaError
from newsroom.media.inputs import input_args


def test_probe_reads_streams(media_dir):
    info = media.probe(media_dir / "av.mp4")
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    assert (info.video.width, info.video.height, info.video.codec) == (320, 240, "h264")
    assert info.video.fps == 25
    assert info.audio.sample_rate_hz == 44100 and info.audio.channels == 1
    assert not info.is_variable_frame_rate


def test_normalise_makes_cfr_h264_aac_with_even_size(media_dir, tmp_path):
    info = media.probe(media_dir / "vfr.mp4")
    assert info.is_variable_frame_rate
    progress = []
    out = media.normalise(media_dir / "vfr.mp4", tmp_path / "m.mp4", info, progress=progress.append)
    mezz = media.probe(out)
    assert mezz.video.codec == "h264" and mezz.video.pix_fmt == "yuv420p"
    assert not mezz.is_variable_frame_rate
    assert mezz.video.fps == pytest.approx(media.target_fps(info), rel=0.01)
    assert progress and progress[-1] == 1.0
    odd = media.normalise(media_dir / "noaudio.mp4", tmp_path / "odd.mp4")
    o = media.probe(odd)
    assert (o.video.width, o.video.height) == (320, 240)  # 321x241 -> even for yuv420p
    assert not o.has_audio


def _video_md5(path) -> str:
    """The MD5 of the video stream's packets: equal only when the stream was copied bit for bit."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_conforming_h264_is_copied_not_re_encoded(media_dir, tmp_path):
    src = tmp_path / "conforming.mp4"
    media.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2", "-f", "lavfi", "-i",
                      "sine=sample_rate=48000:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                      str(src)])
    info = media.probe(src)
    assert media.copyable_video(info)
    mezz = media.normalise(src, tmp_path / "m.mp4", info)
    assert _video_md5(mezz) == _video_md5(src)
    assert media.probe(mezz).audio.sample_rate_hz == 48000
    proxy = media.make_proxy(src, tmp_path / "p.mp4", info)  # already 360p: the proxy keeps the video too
    assert _video_md5(proxy) == _video_md5(src)
    # What does not conform is re-encoded: variable frame rate, 4:4:4 chroma.
    assert not media.copyable_video(media.probe(media_dir / "vfr.mp4"))
    yuv444 = tmp_path / "444.mp4"
    media.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=1", "-c:v", "libx264",
                      "-pix_fmt", "yuv444p", str(yuv444)])
    assert not media.copyable_video(media.probe(yuv444))
    again = media.probe(media.normalise(yuv444, tmp_path / "444m.mp4"))
    assert again.video.pix_fmt == "yuv420p"


def test_proxy_is_small(media_dir, tmp_path):
    # Upscale first so the proxy really has to shrink.
    big = tmp_path / "big.mp4"
    media.run_ffmpeg([*input_args(media_dir / "av.mp4"), "-vf", "scale=1280:720", "-c:a", "copy", str(big)])
    proxy = media.probe(media.make_proxy(big, tmp_path / "p.mp4"))
    assert proxy.video.height == media.ffmpeg.PROXY_HEIGHT_PX and proxy.video.width == 640
    assert proxy.has_audio


@pytest.mark.parametrize("name", ["tone.wav", "tone.mp3", "tone.m4a", "av.mp4"])
def test_audio_for_asr_is_16k_mono(media_dir, tmp_path, name):
    out = media.extract_audio(media_dir / name, tmp_path / "a.wav")
    with wave.open(str(out)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 == pytest.approx(media.probe(media_dir / name).duration_s, abs=0.1)


@pytest.mark.parametrize("name", ["tone.mp3", "tone.m4a"])
def test_audio_only_sources_normalise_to_aac(media_dir, tmp_path, name):
    out = media.probe(media.normalise(media_dir / name, tmp_path / "m.m4a"))
    assert not out.has_video and out.audio.codec == "aac"


@pytest.mark.parametrize(
    ("name", "message"),
    [("text.mp4", "not readable media"), ("empty.mp4", "empty"), ("missing.mp4", "does not exist")],
)
def test_bad_files_fail_probe_clearly(media_dir, name, message):
    with pytest.raises(MediaError, match=message):
        media.probe(media_dir / name)


def test_truncated_file_fails_to_convert_and_leaves_no_output(media_dir, tmp_path):
    info = media.probe(media_dir / "truncated.mp4")  # the index is intact (faststart), the data is not
    with pytest.raises(DamagedMediaError, match="cut off: the video ends .* s before the length the file declares"):
        media.normalise(media_dir / "truncated.mp4", tmp_path / "m.mp4", info)
    assert not (tmp_path / "m.mp4").exists()


def test_no_audio_track_is_a_clear_error(media_dir, tmp_path):
    with pytest.raises(NoAudioError, match="no audio track"):
        media.extract_audio(media_dir / "noaudio.mp4", tmp_path / "a.wav")
    assert not (tmp_path / "a.wav").exists()
