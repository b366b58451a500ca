"""Letterbox and pillarbox bars: where the picture really is inside a frame.

Works on frames already decoded (RGB arrays), so a caller that samples frames for another reason (face
detection, cover scoring) finds the bars for free instead of running ffmpeg's `cropdetect` again. The rule
is cropdetect's (a bar is a run of rows or columns, from an edge, whose pixels are all near black) made
robust to dark pictures:

- a row or column is dark when its 98th-percentile luma is at most `BAR_LUMA_MAX` (near black: compression
  noise in a bar stays well below it, while a dim picture row has some brighter pixels);
- it must be dark in *every* informative sampled frame: a night scene's dark sky moves and brightens
  somewhere, a bar never does; frames that are nearly black all over (fades, a black slate) do not vote;
- bars come in pairs: a dark band on one side only (a black sky, a dark floor) is not a letterbox, so when
  the two sides differ by more than `BAR_PAIR_TOLERANCE_FRACTION` both are cut only as far as the smaller;
- a "bar" wider than `MAX_BAR_FRACTION` of the side is a dark picture, not a bar.

The content box is shrunk to even pixel bounds, inward, plus a guard of one analysis pixel, so no grey
edge row of a bar survives when the analysis frames were smaller than the source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsroom.video.faces import Box

BAR_LUMA_MAX = 28.0  # full-range 8-bit luma: at or below it a row's brightest pixels are still black
BAR_PERCENTILE = 98.0  # a row's "brightest pixels": ignores a few hot pixels of compression noise
MAX_BAR_FRACTION = 0.3  # per side, of the frame's height (letterbox) or width (pillarbox)
BAR_PAIR_TOLERANCE_FRACTION = 0.03  # of the side: top and bottom (left and right) bars differ by no more
INFORMATIVE_FRAME_P90_LUMA = 40.0  # frames whose 90th-percentile luma is lower (fades, slates) do not vote
MIN_BAR_PX = 2  # in source pixels: thinner dark edges are encoder padding, not worth a crop


def _luma(frame: np.ndarray) -> np.ndarray:
    return frame[..., 0] * np.float32(0.299) + frame[..., 1] * np.float32(0.587) + frame[..., 2] * np.float32(0.114)


@dataclass(frozen=True, slots=True)
class EdgeProfile:
    """One sampled frame's evidence: which rows and columns are black all along, and whether it votes."""

    dark_rows: np.ndarray  # bool, one per row of the analysed frame
    dark_cols: np.ndarray  # bool, one per column
    informative: bool  # a picture (not a fade or a black slate): its dark edges mean something


def _dark_lines(bright: np.ndarray, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0) of a "brighter than a bar" mask: is it black all along (its
    `BAR_PERCENTILE`th-percentile luma at most `BAR_LUMA_MAX`)?"""
    return bright.mean(axis=axis) <= 1.0 - BAR_PERCENTILE / 100.0


def edge_profile(frame: np.ndarray) -> EdgeProfile:
    """The bar evidence of one RGB uint8 frame (keep this, not the frame, while sampling a long video)."""
    luma = _luma(frame)
    bright = luma > BAR_LUMA_MAX
    return EdgeProfile(_dark_lines(bright, axis=1), _dark_lines(bright, axis=0),
                       float(np.mean(luma[::4, ::4] > INFORMATIVE_FRAME_P90_LUMA)) > 0.1)


def _run(dark: np.ndarray) -> int:
    """How many leading entries are True."""
    bright = np.flatnonzero(~dark)
    return int(bright[0]) if bright.size else int(dark.size)


def _pair(a: int, b: int, side: int) -> tuple[int, int]:
    """Bars on opposite sides, measured in analysis pixels: rules applied (see the module docstring)."""
    cap = MAX_BAR_FRACTION * side
    a, b = (0 if a > cap else a), (0 if b > cap else b)
    if abs(a - b) > max(2, BAR_PAIR_TOLERANCE_FRACTION * side):
        a = b = min(a, b)
    return a, b


def _to_source(bar: int, scale: float) -> int:
    """A bar measured in analysis pixels, in source pixels: rounded outward, one analysis pixel of guard."""
    if bar <= 0:
        return 0
    return math.ceil((bar + 1) * scale)


def content_box(profiles: Sequence[EdgeProfile], source_size: tuple[int, int]) -> Box | None:
    """The picture's box in source pixels (even bounds), or None when no sampled frame is informative.

    `profiles` come from frames sampled from one shot, all analysed at the same size (any scale of the
    source); `source_size` is the source's (width, height). The full frame when there are no bars.
    """
    src_w, src_h = source_size
    full = Box(0, 0, src_w, src_h)
    voting = [p for p in profiles if p.informative]
    if not voting:
        return None
    dark_rows = np.logical_and.reduce([p.dark_rows for p in voting])
    dark_cols = np.logical_and.reduce([p.dark_cols for p in voting])
    h, w = dark_rows.size, dark_cols.size
    top, bottom = _pair(_run(dark_rows), _run(dark_rows[::-1]), h)
    left, right = _pair(_run(dark_cols), _run(dark_cols[::-1]), w)
    sy, sx = src_h / h, src_w / w
    top, bottom = _to_source(top, sy), _to_source(bottom, sy)
    left, right = _to_source(left, sx), _to_source(right, sx)
    top, bottom, left, right = (v if v >= MIN_BAR_PX else 0 for v in (top, bottom, left, right))
    if not (top or bottom or left or right):
        return full
    x0, y0 = left + left % 2, top + top % 2
    x1, y1 = (src_w - right) // 2 * 2, (src_h - bottom) // 2 * 2
    if x1 - x0 < src_w / 4 or y1 - y0 < src_h / 4:
        return full
    return Box(x0, y0, x1 - x0, y1 - y0)


def bar_widths(frame: np.ndarray) -> tuple[int, int, int, int]:
    """Black rows/columns at the (top, bottom, left, right) edges of one frame, without the pairing rules:
    how a test or a check measures whether a picture still carries bars."""
    profile = edge_profile(frame)
    rows, cols = profile.dark_rows, profile.dark_cols
    return _run(rows), _run(rows[::-1]), _run(cols), _run(cols[::-1])
