"""The ffmpeg graph of a 9:16 version: per shot `trim` -> bars cropped -> the window (or the picture over its
blurred fill) -> the output size; the shots concatenated, then what the caller adds (subtitles burned in).

The window's position is a piecewise-linear expression of the frame number (`path_expression`: keyframes at
most `KEYFRAME_TOLERANCE_PX` off the planned path). It moves in steps of two output pixels (a first integer
crop a little wider than the window, the scale, then a second crop on the scaled picture), not the 3-4
output pixels a crop of the source would jump per source pixel.
"""

from __future__ import annotations

import math

import numpy as np

from newsroom.errors import MediaError
from newsroom.media.graph import Filter, FilterGraph
from newsroom.video import track
from newsroom.video.faces import Box
from newsroom.video.framing import Shot, VerticalPlan

# The fill is a 41 px box blur (radius 20, two passes) of the output size. It holds no detail finer
# than a quarter of that size, so it is blurred at a quarter size (radius 5) and scaled up: ~4x less
# work than blurring at full size, 47 dB PSNR against it on the bench clip.
FILL_DOWNSCALE = 4
FILL_BLUR_RADIUS_PX = 20  # in output pixels
FILL_BLUR_PASSES = 2
KEYFRAME_TOLERANCE_PX = 0.25  # in source pixels: rendered window vs planned path
CROP_MARGIN_PX = 4  # the first crop is this much wider than the window, so the second has room to slide


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def path_expression(path: tuple[float, ...] | np.ndarray, tolerance_px: float = KEYFRAME_TOLERANCE_PX) -> str:
    """An ffmpeg expression of the frame number `n` that follows `path` (one value per frame) within
    `tolerance_px`: linear between keyframes, a balanced tree of `if(lt(n,k),...)` so each frame costs
    log(keyframes) comparisons; the last value holds after the end."""
    values = np.asarray(path, dtype=np.float64)
    keys = track.simplify(values, tolerance_px)
    if len(keys) == 1 or np.ptp(values) <= tolerance_px:
        return _num(float(values.mean()))

    def segment(i: int) -> str:
        k0, k1 = keys[i], keys[i + 1]
        v0, v1 = float(values[k0]), float(values[k1])
        slope = (v1 - v0) / (k1 - k0)
        return _num(v0) if abs(slope) < 1e-6 else f"{_num(v0)}{slope:+.6f}*(n-{k0})"

    def tree(lo: int, hi: int) -> str:  # segments lo .. hi-1
        if hi - lo == 1:
            return segment(lo)
        mid = (lo + hi) // 2
        return f"if(lt(n,{keys[mid]}),{tree(lo, mid)},{tree(mid, hi)})"

    return f"if(gte(n,{keys[-1]}),{_num(float(values[keys[-1]]))},{tree(0, len(keys) - 1)})"


def _follow_filters(shot: Shot, size: tuple[int, int]) -> list[Filter]:
    """Crop a little wider than the window at even source pixels, scale to the output height, crop the
    window on the scaled picture (two-pixel steps in the output)."""
    w, h = size
    content = shot.content
    left = path_expression(tuple(c - shot.window_w / 2 for c in shot.centres))
    first_w = min(content.w, math.ceil(shot.window_w / 2) * 2 + CROP_MARGIN_PX)
    first_x = f"max({content.x},min({content.right - first_w},2*floor(({left})/2)))"
    scaled_w = max(w, round(first_w * h / content.h / 2) * 2)
    k = scaled_w / first_w
    second_x = f"max(0,min({scaled_w - w},(({left})-({first_x}))*{k:.6f}))"
    return [Filter("crop", first_w, content.h, first_x, content.y),
            Filter("scale", scaled_w, h, flags="lanczos"), Filter("crop", w, h, second_x, 0), Filter("setsar", 1)]


def _fill_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    return max(2, round(w / FILL_DOWNSCALE / 2) * 2), max(2, round(h / FILL_DOWNSCALE / 2) * 2)


def _fill_chain(graph: FilterGraph, source: str, pre: list[Filter], content: Box, size: tuple[int, int],
                tag: str, out: str) -> None:
    """The picture (bars cropped), fitted into the frame over a blurred, zoomed copy of itself."""
    w, h = size
    fill_w, fill_h = _fill_size(size)
    radius = max(1, round(FILL_BLUR_RADIUS_PX * fill_h / h))
    graph.chain(source, [*pre, Filter("crop", content.w, content.h, content.x, content.y), Filter("split", 2)],
                [f"bg{tag}", f"fg{tag}"])
    graph.chain(f"bg{tag}", [Filter("scale", fill_w, fill_h, force_original_aspect_ratio="increase"),
                             Filter("crop", fill_w, fill_h), Filter("boxblur", radius, FILL_BLUR_PASSES),
                             Filter("scale", w, h)], f"bgb{tag}")
    graph.chain(f"fg{tag}", Filter("scale", w, h, force_original_aspect_ratio="decrease", force_divisible_by=2,
                                   flags="lanczos"), f"fgs{tag}")
    graph.chain([f"bgb{tag}", f"fgs{tag}"], [Filter("overlay", "(W-w)/2", "(H-h)/2"), Filter("setsar", 1)], out)


def vertical_graph(plan: VerticalPlan, then: list[Filter] | None = None) -> FilterGraph:
    """The graph from the input's picture (`0:v`) to the 9:16 picture `[v]`, finished with `then` (e.g. burn-in)."""
    then = then or []
    graph = FilterGraph()
    shots = plan.shots
    if not shots:
        raise MediaError("the vertical plan has no shots")
    one = len(shots) == 1
    if not one:
        graph.chain("0:v", Filter("split", len(shots)), [f"in{i}" for i in range(len(shots))])
    parts = []
    for i, shot in enumerate(shots):
        source = "0:v" if one else f"in{i}"
        pre = [] if one else [Filter("trim", start_frame=shot.start_frame, **(
            {"end_frame": shot.end_frame} if i < len(shots) - 1 else {})), Filter("setpts", "PTS-STARTPTS")]
        out = "v" if one and not then else f"p{i}"
        if shot.layout == "follow":
            graph.chain(source, [*pre, *_follow_filters(shot, plan.size)], out)
        else:
            _fill_chain(graph, source, pre, shot.content, plan.size, str(i), out)
        parts.append(out)
    if one and not then:
        return graph
    joined = [Filter("concat", n=len(parts), v=1, a=0)] if not one else []
    graph.chain(parts, [*joined, *then] or [Filter("null")], "v")
    return graph
