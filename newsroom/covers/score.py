"""Which frame makes the cover: the story's moments first, then sharpness, exposure and faces.

No CLIP-like model with packaged weights exists (see MODELS.md), so "shows the story" is approximated by
*when*: the spans the headline, the lede and the verified quotes rest on (`newsroom.covers.story`) are
sampled first, and a usable frame inside one (scoring at least `STORY_MIN_SCORE` on its own) beats every
frame outside them; among those, a frame scores `STORY_BONUS` x its span's weight more; a person's face while a
quote is spoken (the speaker) adds `SPEAKER_BONUS`, more than any face elsewhere can. Within that, "sharp,
well exposed, with a face". A face counts only when its box holds skin-coloured pixels (Chai & Ngan's
YCrCb skin range), so a cartoon animal's face in the B-roll is not a person; in footage without colour the
check is skipped. Black, white and flat frames score 0, and so do fades (a frame much darker and flatter
than the clip's typical frame); letterbox and pillarbox bars found over the samples are cut off before
scoring (`newsroom.video.letterbox`), so a cover never carries them. OpenCV is imported inside functions so
`import newsroom` stays fast.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.covers.story import SPAN_WEIGHTS, StorySpan, weight_at
from newsroom.errors import MediaError
from newsroom.media.ffmpeg import last_lines
from newsroom.media.frames import decode_frame_at
from newsroom.media.sampling import DEFAULT_SAMPLES, sample_frames, video_info
from newsroom.types import MediaInfo
from newsroom.video import letterbox
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
STORY_BONUS = 0.4  # x the weight of the story span a frame is in (headline 1.0, lede 0.8, quote 0.5)
SPEAKER_BONUS = 0.4  # a person's face while a quote is spoken: beats any face outside the quotes
STORY_MIN_SCORE = 0.25  # a frame of the story this good (before its story bonus) beats every frame off it
STORY_SAMPLE_SHARE = 0.5  # of the samples, spread over the story's spans (the rest over the scenes)
# Skin (Chai & Ngan 1999, YCrCb): a face box with less than this share of skin pixels is not a person's.
SKIN_CR = (133, 173)
SKIN_CB = (77, 127)
MIN_SKIN_SHARE = 0.4  # real faces measure 0.74-0.96 (carphone, the astronaut), the B-roll rabbit 0.22
COLOURLESS_CHROMA = 4.0  # mean |Cr-128| + |Cb-128| below this: no colour to judge skin by
# Fades: a frame darker than FADE_LUMA_RATIO x the samples' median mean luma and flatter than FADE_STD_RATIO x
# their median contrast is on its way to or from black.
FADE_LUMA_RATIO = 0.55
FADE_STD_RATIO = 0.6


@dataclass(frozen=True, slots=True)
class FrameScore:
    time_s: float
    sharpness: float  # 0..1, from the variance of the Laplacian
    exposure: float  # 0..1: mid-grey mean, good contrast, little clipping
    faces: tuple[Box, ...]  # people's faces, largest first, in the scored frame's pixels
    score: float  # 0 for black, white, flat and fading frames
    story: str = ""  # the kind of story span the frame is in ("quote", "headline", "lede"), "" if none


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
    speaker = SPEAKER_BONUS if score.story == "quote" else 0.0
    return _face_score(score, FACE_BONUS + FACE_BONUS_MAX_AREA + speaker) if score.score > 0 else 0.0


def _on_story(score: FrameScore, spans: Sequence[StorySpan]) -> FrameScore:
    weight, span = weight_at(spans, score.time_s)
    if span is None or score.score <= 0:
        return score
    return replace(score, score=score.score + STORY_BONUS * weight, story=span.kind)


def _on_story_and_usable(score: FrameScore) -> bool:
    """A frame of the story's moments that is a picture worth showing: these come first."""
    return bool(score.story) and score.score - STORY_BONUS * SPAN_WEIGHTS[score.story] >= STORY_MIN_SCORE


def _fades(scores: list[FrameScore], samples: Sequence[tuple[float, np.ndarray]]) -> list[FrameScore]:
    """`scores` with the frames of a fade (much darker and flatter than the clip's median frame) at 0."""
    if len(samples) < 3:
        return scores
    stats = [(float(f.mean()), float(f.std())) for _, f in samples]
    mean_luma, mean_std = float(np.median([m for m, _ in stats])), float(np.median([d for _, d in stats]))
    out = []
    for score, (m, d) in zip(scores, stats, strict=True):
        if score.score > 0 and m < FADE_LUMA_RATIO * mean_luma and d < FADE_STD_RATIO * mean_std:
            log.debug("%.2fs: a fade (mean %.0f, contrast %.0f): not a cover", score.time_s, m, d)
            score = replace(score, score=0.0)
        out.append(score)
    return out


def is_persons_face(frame: np.ndarray, box: Box) -> bool:
    """Whether the face `box` of `frame` (RGB) holds skin-coloured pixels (True in footage without colour)."""
    cv2 = import_cv2()
    h, w = frame.shape[:2]
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(w, int(box.x + box.w)), min(h, int(box.y + box.h))
    if x1 <= x0 or y1 <= y0:
        return False
    ycrcb = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2YCrCb).astype(np.int16)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    if float(np.abs(cr - 128).mean() + np.abs(cb - 128).mean()) < COLOURLESS_CHROMA:
        small = cv2.cvtColor(np.ascontiguousarray(frame[::8, ::8]), cv2.COLOR_RGB2YCrCb).astype(np.int16)
        if float(np.abs(small[..., 1] - 128).mean() + np.abs(small[..., 2] - 128).mean()) < COLOURLESS_CHROMA:
            return True  # a black-and-white picture: no colour to judge by
    skin = (cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])
    return float(skin.mean()) >= MIN_SKIN_SHARE


def _with_faces(score: FrameScore, frame: np.ndarray, detector: FaceDetector) -> FrameScore:
    """`score` (of `frame`, scored without faces) with the people's faces found and their bonus added (and
    the speaker's, inside a quote)."""
    found = tuple(detector.detect(frame))
    faces = tuple(b for b in found if is_persons_face(frame, b))
    if len(faces) < len(found):
        log.debug("%.2fs: %d face(s) without skin colour left out", score.time_s, len(found) - len(faces))
    if not faces:
        return score
    share = faces[0].area / (frame.shape[0] * frame.shape[1])
    bonus = FACE_BONUS + min(FACE_BONUS_MAX_AREA, FACE_BONUS_PER_AREA * share)
    if score.story == "quote":
        bonus += SPEAKER_BONUS
    return replace(score, faces=faces, score=_face_score(score, bonus))


def score_samples(samples: Sequence[tuple[float, np.ndarray]], detector: FaceDetector,
                  spans: Sequence[StorySpan] = ()) -> list[FrameScore]:
    """Each sample's score; faces are looked for only in frames that a face could still make the winner.

    Frames are scored without faces first, then searched for faces from the highest possible score
    down, stopping once no frame left could beat the best score found. A skipped frame scores strictly
    less than the winner even with the largest face bonus, so the winner (and its faces) is the one
    that detecting faces in every frame would give.
    """
    scores = _fades([_on_story(score_frame(frame, None, t), spans) for t, frame in samples], samples)
    best = 0.0
    for i in sorted(range(len(scores)), key=lambda i: _best_possible(scores[i]), reverse=True):
        if scores[i].score <= 0 or _best_possible(scores[i]) < best:
            break
        scores[i] = _with_faces(scores[i], samples[i][1], detector)
        best = max(best, scores[i].score)
    return scores


def _sample(video: Path, n: int, scenes: Any, spans: Sequence[StorySpan],
            info: MediaInfo) -> list[tuple[float, np.ndarray]]:
    """The frames to score: `STORY_SAMPLE_SHARE` of `n` spread over the story's spans (when there are any),
    the rest over the scenes; in time order, each time once."""
    if not spans:
        return sample_frames(video, n, scenes, max_side=ANALYSIS_MAX_SIDE_PX, info=info)
    on_story = max(1, round(n * STORY_SAMPLE_SHARE))
    return sample_frames(video, max(1, n - on_story), scenes, max_side=ANALYSIS_MAX_SIDE_PX, info=info,
                         also=spans, also_n=on_story)


def _without_bars(frame: np.ndarray) -> tuple[np.ndarray, Box | None]:
    """`frame` with its letterbox / pillarbox bars cut off (bars come in pairs, see newsroom.video.letterbox;
    a frame is judged alone, since shots of one clip differ), and the picture's box (None: no bars)."""
    h, w = frame.shape[:2]
    box = letterbox.content_box([letterbox.edge_profile(frame)], (w, h))
    if box is None or (box.w, box.h) == (w, h):
        return frame, None
    return np.ascontiguousarray(frame[box.y: box.bottom, box.x: box.right]), box


def select_cover_frame(
    video: str | Path, scenes: Any = None, detector: FaceDetector | None = None, *,
    n: int = DEFAULT_SAMPLES, info: MediaInfo | None = None, spans: Sequence[StorySpan] = (),
) -> tuple[FrameScore, np.ndarray]:
    """The best-scoring sampled frame at full resolution (without the footage's bars), and its score (face
    boxes in its pixels).

    With `spans` (newsroom.covers.story) half the samples come from the story's moments, which score higher.
    Frames are scored at `ANALYSIS_MAX_SIDE_PX`; the winner is decoded again at the source size when it
    was scaled down for scoring.
    MediaError if the file has no video stream.
    """
    video = Path(video)
    info, fps = video_info(video, info)
    detector = detector or FaceDetector.load()
    raw = _sample(video, n, scenes, spans, info)
    cut = [_without_bars(frame) for _, frame in raw]
    samples = [(t, frame) for (t, _), (frame, _) in zip(raw, cut, strict=True)]
    scores = score_samples(samples, detector, spans)
    best = max(range(len(scores)), key=lambda i: (_on_story_and_usable(scores[i]), scores[i].score,
                                                  scores[i].exposure, scores[i].sharpness))
    chosen, frame, bars = scores[best], samples[best][1], cut[best][1]
    if bars is not None:
        log.info("cover: the frame at %.2fs carries bars; its picture is %dx%d of %dx%d", chosen.time_s, bars.w,
                 bars.h, raw[best][1].shape[1], raw[best][1].shape[0])
    stream = info.video
    assert stream is not None
    own_size = {(stream.width, stream.height), (stream.height, stream.width)}  # coded, or rotated
    scored_h, scored_w = raw[best][1].shape[:2]  # the sampled frame's own size, bars included
    # A frame at the stream's own size was not scaled (nor stretched to square pixels): it is full size.
    if max(scored_w, scored_h) >= ANALYSIS_MAX_SIDE_PX and (scored_w, scored_h) not in own_size:
        # Half a frame early, so rounding the seek time cannot skip past the chosen frame.
        _, full, stderr = decode_frame_at(video, max(0.0, chosen.time_s - 0.5 / fps), None)
        if full is None:
            raise MediaError(f"could not decode the frame at {chosen.time_s:.2f}s of {video.name} "
                             f"({last_lines(stderr, 1)})")
        factor = full.shape[1] / scored_w
        if bars is not None:  # the same bars, in the full frame's pixels
            x0, y0 = round(bars.x * factor), round(bars.y * factor)
            full = np.ascontiguousarray(full[y0: y0 + round(bars.h * factor), x0: x0 + round(bars.w * factor)])
        chosen = replace(chosen, faces=tuple(b.scaled(factor) for b in chosen.faces))
        frame = full
    log.info(
        "%s: cover frame at %.2fs (score %.2f, sharpness %.2f, exposure %.2f, %d faces%s) of %d sampled",
        video.name, chosen.time_s, chosen.score, chosen.sharpness, chosen.exposure, len(chosen.faces),
        f", on the {chosen.story}" if chosen.story else "", len(samples),
    )
    return chosen, frame
