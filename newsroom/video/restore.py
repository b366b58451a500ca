"""Restoration: named ffmpeg filter presets, chosen automatically from the source or by the editor.

`auto` measures the source: interlaced material is deinterlaced (bwdif), and the noise level of a few
sampled frames (Immerkaer's fast noise estimate on luma) picks no denoise, the fast temporal `hqdn3d`,
or the slower, stronger `nlmeans`. Editors can name any preset instead.
"""

from __future__ import annotations

import logging
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
PRESETS: dict[str, tuple[Filter, ...]] = {
    "none": (),
    "deinterlace": (DEINTERLACE,),
    "light": (Filter("hqdn3d", 4, 3, 6, 4.5),),
    "denoise": (Filter("hqdn3d", 8, 6, 12, 9),),
    "denoise-hq": (_NLMEANS,),
    "deband": (_DEBAND,),
    "archive": (DEINTERLACE, _NLMEANS, _DEBAND),
}
# Noise sigma (8-bit luma levels) above which each denoiser is worth its cost.
LIGHT_NOISE_SIGMA = 2.0
STRONG_NOISE_SIGMA = 6.0
_ANALYSIS_WIDTH = 640


@dataclass(frozen=True, slots=True)
class RestorePlan:
    preset: str
    filters: tuple[Filter, ...]  # each a str, e.g. "hqdn3d=4:3:6:4.5"
    reason: str
    noise_sigma: float | None = None

    @property
    def is_noop(self) -> bool:
        return not self.filters


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
        return RestorePlan(preset, PRESETS[preset], "chosen by the editor")
    info = info or probe(path)
    sigma = measure_noise(path, info)
    filters: list[Filter] = [DEINTERLACE] if info.is_interlaced else []
    if sigma >= STRONG_NOISE_SIGMA:
        filters += PRESETS["denoise-hq"]
        name, why = "denoise-hq", f"noisy source (sigma {sigma:.1f})"
    elif sigma >= LIGHT_NOISE_SIGMA:
        filters += PRESETS["light"]
        name, why = "light", f"some noise (sigma {sigma:.1f})"
    else:
        name, why = "none", f"clean source (sigma {sigma:.1f})"
    if info.is_interlaced:
        name, why = f"deinterlace+{name}", f"interlaced ({info.video.field_order}); {why}"
    log.info("restoration plan for %s: %s (%s)", Path(path).name, name, why)
    return RestorePlan(name, tuple(filters), why, sigma)


def restore(src: str | Path, dst: str | Path, plan: RestorePlan, *, info: MediaInfo | None = None,
            progress: Progress | None = None) -> Path:
    """Apply the plan: video re-encoded (H.264, CRF 16 to keep the gain), audio copied."""
    info = info or probe(src)
    if info.video is None:
        raise MediaError(f"{Path(src).name} has no video stream to restore")
    run_ffmpeg(
        [*input_args(src), "-map", "0:v:0", "-map", "0:a:0?", "-vf", chain(plan.filters), "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart", str(dst)],
        duration_s=info.duration_s, progress=progress, what=f"restoring {Path(src).name} ({plan.preset})", output=dst,
    )
    return Path(dst)
