"""ffmpeg/ffprobe as subprocesses.

Why subprocess rather than PyAV or ffmpeg-python: the ffmpeg command line is the interface every
media engineer already knows and can paste into a shell to reproduce a problem, Debian's build brings
libx264/libass/drawtext without extra wheels, and `-progress pipe:1` gives clean progress. PyAV stays
an option for frame-level work in later stages.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from newsroom.errors import MediaError, NoAudioError
from newsroom.types import MediaInfo, StreamInfo

log = logging.getLogger("newsroom.media")

Progress = Callable[[float], None]  # fraction done, 0.0 .. 1.0

ASR_SAMPLE_RATE_HZ = 16_000
MEZZANINE_AUDIO_RATE_HZ = 48_000
STANDARD_FPS = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
MAX_FPS = 60.0
DEFAULT_FPS = 25.0
PROXY_HEIGHT_PX = 360


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MediaError(f"{name} is not installed: run 'make setup' or 'apt-get install ffmpeg'")
    return found


def _rate(value: str | None) -> float | None:
    if not value or value in ("0/0", "N/A"):
        return None
    try:
        rate = float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _last_lines(text: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "no error output"


def probe(path: str | Path) -> MediaInfo:
    """Read a file's container and streams. MediaError if it is not readable media."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path} is empty (0 bytes): re-export or re-upload the file")
    cmd = [
        _binary("ffprobe"), "-v", "error", "-print_format", "json",
        "-show_format", "-show_streams", str(path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if result.returncode != 0:
        raise MediaError(
            f"{path.name} is not readable media ({_last_lines(result.stderr, 1)}): "
            "check the file is a complete video or audio export"
        )
    data = json.loads(result.stdout or "{}")
    fmt = data.get("format", {})
    streams = []
    for s in data.get("streams", []):
        kind = s.get("codec_type", "data")
        if kind == "video" and s.get("disposition", {}).get("attached_pic"):
            continue  # cover art inside an mp3/m4a is not a video track
        streams.append(
            StreamInfo(
                index=int(s.get("index", len(streams))),
                kind=kind,
                codec=s.get("codec_name", "unknown"),
                duration_s=_float(s.get("duration")),
                width=s.get("width"),
                height=s.get("height"),
                fps=_rate(s.get("r_frame_rate")) if kind == "video" else None,
                avg_fps=_rate(s.get("avg_frame_rate")) if kind == "video" else None,
                pix_fmt=s.get("pix_fmt"),
                field_order=s.get("field_order"),
                sample_rate_hz=int(s["sample_rate"]) if s.get("sample_rate") else None,
                channels=s.get("channels"),
            )
        )
    if not any(s.kind in ("video", "audio") for s in streams):
        raise MediaError(f"{path.name} has no video or audio stream: it is not a media file newsroom can use")
    duration = _float(fmt.get("duration")) or max((s.duration_s or 0.0 for s in streams), default=0.0)
    if duration <= 0:
        raise MediaError(f"{path.name} has no measurable duration: the file is probably truncated")
    return MediaInfo(
        path=str(path),
        format_name=fmt.get("format_name", "unknown"),
        duration_s=duration,
        size_bytes=size,
        bit_rate=int(fmt["bit_rate"]) if str(fmt.get("bit_rate", "")).isdigit() else None,
        streams=tuple(streams),
    )


def run_ffmpeg(
    args: Sequence[str], *, duration_s: float | None = None, progress: Progress | None = None,
    what: str = "ffmpeg", output: str | Path | None = None,
) -> None:
    """Run ffmpeg with `args`; decode errors are fatal (-xerror), raise MediaError and remove `output`."""
    cmd = [
        _binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-v", "error", "-xerror",
        "-progress", "pipe:1", "-nostats", *map(str, args),
    ]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    assert proc.stdout is not None and proc.stderr is not None
    # stderr is small with -v error; read stdout lines for progress, then collect stderr.
    for line in proc.stdout:
        if progress and duration_s and line.startswith("out_time_us="):
            value = line.split("=", 1)[1].strip()
            if value.isdigit():
                progress(min(1.0, int(value) / 1e6 / duration_s))
    stderr = proc.stderr.read()
    if proc.wait() != 0:
        if output is not None:
            Path(output).unlink(missing_ok=True)
        raise MediaError(f"{what} failed: {_last_lines(stderr)}: the source may be truncated or corrupt")
    if progress:
        progress(1.0)


def target_fps(info: MediaInfo) -> float:
    """A constant frame rate for the mezzanine: the average rate snapped to a standard one."""
    v = info.video
    rate = (v.avg_fps or v.fps) if v else None
    if not rate:
        return DEFAULT_FPS
    for standard in STANDARD_FPS:
        if abs(rate - standard) / standard < 0.01:
            return standard
    return round(min(rate, MAX_FPS), 3)


def _even_scale(max_height: int | None = None) -> str:
    if max_height:
        return f"scale=-2:'min({max_height},trunc(ih/2)*2)'"
    return "scale=trunc(iw/2)*2:trunc(ih/2)*2"


def copyable_video(info: MediaInfo) -> bool:
    """True when the source's video already is mezzanine video (progressive H.264 yuv420p, even size, a
    constant standard frame rate, in MP4/MOV): it is stream-copied instead of re-encoded, which is faster
    and loses nothing (a phone's 1080p H.264 would otherwise cost more than the rest of ingest)."""
    v = info.video
    if v is None or v.codec != "h264" or v.pix_fmt != "yuv420p" or info.is_interlaced or info.is_variable_frame_rate:
        return False
    if not v.width or not v.height or v.width % 2 or v.height % 2:
        return False
    rate = v.avg_fps or v.fps
    if not rate or not any(abs(rate - standard) / standard < 0.001 for standard in STANDARD_FPS):
        return False
    return bool({"mp4", "mov"} & set(info.format_name.split(",")))


def _copyable_audio(info: MediaInfo) -> bool:
    a = info.audio
    return bool(a and a.codec == "aac" and a.sample_rate_hz == MEZZANINE_AUDIO_RATE_HZ and (a.channels or 0) <= 2)


def normalise(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *, progress: Progress | None = None
) -> Path:
    """The mezzanine: H.264 (yuv420p, constant frame rate) + AAC 48 kHz in MP4, or AAC in M4A for audio.

    Streams that already conform (`copyable_video`, AAC at 48 kHz) are copied, not re-encoded.
    """
    info = info or probe(src)
    dst = Path(dst)
    args: list[str] = ["-i", str(src)]
    if info.has_video and copyable_video(info):
        log.info("%s: the video is already mezzanine H.264; copying it", Path(src).name)
        args += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "copy"]
    elif info.has_video:
        filters = [_even_scale()]
        if info.is_interlaced:
            filters.insert(0, "bwdif=mode=send_frame")
        args += [
            "-map", "0:v:0", "-map", "0:a:0?",
            "-vf", ",".join(filters),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-fps_mode", "cfr", "-r", f"{target_fps(info):g}",
        ]
    else:
        args += ["-map", "0:a:0", "-vn"]
    if info.has_audio and _copyable_audio(info):
        args += ["-c:a", "copy"]
    elif info.has_audio:
        args += ["-c:a", "aac", "-b:a", "192k", "-ar", str(MEZZANINE_AUDIO_RATE_HZ)]
    args += ["-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(dst)]
    run_ffmpeg(args, duration_s=info.duration_s, progress=progress, what=f"normalising {Path(src).name}", output=dst)
    return dst


def make_proxy(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *, progress: Progress | None = None
) -> Path:
    """A small, quick-to-scrub copy: 360p H.264 + 96 kb/s AAC (audio-only sources: AAC only).

    A source that is already mezzanine H.264 at 360p or less keeps its video (copied)."""
    info = info or probe(src)
    args: list[str] = ["-i", str(src)]
    if info.video is not None and copyable_video(info) and (info.video.height or 0) <= PROXY_HEIGHT_PX:
        args += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "copy"]
    elif info.has_video:
        args += [
            "-map", "0:v:0", "-map", "0:a:0?", "-vf", _even_scale(PROXY_HEIGHT_PX),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
        ]
    else:
        args += ["-map", "0:a:0", "-vn"]
    if info.has_audio:
        args += ["-c:a", "aac", "-b:a", "96k", "-ac", "2"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    run_ffmpeg(args, duration_s=info.duration_s, progress=progress, what=f"making a proxy of {Path(src).name}", output=dst)
    return Path(dst)


def extract_audio(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *,
    sample_rate_hz: int = ASR_SAMPLE_RATE_HZ, progress: Progress | None = None,
) -> Path:
    """Mono 16-bit WAV at `sample_rate_hz` (16 kHz for speech recognition)."""
    info = info or probe(src)
    if not info.has_audio:
        raise NoAudioError(
            f"{Path(src).name} has no audio track: there is nothing to transcribe "
            "(add the programme sound, or skip transcription for silent footage)"
        )
    args = [
        "-i", str(src), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate_hz),
        "-c:a", "pcm_s16le", "-f", "wav", str(dst),
    ]
    run_ffmpeg(args, duration_s=info.duration_s, progress=progress, what=f"extracting audio from {Path(src).name}", output=dst)
    return Path(dst)
