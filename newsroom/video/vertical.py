"""A 9:16 version for social platforms: a focus-aware crop, or the full frame over a blurred fill."""

from __future__ import annotations

import logging
from pathlib import Path

from newsroom.errors import ConfigError, MediaError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.types import MediaInfo

log = logging.getLogger("newsroom.video.vertical")

VERTICAL_SIZE = (720, 1280)
MODES = ("auto", "crop", "pad")
# Keep subtitles above the bottom fifth: platform UIs (captions, buttons) cover it.
SAFE_BOTTOM_FRACTION = 0.2


def vertical_filter(info: MediaInfo, mode: str, focus_x: float | None, size: tuple[int, int] = VERTICAL_SIZE) -> str:
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{Path(info.path).name} has no video stream for a vertical version")
    w, h = size
    if mode == "crop":
        crop_w = min(v.width, round(v.height * w / h) // 2 * 2)
        centre = (focus_x if focus_x is not None else 0.5) * v.width
        x = int(min(max(0, centre - crop_w / 2), v.width - crop_w))
        return f"crop={crop_w}:{v.height}:{x}:0,scale={w}:{h}:flags=lanczos,setsar=1"
    return (
        f"split=2[bg][fg];[bg]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},boxblur=20:2[bgb];"
        f"[fg]scale={w}:-2:flags=lanczos[fgs];[bgb][fgs]overlay=(W-w)/2:(H-h)/2,setsar=1"
    )


def choose_mode(mode: str, focus_x: float | None) -> str:
    if mode not in MODES:
        raise ConfigError(f"unknown vertical mode {mode!r}: choose one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    return "crop" if focus_x is not None else "pad"  # a face to follow -> crop; otherwise keep the whole frame


def make_vertical(src: str | Path, dst: str | Path, *, mode: str = "auto", focus_x: float | None = None,
                  size: tuple[int, int] = VERTICAL_SIZE, info: MediaInfo | None = None,
                  progress: Progress | None = None) -> Path:
    """Render the 9:16 version. `focus_x` (0..1 of the width) is where the crop centres, e.g. a face."""
    info = info or probe(src)
    chosen = choose_mode(mode, focus_x)
    graph = vertical_filter(info, chosen, focus_x, size)
    log.info("vertical version of %s: %s", Path(src).name, chosen)
    run_ffmpeg(
        ["-i", str(src), "-filter_complex", f"[0:v]{graph}[v]", "-map", "[v]", "-map", "0:a:0?", "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
         str(dst)],
        duration_s=info.duration_s, progress=progress, what="rendering the vertical version", output=dst,
    )
    return Path(dst)
