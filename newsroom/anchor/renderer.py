"""`LandmarkAnchorRenderer`: a portrait animated from phoneme timings (or audio energy), no network weights.

Load once (portrait, face mesh, composed frame, rig), render many: each render computes the mouth track,
blinks and head motion for the speech, warps one frame per 1/fps, pipes the frames to ffmpeg (H.264,
yuv420p) and muxes the speech as AAC. The video is exactly `round(duration * fps)` frames long.

Frames depend only on their pose, so a long read is cut into contiguous parts rendered by `workers`
processes at once (each warping and encoding its own part), then joined without re-encoding. One
render (the Python warp loop beside its ffmpeg encoder) keeps about 1.5 cores busy, so parts pay off
from about 4 cores (measured on 2: the same wall time as one process).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.anchor.base import AnchorRenderer, AnchorVideo
from newsroom.anchor.motion import (
    SpeechEvents,
    blink_durations,
    blink_times,
    blink_track,
    brow_track,
    head_motion,
    nod_track,
    speech_events,
)
from newsroom.anchor.portrait import Portrait, load_portrait
from newsroom.anchor.rig import FaceRig, RigPose
from newsroom.anchor.visemes import ENERGY_SAMPLE_RATE_HZ, MouthTrack, energy_track, phoneme_track, read_mono
from newsroom.errors import ConfigError, NewsroomError
from newsroom.media import Progress, run_ffmpeg
from newsroom.media.ffmpeg import MEZZANINE_AUDIO_RATE_HZ
from newsroom.media.inputs import input_args
from newsroom.types import Speech

log = logging.getLogger("newsroom.anchor")

ANCHOR_WIDTH, ANCHOR_HEIGHT = 1280, 720
ANCHOR_FPS = 25.0
ANCHOR_CRF = 20
ANCHOR_AUDIO_BITRATE = "160k"
RENDER_SHARE = 0.95  # of the progress: frames; the rest is muxing
MIN_PART_FRAMES = 50  # 2 s: shorter parts are not worth a process start (about a second)
SOFTNESS_PER_UPSCALE = 0.45  # Gaussian sigma (frame px) of the painted mouth per unit of portrait enlargement


def portrait_softness_px(scale: float) -> float:
    """How soft an enlarged photo is, in frame pixels: paint the mouth no sharper than the face around it."""
    return SOFTNESS_PER_UPSCALE * max(0.0, scale - 1.0)


class LandmarkAnchorRenderer:
    """Our renderer: MediaPipe face-mesh landmarks on a still portrait, moved by visemes, piecewise-affine warp."""

    name = "landmark"

    def __init__(self, portrait: Portrait, *, fps: float = ANCHOR_FPS, seed: int = 0, crf: int = ANCHOR_CRF,
                 preset: str = "veryfast", head_motion: float = 1.0, blinks: bool = True, workers: int = 1,
                 expression: float = 1.0) -> None:
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
        self.expression = expression  # brow raises and nods on the speech's stresses (0 turns them off)
        if workers < 1:
            raise ConfigError(f"anchor workers must be at least 1 (got {workers})")
        self.workers = workers
        self.rig = FaceRig(portrait.frame, portrait.landmarks, soft_px=portrait_softness_px(portrait.scale), seed=seed)

    @classmethod
    def load(cls, portrait: str | Path | None = None, *, width: int = ANCHOR_WIDTH, height: int = ANCHOR_HEIGHT,
             **options) -> LandmarkAnchorRenderer:
        """Find the face in `portrait` (default: the NASA astronaut) once and prepare the rig.

        NewsroomError when the photo has no detectable face. `options` go to the constructor
        (fps, seed, crf, preset, head_motion, blinks, workers, expression).
        """
        started = time.perf_counter()
        renderer = cls(load_portrait(portrait, width, height), **options)
        log.info("anchor portrait %s ready in %.1fs (face %.0f px tall in a %dx%d frame)", renderer.portrait.source,
                 time.perf_counter() - started, renderer.portrait.face_height_px, width, height)
        return renderer

    @property
    def size(self) -> tuple[int, int]:
        return self.portrait.size

    def poses(self, track: MouthTrack, duration_s: float, events: SpeechEvents | None = None) -> tuple[list[RigPose], np.ndarray]:
        """One rig pose per frame for a mouth track (and the speech's phrases and stresses, for blinks,
        brows and nods), plus the eyelid closure track."""
        frames = track.frames
        events = events or SpeechEvents()
        boundaries = tuple(events.phrase_starts) + tuple(start for start, _ in events.pauses)
        if self.blinks:
            times = blink_times(duration_s, self.fps, seed=self.seed, boundaries=boundaries)
            closure = blink_track(frames, self.fps, times, blink_durations(times, seed=self.seed))
        else:
            closure = np.zeros(frames)
        head = head_motion(frames, self.fps, seed=self.seed, amount=self.head_motion)
        brows = brow_track(frames, self.fps, events, seed=self.seed, amount=self.expression)
        nods = nod_track(frames, self.fps, events, seed=self.seed, amount=self.expression * self.head_motion)
        fh = self.rig.face_h
        gap = track.open * self.rig.max_gap_px
        poses = [
            RigPose(gap_px=float(gap[i]), spread=float(track.spread[i]), teeth=float(track.teeth[i]),
                    blink=float(closure[i]), roll_deg=float(head.roll_deg[i]),
                    shift_x_px=float(head.shift_x[i] * fh), shift_y_px=float(head.shift_y[i] * fh),
                    lower_teeth=float(track.lower[i]), tongue=float(track.tongue[i]), press=float(track.press[i]),
                    brow=float(brows[i]), nod=float(nods[i]))
            for i in range(frames)
        ]
        return poses, closure

    def tracks(self, speech: Speech, frames: int) -> tuple[MouthTrack, SpeechEvents]:
        """The mouth track and the speech events of `speech` (its audio is decoded once for both)."""
        samples = read_mono(speech.path)
        if speech.phonemes:
            track = phoneme_track(speech.phonemes, frames, self.fps)
        else:
            log.info("%s speech has no phoneme timings: animating the mouth from audio energy", speech.engine)
            track = energy_track(samples, ENERGY_SAMPLE_RATE_HZ, frames, self.fps)
        events = speech_events(speech.phonemes, samples, ENERGY_SAMPLE_RATE_HZ, speech.duration_s)
        return track, events

    def shots(self, track: MouthTrack, poses: list[RigPose]) -> tuple[list[Any], np.ndarray]:
        """What `frame` draws, per frame (here: the poses themselves), and the mouth openness drawn."""
        return poses, track.open

    def frame(self, shot: Any) -> np.ndarray:
        """One RGB frame for a shot (here a `RigPose`; also for previews and tests)."""
        return self.rig.render(shot)

    def render(self, speech: Speech, out: str | Path, *, progress: Progress | None = None) -> AnchorVideo:
        out = Path(out)
        if not Path(speech.path).is_file():
            raise NewsroomError(f"speech audio {speech.path} does not exist: synthesise the speech first")
        if not speech.duration_s or speech.duration_s <= 0 or not math.isfinite(speech.duration_s):
            raise NewsroomError(f"speech {speech.path} has no duration ({speech.duration_s}): re-synthesise it")
        frames = max(1, round(speech.duration_s * self.fps))
        track, events = self.tracks(speech, frames)
        poses, closure = self.poses(track, speech.duration_s, events)
        shots, drawn = self.shots(track, poses)
        width, height = self.size
        out.parent.mkdir(parents=True, exist_ok=True)
        silent = out.with_name(f".{out.stem}.video.mp4")
        started, cpu_started = time.perf_counter(), time.process_time()
        report = _throttled(progress)
        parts = split_parts(frames, self.workers)
        try:
            if len(parts) == 1:
                self.encode(shots, silent, lambda done: report(RENDER_SHARE * done / frames))
            else:
                self._encode_parts(shots, parts, silent, lambda done: report(RENDER_SHARE * done / frames))
            run_ffmpeg(
                [*input_args(silent), *input_args(speech.path), "-map", "0:v:0", "-map", "1:a:0",
                 "-c:v", "copy", "-c:a", "aac", "-b:a", ANCHOR_AUDIO_BITRATE, "-ar", str(MEZZANINE_AUDIO_RATE_HZ),
                 "-movflags", "+faststart", "-f", "mp4", str(out)],
                what=f"muxing the anchor video {out.name}", output=out,
            )
        finally:
            silent.unlink(missing_ok=True)
        if progress:
            progress(1.0)
        wall = time.perf_counter() - started
        log.info("anchor video %s: %d frames (%.2fs) in %.1fs wall, %d part(s), %.1fs CPU in this process "
                 "(mouth from %s)", out.name, frames, frames / self.fps, wall, len(parts),
                 time.process_time() - cpu_started, track.source)
        return AnchorVideo(
            path=str(out), fps=self.fps, width=width, height=height, frames=frames,
            duration_s=frames / self.fps, renderer=self.name, face_found=True,
            mouth_openness=tuple(float(x) for x in drawn),
            eye_closure=tuple(float(x) for x in closure), mouth_source=track.source,
        )


    def encode(self, poses: Sequence[Any], dst: Path, done: Callable[[int], None] | None = None) -> Path:
        """Draw and encode `poses` (shots, see `shots`; no audio) to `dst`; `done(n)` after each frame."""
        from newsroom.media.frames import FrameWriter

        width, height = self.size
        # One writer thread: the next frame is warped while ffmpeg takes the previous one.
        with (FrameWriter(dst, width=width, height=height, fps=self.fps, crf=self.crf, preset=self.preset,
                          yuv=True) as writer,
              ThreadPoolExecutor(max_workers=1, thread_name_prefix="anchor-writer") as pool):
            pending: Future | None = None
            for i, pose in enumerate(poses):
                frame = self.frame(pose)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write, frame)
                if done:
                    done(i + 1)
            if pending is not None:
                pending.result()
        return dst

    def _encode_parts(self, poses: list[Any], parts: list[tuple[int, int]], dst: Path,
                      done: Callable[[int], None]) -> None:
        """Render `parts` of `poses` in as many processes, then join them (same encoder settings: no re-encode)."""
        context = multiprocessing.get_context("spawn")  # no fork: the caller may hold threads (Prefect, OpenMP)
        counter = context.Value("i", 0)
        with tempfile.TemporaryDirectory(prefix=".anchor-parts-", dir=dst.parent) as tmp:
            paths = [Path(tmp) / f"part{i:03d}.mp4" for i in range(len(parts))]
            with ProcessPoolExecutor(len(parts), mp_context=context, initializer=_init_worker,
                                     initargs=(self, counter)) as pool:
                futures = [pool.submit(_encode_part, poses[a:b], str(path)) for (a, b), path in zip(parts, paths, strict=True)]
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                    done(counter.value)
                    for future in finished:
                        future.result()  # the first failure stops the render
            listing = Path(tmp) / "parts.txt"
            listing.write_text("".join(f"file '{p.name}'\n" for p in paths), "utf-8")
            run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-f", "mp4", str(dst)],
                       what=f"joining {len(parts)} anchor parts", output=dst)


def split_parts(frames: int, workers: int, min_frames: int = MIN_PART_FRAMES) -> list[tuple[int, int]]:
    """Contiguous [start, end) frame ranges, one per worker, none shorter than `min_frames`."""
    count = max(1, min(workers, frames // min_frames))
    bounds = [round(i * frames / count) for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


_worker: dict[str, Any] = {}


def _init_worker(renderer: LandmarkAnchorRenderer, counter: Any) -> None:
    _worker.update(renderer=renderer, counter=counter)


def _encode_part(poses: list[Any], path: str) -> str:
    counter = _worker["counter"]

    def done(_: int) -> None:
        with counter.get_lock():
            counter.value += 1

    _worker["renderer"].encode(poses, Path(path), done)
    return path


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
