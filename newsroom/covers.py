"""Cover images: pick a good frame, crop it face-aware to each platform's shape, set the headline on it.

The pipeline is deliberately plain: sample a couple of dozen frames (scene mid-points when scenes are
known), drop black and fade frames, score the rest on sharpness (variance of the Laplacian), exposure
and faces, then crop the winner around the largest face (or the picture's detail) and draw the headline
on a dark band in the lower part, wrapped and sized so it always stays inside the 5% safe area.

No CLIP-like model with packaged weights exists (see MODELS.md), so "interesting" is approximated by
"sharp, well exposed, with a face". OpenCV is imported inside functions so `import newsroom` stays fast.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsroom.errors import MediaError, NewsroomError
from newsroom.lang import NO_LINE_END, NO_LINE_START, WIDE, font_region
from newsroom.media import probe
from newsroom.types import MediaInfo
from newsroom.video.faces import Box, FaceDetector, focus_point, import_cv2

if TYPE_CHECKING:
    from PIL import Image as PILImage

log = logging.getLogger("newsroom.covers")

Upscaler = Callable[[np.ndarray], np.ndarray]  # RGB uint8 (H, W, 3) -> larger RGB uint8

COVER_SIZES: dict[str, tuple[int, int]] = {"16x9": (1280, 720), "9x16": (1080, 1920), "1x1": (1080, 1080)}

# Frame sampling
DEFAULT_SAMPLES = 24
EDGE_MARGIN_S = 0.3  # skip the first/last 0.3 s: fades, slates, encoder warm-up
ANALYSIS_MAX_SIDE_PX = 640  # frames are scored at this size; the winner is decoded again at full size
MAX_DECODERS = 4
SINGLE_PASS_MAX_S = 90.0  # shorter clips: one decoding pass beats ~0.1 s of ffmpeg start-up per frame

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

# Headline
SAFE_MARGIN = 0.05  # of width / height, each side
MAX_LINES = 3
MAX_TEXT_HEIGHT = 0.4  # of image height: the headline stays in the lower part
START_FONT_OF_HEIGHT = 0.075
START_FONT_OF_WIDTH = 0.085
MIN_FONT_OF_SHORT_SIDE = 0.035
MIN_FONT_PX = 10
FONT_STEP = 0.92
LINE_PITCH = 1.25  # of font size
BAND_PADDING = 0.5  # of font size, above the text
BAND_ALPHA = 160  # 0-255
TEXT_RGB = (255, 255, 255)

# zlib level for the cover PNGs (lossless at any level): 3 encodes ~3x faster than Pillow's default 6
# for 7-14% larger files on video frames.
PNG_COMPRESS_LEVEL = 3

# Noto Sans CJK Bold collection: the face index per region; the SC face carries Latin glyphs too.
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",  # Debian / Ubuntu fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",  # Arch noto-fonts-cjk
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Bold.ttc",  # Fedora
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Bold.ttc",
)
FONT_FACE_INDEX = {"JP": 0, "KR": 1, "SC": 2, "TC": 3, "HK": 4}

# Line breaking (newsroom.lang.scripts): characters set solid are wrapped one by one; closing punctuation
# never starts a line, opening punctuation never ends one.
_CJK_RE = WIDE.pattern


# --- frames -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrameScore:
    time_s: float
    sharpness: float  # 0..1, from the variance of the Laplacian
    exposure: float  # 0..1: mid-grey mean, good contrast, little clipping
    faces: tuple[Box, ...]  # largest first, in the scored frame's pixels
    score: float  # 0 for black, white and flat (fade) frames


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if not found:
        raise MediaError("ffmpeg is not installed: run 'make setup' or 'apt-get install ffmpeg'")
    return found


def _scene_bounds(scenes: Any) -> list[tuple[float, float]]:
    items = getattr(scenes, "scenes", scenes)
    return [(float(s.start_s), float(s.end_s)) for s in items]


def _candidate_times(duration_s: float, fps: float, n: int, scenes: Any = None) -> list[float]:
    """Up to `n` times to look at, sorted, at least one frame apart, inside the video's middle."""
    last_frame_s = max(0.0, duration_s - 1.0 / fps)
    lo, hi = EDGE_MARGIN_S, duration_s - EDGE_MARGIN_S
    if hi <= lo:  # too short for margins: use the whole clip
        lo, hi = 0.0, last_frame_s
    spans = [(max(a, lo), min(b, hi)) for a, b in _scene_bounds(scenes)] if scenes is not None else []
    spans = [(a, b) for a, b in spans if b >= a]
    times: list[float] = []
    if spans:
        if len(spans) > n:  # the longest shots are the likeliest covers
            spans = sorted(sorted(spans, key=lambda s: s[1] - s[0], reverse=True)[:n])
        total = sum(b - a for a, b in spans) or 1.0
        extra = n - len(spans)  # beyond each scene's mid-point, spread by duration
        for a, b in spans:
            k = 1 + int(extra * (b - a) / total)
            times += [a + (b - a) * (j + 0.5) / k for j in range(k)]
    else:
        times = [lo + (hi - lo) * (i + 0.5) / n for i in range(n)]
    frames = sorted({min(round(t * fps), round(last_frame_s * fps)) for t in times})
    return [f / fps for f in frames]


_PPM_HEADER = re.compile(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s")
_PTS_TIME = re.compile(r"\bpts_time:\s*(-?[0-9.]+(?:e[-+]?\d+)?)")


def _parse_ppms(data: bytes) -> list[np.ndarray]:
    """Frames from a stream of binary PPMs (ffmpeg's image2pipe with the ppm encoder)."""
    frames, offset = [], 0
    while (match := _PPM_HEADER.match(data, offset)) is not None:
        width, height, maxval = (int(g) for g in match.groups())
        end = match.end() + width * height * 3
        if maxval != 255 or end > len(data):
            break
        pixels = np.frombuffer(data, dtype=np.uint8, count=width * height * 3, offset=match.end())
        frames.append(pixels.reshape(height, width, 3))
        offset = end
    return frames


def _frame_filters(max_side: int | None) -> list[str]:
    # Square pixels first (anamorphic sources), then the optional analysis scale, which never enlarges.
    filters = ["scale='max(1,round(iw*sar))':ih", "setsar=1"]
    if max_side:
        filters.append(f"scale='min(iw,{max_side})':'min(ih,{max_side})':force_original_aspect_ratio=decrease")
    return [*filters, "format=rgb24"]


def _ppm_pipe(video: Path, before_input: list[str], filters: list[str], after: list[str]) -> subprocess.CompletedProcess:
    """ffmpeg with the first video stream's frames piped out as PPM: raw RGB behind a short header.

    PPM rather than bare rawvideo because only ffmpeg knows the output size once it has applied rotation
    metadata, square-pixel correction and the analysis scale. Nothing is written to disk.
    """
    cmd = [
        _ffmpeg(), "-hide_banner", "-nostdin", "-nostats", *before_input, "-i", str(video),
        "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(filters), *after,
        "-fps_mode", "passthrough", "-c:v", "ppm", "-f", "image2pipe", "-",
    ]
    return subprocess.run(cmd, capture_output=True, check=False)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no error output"


def _decode_frame(video: Path, time_s: float, max_side: int | None) -> tuple[float, np.ndarray | None, str]:
    """(its time, the frame) of the first frame at or after `time_s`, and ffmpeg's error output.

    An input seek, so only the GOP before `time_s` is decoded. Timestamps after an input seek start at
    the seek point, so `showinfo`'s pts_time is the frame's offset from `time_s`.
    """
    filters = ["showinfo", *_frame_filters(max_side)]
    result = _ppm_pipe(video, ["-v", "info", "-ss", f"{time_s:.4f}"], filters, ["-frames:v", "1"])
    stderr = result.stderr.decode(errors="replace")
    frames = _parse_ppms(result.stdout) if result.returncode == 0 else []
    if not frames:
        return time_s, None, "\n".join(ln for ln in stderr.splitlines() if "showinfo" not in ln)
    offset = next((float(m.group(1)) for ln in stderr.splitlines() if "showinfo" in ln and (m := _PTS_TIME.search(ln))), 0.0)
    return round(time_s + max(0.0, offset), 6), frames[0], ""


def _decode_single_pass(video: Path, times: Sequence[float], max_side: int | None) -> list[tuple[float, np.ndarray]]:
    """The first frame at or after each of `times`, in one decoding pass (cheaper for short clips).

    `select` keeps a frame when it is the first to reach a target time; `showinfo` reports each kept
    frame's own timestamp on stderr, in output order.
    """
    picks = "+".join(f"gte(t,{t:.4f})*not(gte(prev_t,{t:.4f}))" for t in times)
    filters = [f"select='{picks}'", "showinfo", *_frame_filters(max_side)]
    result = _ppm_pipe(video, ["-v", "info"], filters, [])
    stderr = result.stderr.decode(errors="replace")
    if result.returncode != 0:
        raise MediaError(f"could not decode frames of {video.name} ({_last_line(stderr)}): the video may be corrupt")
    found = [float(m.group(1)) for line in stderr.splitlines() if "showinfo" in line and (m := _PTS_TIME.search(line))]
    frames = _parse_ppms(result.stdout)
    if len(found) != len(frames):  # not expected; keep the frames with their target times
        log.warning("%s: %d frame times for %d frames", video.name, len(found), len(frames))
        found = [times[min(i, len(times) - 1)] for i in range(len(frames))]
    return list(zip(found, frames, strict=True))


def _video_info(video: Path, info: MediaInfo | None) -> tuple[MediaInfo, float]:
    info = info or probe(video)
    stream = info.video
    if stream is None:
        raise MediaError(f"{video.name} has no video stream: a cover needs pictures (give the video, not the audio)")
    return info, stream.avg_fps or stream.fps or 25.0


def sample_frames(
    video: str | Path, n: int = DEFAULT_SAMPLES, scenes: Any = None, *,
    max_side: int | None = None, info: MediaInfo | None = None,
) -> list[tuple[float, np.ndarray]]:
    """Up to `n` (time_s, RGB uint8 frame) pairs spread over the video, in time order.

    With `scenes` (a `SceneList` or scenes with start_s/end_s): each scene's mid-point, plus more
    samples in the longer scenes. The first and last 0.3 s are skipped unless the clip is shorter than
    that. `max_side` scales large frames down (for scoring); None keeps the source resolution. Clips up
    to `SINGLE_PASS_MAX_S` are decoded in one pass through a select filter, longer ones by one seeking
    ffmpeg per frame, a few at a time. MediaError when there is no video stream or no decodable frame.
    """
    video = Path(video)
    info, fps = _video_info(video, info)
    stream = info.video
    assert stream is not None
    duration = stream.duration_s or info.duration_s
    times = _candidate_times(duration, fps, max(1, n), scenes)
    errors: list[str] = []
    if duration <= SINGLE_PASS_MAX_S:
        frames = _decode_single_pass(video, times, max_side)
    else:
        workers = max(1, min(MAX_DECODERS, os.cpu_count() or 1, len(times)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            decoded = list(pool.map(lambda t: _decode_frame(video, t, max_side), times))
        frames = [(t, frame) for t, frame, _ in decoded if frame is not None]
        errors = [err for _, _, err in decoded if err]
    if not frames:  # e.g. target times past the last frame of an oddly muxed file: take the first frame
        first_s, frame, stderr = _decode_frame(video, 0.0, max_side)
        if frame is None:
            why = _last_line(stderr or "\n".join(errors) or "no frame decoded")
            raise MediaError(f"could not decode any frame of {video.name} ({why}): the video may be corrupt")
        frames = [(first_s, frame)]
    log.debug("%s: sampled %d frames for %d target times", video.name, len(frames), len(times))
    return frames


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


def _score_samples(samples: Sequence[tuple[float, np.ndarray]], detector: FaceDetector) -> list[FrameScore]:
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
    info, fps = _video_info(video, info)
    detector = detector or FaceDetector.load()
    samples = sample_frames(video, n, scenes, max_side=ANALYSIS_MAX_SIDE_PX, info=info)
    scores = _score_samples(samples, detector)
    best = max(range(len(scores)), key=lambda i: (scores[i].score, scores[i].exposure, scores[i].sharpness))
    chosen, frame = scores[best], samples[best][1]
    stream = info.video
    assert stream is not None
    own_size = {(stream.width, stream.height), (stream.height, stream.width)}  # coded, or rotated
    # A frame at the stream's own size was not scaled (nor stretched to square pixels): it is full size.
    if max(frame.shape[:2]) >= ANALYSIS_MAX_SIDE_PX and (frame.shape[1], frame.shape[0]) not in own_size:
        # Half a frame early, so rounding the seek time cannot skip past the chosen frame.
        _, full, stderr = _decode_frame(video, max(0.0, chosen.time_s - 0.5 / fps), None)
        if full is None:
            raise MediaError(f"could not decode the frame at {chosen.time_s:.2f}s of {video.name} ({_last_line(stderr)})")
        factor = full.shape[1] / frame.shape[1]
        chosen = replace(chosen, faces=tuple(b.scaled(factor) for b in chosen.faces))
        frame = full
    log.info(
        "%s: cover frame at %.2fs (score %.2f, sharpness %.2f, exposure %.2f, %d faces) of %d sampled",
        video.name, chosen.time_s, chosen.score, chosen.sharpness, chosen.exposure, len(chosen.faces), len(samples),
    )
    return chosen, frame


# --- crops --------------------------------------------------------------------------------------


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


def _check_upscaled(result: Any, source: np.ndarray) -> np.ndarray:
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
        crop = _check_upscaled(upscaler(crop), crop)
    image = Image.fromarray(crop)
    if image.size != tuple(size):
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image)


# --- headline -----------------------------------------------------------------------------------


def _region(language: str) -> str:
    return font_region(language)


@lru_cache(maxsize=8)
def headline_font(language: str = "en") -> tuple[str, int]:
    """(font file, face index) of Noto Sans CJK Bold for `language`. NewsroomError if not installed."""
    region = _region(language)
    for path in FONT_FILES:
        if Path(path).is_file():
            return path, FONT_FACE_INDEX[region]
    fc_match = shutil.which("fc-match")
    if fc_match:
        result = subprocess.run(
            [fc_match, "-f", "%{file}|%{index}|%{family}", f"Noto Sans CJK {region}:bold"],
            capture_output=True, text=True, check=False,
        )
        path, _, rest = result.stdout.partition("|")
        index, _, family = rest.partition("|")
        if result.returncode == 0 and "Noto Sans CJK" in family and Path(path).is_file():
            return path, int(index or 0)
    raise NewsroomError(
        "the headline font Noto Sans CJK Bold is not installed: apt-get install fonts-noto-cjk "
        "(or pass font_path= to draw_headline)"
    )


@lru_cache(maxsize=64)
def _font(path: str, index: int, size_px: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, size_px, index=index)
    except OSError as exc:
        raise NewsroomError(
            f"cannot load the headline font {path} (face {index}): {exc}; apt-get install fonts-noto-cjk"
        ) from exc


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    space_before: bool


def _tokens(text: str) -> list[_Token]:
    """Words and single CJK characters; punctuation glued on so no line starts or ends badly."""
    raw: list[_Token] = []
    word, word_space, space = "", False, False
    for ch in text:
        if ch.isspace() or _CJK_RE.match(ch):
            if word:
                raw.append(_Token(word, word_space))
                word = ""
            if ch.isspace():
                space = True
            else:
                raw.append(_Token(ch, space))
                space = False
        else:
            if not word:
                word_space, space = space, False
            word += ch
    if word:
        raw.append(_Token(word, word_space))
    glued: list[_Token] = []
    opening: _Token | None = None  # opening brackets/quotes wait for the token they open
    for tok in raw:
        if opening is not None:
            tok = _Token(opening.text + tok.text, opening.space_before)
            opening = None
        if glued and not tok.space_before and all(c in NO_LINE_START for c in tok.text):
            glued[-1] = _Token(glued[-1].text + tok.text, glued[-1].space_before)
        elif all(c in NO_LINE_END for c in tok.text):
            opening = tok
        else:
            glued.append(tok)
    if opening is not None:
        glued.append(opening)
    return glued


def _ink(font: Any, text: str) -> tuple[int, int, int, int]:
    """Ink extent (left, top, right, bottom) of `text` drawn with its baseline-left at (0, 0)."""
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _width(font: Any, text: str) -> int:
    left, _, right, _ = _ink(font, text)
    return right - left


def _split_long(text: str, font: Any, max_w: int) -> list[str]:
    """A token wider than a line, broken by characters (never before closing punctuation)."""
    pieces: list[str] = []
    current = ""
    for ch in text:
        if not current or _width(font, current + ch) <= max_w:
            current += ch
            continue
        if ch in NO_LINE_START and len(current) > 1:  # take the previous character along
            pieces.append(current[:-1])
            current = current[-1] + ch
        else:
            pieces.append(current)
            current = ch
    return [*pieces, current] if current else pieces


def _wrap(tokens: Sequence[_Token], font: Any, max_w: int, limit: int) -> list[str]:
    """Greedy line filling; stops once there are more than `limit` lines (enough to know it won't fit)."""
    lines: list[str] = []
    current = ""
    for tok in tokens:
        if len(lines) > limit:
            break
        candidate = f"{current}{' ' if tok.space_before else ''}{tok.text}" if current else tok.text
        if _width(font, candidate) <= max_w:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = [tok.text] if _width(font, tok.text) <= max_w else _split_long(tok.text, font, max_w)
        lines += pieces[:-1]
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines


def _ellipsize(text: str, font: Any, max_w: int, ellipsis: str) -> str | None:
    """`text` shortened (by words for Latin text, by characters otherwise) until text + ellipsis fits."""
    while text:
        candidate = text.rstrip(" ,.;:，、；：") + ellipsis
        if _width(font, candidate) <= max_w:
            return candidate
        last_word = text.rsplit(" ", 1)
        if len(last_word) == 2 and last_word[1] and not _CJK_RE.search(last_word[1]):
            text = last_word[0]
        else:
            text = text[:-1]
    return None


@dataclass(frozen=True, slots=True)
class HeadlineLayout:
    lines: tuple[str, ...]
    font_size_px: int
    origins: tuple[tuple[int, int], ...]  # each line's left end of the baseline (Pillow anchor "ls")
    box: Box  # ink of all lines; inside `safe_area`. Box(0, 0, 0, 0) when nothing is drawn
    safe_area: Box
    band_top: int  # the dark band runs from here to the bottom of the image
    truncated: bool
    font_path: str
    font_index: int


def _place(lines: Sequence[str], font: Any, size_px: int, safe: Box) -> tuple[list[tuple[int, int]], Box, bool]:
    """Centre the lines in the safe area's width, bottom of the ink on the safe area's bottom."""
    pitch = round(size_px * LINE_PITCH)
    centre = safe.x + safe.w / 2
    origins, inks = [], []
    fits = True
    for i, line in enumerate(lines):
        left, top, right, bottom = _ink(font, line)
        fits = fits and right - left <= safe.w
        x = round(centre - (left + right) / 2)
        x = min(max(x, safe.x - left), safe.right - right)
        origins.append((x, i * pitch))
        inks.append((x + left, i * pitch + top, x + right, i * pitch + bottom))
    x0, y0 = min(b[0] for b in inks), min(b[1] for b in inks)
    x1, y1 = max(b[2] for b in inks), max(b[3] for b in inks)
    dy = safe.bottom - y1
    return [(x, y + dy) for x, y in origins], Box(x0, y0 + dy, x1 - x0, y1 - y0), fits


def layout_headline(
    image_size: tuple[int, int], headline: str, language: str = "en", *,
    font_path: str | Path | None = None, font_index: int | None = None, max_lines: int = MAX_LINES,
) -> HeadlineLayout:
    """Where the headline goes on an image of `image_size` (width, height): lines, size and ink box.

    Wrapping is by words, and by characters for CJK text (closing punctuation never starts a line);
    the font shrinks from ~7.5% of the height until at most `max_lines` lines fit the safe area's width
    and the lower 40% of the image; at the minimum size the last line is cut with an ellipsis instead.
    """
    width, height = image_size
    if font_path is None:
        path, index = headline_font(language)
    else:
        path = str(font_path)
        index = font_index if font_index is not None else (
            FONT_FACE_INDEX[_region(language)] if path.lower().endswith((".ttc", ".otc")) else 0
        )
    mx, my = math.ceil(width * SAFE_MARGIN), math.ceil(height * SAFE_MARGIN)
    safe = Box(mx, my, max(0, width - 2 * mx), max(0, height - 2 * my))
    max_h = min(safe.h, round(height * MAX_TEXT_HEIGHT))
    empty = HeadlineLayout((), 0, (), Box(0, 0, 0, 0), safe, height, False, path, index)
    tokens = _tokens(headline or "")
    if not tokens or safe.w <= 0 or max_h <= 0:
        return empty
    min_px = max(MIN_FONT_PX, round(min(width, height) * MIN_FONT_OF_SHORT_SIDE))
    size_px = max(min_px, round(min(height * START_FONT_OF_HEIGHT, width * START_FONT_OF_WIDTH)))

    def layout(lines: Sequence[str], font: Any, px: int, truncated: bool) -> HeadlineLayout | None:
        origins, box, fits = _place(lines, font, px, safe)
        if not fits or box.h > max_h:
            return None
        band_top = max(0, box.y - round(px * BAND_PADDING))
        return HeadlineLayout(tuple(lines), px, tuple(origins), box, safe, band_top, truncated, path, index)

    while True:
        font = _font(path, index, size_px)
        lines = _wrap(tokens, font, safe.w, max_lines)
        if len(lines) <= max_lines and (found := layout(lines, font, size_px, False)):
            return found
        if size_px <= min_px:
            break
        size_px = max(min_px, min(size_px - 1, int(size_px * FONT_STEP)))
    ellipsis = "…" if _CJK_RE.search(headline) else "..."
    for keep in range(min(max_lines, len(lines)), 0, -1):
        last = _ellipsize(lines[keep - 1], font, safe.w, ellipsis)
        if last is not None and (found := layout([*lines[: keep - 1], last], font, size_px, True)):
            log.info("headline cut to %d lines at %d px: %r", keep, size_px, found.lines[-1])
            return found
    log.warning("no room for the headline on a %dx%d image: drawn without text", width, height)
    return empty


def draw_headline(
    image: PILImage.Image, headline: str, language: str = "en", *,
    font_path: str | Path | None = None, max_lines: int = MAX_LINES,
) -> tuple[PILImage.Image, Box]:
    """A copy of `image` (RGB) with `headline` in white bold on a dark band in its lower part.

    Returns the ink box of the text, always inside the 5% safe area (Box(0, 0, 0, 0) for an empty
    headline, which leaves the picture as it was).
    """
    from PIL import Image, ImageDraw

    base = image.convert("RGB")
    layout = layout_headline(base.size, headline, language, font_path=font_path, max_lines=max_lines)
    if not layout.lines:
        return base, layout.box
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, layout.band_top, base.width, base.height), fill=(0, 0, 0, BAND_ALPHA))
    composed = Image.alpha_composite(base.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(composed)
    font = _font(layout.font_path, layout.font_index, layout.font_size_px)
    for line, origin in zip(layout.lines, layout.origins, strict=True):
        draw.text(origin, line, font=font, fill=TEXT_RGB, anchor="ls")
    return composed.convert("RGB"), layout.box


# --- covers -------------------------------------------------------------------------------------


def make_covers(
    video: str | Path, headline: str, out_dir: str | Path, language: str = "en", scenes: Any = None,
    upscaler: Upscaler | None = None, *, detector: FaceDetector | None = None,
    font_path: str | Path | None = None,
) -> dict[str, Path]:
    """Write cover-16x9.png, cover-9x16.png and cover-1x1.png for `video` into `out_dir`.

    `upscaler` (e.g. Real-ESRGAN x4plus) runs once on the chosen frame when any crop would otherwise
    be enlarged; Lanczos resizing does the rest. Each file is written under a temporary name and
    renamed, so a reader never sees half a PNG.
    """
    from PIL import Image

    if font_path is None:
        headline_font(language)  # a missing font fails before the decoding work
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen, frame = select_cover_frame(video, scenes, detector)
    focus = focus_point(frame, chosen.faces)
    frame_size = (frame.shape[1], frame.shape[0])
    if upscaler is not None and any(crop_box(frame_size, size, focus).w < size[0] for size in COVER_SIZES.values()):
        upscaled = _check_upscaled(upscaler(frame), frame)
        fx, fy = upscaled.shape[1] / frame.shape[1], upscaled.shape[0] / frame.shape[0]
        log.info("upscaled the cover frame %dx%d -> %dx%d", *frame_size, upscaled.shape[1], upscaled.shape[0])
        frame, focus = upscaled, (focus[0] * fx, focus[1] * fy)
    paths: dict[str, Path] = {}
    for name, size in COVER_SIZES.items():
        image = Image.fromarray(crop_to_aspect(frame, size, focus))
        image, _ = draw_headline(image, headline, language, font_path=font_path)
        path = out_dir / f"cover-{name}.png"
        tmp = out_dir / f".cover-{name}.png.part"
        try:
            image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        paths[name] = path
    log.info("%s: wrote %s", Path(video).name, ", ".join(p.name for p in paths.values()))
    return paths

