"""A 9:16 version for social platforms that follows the subject, shot by shot, without the source's bars.

`plan_vertical` looks at the video once (one decode: ffmpeg's `scdet` finds the cuts on every frame while
`SAMPLE_FPS` frames a second come back small): per shot it finds the picture inside any letterbox or
pillarbox (`newsroom.video.letterbox`), the faces in it (`newsroom.video.faces`: MediaPipe's BlazeFace,
else OpenCV's Haar cascade) linked into tracks, and picks the main subject, the face with the most area
over the shot (a presenter or an interviewee: large and always there), else what moves against the
background (the camera's own shift taken out by phase correlation), else the centre of the picture's
detail. The 9:16
window, as tall as the picture, then follows that subject along a smoothed, speed-bounded camera path
(`newsroom.video.track`), reset at each cut. A shot falls back to the full picture over a blurred fill of
itself only when its subject cannot be kept in the window: two people too far apart, or a subject faster
than the camera may pan.

`make_vertical` renders the plan in one ffmpeg run: per shot `trim` -> bars cropped -> the window, whose
position is a piecewise-linear expression of the frame number (keyframes at most `KEYFRAME_TOLERANCE_PX`
off the planned path) -> 720x1280; the shots concatenated; subtitles, when given, burned in by libass at
the end of the same graph, inside the platforms' UI-safe zone. The window moves in steps of two output
pixels (a first integer crop a little wider than the window, the scale, then a second crop on the scaled
picture), not the 3-4 output pixels a crop of the source would jump per source pixel.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.errors import ConfigError, MediaError
from newsroom.graphics import place_subtitles
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.frames import read_frames
from newsroom.media.graph import Filter, FilterGraph
from newsroom.media.inputs import input_args
from newsroom.subtitles.burn import burn_in_filter, place_cues
from newsroom.types import MediaInfo
from newsroom.video import letterbox, track
from newsroom.video.faces import (
    BlazeFaceDetector,
    Box,
    FaceDetector,
    focus_point,
    import_cv2,
    load_face_detector,
)
from newsroom.video.scenes import read_cut_times, scdet_filters, scenes_from_cuts

log = logging.getLogger("newsroom.video.vertical")
Detector = FaceDetector | BlazeFaceDetector

VERTICAL_SIZE = (720, 1280)
MODES = ("auto", "crop", "pad")  # auto: follow, fill where nothing fits; crop: always a window; pad: always fill
# Keep subtitles above the bottom fifth: platform UIs (captions, buttons) cover it.
SAFE_BOTTOM_FRACTION = 0.2
# The fill is a 41 px box blur (radius 20, two passes) of the output size. It holds no detail finer
# than a quarter of that size, so it is blurred at a quarter size (radius 5) and scaled up: ~4x less
# work than blurring at full size, 47 dB PSNR against it on the bench clip.
FILL_DOWNSCALE = 4
FILL_BLUR_RADIUS_PX = 20  # in output pixels
FILL_BLUR_PASSES = 2

SAMPLE_FPS = 5.0  # frames a second looked at for bars and faces (cuts are found on every frame)
ANALYSIS_LONG_SIDE_PX = 480  # sampled frames come back this size (the face detector's own working size)
MIN_TRACK_HIT_FRACTION = 0.2  # of a shot's samples: a face seen less often is a false positive or a passer-by
TRACK_GAP_S = 1.0  # a face lost for longer than this starts a new track
MOTION_LUMA = 20.0  # grey levels (blurred) a pixel must change by, the camera's shift taken out, to be moving
MOTION_MIN_FRACTION = 0.003  # of the picture: less is noise
MOTION_MAX_FRACTION = 0.3  # more is a cut, a flash or a zoom, not a subject
MOTION_SHOT_FRACTION = 0.3  # of a shot's samples with motion, for the window to follow motion rather than detail
CO_SUBJECT_SCORE_RATIO = 0.6  # another track this prominent (area x presence) must fit in the window too
MIN_KEPT_FRACTION = 0.9  # of the subjects' sightings inside the window, or the shot is filled instead
KEYFRAME_TOLERANCE_PX = 0.25  # in source pixels: rendered window vs planned path
CROP_MARGIN_PX = 4  # the first crop is this much wider than the window, so the second has room to slide


@dataclass(frozen=True, slots=True)
class Shot:
    """How one shot is framed: a window following the subject, or the whole picture over a fill."""

    start_frame: int
    end_frame: int  # exclusive
    content: Box  # the picture without bars, in source pixels
    layout: str  # "follow" or "fill"
    subject: str  # what the window follows: "face", "motion", "detail", "fixed" (an editor's focus), "none" (fill)
    window_w: float  # the 9:16 window's width in source pixels (as tall as `content`)
    centres: tuple[float, ...] = field(repr=False)  # the window centre per frame (source x); empty for fill
    kept_fraction: float | None = None  # share of the subjects' face sightings inside the window
    reason: str = ""

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    def window(self, frame: int) -> Box:
        """The window (source pixels) at `frame` of this shot (0-based within it)."""
        if self.layout != "follow":
            return self.content
        c = self.centres[min(max(frame, 0), len(self.centres) - 1)]
        return Box(round(c - self.window_w / 2), self.content.y, round(self.window_w), self.content.h)


@dataclass(frozen=True, slots=True)
class VerticalPlan:
    source_size: tuple[int, int]
    fps: float
    size: tuple[int, int]
    shots: tuple[Shot, ...]

    def to_dict(self) -> dict[str, Any]:
        """A summary for the story's manifest (no per-frame paths)."""
        return {"size": list(self.size), "shots": [
            {"start_frame": s.start_frame, "end_frame": s.end_frame, "layout": s.layout, "subject": s.subject,
             "content": [s.content.x, s.content.y, s.content.w, s.content.h],
             "kept_fraction": None if s.kept_fraction is None else round(s.kept_fraction, 3), "reason": s.reason}
            for s in self.shots]}


@dataclass(frozen=True, slots=True)
class _Sample:
    frame: int
    faces: tuple[Box, ...]  # source pixels
    detail_x: float  # source pixels
    motion_x: float | None  # source pixels: where things move against the background, if anything does
    edges: letterbox.EdgeProfile


# ------------------------------------------------------------------------------------------ analysis


def _analysis_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, ANALYSIS_LONG_SIDE_PX / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _sample(src: Path, info: MediaInfo, fps: float, detector: Detector | None) -> tuple[list[_Sample], list[float]]:
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
    samples: list[_Sample] = []
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
            samples.append(_Sample(i * every, faces_src, detail_x, None if moving is None else moving * 2 * sx, edges))
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
class _Track:
    hits: list[tuple[int, Box]]

    @property
    def last(self) -> tuple[int, Box]:
        return self.hits[-1]

    @property
    def score(self) -> float:
        return float(sum(b.area for _, b in self.hits))


def _tracks(samples: list[_Sample], gap_frames: int) -> list[_Track]:
    """Faces linked from sample to sample (nearest centre within a face width), largest tracks first."""
    tracks: list[_Track] = []
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
                tracks.append(_Track([(s.frame, face)]))
                taken.add(len(tracks) - 1)
            else:
                tracks[best].hits.append((s.frame, face))
                taken.add(best)
    return sorted(tracks, key=lambda t: t.score, reverse=True)


def _fill(start: int, end: int, content: Box, reason: str, kept: float | None = None) -> Shot:
    return Shot(start, end, content, "fill", "none", float(content.w), (), kept, reason)


def _window_width(content: Box, size: tuple[int, int]) -> float:
    return content.h * size[0] / size[1]


def _plan_shot(start: int, end: int, samples: list[_Sample], content: Box, fps: float, size: tuple[int, int],
               mode: str, focus_x: float | None) -> Shot:
    ww = _window_width(content, size)
    if mode == "pad":
        return _fill(start, end, content, "the editor chose the full picture")
    if ww >= content.w - 2:
        return _fill(start, end, content, "the picture is already as narrow as 9:16")
    lo, hi = content.x + ww / 2, content.right - ww / 2
    frames = end - start
    limits = track.CameraLimits.for_window(ww, fps)
    if focus_x is not None:
        c = min(max(content.x + focus_x * content.w, lo), hi)
        return Shot(start, end, content, "follow", "fixed", ww, (c,) * frames, None, "the editor's focus")
    tracks = _tracks(samples, round(TRACK_GAP_S * fps))
    needed = len(samples) if len(samples) < 3 else max(2, math.ceil(MIN_TRACK_HIT_FRACTION * len(samples)))
    tracks = [t for t in tracks if len(t.hits) >= needed]
    if tracks:
        main = tracks[0]
        subjects = [t for t in tracks if t.score >= CO_SUBJECT_SCORE_RATIO * main.score]
        observations = [(f - start, b.center[0]) for f, b in main.hits]
        noise, what = track.FACE_NOISE_FRACTION * ww, "face"
    elif samples and sum(s.motion_x is not None for s in samples) >= MOTION_SHOT_FRACTION * len(samples):
        subjects = []
        observations = [(s.frame - start, s.motion_x) for s in samples if s.motion_x is not None]
        noise, what = track.MOTION_NOISE_FRACTION * ww, "motion"
    else:
        subjects = []
        observations = [(s.frame - start, s.detail_x) for s in samples]
        noise, what = track.SALIENCY_NOISE_FRACTION * ww, "detail"
    if not observations:
        observations = [(0, content.x + content.w / 2)]
    path = track.smooth_path(frames, observations, noise_px=noise, accel_px=track.PROCESS_ACCEL_FRACTION * ww)
    centres = track.camera_path(path, lo=lo, hi=hi, limits=limits)
    kept = None
    if subjects:
        sightings = [(f - start, b) for t in subjects for f, b in t.hits]
        inside = 0
        for f, b in sightings:
            left = centres[min(f, frames - 1)] - ww / 2
            inside += b.x >= left - 0.1 * b.w and b.right <= left + ww + 0.1 * b.w
        kept = inside / len(sightings)
        if mode == "auto" and kept < MIN_KEPT_FRACTION:
            who = "the subjects" if len(subjects) > 1 else "the subject"
            return _fill(start, end, content, f"{who} cannot be kept in a 9:16 window ({kept:.0%} of sightings)", kept)
    reason = {"face": "following the main face", "motion": "following what moves (no face)",
              "detail": "following the picture's detail (no face, nothing moving)"}[what]
    return Shot(start, end, content, "follow", what, ww, tuple(float(c) for c in centres), kept, reason)


def plan_vertical(src: str | Path, *, mode: str = "auto", focus_x: float | None = None,
                  size: tuple[int, int] = VERTICAL_SIZE, info: MediaInfo | None = None,
                  detector: Detector | None = None) -> VerticalPlan:
    """Frame each shot of `src` for 9:16: bars found and cut away, the subject followed (see the module doc).

    `mode` "auto" follows the subject and fills a shot only when the subject cannot be kept in the window;
    "crop" always follows; "pad" always shows the full picture over a blurred fill. `focus_x` (0..1 of the
    picture's width) fixes the window there instead of following anything.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown vertical mode {mode!r}: choose one of {', '.join(MODES)}")
    if focus_x is not None and not 0.0 <= focus_x <= 1.0:
        raise ConfigError(f"focus_x is a fraction of the picture's width (0..1), not {focus_x}")
    info = info or probe(src)
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{Path(info.path).name} has no video stream for a vertical version")
    fps = v.avg_fps or v.fps or 25.0
    wants_faces = mode != "pad" and focus_x is None
    own = detector is None and wants_faces
    detector = load_face_detector() if own else detector
    try:
        samples, cuts = _sample(Path(src), info, fps, detector if wants_faces else None)
    finally:
        if own and isinstance(detector, BlazeFaceDetector):
            detector.close()
    scenes = scenes_from_cuts(cuts, fps, v.duration_s or info.duration_s)
    full = Box(0, 0, v.width // 2 * 2, v.height // 2 * 2)
    overall = letterbox.content_box([s.edges for s in samples], (v.width, v.height)) or full
    shots = []
    for scene in scenes.scenes:
        inside = [s for s in samples if scene.start_frame <= s.frame < scene.end_frame]
        content = letterbox.content_box([s.edges for s in inside], (v.width, v.height)) or overall
        shots.append(_plan_shot(scene.start_frame, scene.end_frame, inside, content, fps, size, mode, focus_x))
    plan = VerticalPlan((v.width, v.height), fps, size, tuple(shots))
    for s in shots:
        log.info("%s frames %d-%d: %s (%s), picture %dx%d+%d+%d", Path(src).name, s.start_frame, s.end_frame,
                 s.layout, s.reason, s.content.w, s.content.h, s.content.x, s.content.y)
    return plan


# ------------------------------------------------------------------------------------------- render


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


def make_vertical(src: str | Path, dst: str | Path, *, mode: str = "auto", focus_x: float | None = None,
                  size: tuple[int, int] = VERTICAL_SIZE, info: MediaInfo | None = None,
                  subtitles: str | Path | None = None, language: str = "en", margin_v_px: int | None = None,
                  plan: VerticalPlan | None = None, progress: Progress | None = None) -> Path:
    """Render the 9:16 version of `src` (`plan`, or `plan_vertical(src, mode=, focus_x=)` made here).

    `subtitles` (srt, vtt, ass) are burned in during the same encode, lifted `margin_v_px` above the bottom edge
    (default: `newsroom.graphics`' UI-safe zone, above the bottom fifth). SubRip cues are re-broken into the
    vertical's own lines (`language`'s profile: `SubtitleRules.vertical`) in its larger font, same cues and times.
    """
    info = info or probe(src)
    plan = plan or plan_vertical(src, mode=mode, focus_x=focus_x, size=size, info=info)
    with tempfile.TemporaryDirectory(prefix="newsroom-vertical-") as tmp:
        burn = []
        if subtitles is not None:
            w, h = plan.size
            # newsroom.graphics: inside the platforms' UI-safe zone (bottom 20%, right 12%, top 14% left free), the
            # cues re-broken into the vertical's shorter lines in a larger font (the profile's vertical rule)
            layout = place_subtitles((w, h), language)
            cues = Path(subtitles)
            if cues.suffix.lower() == ".srt":  # re-broken (a VTT's entities, an ASS script's styles: kept as written)
                cues = place_cues(cues, Path(tmp) / "vertical.ass", layout)
            else:
                log.info("%s burned in with its own line breaks: pass SubRip to have them re-broken", cues.name)
            burn.append(burn_in_filter(cues, w, h, language, margin_v_px=margin_v_px, layout=layout))
        graph = vertical_graph(plan, then=burn)
        video = graph.output("v")
        layouts = ", ".join(f"{s.layout}:{s.subject}" for s in plan.shots)
        log.info("vertical version of %s: %d shot(s) (%s)%s", Path(src).name, len(plan.shots), layouts,
                 " with burned-in subtitles" if subtitles else "")
        run_ffmpeg(
            [*input_args(src), "-filter_complex", graph.text(), "-map", video, "-map", "0:a:0?", "-c:v", "libx264",
             "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
             str(dst)],
            duration_s=info.duration_s, progress=progress, what="rendering the vertical version", output=dst,
        )
    return Path(dst)
