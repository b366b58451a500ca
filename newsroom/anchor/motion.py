"""Life between the words: seeded blinks and a slight, smooth head motion.

People blink every few seconds (the interval varies a lot) and a blink takes about 150 ms, closing
faster than it opens. Each blink's deepest point is snapped to a frame so that it shows at 25 fps.
The head drifts by a degree or so and a percent of the face height, as a sum of slow sinusoids with
seeded frequencies and phases: the same seed gives the same video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLINK_MIN_INTERVAL_S = 2.0
BLINK_MAX_INTERVAL_S = 6.0
BLINK_DURATION_S = 0.15
BLINK_CLOSING_SHARE = 0.35  # of the blink's duration spent closing; the rest reopening
FIRST_BLINK_S = (0.8, 3.0)  # the first blink comes sooner than the typical interval

HEAD_MAX_ROLL_DEG = 1.2
HEAD_MAX_SHIFT_X = 0.012  # fractions of the face height
HEAD_MAX_SHIFT_Y = 0.008
HEAD_FREQUENCIES_HZ = (0.06, 0.35)
HEAD_COMPONENTS = 3


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Per-frame head motion: roll in degrees, shifts as fractions of the face height."""

    roll_deg: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray


def blink_times(duration_s: float, fps: float, *, seed: int = 0,
                min_interval_s: float = BLINK_MIN_INTERVAL_S, max_interval_s: float = BLINK_MAX_INTERVAL_S) -> tuple[float, ...]:
    """When each blink is deepest (seconds, on frame times), every `min_interval_s`..`max_interval_s`."""
    rng = np.random.default_rng([seed, 0xB1])
    times = []
    t = float(rng.uniform(*FIRST_BLINK_S))
    while t < duration_s - BLINK_DURATION_S:
        times.append(round(t * fps) / fps)
        t += float(rng.uniform(min_interval_s, max_interval_s))
    return tuple(times)


def blink_track(frames: int, fps: float, times: tuple[float, ...], blink_s: float = BLINK_DURATION_S) -> np.ndarray:
    """Eyelid closure per frame (0 open .. 1 shut) for blinks whose deepest point is at `times`."""
    t = np.arange(frames) / fps
    closure = np.zeros(frames)
    closing, opening = blink_s * BLINK_CLOSING_SHARE, blink_s * (1 - BLINK_CLOSING_SHARE)
    for peak in times:
        lo, hi = max(0, int((peak - closing) * fps)), min(frames, int(np.ceil((peak + opening) * fps)) + 1)
        dt = t[lo:hi] - peak
        shape = np.where(dt < 0, 1.0 + dt / closing, 1.0 - dt / opening)
        closure[lo:hi] = np.maximum(closure[lo:hi], np.clip(shape, 0.0, 1.0))
    return closure


def head_motion(frames: int, fps: float, *, seed: int = 0, amount: float = 1.0) -> HeadPose:
    """A slow, smooth head drift: each axis a sum of sinusoids with seeded frequencies and phases."""
    rng = np.random.default_rng([seed, 0x4EAD])
    t = np.arange(frames) / fps
    axes = []
    for limit in (HEAD_MAX_ROLL_DEG, HEAD_MAX_SHIFT_X, HEAD_MAX_SHIFT_Y):
        freqs = rng.uniform(*HEAD_FREQUENCIES_HZ, size=HEAD_COMPONENTS)
        phases = rng.uniform(0, 2 * np.pi, size=HEAD_COMPONENTS)
        weights = rng.uniform(0.5, 1.0, size=HEAD_COMPONENTS)
        wave = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
        axes.append(amount * limit * wave / weights.sum())
    return HeadPose(*axes)
