"""Follow a subject along one axis: a smoothed subject path, then a camera path a viewer finds calm.

Two steps, both offline (the whole shot is known before it is rendered):

1. `smooth_path`: the subject's position, measured on sampled frames (face centres, or the picture's
   detail where there is no face), through a constant-velocity Kalman filter run at the frame rate and a
   Rauch-Tung-Striebel smoother backwards over it: one position per frame, missed detections bridged,
   detector noise removed, no lag.
2. `camera_path`: the window's centre follows that path the way a camera operator would: it holds still
   while the subject stays inside a dead zone, then follows it with a critically damped spring on
   position and speed (no steady lag behind a subject moving at constant speed), aimed `LOOKAHEAD_S`
   ahead, with its speed and acceleration bounded: no jitter, no whip pans. It never leaves the picture.

Positions are in pixels; speeds in pixels per frame. Pure numpy; a shot is a few hundred frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Kalman model: white-noise acceleration (px/frame^2, one sigma) and the measurement noise (px, one sigma)
# as fractions of the window width, so the same motion looks the same at any resolution.
PROCESS_ACCEL_FRACTION = 0.004
FACE_NOISE_FRACTION = 0.04  # a Haar face centre wobbles a few percent of the face size between frames
MOTION_NOISE_FRACTION = 0.15  # the centre of what moves: a blob's centre shifts as its parts move
SALIENCY_NOISE_FRACTION = 0.25  # the detail centroid is a weak cue: follow only its slow drift

DEAD_ZONE_FRACTION = 0.12  # of the window width, either side of its centre: the camera holds inside it
MAX_SPEED_WIDTHS_PER_S = 0.9  # the fastest pan, in window widths per second
MAX_ACCEL_WIDTHS_PER_S2 = 2.5  # in window widths per second squared: ~0.35 s from rest to the fastest pan
SPRING_TIME_S = 0.35  # the critically damped spring's time constant: how quickly it settles
LOOKAHEAD_S = 0.3  # the camera aims where the subject will be this much later


@dataclass(frozen=True, slots=True)
class CameraLimits:
    """The camera path's bounds in pixels and frames, from a window width and a frame rate."""

    dead_zone_px: float
    max_speed_px: float  # per frame
    max_accel_px: float  # per frame per frame
    spring_frames: float
    lookahead_frames: int

    @classmethod
    def for_window(cls, window_px: float, fps: float) -> CameraLimits:
        return cls(
            dead_zone_px=DEAD_ZONE_FRACTION * window_px,
            max_speed_px=MAX_SPEED_WIDTHS_PER_S * window_px / fps,
            max_accel_px=MAX_ACCEL_WIDTHS_PER_S2 * window_px / fps**2,
            spring_frames=max(1.0, SPRING_TIME_S * fps),
            lookahead_frames=max(0, round(LOOKAHEAD_S * fps)),
        )


def smooth_path(frames: int, observations: Sequence[tuple[int, float]], *, noise_px: float,
                accel_px: float) -> np.ndarray:
    """A position for each of `frames` frames from (frame, position) measurements (any order, gaps allowed).

    Constant-velocity Kalman filter forward, RTS smoother backward. Before the first and after the last
    measurement the path holds still (velocity is not extrapolated past the evidence). Raises ValueError
    without observations.
    """
    if not observations:
        raise ValueError("smooth_path needs at least one observation")
    obs: dict[int, list[float]] = {}
    for frame, value in observations:
        if 0 <= frame < frames:
            obs.setdefault(int(frame), []).append(float(value))
    if not obs:
        raise ValueError("no observation falls inside the shot")
    first, last = min(obs), max(obs)
    n = last - first + 1
    f_mat = np.array([[1.0, 1.0], [0.0, 1.0]])
    q_mat = accel_px**2 * np.array([[0.25, 0.5], [0.5, 1.0]])  # white-noise acceleration, dt = 1 frame
    r = noise_px**2
    x_pred = np.zeros((n, 2))
    p_pred = np.zeros((n, 2, 2))
    x_filt = np.zeros((n, 2))
    p_filt = np.zeros((n, 2, 2))
    x = np.array([float(np.mean(obs[first])), 0.0])
    p = np.diag([r, (4 * noise_px) ** 2])
    for i in range(n):
        if i > 0:
            x = f_mat @ x
            p = f_mat @ p @ f_mat.T + q_mat
        x_pred[i], p_pred[i] = x, p
        for z in obs.get(first + i, ()):
            s = p[0, 0] + r
            k = p[:, 0] / s
            x = x + k * (z - x[0])
            p = p - np.outer(k, p[0, :])
        x_filt[i], p_filt[i] = x, p
    xs = x_filt.copy()
    for i in range(n - 2, -1, -1):
        gain = p_filt[i] @ f_mat.T @ np.linalg.inv(p_pred[i + 1])
        xs[i] = x_filt[i] + gain @ (xs[i + 1] - x_pred[i + 1])
    path = np.empty(frames)
    path[:first] = xs[0, 0]
    path[first:last + 1] = xs[:, 0]
    path[last + 1:] = xs[-1, 0]
    return path


def camera_path(subject: np.ndarray, *, lo: float, hi: float, limits: CameraLimits) -> np.ndarray:
    """The window centre for each frame, following `subject` (one position per frame) inside [lo, hi].

    First the aim: the subject `lookahead_frames` later, held still while that stays inside the dead zone
    around the aim, else dragged along at the zone's edge. Then the camera tracks the aim's position and
    speed with a critically damped spring (no steady lag behind a subject moving at constant speed), its
    acceleration and speed clipped to the limits. Starts on the aim, at rest.
    """
    frames = len(subject)
    out = np.empty(frames)
    if frames == 0:
        return out
    if hi < lo:
        lo = hi = (lo + hi) / 2
    aims = np.empty(frames)
    aim = float(np.clip(subject[min(frames - 1, limits.lookahead_frames)], lo, hi))
    for i in range(frames):
        ahead = float(subject[min(frames - 1, i + limits.lookahead_frames)])
        offset = ahead - aim
        if abs(offset) > limits.dead_zone_px:
            aim = ahead - np.sign(offset) * limits.dead_zone_px
        aim = min(max(aim, lo), hi)
        aims[i] = aim
    aim_speed = np.gradient(aims) if frames > 1 else np.zeros(1)
    omega = 1.0 / limits.spring_frames
    c, v = float(aims[0]), 0.0
    for i in range(frames):
        accel = omega * omega * (aims[i] - c) + 2.0 * omega * (aim_speed[i] - v)
        accel = min(max(accel, -limits.max_accel_px), limits.max_accel_px)
        v = min(max(v + accel, -limits.max_speed_px), limits.max_speed_px)
        c += v
        if c < lo or c > hi:
            c, v = min(max(c, lo), hi), 0.0
        out[i] = c
    return out


def simplify(path: np.ndarray, tolerance_px: float) -> list[int]:
    """Keyframe indices of `path` (Ramer-Douglas-Peucker): linear interpolation between them stays within
    `tolerance_px` of every frame's position. Always keeps the first and the last frame."""
    n = len(path)
    if n <= 2:
        return list(range(n))
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        idx = np.arange(a + 1, b)
        line = path[a] + (path[b] - path[a]) * (idx - a) / (b - a)
        err = np.abs(path[a + 1:b] - line)
        worst = int(np.argmax(err))
        if err[worst] > tolerance_px:
            m = a + 1 + worst
            keep[m] = True
            stack += [(a, m), (m, b)]
    return [int(i) for i in np.flatnonzero(keep)]
