"""Scene-cut detection with ffmpeg's `scdet` filter.

Chosen over PySceneDetect for the default: the same accuracy on our test footage (see MODELS.md), the
fastest of the options, and no extra wheel. Cut times are snapped to frame boundaries so later edits
can cut frame-exactly.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsroom.errors import MediaError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.graph import Filter, chain
from newsroom.media.inputs import input_args
from newsroom.types import MediaInfo

log = logging.getLogger("newsroom.video.scenes")

DEFAULT_THRESHOLD = 10.0  # scdet score (0-100); 10 found 21/21 cuts with no false ones on news footage
MIN_SCENE_S = 0.4
_TIME_RE = re.compile(r"lavfi\.scd\.time=([0-9.]+)")


@dataclass(frozen=True, slots=True)
class Scene:
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # exclusive

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class SceneList:
    fps: float
    duration_s: float
    cuts_s: tuple[float, ...]
    scenes: tuple[Scene, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fps": self.fps,
            "duration_s": round(self.duration_s, 3),
            "cuts_s": [round(c, 3) for c in self.cuts_s],
            "scenes": [{"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)} for s in self.scenes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneList:
        """The scene list `to_dict` wrote: scenes rebuilt from the recorded (already filtered) cuts."""
        return scenes_from_cuts(list(data["cuts_s"]), float(data["fps"]), float(data["duration_s"]), min_scene_s=0.0)


def scenes_from_cuts(cuts_s: list[float], fps: float, duration_s: float, min_scene_s: float = MIN_SCENE_S) -> SceneList:
    """Snap cuts to frames, drop cuts closer than `min_scene_s` to the previous one, build scenes."""
    total_frames = max(1, round(duration_s * fps))
    frames: list[int] = []
    for cut in sorted(cuts_s):
        frame = round(cut * fps)
        last = frames[-1] if frames else 0
        if frame <= 0 or frame >= total_frames or (frame - last) / fps < min_scene_s:
            continue
        frames.append(frame)
    bounds = [0, *frames, total_frames]
    scenes = tuple(
        Scene(i, bounds[i] / fps, bounds[i + 1] / fps, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)
    )
    return SceneList(fps=fps, duration_s=total_frames / fps, cuts_s=tuple(f / fps for f in frames), scenes=scenes)


def scdet_filters(out_file: str | Path, threshold: float = DEFAULT_THRESHOLD) -> list[Filter]:
    """The filters that detect cuts on the frames passing through and write their times to `out_file`
    (read back with `read_cut_times`): scene detection riding along another decode, every frame passed on."""
    return [Filter("scdet", threshold=f"{threshold:g}"), Filter("metadata", mode="print", file=out_file)]


def read_cut_times(out_file: str | Path) -> list[float]:
    """The cut times (seconds) that `scdet_filters` wrote; none when the file is missing."""
    path = Path(out_file)
    text = path.read_text() if path.exists() else ""
    return [float(m.group(1)) for m in _TIME_RE.finditer(text)]


def detect_scenes(
    path: str | Path, *, threshold: float = DEFAULT_THRESHOLD, min_scene_s: float = MIN_SCENE_S,
    info: MediaInfo | None = None, progress: Progress | None = None,
) -> SceneList:
    """Cuts and scenes of a video. A single-shot video gives one scene and no cuts."""
    info = info or probe(path)
    video = info.video
    if video is None:
        raise MediaError(f"{Path(path).name} has no video stream: scene detection needs pictures")
    fps = video.avg_fps or video.fps or 25.0
    with tempfile.TemporaryDirectory(prefix="newsroom-scd-") as tmp:
        out = Path(tmp) / "scd.txt"
        run_ffmpeg(
            [*input_args(path), "-map", "0:v:0", "-an", "-vf", chain(scdet_filters(out, threshold)), "-f", "null", "-"],
            duration_s=info.duration_s, progress=progress, what=f"scene detection on {Path(path).name}",
        )
        cuts = read_cut_times(out)
    scenes = scenes_from_cuts(cuts, round(fps, 3), video.duration_s or info.duration_s, min_scene_s)
    log.info("%s: %d cuts, %d scenes", Path(path).name, len(scenes.cuts_s), len(scenes.scenes))
    return scenes
