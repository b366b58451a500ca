"""Objective looks of a rendered mouth, measured on the picture (no models): what a viewer would notice.

`mouth_stats` reads the pixels inside an inner-lip polygon of a decoded frame: how much of it is teeth
(bright and unsaturated), where those teeth are, how much is near-black, and whether the cavity is graded
(lighter at the lips than deep inside) rather than a flat black slot. Used by the tests and the docs sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsroom.anchor.mesh import INNER_LOWER_LIP, INNER_UPPER_LIP

TEETH_MIN_LSTAR = 50.0
TEETH_MAX_SATURATION = 0.24
DARK_LSTAR = 5.0


@dataclass(frozen=True, slots=True)
class MouthStats:
    """What the inside of one open mouth looks like."""

    pixels: int
    teeth_share: float  # of the interior: bright, low-saturation pixels
    teeth_upper_share: float  # of those teeth pixels: the share in the upper half of the opening
    dark_share: float  # of the interior: pixels below L* 5
    lstar_std: float  # spread of the interior's lightness (L*)
    edge_to_centre: float  # mean L* near the lips minus mean L* deep inside (graded when positive)


def lstar(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) of sRGB uint8 pixels."""
    c = np.asarray(rgb, np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.float32([0.2126, 0.7152, 0.0722])
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27)


def mouth_stats(frame: np.ndarray, landmarks: np.ndarray) -> MouthStats:
    """Measure the interior of the inner-lip polygon of `landmarks` (Face Mesh indices) in `frame`."""
    import cv2

    poly = np.concatenate([landmarks[list(INNER_UPPER_LIP)], landmarks[list(INNER_LOWER_LIP)][::-1]])
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 4).astype(np.int32)], 255, shift=2)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))  # the lip edge itself blends lip and mouth
    ys, xs = np.nonzero(mask)
    if len(ys) < 8:
        return MouthStats(int(len(ys)), 0.0, 0.0, 0.0, 0.0, 0.0)
    rgb = frame[ys, xs].astype(np.float32)
    light = lstar(rgb)
    hi, lo = rgb.max(axis=1), rgb.min(axis=1)
    saturation = (hi - lo) / np.maximum(hi, 1.0)
    teeth = (light > TEETH_MIN_LSTAR) & (saturation < TEETH_MAX_SATURATION)
    # Upper half of the opening, column by column, between the two inner lip chains.
    up, down = landmarks[list(INNER_UPPER_LIP)], landmarks[list(INNER_LOWER_LIP)]
    ou, od = np.argsort(up[:, 0]), np.argsort(down[:, 0])
    middle = (np.interp(xs, up[ou, 0], up[ou, 1]) + np.interp(xs, down[od, 0], down[od, 1])) / 2
    upper_teeth = float((teeth & (ys < middle)).sum() / max(int(teeth.sum()), 1))
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)[ys, xs]
    depth = depth / max(float(depth.max()), 1e-6)
    ring, core = light[depth <= 0.4], light[depth >= 0.7]
    graded = float(ring.mean() - core.mean()) if len(ring) and len(core) else 0.0
    return MouthStats(int(len(ys)), float(teeth.mean()), upper_teeth, float((light < DARK_LSTAR).mean()),
                      float(light.std()), graded)
