"""The face rig's displacement bases: how each landmark (and helper point) moves per unit of a pose parameter.

The rig's deformation is linear in each parameter, so `FaceRig` (newsroom.anchor.rig) computes these once
per portrait, in the mouth's, each eye's and the brows' own coordinate frames (so a tilted face works too);
the module doc of `newsroom.anchor.rig` describes what each basis does to the face.
"""

from __future__ import annotations

import numpy as np

from newsroom.anchor.mesh import (
    CHIN,
    FOREHEAD,
    INNER_LOWER_LIP,
    INNER_UPPER_LIP,
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    MOUTH_CORNERS,
    OUTER_LOWER_LIP,
    OUTER_UPPER_LIP,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

UPPER_LIP_SHARE = 0.2  # of the gap taken by the upper lip moving up
UPPER_LIP_REACH = 0.6  # of the mouth half-width: how far above the lip the lift fades out
JAW_BLEND = 0.6  # of the lip-to-chin distance: where the lip's motion has become the jaw's
JAW_HALF_WIDTH = 1.6  # of the mouth half-width: where the jaw drop has fallen to 1/e
SPREAD_GAIN = 0.13  # mouth corners move this share of the half-width at spread +-1
OPEN_NARROWING = 0.06  # a fully open mouth is this much narrower
LID_REACH = 1.4  # of the lid gap: how far above the lid margin the lid skin is dragged along
BROW_RAISE_FRACTION = 0.022  # of the face height, at brow = 1
BROW_FOREHEAD_REACH = 0.2  # of the face height: forehead skin above the brows follows, fading out


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-6)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def chain(s: np.ndarray, t: np.ndarray, indices: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    cs, ct = s[list(indices)], t[list(indices)]
    order = np.argsort(cs)
    return cs[order], ct[order]


def mouth_bases(points: np.ndarray, lm: np.ndarray, *, n_face: int, max_gap_px: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-point displacement: constant (close the rest gap), per pixel of gap, per unit spread, per unit pout."""
    p = points
    centre = (lm[13] + lm[14]) / 2
    u = unit(lm[MOUTH_CORNERS[1]] - lm[MOUTH_CORNERS[0]])
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    s, t = (p - centre) @ u, (p - centre) @ v
    s_lm, t_lm = (lm - centre) @ u, (lm - centre) @ v
    su, tu_c = chain(s_lm, t_lm, INNER_UPPER_LIP)
    sl, tl_c = chain(s_lm, t_lm, INNER_LOWER_LIP)
    s_mid = (s_lm[INNER_UPPER_LIP[-1]] + s_lm[INNER_UPPER_LIP[0]]) / 2
    half_w = max(abs(s_lm[INNER_UPPER_LIP[-1]] - s_lm[INNER_UPPER_LIP[0]]) / 2, 1.0)
    rel = s - s_mid
    profile = np.sqrt(np.clip(1 - (rel / half_w) ** 2, 0.0, 1.0))
    tu, tl = np.interp(s, su, tu_c), np.interp(s, sl, tl_c)
    rest_gap = np.clip(tl - tu, 0.0, None)
    rest_gap_mid = max(float(np.interp(s_mid, sl, tl_c) - np.interp(s_mid, su, tu_c)), 0.0)
    lower = t > (tu + tl) / 2
    lip_to_chin = max(float(t_lm[CHIN] - np.interp(s_mid, sl, tl_c)), 1.0)

    const_t = np.zeros(len(p))
    gap_t = np.zeros(len(p))
    # Upper lip and above: lift, fading out upwards.
    up_fade = np.exp(-((np.clip(tu - t, 0.0, None)) / (UPPER_LIP_REACH * half_w)) ** 2)
    gap_t[~lower] = (-UPPER_LIP_SHARE * profile * up_fade)[~lower]
    # Lower lip: the elliptic opening; further down: the jaw drop.
    jaw = np.exp(-(np.abs(rel) / (JAW_HALF_WIDTH * half_w)) ** 3)
    blend = smoothstep(np.clip(t - tl, 0.0, None) / (JAW_BLEND * lip_to_chin))
    lip_const, lip_gap = -rest_gap, (1 - UPPER_LIP_SHARE) * profile
    jaw_const, jaw_gap = -rest_gap_mid * jaw, (1 - UPPER_LIP_SHARE) * jaw
    const_t[lower] = ((1 - blend) * lip_const + blend * jaw_const)[lower]
    gap_t[lower] = ((1 - blend) * lip_gap + blend * jaw_gap)[lower]
    # Sideways: spread/round around the mouth centre, and a little narrowing as the jaw opens.
    window = np.exp(-((t - 0.5 * rest_gap_mid) / (0.9 * half_w)) ** 2) * np.exp(-(rel / (1.8 * half_w)) ** 4)
    spread_s = SPREAD_GAIN * rel * window
    narrow_s = -OPEN_NARROWING / max_gap_px * rel * window
    const = const_t[:, None] * v
    per_gap = gap_t[:, None] * v + narrow_s[:, None] * u
    per_spread = spread_s[:, None] * u
    # Eversion (rounded lips pout, +) or rolling in (pressed lips, -): each lip's outer edge moves away
    # from the seam by its thickness; skin beyond follows, fading out over about one lip thickness.
    sou, tou = chain(s_lm, t_lm, OUTER_UPPER_LIP)
    sol, tol = chain(s_lm, t_lm, OUTER_LOWER_LIP)
    thick_u = np.clip(tu - np.interp(s, sou, tou), 1.0, None)
    thick_l = np.clip(np.interp(s, sol, tol) - tl, 1.0, None)
    lateral = np.exp(-(rel / (1.05 * half_w)) ** 6)
    d_up, d_lo = np.clip(tu - t, 0.0, None), np.clip(t - tl, 0.0, None)
    pout_u = np.where(d_up <= thick_u, d_up, thick_u * np.exp(-(((d_up - thick_u) / thick_u) ** 2)))
    pout_l = np.where(d_lo <= thick_l, d_lo, thick_l * np.exp(-(((d_lo - thick_l) / thick_l) ** 2)))
    pout_t = np.where(lower, pout_l, -pout_u) * lateral
    pout_t[: n_face][list(INNER_UPPER_LIP) + list(INNER_LOWER_LIP)] = 0.0
    per_pout = pout_t[:, None] * v
    return const, per_gap, per_spread, per_pout


def brow_basis(points: np.ndarray, lm: np.ndarray, *, n_face: int, face_h: float) -> np.ndarray:
    """Per-point displacement of fully raised eyebrows: the brows and the forehead above them go up,
    the skin between brow and upper lid stretches, the eyes themselves stay."""
    p = points
    up = unit(lm[FOREHEAD] - lm[CHIN])
    across = np.array([up[1], -up[0]])
    # One window across both brows (the skin between them goes up too), each brow's own height profile.
    both = lm[list(RIGHT_BROW) + list(LEFT_BROW)]
    s_both = both @ across
    mid, half = float(s_both.max() + s_both.min()) / 2, max(float(s_both.max() - s_both.min()) / 2, 1.0)
    lateral = np.exp(-(((p @ across - mid) / (1.1 * half)) ** 8))
    heights = []
    for brow, lid in ((RIGHT_BROW, RIGHT_EYE_UPPER), (LEFT_BROW, LEFT_EYE_UPPER)):
        centre = lm[list(brow)].mean(axis=0)
        h = (p - centre) @ up  # height above the brow's centre
        lid_h = float(((lm[list(lid)] - centre) @ up).max())  # the lid margin's highest point (negative)
        above = np.exp(-((np.clip(h, 0.0, None) / (BROW_FOREHEAD_REACH * face_h)) ** 2))
        between = smoothstep((h - lid_h) / max(-lid_h, 1.0))
        heights.append((np.abs((p - centre) @ across), np.where(h >= 0, above, between)))
    (d_r, w_r), (d_l, w_l) = heights
    share = d_l / np.maximum(d_l + d_r, 1e-6)  # 1 near the right brow, 0 near the left
    weight = lateral * (share * w_r + (1 - share) * w_l)
    weight[n_face:] = 0.0
    for lid in (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_EYE_LOWER):
        weight[list(lid)] = 0.0
    return (BROW_RAISE_FRACTION * face_h * weight)[:, None] * up


def eye_basis(points: np.ndarray, lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], *, n_face: int
              ) -> np.ndarray:
    """Per-point displacement of a full blink of one eye."""
    p = points
    a, b = lm[upper[0]], lm[upper[-1]]
    u = unit(b - a)
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    centre = (a + b) / 2
    s, t = (p - centre) @ u, (p - centre) @ v
    s_lm, t_lm = (lm - centre) @ u, (lm - centre) @ v
    su, tu_c = chain(s_lm, t_lm, upper)
    sl, tl_c = chain(s_lm, t_lm, lower)
    tu, tl = np.interp(s, su, tu_c), np.interp(s, sl, tl_c)
    gap = np.clip(tl - tu, 0.0, None)
    max_gap = max(float(gap[list(upper)].max()), 1.0)
    half_w = max(float(su[-1] - su[0]) / 2, 1.0)
    s_mid = float(su[-1] + su[0]) / 2
    lateral = np.exp(-((s - s_mid) / (1.15 * half_w)) ** 8)
    above = np.clip(tu - t, 0.0, None)
    reach = np.clip(1 - above / (LID_REACH * max_gap), 0.0, 1.0) ** 2
    weight = np.where(t <= tu + 0.5, reach * lateral, 0.0)
    weight[n_face:] = 0.0
    weight[list(upper[1:-1])] = 1.0
    weight[list((upper[0], upper[-1]))] = 0.0
    return (weight * gap)[:, None] * v
