"""Reading what a media file is (`probe`): ffprobe under the one subprocess runner, with a deadline and a
memory cap, refusing containers outside the allowed list in words an editor understands."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

from newsroom.errors import MediaError, MediaRefusedError
from newsroom.media import process
from newsroom.media.inputs import input_args
from newsroom.types import MediaInfo, StreamInfo

PROBE_DEADLINE_S = 60.0


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


_NOT_ALLOWED_RE = re.compile(r"^\[([\w,]+) @ [^\]]+\] Format not on whitelist", re.MULTILINE)


def _probe_memory_limit() -> int:
    from newsroom.config import get_settings

    return get_settings().probe_memory_limit_bytes


def _describe_demuxer(name: str) -> str:
    first = name.split(",")[0]
    known = {"hls": "an HLS playlist (it names other files to read)",
             "concat": "an ffconcat list (it names other files to read)",
             "sdp": "an SDP description of a network stream", "rtsp": "a network stream",
             "image2": "an image sequence", "gif": "an animated image",
             "srt": "a subtitle file", "webvtt": "a subtitle file", "ass": "a subtitle file"}
    if first in known:
        return known[first]
    if first.endswith("_pipe"):
        return f"a still image ({first.removesuffix('_pipe').upper()})"
    return f"a {first} file"


def probe(path: str | Path, *, memory_limit_bytes: int | None = None) -> MediaInfo:
    """Read a file's container and streams. MediaError if it is not readable media in an allowed container
    (see `newsroom.media.inputs`: playlists, concat lists and image sequences are refused)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path} is empty (0 bytes): re-export or re-upload the file")
    cmd = [process.binary("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
           *input_args(path)]
    result = process.run(cmd, what=f"probing {path.name}", timeout_s=PROBE_DEADLINE_S, text=True,
                         memory_limit_bytes=memory_limit_bytes or _probe_memory_limit())
    if not result.ok:
        transient = process.classify_failure(f"probing {path.name}", result.returncode, result.stderr)
        if transient is not None:
            raise transient
        refused = _NOT_ALLOWED_RE.search(result.stderr)
        if refused:
            raise MediaRefusedError(
                f"{path.name} is {_describe_demuxer(refused.group(1))}, not a video or audio container: newsroom "
                "accepts MP4/MOV, MKV/WebM, MPEG-TS/PS, AVI, MXF, WAV, MP3, AAC, FLAC and Ogg files; export the "
                "media itself"
            )
        if re.search(r"Cannot allocate memory|Out of memory", result.stderr, re.IGNORECASE):
            limit = memory_limit_bytes or _probe_memory_limit()
            raise MediaError(f"{path.name} needs more than {limit / 2**30:.1f} GiB just to be read "
                             "(NEWSROOM_PROBE_MEMORY_LIMIT_BYTES): its frames are too large; export it at UHD or less")
        raise MediaError(
            f"{path.name} is not readable media ({process.last_lines(result.stderr, 1)}): "
            "check the file is a complete video or audio export"
        )
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise MediaError(f"{path.name} could not be probed (unreadable ffprobe output): re-export the file") from None
    fmt = data.get("format", {})
    streams = []
    raw_streams = data.get("streams", [])
    for s in raw_streams:
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
                sample_rate_hz=int(s["sample_rate"]) if str(s.get("sample_rate", "")).isdigit() else None,
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
        stream_count=len(raw_streams),
    )
