"""How one shot of a 9:16 version is framed: a window that follows the subject along a smoothed camera path,
or the whole picture over a blurred fill of itself where the subject cannot be kept in the window.

`plan_shot` picks the main subject, the face track with the most area over the shot (a presenter or an
interviewee: large and always there), else what moves, else the centre of the picture's detail, and lays
the window's path over it (`newsroom.video.track`: smoothed, speed-bounded, reset at each cut).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from newsroom.video import track
from newsroom.video.faces import Box
from newsroom.video.subjects import Sample, face_tracks

MIN_TRACK_HIT_FRACTION = 0.2  # of a shot's samples: a face seen less often is a false positive or a passer-by
TRACK_GAP_S = 1.0  # a face lost for longer than this starts a new track
MOTION_SHOT_FRACTION = 0.3  # of a shot's samples with motion, for the window to follow motion rather than detail
CO_SUBJECT_SCORE_RATIO = 0.6  # another track this prominent (area x presence) must fit in the window too
MIN_KEPT_FRACTION = 0.9  # of the subjects' sightings inside the window, or the shot is filled instead


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


def _fill(start: int, end: int, content: Box, reason: str, kept: float | None = None) -> Shot:
    return Shot(start, end, content, "fill", "none", float(content.w), (), kept, reason)


def _window_width(content: Box, size: tuple[int, int]) -> float:
    return content.h * size[0] / size[1]


def plan_shot(start: int, end: int, samples: list[Sample], content: Box, fps: float, size: tuple[int, int],
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
    tracks = face_tracks(samples, round(TRACK_GAP_S * fps))
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
