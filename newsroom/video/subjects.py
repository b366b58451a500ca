"""What a 9:16 window can follow, from one decode of the video: faces, motion and detail per sampled frame.

`sample_video` looks at the video once: ffmpeg's `scdet` finds the cuts on every frame while `SAMPLE_FPS`
frames a second come back small; each sample carries the faces in it (`newsroom.video.faces`: MediaPipe's
BlazeFace, else OpenCV's Haar cascade), the centre of its detail, where things move against the background
(the camera's own shift taken out by phase correlation) and its bar evidence (`newsroom.video.letterbox`).
`face_tracks` links the faces from sample to sample.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.media.frames import read_frames
from newsroom.types import MediaInfo
from newsroom.video import letterbox
from newsroom.video.faces import BlazeFaceDetector, Box, FaceDetector, focus_point, import_cv2
from newsroom.video.scenes import read_cut_times, scdet_filters

Detector = FaceDetector | BlazeFaceDetector


SAMPLE_FPS = 5.0  # frames a second looked at for bars and faces (cuts are found on every frame)
ANALYSIS_LONG_SIDE_PX = 480  # sampled frames come back this size (the face detector's own working size)
MOTION_LUMA = 20.0  # grey levels (blurred) a pixel must change by, the camera's shift taken out, to be moving
MOTION_MIN_FRACTION = 0.003  # of the picture: less is noise
MOTION_MAX_FRACTION = 0.3  # more is a cut, a flash or a zoom, not a subject


@dataclass(frozen=True, slots=True)
class Sample:
    frame: int
    faces: tuple[Box, ...]  # source pixels
    detail_x: float  # source pixels
    motion_x: float | None  # source pixels: where things move against the background, if anything does
    edges: letterbox.EdgeProfile


def _analysis_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, ANALYSIS_LONG_SIDE_PX / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def sample_video(src: Path, info: MediaInfo, fps: float, detector: Detector | None) -> tuple[list[Sample], list[float]]:
    """Sampled frames' faces, detail and bar evidence, and the cut times, from one decode.

    Faces: a full search every `detector.full_search_s` (every sample for BlazeFace), and in between a
    search only around the faces of the previous sample (`detect_near`): a face that appears is found
    within that time (the smoothed path holds its first sighting back to the shot's start); a face the
    narrow search loses makes that sample a full search.
    """
    v = info.video
    aw, ah = _analysis_size(v.width, v.height)
    sx, sy = v.width / aw, v.height / ah
    every = max(1, round(fps / SAMPLE_FPS))
    full_every = max(1, round((detector.full_search_s if detector else 0.0) * fps / every))
    samples: list[Sample] = []
    faces: list[Box] = []  # the previous sample's, analysis pixels
    since_full = full_every
    grey_before: np.ndarray | None = None
    with tempfile.TemporaryDirectory(prefix="newsroom-vertical-") as tmp:
        cuts_file = Path(tmp) / "cuts.txt"
        for i, frame in enumerate(read_frames(src, width=aw, height=ah, fps=fps, every=every,
                                              filters=scdet_filters(cuts_file))):
            edges = letterbox.edge_profile(frame)
            if detector is None or not edges.informative:
                faces = []
            elif since_full >= full_every:
                faces, since_full = detector.detect(frame), 0
            else:
                found = [detector.detect_near(frame, face) for face in faces]
                if all(found):
                    faces = _distinct([b for near in found for b in near])
                else:  # one was lost (turned, occluded, or the search missed it): look everywhere
                    faces, since_full = detector.detect(frame), 0
            since_full += 1
            faces_src = tuple(Box(round(b.x * sx), round(b.y * sy), round(b.w * sx), round(b.h * sy)) for b in faces)
            small = np.ascontiguousarray(frame[::2, ::2])
            detail_x = focus_point(small)[0] * 2 * sx
            grey = _blurred_grey(small)
            moving = _motion_x(grey_before, grey) if grey_before is not None else None
            grey_before = grey
            samples.append(Sample(i * every, faces_src, detail_x, None if moving is None else moving * 2 * sx, edges))
        cuts = read_cut_times(cuts_file)
    return samples, cuts


def _blurred_grey(frame: np.ndarray) -> np.ndarray:
    cv2 = import_cv2()
    return cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32), (5, 5), 0)


def _motion_x(before: np.ndarray, now: np.ndarray) -> float | None:
    """The centre (x) of what moved between two samples once the camera's own shift (phase correlation)
    is taken out, or None when little moved, or nearly everything did (a cut, a flash)."""
    cv2 = import_cv2()
    (dx, dy), _ = cv2.phaseCorrelate(before, now)
    h, w = now.shape
    if abs(dx) > w / 4 or abs(dy) > h / 4:
        return None
    shifted = cv2.warpAffine(before, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    diff = np.abs(now - shifted)
    bx, by = int(abs(dx)) + 3, int(abs(dy)) + 3
    diff[:by], diff[h - by:], diff[:, :bx], diff[:, w - bx:] = 0, 0, 0, 0
    diff[diff <= MOTION_LUMA] = 0
    moved = float(np.count_nonzero(diff)) / diff.size
    if not MOTION_MIN_FRACTION <= moved <= MOTION_MAX_FRACTION:
        return None
    return float(diff.sum(axis=0) @ np.arange(w) / diff.sum())


def _distinct(boxes: list[Box]) -> list[Box]:
    """Boxes without near-duplicates (two searches finding the same face), largest first."""
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: b.area, reverse=True):
        if all(math.dist(b.center, k.center) > 0.5 * max(b.w, k.w) for k in kept):
            kept.append(b)
    return kept


@dataclass
class Track:
    hits: list[tuple[int, Box]]

    @property
    def last(self) -> tuple[int, Box]:
        return self.hits[-1]

    @property
    def score(self) -> float:
        return float(sum(b.area for _, b in self.hits))


def face_tracks(samples: list[Sample], gap_frames: int) -> list[Track]:
    """Faces linked from sample to sample (nearest centre within a face width), largest tracks first."""
    tracks: list[Track] = []
    for s in samples:
        taken: set[int] = set()
        for face in s.faces:  # largest first
            best, best_d = None, math.inf
            for i, t in enumerate(tracks):
                frame, box = t.last
                if i in taken or s.frame - frame > gap_frames:
                    continue
                d = math.dist(face.center, box.center)
                if d <= max(face.w, box.w) and d < best_d:
                    best, best_d = i, d
            if best is None:
                tracks.append(Track([(s.frame, face)]))
                taken.add(len(tracks) - 1)
            else:
                tracks[best].hits.append((s.frame, face))
                taken.add(best)
    return sorted(tracks, key=lambda t: t.score, reverse=True)
