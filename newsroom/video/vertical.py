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
import tempfile
from pathlib import Path

from newsroom.errors import ConfigError, MediaError
from newsroom.graphics import place_subtitles
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.inputs import input_args
from newsroom.subtitles.burn import burn_in_filter, place_cues
from newsroom.types import MediaInfo
from newsroom.video import letterbox
from newsroom.video.faces import BlazeFaceDetector, Box, load_face_detector
from newsroom.video.framing import Shot, VerticalPlan, plan_shot
from newsroom.video.scenes import scenes_from_cuts
from newsroom.video.subjects import Detector, sample_video
from newsroom.video.vertical_render import path_expression, vertical_graph

# The parts live beside this module: subjects.py (what the window can follow), framing.py (a shot's window
# path or fill), vertical_render.py (the ffmpeg graph); what callers imported from here still imports.
__all__ = ["MODES", "VERTICAL_SIZE", "Shot", "VerticalPlan", "make_vertical", "path_expression", "plan_vertical",
           "vertical_graph"]

log = logging.getLogger("newsroom.video.vertical")

VERTICAL_SIZE = (720, 1280)
MODES = ("auto", "crop", "pad")  # auto: follow, fill where nothing fits; crop: always a window; pad: always fill
# Keep subtitles above the bottom fifth: platform UIs (captions, buttons) cover it.
SAFE_BOTTOM_FRACTION = 0.2


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
        samples, cuts = sample_video(Path(src), info, fps, detector if wants_faces else None)
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
        shots.append(plan_shot(scene.start_frame, scene.end_frame, inside, content, fps, size, mode, focus_x))
    plan = VerticalPlan((v.width, v.height), fps, size, tuple(shots))
    for s in shots:
        log.info("%s frames %d-%d: %s (%s), picture %dx%d+%d+%d", Path(src).name, s.start_frame, s.end_frame,
                 s.layout, s.reason, s.content.w, s.content.h, s.content.x, s.content.y)
    return plan


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
