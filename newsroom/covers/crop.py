"""Crops: the largest region of each cover's shape around the focus (a face, or the picture's detail),
enlarged by an optional upscaler (e.g. Real-ESRGAN) and Lanczos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from newsroom.errors import NewsroomError
from newsroom.video.faces import Box

Upscaler = Callable[[np.ndarray], np.ndarray]  # RGB uint8 (H, W, 3) -> larger RGB uint8


def crop_box(
    frame_size: tuple[int, int], size: tuple[int, int], focus: tuple[float, float],
    anchor: tuple[float, float] = (0.5, 0.4),
) -> Box:
    """The largest `size`-shaped region of a (width, height) frame, placed so `focus` sits at `anchor`.

    `anchor` is where the focus lands inside the crop, as fractions of its width and height: centred
    across, slightly above the middle vertically to leave the lower part for the headline. The crop is
    shifted back inside the frame when the focus is near an edge.
    """
    width, height = frame_size
    target_w, target_h = size
    if width * target_h > height * target_w:  # frame is wider than the target shape
        crop_h, crop_w = height, max(1, min(width, round(height * target_w / target_h)))
    else:
        crop_w, crop_h = width, max(1, min(height, round(width * target_h / target_w)))
    fx, fy = focus
    x = round(min(max(fx - anchor[0] * crop_w, 0), width - crop_w))
    y = round(min(max(fy - anchor[1] * crop_h, 0), height - crop_h))
    return Box(x, y, crop_w, crop_h)


def check_upscaled(result: Any, source: np.ndarray) -> np.ndarray:
    """`result` of an upscaler on `source`, when it is an RGB uint8 image at least as large; else NewsroomError."""
    if not isinstance(result, np.ndarray) or result.ndim != 3 or result.shape[2] != 3 or result.dtype != np.uint8:
        raise NewsroomError("the upscaler must return an RGB uint8 array (H, W, 3): check its colour order and dtype")
    if result.shape[0] < source.shape[0] or result.shape[1] < source.shape[1]:
        raise NewsroomError(f"the upscaler made {source.shape[1]}x{source.shape[0]} smaller: pass an upscaler, not a filter")
    return result


def crop_to_aspect(
    frame: np.ndarray, size: tuple[int, int], focus: tuple[float, float],
    upscaler: Upscaler | None = None, *, anchor: tuple[float, float] = (0.5, 0.4),
) -> np.ndarray:
    """`frame` cropped around `focus` to the shape of `size` (width, height), resized to exactly `size`.

    When the crop is smaller than `size`, `upscaler` (e.g. Real-ESRGAN) enlarges the crop first - only
    the pixels that are kept, which is what makes an expensive model affordable; Lanczos does the rest.
    """
    from PIL import Image

    box = crop_box((frame.shape[1], frame.shape[0]), size, focus, anchor)
    crop = np.ascontiguousarray(frame[box.y: box.bottom, box.x: box.right])
    if upscaler is not None and (box.w < size[0] or box.h < size[1]):
        crop = check_upscaled(upscaler(crop), crop)
    image = Image.fromarray(crop)
    if image.size != tuple(size):
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image)
