"""Restoration: named ffmpeg filter presets, chosen automatically from the source or by the editor.

`auto` measures the source: interlaced material is deinterlaced (bwdif), the noise level of a few
sampled frames (Immerkaer's fast noise estimate on luma) picks no denoise, the fast temporal `hqdn3d`,
or the slower, stronger `nlmeans`, and camera shake above `SHAKY_JITTER_PX` (global inter-frame jitter
by phase correlation, `newsroom.video.shake`) adds stabilisation. Editors can name any preset instead.

Stabilisation (画面抖动修复) is vid.stab in two passes: `vidstabdetect` finds each frame's motion
(pass 1, nothing encoded), `vidstabtransform` removes the jitter from the smoothed camera path (pass 2)
with a static zoom that hides the moving borders (vid.stab's optimal zoom; the odd frame it leaves
uncovered is filled from the previous one, never black), then a light unsharp against the resampling
blur, as vid.stab recommends.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.errors import ConfigError, MediaError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.frames import read_frame
from newsroom.media.graph import Filter, chain
from newsroom.media.inputs import input_args
from newsroom.types import MediaInfo

log = logging.getLogger("newsroom.video.restore")

DEINTERLACE = Filter("bwdif", mode="send_frame")
_NLMEANS = Filter("nlmeans", s=6, p=7, r=9)
_DEBAND = Filter("deband", **{"1thr": 0.02, "2thr": 0.02, "3thr": 0.02, "range": 16, "blur": 1})


@dataclass(frozen=True, slots=True)
class Preset:
    """What a preset does: filters run in one pass, and whether the picture is stabilised (two passes)."""

    filters: tuple[Filter, ...] = ()
    stabilize: bool = False


PRESETS: dict[str, Preset] = {
    "none": Preset(),
    "deinterlace": Preset((DEINTERLACE,)),
    "light": Preset((Filter("hqdn3d", 4, 3, 6, 4.5),)),
    "denoise": Preset((Filter("hqdn3d", 8, 6, 12, 9),)),
    "denoise-hq": Preset((_NLMEANS,)),
    "deband": Preset((_DEBAND,)),
    "archive": Preset((DEINTERLACE, _NLMEANS, _DEBAND)),
    "stabilize": Preset(stabilize=True),
}
# Noise sigma (8-bit luma levels) above which each denoiser is worth its cost.
LIGHT_NOISE_SIGMA = 2.0
STRONG_NOISE_SIGMA = 6.0
# Global inter-frame jitter (pixels of a 640-pixel-wide picture, `newsroom.video.shake`) above which `auto`
# stabilises: tripod and steady hand-held shots measure under 1, visibly shaky footage several.
SHAKY_JITTER_PX = 2.0
_ANALYSIS_WIDTH = 640
# vid.stab: shakiness 8 of 10 and the finest accuracy for detection; the camera path smoothed over
# STABILIZE_SMOOTHING_S either side of each frame; a static zoom hides the borders.
STABILIZE_SHAKINESS = 8
STABILIZE_ACCURACY = 15
STABILIZE_SMOOTHING_S = 0.5
_UNSHARP = Filter("unsharp", 5, 5, 0.8, 3, 3, 0.4)


@dataclass(frozen=True, slots=True)
class RestorePlan:
    preset: str
    filters: tuple[Filter, ...]  # each a str, e.g. "hqdn3d=4:3:6:4.5"
    reason: str
    noise_sigma: float | None = None
    stabilize: bool = False  # vid.stab's two passes, after deinterlacing and before the other filters
    shake_px: float | None = None  # the measured jitter (`newsroom.video.shake`), when measured

    @property
    def is_noop(self) -> bool:
        return not self.filters and not self.stabilize


def estimate_noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer (1996) fast noise estimate of a 2-D luma image, in the image's units."""
    g = gray.astype(np.float64)
    h, w = g.shape
    if h < 3 or w < 3:
        return 0.0
    lap = (
        g[:-2, :-2] - 2 * g[:-2, 1:-1] + g[:-2, 2:]
        - 2 * g[1:-1, :-2] + 4 * g[1:-1, 1:-1] - 2 * g[1:-1, 2:]
        + g[2:, :-2] - 2 * g[2:, 1:-1] + g[2:, 2:]
    )
    return float(np.sqrt(np.pi / 2) * np.abs(lap).sum() / (6.0 * (w - 2) * (h - 2)))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def measure_noise(path: str | Path, info: MediaInfo, samples: int = 3) -> float:
    """Median noise sigma over a few frames spread through the video."""
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{Path(path).name} has no video stream to restore")
    width = min(_ANALYSIS_WIDTH, v.width) // 2 * 2
    height = max(2, round(v.height * width / v.width) // 2 * 2)
    times = [info.duration_s * (i + 1) / (samples + 1) for i in range(samples)]
    sigmas = []
    for t in times:
        try:
            sigmas.append(estimate_noise_sigma(_luma(read_frame(path, t, width=width, height=height))))
        except MediaError:
            continue
    return float(np.median(sigmas)) if sigmas else 0.0


def plan_restoration(path: str | Path, preset: str = "auto", info: MediaInfo | None = None) -> RestorePlan:
    """Which filters to run: `auto` measures the source; any other name must be a known preset."""
    if preset != "auto":
        if preset not in PRESETS:
            raise ConfigError(f"unknown restoration preset {preset!r}: choose auto or one of {', '.join(PRESETS)}")
        chosen = PRESETS[preset]
        return RestorePlan(preset, chosen.filters, "chosen by the editor", stabilize=chosen.stabilize)
    from newsroom.video.shake import measure_shake

    info = info or probe(path)
    sigma = measure_noise(path, info)
    shake = measure_shake(path, info)
    filters: list[Filter] = [DEINTERLACE] if info.is_interlaced else []
    if sigma >= STRONG_NOISE_SIGMA:
        filters += PRESETS["denoise-hq"].filters
        name, why = "denoise-hq", f"noisy source (sigma {sigma:.1f})"
    elif sigma >= LIGHT_NOISE_SIGMA:
        filters += PRESETS["light"].filters
        name, why = "light", f"some noise (sigma {sigma:.1f})"
    else:
        name, why = "none", f"clean source (sigma {sigma:.1f})"
    shaky = shake.jitter_px >= SHAKY_JITTER_PX
    if shaky:
        name = "stabilize" if name == "none" else f"{name}+stabilize"
        why += f"; shaky (jitter {shake.jitter_px:.1f} px >= {SHAKY_JITTER_PX:g})"
    else:
        why += f"; steady (jitter {shake.jitter_px:.1f} px)"
    if info.is_interlaced:
        name, why = f"deinterlace+{name}", f"interlaced ({info.video.field_order}); {why}"
    log.info("restoration plan for %s: %s (%s)", Path(path).name, name, why)
    return RestorePlan(name, tuple(filters), why, sigma, stabilize=shaky, shake_px=shake.jitter_px)


def _encode_args(dst: str | Path) -> list[str]:
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "copy",
            "-movflags", "+faststart", str(dst)]


def restore(src: str | Path, dst: str | Path, plan: RestorePlan, *, info: MediaInfo | None = None,
            progress: Progress | None = None) -> Path:
    """Apply the plan: video re-encoded (H.264, CRF 16 to keep the gain), audio copied."""
    info = info or probe(src)
    if info.video is None:
        raise MediaError(f"{Path(src).name} has no video stream to restore")
    what = f"restoring {Path(src).name} ({plan.preset})"
    if not plan.stabilize:
        run_ffmpeg([*input_args(src), "-map", "0:v:0", "-map", "0:a:0?", "-vf", chain(plan.filters), *_encode_args(dst)],
                   duration_s=info.duration_s, progress=progress, what=what, output=dst)
        return Path(dst)
    fps = info.video.avg_fps or info.video.fps or 25.0
    first = [f for f in plan.filters if f.name == "bwdif"]  # pass 1 must see the frames pass 2 transforms
    rest = [f for f in plan.filters if f.name != "bwdif"]
    with tempfile.TemporaryDirectory(prefix="newsroom-stabilize-") as tmp:
        transforms = Path(tmp) / "transforms.trf"
        detect = Filter("vidstabdetect", shakiness=STABILIZE_SHAKINESS, accuracy=STABILIZE_ACCURACY, result=transforms)
        run_ffmpeg([*input_args(src), "-map", "0:v:0", "-an", "-vf", chain([*first, detect]), "-f", "null", "-"],
                   duration_s=info.duration_s, progress=_share(progress, 0.0, 0.5),
                   what=f"{what}: measuring the camera's motion")
        transform = Filter("vidstabtransform", input=transforms, smoothing=max(1, round(STABILIZE_SMOOTHING_S * fps)),
                           optzoom=1, interpol="bicubic", crop="keep")
        run_ffmpeg([*input_args(src), "-map", "0:v:0", "-map", "0:a:0?",
                    "-vf", chain([*first, transform, _UNSHARP, *rest]), *_encode_args(dst)],
                   duration_s=info.duration_s, progress=_share(progress, 0.5, 0.5), what=what, output=dst)
    return Path(dst)


def _share(progress: Progress | None, start: float, share: float) -> Progress | None:
    """One pass's progress as its part of the whole."""
    if progress is None:
        return None

    def report(fraction: float) -> None:
        progress(start + share * fraction)

    return report
