"""`LandmarkAnchorRenderer`: a portrait animated from phoneme timings (or audio energy), no network weights.

Load once (portrait, face mesh, composed frame, rig), render many: each render computes the mouth track,
blinks and head motion for the speech, warps one frame per 1/fps, pipes the frames to ffmpeg (H.264,
yuv420p) and muxes the speech as AAC. The video is exactly `round(duration * fps)` frames long.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from newsroom.anchor.base import AnchorRenderer, AnchorVideo
from newsroom.anchor.motion import blink_times, blink_track, head_motion
from newsroom.anchor.portrait import Portrait, load_portrait
from newsroom.anchor.rig import FaceRig, RigPose
from newsroom.anchor.visemes import MouthTrack, mouth_track
from newsroom.errors import ConfigError, NewsroomError
from newsroom.media import Progress, run_ffmpeg
from newsroom.media.ffmpeg import MEZZANINE_AUDIO_RATE_HZ
from newsroom.types import Speech

log = logging.getLogger("newsroom.anchor")

ANCHOR_WIDTH, ANCHOR_HEIGHT = 1280, 720
ANCHOR_FPS = 25.0
ANCHOR_CRF = 20
ANCHOR_AUDIO_BITRATE = "160k"
RENDER_SHARE = 0.95  # of the progress: frames; the rest is muxing


class LandmarkAnchorRenderer:
    """Our renderer: MediaPipe face-mesh landmarks on a still portrait, moved by visemes, piecewise-affine warp."""

    name = "landmark"

    def __init__(self, portrait: Portrait, *, fps: float = ANCHOR_FPS, seed: int = 0, crf: int = ANCHOR_CRF,
                 preset: str = "veryfast", head_motion: float = 1.0, blinks: bool = True) -> None:
        if fps <= 0 or fps > 60:
            raise ConfigError(f"anchor fps {fps} is out of range: use 25 (PAL broadcast) or another rate up to 60")
        width, height = portrait.size
        if width % 2 or height % 2:
            raise ConfigError(f"anchor size {width}x{height} must be even for H.264 yuv420p")
        self.portrait = portrait
        self.fps = float(fps)
        self.seed = seed
        self.crf = crf
        self.preset = preset
        self.head_motion = head_motion
        self.blinks = blinks
        self.rig = FaceRig(portrait.frame, portrait.landmarks)

    @classmethod
    def load(cls, portrait: str | Path | None = None, *, width: int = ANCHOR_WIDTH, height: int = ANCHOR_HEIGHT,
             **options) -> LandmarkAnchorRenderer:
        """Find the face in `portrait` (default: the NASA astronaut) once and prepare the rig.

        NewsroomError when the photo has no detectable face. `options` go to the constructor
        (fps, seed, crf, preset, head_motion, blinks).
        """
        started = time.perf_counter()
        renderer = cls(load_portrait(portrait, width, height), **options)
        log.info("anchor portrait %s ready in %.1fs (face %.0f px tall in a %dx%d frame)", renderer.portrait.source,
                 time.perf_counter() - started, renderer.portrait.face_height_px, width, height)
        return renderer

    @property
    def size(self) -> tuple[int, int]:
        return self.portrait.size

    def poses(self, track: MouthTrack, duration_s: float) -> tuple[list[RigPose], np.ndarray]:
        """One rig pose per frame for a mouth track, plus the eyelid closure track."""
        frames = track.frames
        closure = (blink_track(frames, self.fps, blink_times(duration_s, self.fps, seed=self.seed))
                   if self.blinks else np.zeros(frames))
        head = head_motion(frames, self.fps, seed=self.seed, amount=self.head_motion)
        fh = self.rig.face_h
        gap = track.open * self.rig.max_gap_px
        poses = [
            RigPose(gap_px=float(gap[i]), spread=float(track.spread[i]), teeth=float(track.teeth[i]),
                    blink=float(closure[i]), roll_deg=float(head.roll_deg[i]),
                    shift_x_px=float(head.shift_x[i] * fh), shift_y_px=float(head.shift_y[i] * fh))
            for i in range(frames)
        ]
        return poses, closure

    def frame(self, pose: RigPose) -> np.ndarray:
        """One RGB frame for a pose (for previews and tests)."""
        return self.rig.render(pose)

    def render(self, speech: Speech, out: str | Path, *, progress: Progress | None = None) -> AnchorVideo:
        from newsroom.media.frames import FrameWriter

        out = Path(out)
        if not Path(speech.path).is_file():
            raise NewsroomError(f"speech audio {speech.path} does not exist: synthesise the speech first")
        if not speech.duration_s or speech.duration_s <= 0 or not math.isfinite(speech.duration_s):
            raise NewsroomError(f"speech {speech.path} has no duration ({speech.duration_s}): re-synthesise it")
        frames = max(1, round(speech.duration_s * self.fps))
        track = mouth_track(speech, frames, self.fps)
        poses, closure = self.poses(track, speech.duration_s)
        width, height = self.size
        out.parent.mkdir(parents=True, exist_ok=True)
        silent = out.with_name(f".{out.stem}.video.mp4")
        started, cpu_started = time.perf_counter(), time.process_time()
        report = _throttled(progress)
        try:
            # One writer thread: the next frame is warped while ffmpeg takes the previous one.
            with (FrameWriter(silent, width=width, height=height, fps=self.fps, crf=self.crf, preset=self.preset) as writer,
                  ThreadPoolExecutor(max_workers=1, thread_name_prefix="anchor-writer") as pool):
                pending: Future | None = None
                for i, pose in enumerate(poses):
                    frame = self.rig.render(pose)
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(writer.write, frame)
                    report(RENDER_SHARE * i / frames)
                if pending is not None:
                    pending.result()
            run_ffmpeg(
                ["-i", str(silent), "-i", str(speech.path), "-map", "0:v:0", "-map", "1:a:0",
                 "-c:v", "copy", "-c:a", "aac", "-b:a", ANCHOR_AUDIO_BITRATE, "-ar", str(MEZZANINE_AUDIO_RATE_HZ),
                 "-movflags", "+faststart", "-f", "mp4", str(out)],
                what=f"muxing the anchor video {out.name}", output=out,
            )
        finally:
            silent.unlink(missing_ok=True)
        if progress:
            progress(1.0)
        wall = time.perf_counter() - started
        log.info("anchor video %s: %d frames (%.2fs) in %.1fs wall, %.1fs CPU in Python (mouth from %s)",
                 out.name, frames, frames / self.fps, wall, time.process_time() - cpu_started, track.source)
        return AnchorVideo(
            path=str(out), fps=self.fps, width=width, height=height, frames=frames,
            duration_s=frames / self.fps, renderer=self.name, face_found=True,
            mouth_openness=tuple(float(x) for x in track.open),
            eye_closure=tuple(float(x) for x in closure), mouth_source=track.source,
        )


def _throttled(progress: Progress | None, step: float = 0.01) -> Progress:
    """Report progress at most every `step` (a callback per frame would flood a progress bar)."""
    last = [-1.0]

    def report(fraction: float) -> None:
        if progress and (fraction - last[0] >= step or fraction >= 1.0):
            last[0] = fraction
            progress(min(1.0, fraction))

    return report


RENDERERS: dict[str, Callable[..., AnchorRenderer]] = {
    LandmarkAnchorRenderer.name: LandmarkAnchorRenderer.load,
}


def load_renderer(name: str = LandmarkAnchorRenderer.name, **options) -> AnchorRenderer:
    """A renderer by name (see `RENDERERS`), loaded once; `options` go to its loader."""
    try:
        factory = RENDERERS[name]
    except KeyError:
        raise ConfigError(f"unknown anchor renderer {name!r}: choose one of {', '.join(sorted(RENDERERS))}") from None
    return factory(**options)
