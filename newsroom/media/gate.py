"""The media gate: every untrusted file (CLI arguments, inbox objects, webhook uploads, portraits, article
images) passes here before any real work is done on it.

`admit_media` probes the file through the demuxer allow-list (`newsroom.media.inputs`) and refuses what
would make a worker do unbounded work: too many bytes, hours, pixels, frames per second or streams.
`admit_image` does the same for stills: an allowed format, read lazily so the pixel limit is checked
before anything is decoded. Each refusal is a `MediaRefusedError` that names the limit and its setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsroom.config import Settings, get_settings
from newsroom.errors import DamagedMediaError, MediaError, MediaRefusedError
from newsroom.media.ffmpeg import probe, run_ffmpeg
from newsroom.media.inputs import input_args
from newsroom.media.process import deadline_for
from newsroom.types import MediaInfo

IMAGE_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What one source may ask of a worker (all from Settings)."""

    max_bytes: int
    max_duration_s: float
    max_video_pixels: int
    max_video_side_px: int
    max_fps: float
    max_streams: int
    max_image_pixels: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MediaLimits:
        s = settings or get_settings()
        return cls(s.max_source_bytes, s.max_duration_s, s.max_video_pixels, s.max_video_side_px, s.max_fps,
                   s.max_streams, s.max_image_pixels)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    path: str
    format: str
    width: int
    height: int
    size_bytes: int


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _check_size(path: Path, limit: int, what: str) -> int:
    if not path.is_file():
        raise MediaError(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes): re-export or re-upload the file")
    if size > limit:
        raise MediaRefusedError(f"{path.name} is {_gb(size)}, over the {_gb(limit)} limit for {what} "
                                "(NEWSROOM_MAX_SOURCE_BYTES): trim it or raise the limit")
    return size


def check_limits(info: MediaInfo, limits: MediaLimits, *, name: str, stream_count: int | None = None) -> None:
    """Refuse media that asks for more work than the limits allow."""
    if info.duration_s > limits.max_duration_s:
        raise MediaRefusedError(
            f"{name} declares {info.duration_s / 3600:.1f} h, over the {limits.max_duration_s / 3600:.1f} h limit "
            "(NEWSROOM_MAX_DURATION_S): cut it into parts or raise the limit")
    streams = stream_count if stream_count is not None else len(info.streams)
    if streams > limits.max_streams:
        raise MediaRefusedError(
            f"{name} has {streams} streams, over the limit of {limits.max_streams} (NEWSROOM_MAX_STREAMS): "
            "export it with the programme picture and sound only")
    for s in info.streams:
        if s.kind != "video":
            continue
        w, h = s.width or 0, s.height or 0
        if max(w, h) > limits.max_video_side_px or w * h > limits.max_video_pixels:
            raise MediaRefusedError(
                f"{name}'s video is {w}x{h}, over the limit of {limits.max_video_pixels / 1e6:.1f} megapixels and "
                f"{limits.max_video_side_px} px a side (NEWSROOM_MAX_VIDEO_PIXELS, NEWSROOM_MAX_VIDEO_SIDE_PX): "
                "export it at UHD (3840x2160) or less")
        rate = s.avg_fps or s.fps or 0.0
        if rate > limits.max_fps:
            raise MediaRefusedError(
                f"{name}'s video runs at {rate:g} frames per second, over the limit of {limits.max_fps:g} "
                "(NEWSROOM_MAX_FPS): export it at a standard frame rate")


TAIL_CHECK_S = 1.5


def check_tail(path: Path, info: MediaInfo) -> None:
    """A cut-off file (a copy that died half-way keeps its index, so it probes fine) decodes nothing near the
    end it declares: seek there and decode a moment, a fraction of a second of work for any length.
    DamagedMediaError when nothing comes out. (The whole file is judged for damage at ingest.)"""
    start = max(0.0, info.duration_s - TAIL_CHECK_S)
    report = run_ffmpeg(["-ss", f"{start:.3f}", *input_args(path), "-map", "0:v:0?", "-map", "0:a:0?",
                         "-t", f"{TAIL_CHECK_S:.1f}", "-f", "null", "-"],
                        what=f"checking the end of {path.name}", timeout_s=deadline_for(TAIL_CHECK_S * 10))
    if not report.out_time_s:
        raise DamagedMediaError(
            f"{path.name} is cut off: it declares {info.duration_s:.1f} s but nothing decodes near its end; the "
            "copy or upload probably stopped early: copy or upload the file again")


def admit_media(path: str | Path, settings: Settings | None = None, *, tail: bool = True) -> MediaInfo:
    """Probe an untrusted media file, check it against the limits and (with `tail`) that it is not cut
    off. Returns its MediaInfo."""
    path = Path(path)
    limits = MediaLimits.from_settings(settings)
    _check_size(path, limits.max_bytes, "a source")
    info = probe(path, memory_limit_bytes=(settings or get_settings()).probe_memory_limit_bytes)
    check_limits(info, limits, name=path.name, stream_count=info.stream_count)
    if tail:
        check_tail(path, info)
    return info


def admit_image(path: str | Path, settings: Settings | None = None, *, what: str = "image") -> ImageInfo:
    """Check an untrusted still (portrait, article picture): JPEG, PNG or WebP, within the pixel limit.

    Pillow reads only the header here; nothing is decoded until the limits have passed.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    limits = MediaLimits.from_settings(settings)
    size = _check_size(path, limits.max_bytes, f"an {what}")
    try:
        with Image.open(path, formats=list(IMAGE_FORMATS)) as img:
            width, height, fmt = img.width, img.height, img.format or "?"
    except UnidentifiedImageError:
        raise MediaRefusedError(f"{what} {path.name} is not a JPEG, PNG or WebP image: export it as one of those"
                                ) from None
    except Image.DecompressionBombError:  # Pillow's own guard fires on the header, far above our limit
        raise MediaRefusedError(
            f"{what} {path.name} declares over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, far over the "
            f"{limits.max_image_pixels / 1e6:.0f}-megapixel limit (NEWSROOM_MAX_IMAGE_PIXELS): scale it down") from None
    except OSError as exc:
        raise MediaError(f"{what} {path.name} is not a readable image ({exc}): re-export it as JPEG or PNG") from None
    if width * height > limits.max_image_pixels:
        raise MediaRefusedError(
            f"{what} {path.name} is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the "
            f"{limits.max_image_pixels / 1e6:.0f}-megapixel limit (NEWSROOM_MAX_IMAGE_PIXELS): scale it down")
    return ImageInfo(str(path), IMAGE_FORMATS.get(fmt, fmt), width, height, size)
