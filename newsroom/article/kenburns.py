"""Stills in motion: each picture on a plate of the frame's shape, a slow pan and zoom across it (Ken Burns)
that keeps every face whole, and cross-fades where the picture changes.

A plate is the picture cropped to the frame's aspect around its faces (or, without faces, its detail),
when that keeps every face and enough of the picture; otherwise the whole picture over a blurred,
darkened fill of itself. The motion is a window moving linearly between two rectangles on the plate: a
zoom in towards the focus, or out from it, with a small drift. Every face box (with a margin) lies inside
both rectangles, so it lies inside every window in between (containment is convex): the pan never cuts a
face. Frames are warped with sub-pixel precision (no stepping) and piped to the encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.errors import MediaError
from newsroom.video.faces import Box, FaceDetector, focus_point, import_cv2

log = logging.getLogger("newsroom.article.kenburns")

ZOOM = 1.18  # the window's smallest size is the plate / ZOOM (an 18% push in or pull out)
PLATE_HEADROOM = ZOOM  # the plate holds this many output pixels per frame pixel at the widest window
FACE_MARGIN = 0.2  # of a face box's size, added on each side (hair, chin)
MIN_CROP_SHARE = 0.55  # without faces, crop to the frame's aspect only when it keeps this share of the picture
FILL_DIM = 0.45  # brightness of the blurred fill behind a picture that is not cropped
DRIFT = 0.06  # of the plate's size: how far the window drifts sideways besides zooming
FADE_S = 0.5  # cross-fade where the picture changes


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def contains(self, box: Box | Rect, tolerance: float = 1e-6) -> bool:
        return (box.x >= self.x - tolerance and box.y >= self.y - tolerance
                and box.x + box.w <= self.x + self.w + tolerance and box.y + box.h <= self.y + self.h + tolerance)

    def lerp(self, other: Rect, u: float) -> Rect:
        return Rect(*(a + (b - a) * u for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True, slots=True)
class Placement:
    """How a picture sits on its plate: plate = picture * scale + offset (crop: negative offset)."""

    mode: str  # "crop" | "fill"
    scale: float
    offset_x: float
    offset_y: float

    def box(self, box: Box) -> Rect:
        """A box in the picture's pixels -> the plate's."""
        return Rect(box.x * self.scale + self.offset_x, box.y * self.scale + self.offset_y, box.w * self.scale,
                    box.h * self.scale)


@dataclass(frozen=True, slots=True)
class Plate:
    pixels: np.ndarray  # RGB uint8, (plate_h, plate_w, 3), the frame's aspect
    placement: Placement
    faces: tuple[Rect, ...]  # on the plate, margins included
    focus: tuple[float, float]  # on the plate


@dataclass(frozen=True, slots=True)
class Motion:
    start: Rect
    end: Rect

    def at(self, u: float) -> Rect:
        """The window at progress `u` (0..1), eased in and out."""
        u = min(1.0, max(0.0, u))
        return self.start.lerp(self.end, u * u * (3 - 2 * u))


def _grow(box: Box, margin: float, width: int, height: int) -> Box:
    dx, dy = box.w * margin, box.h * margin
    x0, y0 = max(0.0, box.x - dx), max(0.0, box.y - dy)
    x1, y1 = min(float(width), box.x + box.w + dx), min(float(height), box.y + box.h + dy)
    return Box(round(x0), round(y0), round(x1 - x0), round(y1 - y0))


def _union(boxes: Sequence[Box | Rect]) -> Rect | None:
    if not boxes:
        return None
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.x + b.w for b in boxes), max(b.y + b.h for b in boxes)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _place(lo: float, hi: float, size: float, centre: float, need: tuple[float, float] | None) -> float:
    """Start of a window of `size` within [lo, hi], centred on `centre` as far as it can be, covering `need`."""
    start = centre - size / 2
    if need is not None:
        start = min(max(start, need[1] - size), need[0])
    return min(max(start, lo), hi - size)


def make_plate(image: np.ndarray, faces: Sequence[Box], frame_size: tuple[int, int]) -> Plate:
    """`image` (RGB) on a plate of `frame_size`'s aspect, `PLATE_HEADROOM` times its pixels."""
    cv2 = import_cv2()
    height, width = image.shape[:2]
    fw, fh = frame_size
    aspect = fw / fh
    pw, ph = round(fw * PLATE_HEADROOM), round(fh * PLATE_HEADROOM)
    grown = [_grow(f, FACE_MARGIN, width, height) for f in faces]
    union = _union(grown)
    # The largest window of the frame's aspect inside the picture.
    cw, ch = (height * aspect, float(height)) if width / height > aspect else (float(width), width / aspect)
    keeps = (cw * ch) / (width * height)
    fits = union is None or (union.w <= cw and union.h <= ch)
    fx, fy = focus_point(image, list(faces))
    if fits and (keeps >= MIN_CROP_SHARE or union is not None):
        x = _place(0, width, cw, fx, (union.x, union.x + union.w) if union else None)
        y = _place(0, height, ch, fy, (union.y, union.y + union.h) if union else None)
        scale = pw / cw
        matrix = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]], dtype=np.float64)
        pixels = cv2.warpAffine(image, matrix, (pw, ph), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                                borderMode=cv2.BORDER_REPLICATE)
        placement = Placement("crop", scale, -x * scale, -y * scale)
    else:
        scale = min(pw / width, ph / height)
        ox, oy = (pw - width * scale) / 2, (ph - height * scale) / 2
        cover = max(pw / width, ph / height)
        back = cv2.resize(image, (round(width * cover), round(height * cover)), interpolation=cv2.INTER_AREA)
        bx, by = (back.shape[1] - pw) // 2, (back.shape[0] - ph) // 2
        back = back[by:by + ph, bx:bx + pw]
        back = cv2.GaussianBlur(cv2.resize(back, (max(2, pw // 6), max(2, ph // 6)), interpolation=cv2.INTER_AREA),
                                (0, 0), 4)
        back = cv2.resize(back, (pw, ph), interpolation=cv2.INTER_LINEAR)
        pixels = (back.astype(np.float32) * FILL_DIM).astype(np.uint8)
        matrix = np.array([[scale, 0, ox], [0, scale, oy]], dtype=np.float64)
        front = cv2.warpAffine(image, matrix, (pw, ph), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        mask = cv2.warpAffine(np.full((height, width), 255, np.uint8), matrix, (pw, ph), flags=cv2.INTER_LINEAR)
        alpha = (mask.astype(np.float32) / 255.0)[..., None]
        pixels = (front * alpha + pixels * (1 - alpha)).astype(np.uint8)
        placement = Placement("fill", scale, ox, oy)
    on_plate = tuple(placement.box(g) for g in grown)
    focus = (fx * placement.scale + placement.offset_x, fy * placement.scale + placement.offset_y)
    return Plate(np.ascontiguousarray(pixels), placement, on_plate, focus)


def plan_motion(plate: Plate, index: int) -> Motion:
    """The pan and zoom for the `index`-th shot: zoom in on even shots, out on odd ones, drifting left or
    right by turns; both ends hold every face of the plate."""
    ph, pw = plate.pixels.shape[:2]
    union = _union(plate.faces)
    zoom = ZOOM
    if union is not None:  # the tight window must still hold every face
        zoom = max(1.0, min(zoom, pw / max(union.w, 1e-6), ph / max(union.h, 1e-6)))
    full = Rect(0.0, 0.0, float(pw), float(ph))
    ww, wh = pw / zoom, ph / zoom
    drift = DRIFT * pw * (1 if (index // 2) % 2 == 0 else -1)
    cx, cy = plate.focus
    need_x = (union.x, union.x + union.w) if union else None
    need_y = (union.y, union.y + union.h) if union else None
    tight = Rect(_place(0, pw, ww, cx + drift, need_x), _place(0, ph, wh, cy, need_y), ww, wh)
    motion = Motion(full, tight) if index % 2 == 0 else Motion(tight, full)
    for face in plate.faces:
        if not (motion.start.contains(face, 0.5) and motion.end.contains(face, 0.5)):
            raise MediaError(f"internal: shot {index}'s motion would cut a face {face}")  # a bug, not bad input
    return motion


@dataclass(frozen=True, slots=True)
class Shot:
    """One picture on the picture track: shown from `start_s` to `end_s` (cross-fades centred on the ends)."""

    image: int  # index into the article's images
    start_s: float
    end_s: float


def render_track(plates: Sequence[Plate], motions: Sequence[Motion], shots: Sequence[Shot], out: str | Path, *,
                 size: tuple[int, int], fps: float, duration_s: float, fade_s: float = FADE_S,
                 progress: Callable[[float], None] | None = None) -> Path:
    """Encode the picture track: each shot's window warped from its plate, cross-faded over `fade_s` where
    shots meet (`plates`/`motions` are per shot). Frames at t = n / fps, n < round(duration_s * fps)."""
    from newsroom.media.frames import FrameWriter

    cv2 = import_cv2()
    width, height = size
    frames = max(1, round(duration_s * fps))
    half = fade_s / 2

    def visible(i: int) -> tuple[float, float]:
        lo = shots[i].start_s - (half if i > 0 else 0.0)
        hi = shots[i].end_s + (half if i < len(shots) - 1 else 0.0)
        return lo, hi

    def draw(i: int, t: float) -> np.ndarray:
        lo, hi = visible(i)
        window = motions[i].at((t - lo) / max(hi - lo, 1e-6))
        s = width / window.w
        matrix = np.array([[s, 0, -window.x * s], [0, s, -window.y * s]], dtype=np.float64)
        return cv2.warpAffine(plates[i].pixels, matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    with FrameWriter(out, width=width, height=height, fps=fps, crf=16, yuv=True) as writer:
        current = 0
        for n in range(frames):
            t = n / fps
            while current < len(shots) - 1 and t >= visible(current)[1]:
                current += 1
            frame = draw(current, t)
            nxt = current + 1
            if nxt < len(shots) and t >= visible(nxt)[0]:
                a = (t - visible(nxt)[0]) / max(fade_s, 1e-6)
                frame = cv2.addWeighted(frame, 1.0 - a, draw(nxt, t), a, 0.0)
            writer.write(frame)
            if progress and n % 25 == 0:
                progress(n / frames)
    if progress:
        progress(1.0)
    return Path(out)


def detect_faces(image: np.ndarray, detector: FaceDetector | None = None) -> list[Box]:
    """Faces in a still (the covers' detector)."""
    return (detector or FaceDetector.load()).detect(image)


def load_still(path: str | Path, max_side_px: int = 4096) -> np.ndarray:
    """A gated still (`admit_image` first) as RGB uint8, EXIF orientation applied, scaled so its longer side
    is at most `max_side_px` (the plate never needs more)."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        img.draft("RGB", (max_side_px, max_side_px))  # JPEG: decode at a reduced scale when it is much larger
        img = img.convert("RGB")
        if max(img.size) > max_side_px:
            ratio = max_side_px / max(img.size)
            img = img.resize((max(1, round(img.width * ratio)), max(1, round(img.height * ratio))), Image.LANCZOS)
        return np.asarray(img, dtype=np.uint8).copy()


def describe(plate: Plate, motion: Motion) -> dict[str, Any]:
    """What the shot plan records (shots.json): how the picture sits on its plate and the window's ends."""
    ph, pw = plate.pixels.shape[:2]
    return {"plate": [pw, ph], "mode": plate.placement.mode, "scale": plate.placement.scale,
            "offset": [plate.placement.offset_x, plate.placement.offset_y],
            "faces": [list(f.as_tuple()) for f in plate.faces],
            "start": list(motion.start.as_tuple()), "end": list(motion.end.as_tuple())}


def window_at(described: dict[str, Any], u: float) -> Rect:
    """The window at progress `u` of a recorded shot (for checks that read shots.json)."""
    return Motion(Rect(*described["start"]), Rect(*described["end"])).at(u)

