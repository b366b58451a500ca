"""Which frame makes the cover: scored on sharpness (variance of the Laplacian), exposure and faces.

No CLIP-like model with packaged weights exists (see MODELS.md), so "interesting" is approximated by
"sharp, well exposed, with a face". Black, white and flat (fade) frames score 0. OpenCV is imported
inside functions so `import newsroom` stays fast.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.errors import MediaError
from newsroom.media.ffmpeg import last_lines
from newsroom.media.frames import decode_frame_at
from newsroom.media.sampling import DEFAULT_SAMPLES, sample_frames, video_info
from newsroom.types import MediaInfo
from newsroom.video.faces import Box, FaceDetector, import_cv2

log = logging.getLogger("newsroom.covers")

ANALYSIS_MAX_SIDE_PX = 640  # frames are scored at this size; the winner is decoded again at full size

# Frame scoring (luma 0-255)
BLACK_MEAN_LUMA = 20
WHITE_MEAN_LUMA = 240
FLAT_LUMA_STD = 8
SHARPNESS_HALF_VAR = 150.0  # Laplacian variance that scores 0.5; sharper saturates towards 1
TARGET_MEAN_LUMA = 120.0
GOOD_LUMA_STD = 55.0
SHARPNESS_WEIGHT = 0.6
EXPOSURE_WEIGHT = 0.4
FACE_BONUS = 0.1  # any face
FACE_BONUS_PER_AREA = 2.0  # plus 2 x the largest face's share of the frame ...
FACE_BONUS_MAX_AREA = 0.2  # ... up to +0.2


@dataclass(frozen=True, slots=True)
class FrameScore:
    time_s: float
    sharpness: float  # 0..1, from the variance of the Laplacian
    exposure: float  # 0..1: mid-grey mean, good contrast, little clipping
    faces: tuple[Box, ...]  # largest first, in the scored frame's pixels
    score: float  # 0 for black, white and flat (fade) frames


def score_frame(frame: np.ndarray, detector: FaceDetector | None = None, time_s: float = 0.0) -> FrameScore:
    """How good `frame` (RGB uint8) is as a cover; `detector` None skips face detection."""
    cv2 = import_cv2()
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    mean, std = float(gray.mean()), float(gray.std())
    laplacian_var = float(cv2.Laplacian(gray, cv2.CV_32F).var())
    sharpness = laplacian_var / (laplacian_var + SHARPNESS_HALF_VAR)
    brightness = max(0.0, 1.0 - ((mean - TARGET_MEAN_LUMA) / TARGET_MEAN_LUMA) ** 2)
    contrast = min(1.0, std / GOOD_LUMA_STD)
    clipped = float(np.count_nonzero((gray < 8) | (gray > 247))) / gray.size
    exposure = math.sqrt(brightness * contrast) * (1.0 - min(0.5, clipped))
    if mean < BLACK_MEAN_LUMA or mean > WHITE_MEAN_LUMA or std < FLAT_LUMA_STD:
        return FrameScore(time_s, sharpness, exposure, (), 0.0)
    score = FrameScore(time_s, sharpness, exposure, (), SHARPNESS_WEIGHT * sharpness + EXPOSURE_WEIGHT * exposure)
    return _with_faces(score, frame, detector) if detector is not None else score


def _face_score(score: FrameScore, bonus: float) -> float:
    return score.score + bonus * (0.5 + 0.5 * score.sharpness)  # a blurred face should not beat a sharp shot


def _best_possible(score: FrameScore) -> float:
    """The most `score` (scored without faces) can reach once faces are found: the full face bonus."""
    return _face_score(score, FACE_BONUS + FACE_BONUS_MAX_AREA) if score.score > 0 else 0.0


def _with_faces(score: FrameScore, frame: np.ndarray, detector: FaceDetector) -> FrameScore:
    """`score` (of `frame`, scored without faces) with the faces found and their bonus added."""
    faces = tuple(detector.detect(frame))
    if not faces:
        return score
    share = faces[0].area / (frame.shape[0] * frame.shape[1])
    bonus = FACE_BONUS + min(FACE_BONUS_MAX_AREA, FACE_BONUS_PER_AREA * share)
    return replace(score, faces=faces, score=_face_score(score, bonus))


def score_samples(samples: Sequence[tuple[float, np.ndarray]], detector: FaceDetector) -> list[FrameScore]:
    """Each sample's score; faces are looked for only in frames that a face could still make the winner.

    Frames are scored without faces first, then searched for faces from the highest possible score
    down, stopping once no frame left could beat the best score found. A skipped frame scores strictly
    less than the winner even with the largest face bonus, so the winner (and its faces) is the one
    that detecting faces in every frame would give.
    """
    scores = [score_frame(frame, None, t) for t, frame in samples]
    best = 0.0
    for i in sorted(range(len(scores)), key=lambda i: _best_possible(scores[i]), reverse=True):
        if scores[i].score <= 0 or _best_possible(scores[i]) < best:
            break
        scores[i] = _with_faces(scores[i], samples[i][1], detector)
        best = max(best, scores[i].score)
    return scores


def select_cover_frame(
    video: str | Path, scenes: Any = None, detector: FaceDetector | None = None, *,
    n: int = DEFAULT_SAMPLES, info: MediaInfo | None = None,
) -> tuple[FrameScore, np.ndarray]:
    """The best-scoring sampled frame at full resolution, and its score (face boxes in its pixels).

    Frames are scored at `ANALYSIS_MAX_SIDE_PX`; the winner is decoded again at the source size when it
    was scaled down for scoring.
    MediaError if the file has no video stream.
    """
    video = Path(video)
    info, fps = video_info(video, info)
    detector = detector or FaceDetector.load()
    samples = sample_frames(video, n, scenes, max_side=ANALYSIS_MAX_SIDE_PX, info=info)
    scores = score_samples(samples, detector)
    best = max(range(len(scores)), key=lambda i: (scores[i].score, scores[i].exposure, scores[i].sharpness))
    chosen, frame = scores[best], samples[best][1]
    stream = info.video
    assert stream is not None
    own_size = {(stream.width, stream.height), (stream.height, stream.width)}  # coded, or rotated
    # A frame at the stream's own size was not scaled (nor stretched to square pixels): it is full size.
    if max(frame.shape[:2]) >= ANALYSIS_MAX_SIDE_PX and (frame.shape[1], frame.shape[0]) not in own_size:
        # Half a frame early, so rounding the seek time cannot skip past the chosen frame.
        _, full, stderr = decode_frame_at(video, max(0.0, chosen.time_s - 0.5 / fps), None)
        if full is None:
            raise MediaError(f"could not decode the frame at {chosen.time_s:.2f}s of {video.name} "
                             f"({last_lines(stderr, 1)})")
        factor = full.shape[1] / frame.shape[1]
        chosen = replace(chosen, faces=tuple(b.scaled(factor) for b in chosen.faces))
        frame = full
    log.info(
        "%s: cover frame at %.2fs (score %.2f, sharpness %.2f, exposure %.2f, %d faces) of %d sampled",
        video.name, chosen.time_s, chosen.score, chosen.sharpness, chosen.exposure, len(chosen.faces), len(samples),
    )
    return chosen, frame
