"""The inside of the open mouth, painted: a shaded cavity, teeth, a tongue, wet inner lips.

Where the lips part, the inner-lip polygon is painted in the mouth's own coordinates (s across the mouth,
-1 .. 1 between the inner corners; t down from the corner line, in pixels), at `SUPERSAMPLE` times the
frame's resolution and averaged down, so every edge is anti-aliased and tooth separations are soft
valleys rather than 1-pixel lines. Back to front:

* Cavity: dark red-brown at the lips, nearly black only deep in the middle, a shadow under the upper
  lip (its luminance runs over roughly L* 5..25, as in photographs of open mouths).
* Tongue: a low-contrast dome rising from the floor as the jaw opens; for t/d/n/l its tip comes up
  behind the upper teeth, for th between them.
* Lower teeth: four incisors above the lower lip, darker than the upper row, only on wide shapes.
* Upper teeth: rigid with the head. Their incisal edge sits a fixed "display" below where the upper
  lip rests, so they show as the upper lip lifts; rounded shapes pull the lip down over them.
  Centrals, laterals, canines and premolars narrow and darken towards the corners (they recede round
  the arch), with rounded incisal corners, a slightly translucent edge and the lip's shadow on top.
* A moist rim along both inner lip edges, in lip colour, so lips fold into the mouth instead of ending
  at a cut line.

Colours come from the portrait itself: the lips' median colour, and the teeth's colour from teeth that
show in the photo, else from the whites of the eyes (a black-and-white photo gets a grey mouth). The
photo's grain is estimated once and a frozen noise texture at that level is added, and where the
portrait was enlarged the paint is softened to match, so the mouth is as sharp and grainy as the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsroom.anchor.mesh import (
    FACE_OVAL,
    INNER_LOWER_LIP,
    INNER_UPPER_LIP,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

SUPERSAMPLE = 3
GRAIN_TILE = 128
LUMA = np.float32([0.299, 0.587, 0.114])

CAVITY_RIM_SHARE = 0.5  # of the lip colour, at the lips
CAVITY_BACK_SHARE = 0.12  # deep in the middle
TONGUE_DOME = 0.32  # of the central gap: how high the tongue's back shows on the widest opening
TONGUE_FRONT_SHARE, TONGUE_BACK_SHARE, TONGUE_TIP_SHARE = 0.55, 0.3, 0.75
TONGUE_TINT = np.float32([1.0, 0.88, 0.9])
TEETH_DISPLAY = 0.055  # of the inner mouth width: upper incisors below the resting upper lip
UPPER_TEETH_EDGES = (0.0, 0.27, 0.47, 0.64, 0.78, 0.9)  # |s| of the boundaries: 1, 2, 3, 4(, 5)
UPPER_TEETH_SHORTEN = (0.0, 0.1, 0.04, 0.18, 0.26)  # of the display, per tooth from the centre
LOWER_TEETH_EDGES = (0.0, 0.17, 0.33, 0.48, 0.63)
LOWER_TEETH_SHARE = 0.78  # lower teeth are in shadow
LOWER_TEETH_HEIGHT = 0.3  # of the central gap above a quarter opening, at lower=1
SEPARATION_PX = 1.3  # Gaussian half-width of the valley between two teeth (frame pixels)
SEPARATION_DEPTH = 0.08
WET_RIM_RGB = np.float32([0.86, 0.7, 0.7])  # of the lip colour: the wet inner lip is redder
MUCOSA_SATURATION = 1.5  # inside of the mouth vs the lips
# The wet rim is narrow: a wide one moves the visible lip edge into the mouth (the mouth reads, and Face
# Mesh measures it, as less open than the lips are).
WET_RIM_PX, WET_RIM_UPPER, WET_RIM_LOWER = 0.8, 0.4, 0.55
LIP_SHADOW_ON_TEETH = 0.35  # the lip's warm shadow on the teeth just under it
TEETH_MAX_SATURATION = 0.22  # photo pixels below this saturation and bright enough count as teeth
MIN_TEETH_SHARE = 0.12
TEETH_TINT = np.float32([1.0, 0.98, 0.93])  # teeth against the eye whites, in a colour photo  # of the rest mouth's pixels, for the photo's teeth to set the colour


@dataclass(frozen=True, slots=True)
class MouthShape:
    """What one frame's mouth interior shows (besides its outline)."""

    openness: float = 0.0  # 0 .. 1 of the widest opening
    teeth: float = 0.5  # upper teeth uncovered by the lip
    lower: float = 0.0  # lower teeth shown
    tongue: float = 0.0  # tongue tip up to the teeth


@dataclass(frozen=True, slots=True)
class MouthLook:
    """One portrait's mouth colours, grain and softness."""

    lip: np.ndarray  # float32 RGB
    teeth: np.ndarray  # float32 RGB
    grain_sigma: float  # grey levels
    soft_px: float  # Gaussian sigma applied to the paint (the portrait's own softness)
    grain: np.ndarray  # (GRAIN_TILE, GRAIN_TILE) float32, unit variance, frozen per portrait

    @classmethod
    def from_portrait(cls, frame: np.ndarray, landmarks: np.ndarray, *, lip_rgb: np.ndarray,
                      soft_px: float = 0.0, seed: int = 0) -> MouthLook:
        lip = np.asarray(lip_rgb, np.float32)
        teeth = teeth_colour(frame, landmarks, lip)
        rng = np.random.default_rng([seed, 0x7EE7])
        grain = rng.standard_normal((GRAIN_TILE, GRAIN_TILE)).astype(np.float32)
        return cls(lip, teeth, grain_level(frame, landmarks), float(soft_px), grain)


def _polygon_pixels(frame: np.ndarray, polygon: np.ndarray, exclude: list[tuple[np.ndarray, float]] = ()) -> np.ndarray:
    import cv2

    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    for centre, radius in exclude:
        cv2.circle(mask, (int(round(centre[0])), int(round(centre[1]))), int(round(radius)), 0, -1)
    return frame[mask > 0].astype(np.float32)


def _saturation(rgb: np.ndarray) -> np.ndarray:
    hi, lo = rgb.max(axis=-1), rgb.min(axis=-1)
    return (hi - lo) / np.maximum(hi, 1.0)


def teeth_colour(frame: np.ndarray, landmarks: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """The portrait's teeth (when its mouth shows them) or its eye whites, toned down a little: float32 RGB."""
    lip_luma = float(lip @ LUMA)
    mouth = _polygon_pixels(frame, landmarks[list(INNER_UPPER_LIP) + list(INNER_LOWER_LIP[::-1])])
    if len(mouth) >= 20:
        bright = mouth[(_saturation(mouth) < TEETH_MAX_SATURATION) & (mouth @ LUMA > lip_luma + 25)]
        if len(bright) >= MIN_TEETH_SHARE * len(mouth):
            keep = bright[bright @ LUMA >= np.percentile(bright @ LUMA, 40)]
            return np.clip(np.median(keep, axis=0) * 0.96, 0, 235).astype(np.float32)
    whites = []
    if len(landmarks) >= 478:
        for upper, lower, iris in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, 468), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, 473)):
            radius = float(np.linalg.norm(landmarks[iris + 1] - landmarks[iris]))
            eye = _polygon_pixels(frame, landmarks[list(upper) + list(lower[::-1])], [(landmarks[iris], 1.15 * radius)])
            if len(eye):
                whites.append(eye[eye @ LUMA >= np.percentile(eye @ LUMA, 75)])  # the brightest: sclera, not lids
    if whites and sum(len(w) for w in whites) >= 6:
        sclera = np.median(np.concatenate(whites), axis=0)
    else:
        sclera = np.full(3, 200.0, np.float32)
    # Teeth are a little darker and warmer than the eye whites (half their tint: the lids' pink creeps
    # into small eyes); as warm as the photo's colours allow.
    sclera_luma = float(sclera @ LUMA)
    sclera = sclera_luma + 0.5 * (sclera - sclera_luma)
    warmth = float(np.clip(_saturation(lip[None])[0] / 0.35, 0.0, 1.0))
    tint = 1.0 + warmth * (TEETH_TINT - 1.0)
    teeth = sclera * 0.9 * tint
    luma = float(teeth @ LUMA)
    target = float(np.clip(luma, lip_luma + 25.0, 215.0))
    return np.clip(teeth * target / max(luma, 1.0), 0, 235).astype(np.float32)


def grain_level(frame: np.ndarray, landmarks: np.ndarray) -> float:
    """The photo's noise (grey levels): robust sigma of the fine detail on the cheeks and forehead."""
    import cv2

    oval = np.round(landmarks[list(FACE_OVAL)]).astype(np.int32)
    x0, y0 = np.maximum(oval.min(axis=0), 0)
    x1, y1 = oval.max(axis=0) + 1
    patch = frame[y0:y1, x0:x1].astype(np.float32) @ LUMA
    if patch.size < 100:
        return 0.0
    mask = np.zeros(patch.shape, np.uint8)
    cv2.fillPoly(mask, [oval - [x0, y0]], 1)
    detail = patch - cv2.GaussianBlur(patch, (0, 0), 1.0)
    values = detail[mask > 0]
    # Edges (eyes, lips) are rare: the median absolute deviation sees the skin's grain.
    sigma = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    return float(np.clip(sigma, 0.0, 8.0))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _teeth_row(abs_s: np.ndarray, edges: tuple[float, ...], half_w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: tooth index (1 = central), position across it (0..1), and its separation valley factor."""
    bounds = np.asarray(edges, np.float32)
    k = np.clip(np.searchsorted(bounds, abs_s, side="right"), 1, len(bounds) - 1)
    lo, hi = bounds[k - 1], bounds[k]
    across = np.clip((abs_s - lo) / (hi - lo), 0.0, 1.0)
    to_boundary = np.minimum(abs_s - lo, hi - abs_s) * half_w
    valley = 1.0 - SEPARATION_DEPTH * np.exp(-((to_boundary / SEPARATION_PX) ** 2))
    return k, across, valley


def paint_open_mouth(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, rest_upper: np.ndarray,
                     shape: MouthShape, look: MouthLook, max_gap_px: float) -> None:
    """Paint the mouth interior in place inside the inner-lip polygon (upper chain + lower chain reversed).

    `upper`/`lower` are the inner lip chains from corner to corner as drawn this frame; `rest_upper` is
    where the upper chain rests with the mouth closed (moved with the head): the upper teeth hang from it.
    """
    import cv2

    ss = SUPERSAMPLE
    a, b = upper[0], upper[-1]
    centre = (a + b) / 2
    u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    half_w = max(float(np.linalg.norm(b - a)) / 2, 1.0)

    poly = np.concatenate([upper, lower[::-1]])
    h, w = frame.shape[:2]
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 4
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    xs = x0 + (np.arange((x1 - x0) * ss, dtype=np.float32) + 0.5) / ss
    ys = y0 + (np.arange((y1 - y0) * ss, dtype=np.float32) + 0.5) / ss
    dx, dy = xs[None, :] - np.float32(centre[0]), ys[:, None] - np.float32(centre[1])
    s = (dx * np.float32(u[0]) + dy * np.float32(u[1])) / np.float32(half_w)
    t = dx * np.float32(v[0]) + dy * np.float32(v[1])

    def curve(chain: np.ndarray) -> np.ndarray:
        cs, ct = (chain - centre) @ u / half_w, (chain - centre) @ v
        order = np.argsort(cs)
        return np.interp(s, cs[order], ct[order]).astype(np.float32)

    t_up, t_lo, t_rest = curve(upper), curve(lower), curve(rest_upper)
    inside = ((t > t_up) & (t < t_lo) & (np.abs(s) < 1.0)).astype(np.float32)
    if not inside.any():
        return
    abs_s = np.minimum(np.abs(s), 1.0)
    cu, cl = (upper - centre) @ u / half_w, (lower - centre) @ u / half_w
    ou, ol = np.argsort(cu), np.argsort(cl)
    gap_c = float(np.interp(0.0, cl[ol], ((lower - centre) @ v)[ol]) - np.interp(0.0, cu[ou], ((upper - centre) @ v)[ou]))
    gap_c = max(gap_c, 0.5)
    open_frac = float(np.clip(gap_c / max(max_gap_px, 1.0), 0.0, 1.0))
    lip = look.lip
    # The inside of the mouth (mucosa, tongue) is the lips' colour, more saturated.
    luma = float(lip @ LUMA)
    mucosa = np.clip(luma + MUCOSA_SATURATION * (lip - luma), 0.0, 255.0).astype(np.float32)

    # Cavity: rim colour at the lips, darkest deep in the middle, shadowed under the upper lip.
    gap = np.maximum(t_lo - t_up, 0.5)
    e_up, e_lo = t - t_up, t_lo - t
    depth = np.clip(np.minimum(e_up, e_lo) / (0.5 * gap + 1.5), 0.0, 1.0) * (1 - 0.35 * abs_s**3)
    rim, back = mucosa * CAVITY_RIM_SHARE, np.maximum(mucosa * CAVITY_BACK_SHARE, 4.0)
    colour = rim + (back - rim) * depth[..., None]
    colour *= (0.7 + 0.3 * _smoothstep(e_up / (0.35 * gap + 0.5)))[..., None]

    # Upper incisal edge (rigid), per tooth: shorter teeth towards the corners, pointed canines, rounded corners.
    display = TEETH_DISPLAY * 2 * half_w * float(np.clip(1.5 * shape.teeth - 0.25, 0.0, 1.15))
    k, across, valley = _teeth_row(abs_s, UPPER_TEETH_EDGES, half_w)
    shorten = np.asarray(UPPER_TEETH_SHORTEN, np.float32)[k - 1] + np.where(k == 3, 0.25 * np.abs(2 * across - 1), 0.0)
    notch = 0.22 * (1 - np.sin(np.pi * across)) ** 4
    edge = t_rest + display * (1 - 0.12 * abs_s**2 - shorten - notch)

    # Tongue: a dome from the floor, and its tip up to the upper teeth for t/d/n/l/th.
    dome_h = TONGUE_DOME * gap_c * float(_smoothstep(np.array((open_frac - 0.2) / 0.5)))
    top = t_lo - dome_h * np.sqrt(np.clip(1 - (s / 0.78) ** 2, 0.0, 1.0))
    tip_top = t_lo - shape.tongue * np.clip(t_lo - edge - 0.3, 0.0, None) * np.exp(-((s / 0.28) ** 2))
    top_t = np.minimum(top, tip_top)
    tongue_cover = np.clip((t - top_t) / 0.7 + 0.5, 0.0, 1.0) * (top_t < t_lo - 0.3)
    front = np.sqrt(np.clip((t - top_t) / np.maximum(t_lo - top_t, 1.0), 0.0, 1.0))
    tongue_rgb = mucosa * TONGUE_TINT * (TONGUE_BACK_SHARE + (TONGUE_FRONT_SHARE - TONGUE_BACK_SHARE) * front)[..., None]
    tipness = np.clip((top - tip_top) / np.maximum(gap * 0.3, 1.0), 0.0, 1.0)[..., None]
    tongue_rgb = tongue_rgb + (mucosa * TONGUE_TINT * TONGUE_TIP_SHARE - tongue_rgb) * tipness
    colour += (tongue_rgb - colour) * (0.9 * tongue_cover)[..., None]

    # Lower teeth, above the lower lip, on wide shapes.
    if shape.lower > 0.01 and gap_c > 0.25 * max_gap_px:
        height = min(shape.lower * LOWER_TEETH_HEIGHT * (gap_c - 0.25 * max_gap_px), 0.3 * gap_c)
        kl, across_l, valley_l = _teeth_row(abs_s, LOWER_TEETH_EDGES, half_w)
        top_l = t_lo - height * (1 - 0.3 * (abs_s / 0.63) ** 2 - 0.25 * (1 - np.sin(np.pi * across_l)) ** 4)
        cover_l = np.clip((t - top_l) / 0.6 + 0.5, 0.0, 1.0) * (1 - _smoothstep((abs_s - 0.3) / 0.2))
        # Lit along the biting edge, in the lower lip's shade further down.
        shade_l = LOWER_TEETH_SHARE * valley_l * (1 - 0.4 * (abs_s / 0.5) ** 2) * (1 - 0.25 * np.clip((t - top_l) / max(height, 1.0), 0, 1))
        colour += (look.teeth * shade_l[..., None] - colour) * cover_l[..., None]

    # Upper teeth.
    visible = np.maximum(edge - t_up, 1.0)
    # Towards the corners the teeth turn away round the arch into the dark of the cheeks (buccal corridor).
    cover_u = np.clip((edge - t) / 0.6 + 0.5, 0.0, 1.0) * (1 - _smoothstep((abs_s - 0.55) / 0.3))
    shade = (valley * (0.93 + 0.07 * np.sin(np.pi * across)) * (1 - 0.35 * _smoothstep((abs_s - 0.25) / 0.5))
             * (0.8 + 0.2 * _smoothstep(e_up / (0.45 * visible)))
             * (0.85 + 0.15 * float(_smoothstep(np.array(gap_c / (0.35 * max_gap_px))))))
    # The upper lip's shadow on the teeth is warm (light through the lip), not grey.
    lip_shadow = (1 - _smoothstep(e_up / (0.4 * visible)))[..., None] * LIP_SHADOW_ON_TEETH
    teeth_rgb = look.teeth * shade[..., None]
    teeth_rgb += (lip * 0.55 - teeth_rgb) * lip_shadow
    translucent = np.clip(1 - (edge - t) / 0.9, 0.0, 1.0)[..., None] * 0.3
    teeth_rgb += (look.teeth * np.float32([0.72, 0.76, 0.84]) * shade[..., None] - teeth_rgb) * translucent
    colour += (teeth_rgb - colour) * cover_u[..., None]

    # Wet inner lips: the lips fold in.
    rim_px = max(0.5, min(WET_RIM_PX, 0.15 * gap_c))  # a slit between the teeth stays teeth
    lower_rim = WET_RIM_LOWER * (1 - 0.6 * min(shape.lower, 1.0))  # thinner where the lower teeth show
    wet = np.clip(WET_RIM_UPPER * np.exp(-((e_up / rim_px) ** 2)) + lower_rim * np.exp(-((e_lo / rim_px) ** 2)), 0.0, 0.9)
    wet = np.maximum(wet, 0.85 * _smoothstep((abs_s - 0.78) / 0.22))  # the corners: lips meeting, not a point of black
    colour += (lip * WET_RIM_RGB - colour) * wet[..., None]

    patch = frame[y0:y1, x0:x1]
    canvas = cv2.resize(patch, (inside.shape[1], inside.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    canvas += (colour - canvas) * inside[..., None]
    small = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(inside, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    if look.grain_sigma > 0.05:
        tile = look.grain
        grain = tile[np.arange(y0, y1)[:, None] % tile.shape[0], np.arange(x0, x1)[None, :] % tile.shape[1]]
        small += (look.grain_sigma * grain * alpha)[..., None]
    if look.soft_px > 0.2:
        soft = cv2.GaussianBlur(small, (0, 0), look.soft_px)
        reach = np.clip(cv2.GaussianBlur(alpha, (0, 0), 1.0) * 2.0, 0.0, 1.0)[..., None]
        small += (soft - small) * reach
    frame[y0:y1, x0:x1] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
