"""Frames spread over a video: a couple of dozen looks at it (for covers, thumbnails, checks).

Scene mid-points when scenes are known (plus more samples in the longer scenes), evenly spaced times
otherwise; the first and last 0.3 s are skipped (fades, slates, encoder warm-up). Short clips are decoded
in one pass through a select filter, longer ones by one seeking ffmpeg per frame, a few at a time.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.errors import MediaError
from newsroom.media.ffmpeg import last_lines, probe
from newsroom.media.frames import decode_frame_at, decode_frames_at
from newsroom.types import MediaInfo

log = logging.getLogger("newsroom.media")

DEFAULT_SAMPLES = 24
EDGE_MARGIN_S = 0.3  # skip the first/last 0.3 s: fades, slates, encoder warm-up
MAX_DECODERS = 4
SINGLE_PASS_MAX_S = 90.0  # shorter clips: one decoding pass beats ~0.1 s of ffmpeg start-up per frame
FALLBACK_FPS = 25.0  # when the stream declares no frame rate


def video_info(video: Path, info: MediaInfo | None = None) -> tuple[MediaInfo, float]:
    """The probe of `video` (or `info`) and its frame rate; MediaError when it has no video stream."""
    info = info or probe(video)
    stream = info.video
    if stream is None:
        raise MediaError(f"{video.name} has no video stream: a cover needs pictures (give the video, not the audio)")
    return info, stream.avg_fps or stream.fps or FALLBACK_FPS


def _scene_bounds(scenes: Any) -> list[tuple[float, float]]:
    items = getattr(scenes, "scenes", scenes)
    return [(float(s.start_s), float(s.end_s)) for s in items]


def candidate_times(duration_s: float, fps: float, n: int, scenes: Any = None) -> list[float]:
    """Up to `n` times to look at, sorted, at least one frame apart, inside the video's middle."""
    last_frame_s = max(0.0, duration_s - 1.0 / fps)
    lo, hi = EDGE_MARGIN_S, duration_s - EDGE_MARGIN_S
    if hi <= lo:  # too short for margins: use the whole clip
        lo, hi = 0.0, last_frame_s
    spans = [(max(a, lo), min(b, hi)) for a, b in _scene_bounds(scenes)] if scenes is not None else []
    spans = [(a, b) for a, b in spans if b >= a]
    times: list[float] = []
    if spans:
        if len(spans) > n:  # the longest shots are the likeliest covers
            spans = sorted(sorted(spans, key=lambda s: s[1] - s[0], reverse=True)[:n])
        total = sum(b - a for a, b in spans) or 1.0
        extra = n - len(spans)  # beyond each scene's mid-point, spread by duration
        for a, b in spans:
            k = 1 + int(extra * (b - a) / total)
            times += [a + (b - a) * (j + 0.5) / k for j in range(k)]
    else:
        times = [lo + (hi - lo) * (i + 0.5) / n for i in range(n)]
    frames = sorted({min(round(t * fps), round(last_frame_s * fps)) for t in times})
    return [f / fps for f in frames]


def sample_frames(
    video: str | Path, n: int = DEFAULT_SAMPLES, scenes: Any = None, *,
    max_side: int | None = None, info: MediaInfo | None = None,
) -> list[tuple[float, np.ndarray]]:
    """Up to `n` (time_s, RGB uint8 frame) pairs spread over the video, in time order.

    With `scenes` (a `SceneList` or scenes with start_s/end_s): each scene's mid-point, plus more
    samples in the longer scenes. The first and last 0.3 s are skipped unless the clip is shorter than
    that. `max_side` scales large frames down (for scoring); None keeps the source resolution. Clips up
    to `SINGLE_PASS_MAX_S` are decoded in one pass through a select filter, longer ones by one seeking
    ffmpeg per frame, a few at a time. MediaError when there is no video stream or no decodable frame.
    """
    video = Path(video)
    info, fps = video_info(video, info)
    stream = info.video
    assert stream is not None
    duration = stream.duration_s or info.duration_s
    times = candidate_times(duration, fps, max(1, n), scenes)
    errors: list[str] = []
    frames: list[tuple[float, np.ndarray]]
    if duration <= SINGLE_PASS_MAX_S:
        frames = decode_frames_at(video, times, max_side)
    else:
        workers = max(1, min(MAX_DECODERS, os.cpu_count() or 1, len(times)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            decoded = list(pool.map(lambda t: decode_frame_at(video, t, max_side), times))
        frames = [(t, frame) for t, frame, _ in decoded if frame is not None]
        errors = [err for _, _, err in decoded if err]
    if not frames:  # e.g. target times past the last frame of an oddly muxed file: take the first frame
        first_s, frame, stderr = decode_frame_at(video, 0.0, max_side)
        if frame is None:
            why = last_lines(stderr or "\n".join(errors) or "no frame decoded", 1)
            raise MediaError(f"could not decode any frame of {video.name} ({why}): the video may be corrupt")
        frames = [(first_s, frame)]
    log.debug("%s: sampled %d frames for %d target times", video.name, len(frames), len(times))
    return frames
