"""The face rig: MediaPipe Face Mesh landmarks moved by a few parameters, and the portrait warped to follow.

Deformation. Every frame is a `RigPose`: jaw opening (pixels of inner-lip gap), lip spread (-1 rounded ..
+1 spread), lip press (m/b/p), eyelid closure, brow raise, a nod and a head pose (plus what the painted
mouth shows: upper and lower teeth, tongue). The landmark displacement is linear in each parameter, so the
rig precomputes one displacement basis per parameter (`mouth_bases`, `eye_basis`, `brow_basis` in
`newsroom.anchor.deform`) in the mouth's, each eye's and the brows' own coordinate frames (so a tilted face
works too):

* Upper inner lip: lifts by `UPPER_LIP_SHARE` of the gap, fading out towards the nose.
* Lower inner lip: lands exactly `gap * e(s)` below the upper lip, where e(s) = sqrt(1 - (s/W)^2) is an
  elliptic opening profile across the mouth (corners stay joined). A portrait that smiles with an open
  mouth is closed first (its rest gap is subtracted), so silence really shows a closed mouth. The lips
  are carried, not stretched: each keeps its area within a few percent.
* Below the lower lip the motion blends into a jaw drop that moves the chin like the lip centre and
  fades out towards the jaw angles, so chin and lower cheeks follow the opening; a ring of points around
  the face follows a little, and the edge of the warped area stays put.
* Spread moves the lips sideways around the mouth centre; rounding (o/u/w) draws the corners in further
  (`ROUND_GAIN`) and everts the lips (`POUT_SHARE` of their thickness); pressing rolls them in
  (`PRESS_SHARE`); opening also narrows the mouth a bit.
* Blinks move the upper-lid margin onto the lower lid and drag the lid skin above it along.
* Brows: the brows and the forehead above them rise by `BROW_RAISE_FRACTION` of the face height; the
  skin down to the upper lid stretches; the eyes stay.
* A nod pitches the head forward: the face drops and foreshortens a little towards the neck.

Warp. The landmarks (without the iris points), the ring and a border of fixed points are triangulated
once (Delaunay on the rest pose). Per frame only the triangles that can move are rasterised into a
triangle-id image; each pixel's source position is its triangle's inverse affine map (a piecewise-affine
warp, seamless because neighbouring triangles share edges). Head motion is a small rotation about the
neck plus a shift, weighted by a soft head mask so shoulders and background stay still; it is composed
with the local field and the portrait is resampled once with `cv2.remap`, only inside the head's box.

Mouth interior. Whatever shows between the portrait's lips (the teeth of a smile) is filled with lip
once (inpainting), so a closed mouth reads as lips meeting; a soft darker seam marks where they meet
(darker when pressed). Where the lips part, `newsroom.anchor.mouth` paints the inside: a graded cavity,
teeth, tongue and wet inner lips, in the portrait's own colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsroom.anchor.deform import (
    SPREAD_GAIN,
    brow_basis,
    eye_basis,
    mouth_bases,
    unit,
)
from newsroom.anchor.mesh import (
    CHIN,
    FACE_OVAL,
    FOREHEAD,
    INNER_LOWER_LIP,
    INNER_UPPER_LIP,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    OUTER_LOWER_LIP,
    OUTER_UPPER_LIP,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from newsroom.anchor.mouth import MouthLook, MouthShape, paint_open_mouth
from newsroom.anchor.portrait import MESH_LANDMARKS, face_height

MAX_GAP_FRACTION = 0.10  # inner-lip gap at openness 1, of the face height (forehead to chin)
RING_SCALE = 1.35  # ring of helper points around the face oval, from its centroid
RING_FOLLOW = 0.35  # share of the jaw motion the ring follows
BORDER_MARGIN = 0.12  # of the face height, between the ring and the fixed border
HEAD_MASK_BLUR = 0.12  # of the face height
REST_MOUTH_REACH = 0.012  # of the face height: strip above the inner upper lip also filled with lip
MIN_MOTION_PX = 0.15  # points that would move less than this at most stay fixed
ROUND_GAIN = 0.24  # mouth corners move in this share of the half-width at spread -1 (rounded, o/u/w)
POUT_SHARE = 0.3  # rounded lips evert: each lip's outer edge moves out by this share of its thickness
PRESS_SHARE = 0.16  # pressed lips (m/b/p) roll in: outer edges move towards the seam by this share
SEAM_DARKENING = 0.35
PRESS_SEAM_DARKENING = 0.5
NOD_SHIFT_FRACTION = 0.014  # of the face height: the face moves down at nod = 1 ...
NOD_SQUASH = 0.012  # ... and foreshortens (the head pitches forward)



@dataclass(frozen=True, slots=True)
class RigPose:
    """One frame's parameters."""

    gap_px: float = 0.0
    spread: float = 0.0
    teeth: float = 0.5
    blink: float = 0.0
    roll_deg: float = 0.0
    shift_x_px: float = 0.0
    shift_y_px: float = 0.0
    lower_teeth: float = 0.0
    tongue: float = 0.0
    press: float = 0.0
    brow: float = 0.0
    nod: float = 0.0


def lip_colour(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Median RGB of the lips (between the outer and inner lip contours)."""
    import cv2

    outer = np.round(landmarks[list(OUTER_UPPER_LIP) + list(OUTER_LOWER_LIP[::-1])]).astype(np.int32)
    inner = np.round(landmarks[list(INNER_UPPER_LIP) + list(INNER_LOWER_LIP[::-1])]).astype(np.int32)
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [outer], 255)
    cv2.fillPoly(mask, [inner], 0)
    pixels = frame[mask > 0]
    if len(pixels) < 10:
        return np.float32([170, 95, 95])
    return np.median(pixels, axis=0).astype(np.float32)


def _triangulate(points: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Delaunay triangles (k, 3) of point indices, with OpenCV's Subdiv2D."""
    import cv2

    x0, y0, x1, y1 = box
    subdiv = cv2.Subdiv2D((x0 - 2, y0 - 2, x1 - x0 + 5, y1 - y0 + 5))
    subdiv.insert([(float(x), float(y)) for x, y in points])
    tris = subdiv.getTriangleList().reshape(-1, 3, 2)
    inside = ((tris[..., 0] >= x0 - 1) & (tris[..., 0] <= x1 + 1) & (tris[..., 1] >= y0 - 1) & (tris[..., 1] <= y1 + 1)).all(axis=1)
    tris = tris[inside]
    # Back from coordinates to indices: the nearest input point (Subdiv2D keeps the coordinates exactly).
    flat = tris.reshape(-1, 2)
    idx = np.empty(len(flat), dtype=np.int64)
    for start in range(0, len(flat), 512):
        chunk = flat[start:start + 512]
        idx[start:start + 512] = np.argmin(((chunk[:, None, :] - points[None]) ** 2).sum(-1), axis=1)
    tri_idx = idx.reshape(-1, 3)
    distinct = (tri_idx[:, 0] != tri_idx[:, 1]) & (tri_idx[:, 1] != tri_idx[:, 2]) & (tri_idx[:, 0] != tri_idx[:, 2])
    return tri_idx[distinct]


class FaceRig:
    """Precomputed mesh, displacement bases and masks for one composed portrait frame."""

    def __init__(self, frame: np.ndarray, landmarks: np.ndarray, *, soft_px: float = 0.0, seed: int = 0) -> None:
        height, width = frame.shape[:2]
        self.frame_size = (width, height)
        lm = np.asarray(landmarks, dtype=np.float64)
        self.face_h = face_height(lm)
        self.max_gap_px = MAX_GAP_FRACTION * self.face_h
        face = lm[:MESH_LANDMARKS]
        oval = lm[list(FACE_OVAL)]
        centroid = oval.mean(axis=0)
        ring = centroid + RING_SCALE * (oval - centroid)
        margin = BORDER_MARGIN * self.face_h
        bx0, by0 = ring.min(axis=0) - margin
        bx1, by1 = ring.max(axis=0) + margin
        step = self.face_h / 5
        nx, ny = max(2, int(np.ceil((bx1 - bx0) / step)) + 1), max(2, int(np.ceil((by1 - by0) / step)) + 1)
        xs, ys = np.linspace(bx0, bx1, nx), np.linspace(by0, by1, ny)
        border = np.concatenate([
            np.stack([xs, np.full(nx, by0)], 1), np.stack([xs, np.full(nx, by1)], 1),
            np.stack([np.full(ny - 2, bx0), ys[1:-1]], 1), np.stack([np.full(ny - 2, bx1), ys[1:-1]], 1),
        ])
        self.points = np.concatenate([face, ring, border])
        self.n_face, self.n_ring = len(face), len(ring)
        box = (int(np.floor(bx0)), int(np.floor(by0)), int(np.ceil(bx1)), int(np.ceil(by1)))
        self.triangles = _triangulate(self.points, box)

        self.base_const, self.base_gap, self.base_spread, self.base_pout = mouth_bases(self.points, lm, n_face=self.n_face, max_gap_px=self.max_gap_px)
        # How far the chin moves per pixel of lip gap (the jaw's share of the opening).
        self.jaw_share = max(float(np.linalg.norm(self.base_gap[CHIN])), 0.1)
        self.base_blink = (eye_basis(self.points, lm, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, n_face=self.n_face)
                           + eye_basis(self.points, lm, LEFT_EYE_UPPER, LEFT_EYE_LOWER, n_face=self.n_face))
        self.base_brow = brow_basis(self.points, lm, n_face=self.n_face, face_h=self.face_h)
        ring_slice = slice(self.n_face, self.n_face + self.n_ring)
        for base in (self.base_const, self.base_gap, self.base_spread):
            base[ring_slice] *= RING_FOLLOW
        for base in (self.base_blink, self.base_pout, self.base_brow):
            base[ring_slice] = 0.0

        # Triangles that can move, and the box (frame pixels) they can reach.
        bound = (np.linalg.norm(self.base_const, axis=1) + self.max_gap_px * np.linalg.norm(self.base_gap, axis=1)
                 + (ROUND_GAIN / SPREAD_GAIN) * np.linalg.norm(self.base_spread, axis=1)
                 + max(POUT_SHARE, PRESS_SHARE) * np.linalg.norm(self.base_pout, axis=1)
                 + np.linalg.norm(self.base_blink, axis=1) + np.linalg.norm(self.base_brow, axis=1))
        moving = bound > MIN_MOTION_PX
        for base in (self.base_const, self.base_gap, self.base_spread, self.base_pout, self.base_blink, self.base_brow):
            base[~moving] = 0.0  # exponential tails: cut them so only the mouth, eyes and brows get warped
        self.active = self.triangles[moving[self.triangles].any(axis=1)]
        reach = self.points[self.active.ravel()]
        pad = bound[self.active.ravel()][:, None] + 2
        lo = np.floor((reach - pad).min(axis=0)).astype(int)
        hi = np.ceil((reach + pad).max(axis=0)).astype(int)
        self.local_box = (max(0, int(lo[0])), max(0, int(lo[1])), min(width, int(hi[0]) + 1), min(height, int(hi[1]) + 1))

        self._head_setup(lm, width, height)
        self._grid_cache: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.look = MouthLook.from_portrait(frame, lm, lip_rgb=lip_colour(frame, lm), soft_px=soft_px, seed=seed)
        self.rest = self._close_rest_mouth(frame)

    # ------------------------------------------------------------------ displacement bases

    # ------------------------------------------------------------------ head motion

    def _head_setup(self, lm: np.ndarray, width: int, height: int) -> None:
        import cv2

        fh = self.face_h
        oval = lm[list(FACE_OVAL)]
        face_w = float(oval[:, 0].max() - oval[:, 0].min())
        up = unit(lm[FOREHEAD] - lm[CHIN])
        centre = (lm[FOREHEAD] + lm[CHIN]) / 2 + 0.12 * fh * up
        axes = (0.5 * face_w + 0.25 * fh, 0.75 * fh)
        blur = HEAD_MASK_BLUR * fh
        pad = 3 * blur
        x0 = int(max(0, np.floor(min(centre[0] - axes[0] - pad, self.local_box[0]))))
        y0 = int(max(0, np.floor(min(centre[1] - axes[1] - pad, self.local_box[1]))))
        x1 = int(min(width, np.ceil(max(centre[0] + axes[0] + pad, self.local_box[2]))))
        y1 = int(min(height, np.ceil(max(centre[1] + axes[1] + pad, self.local_box[3]))))
        self.head_box = (x0, y0, x1, y1)
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        angle = float(np.degrees(np.arctan2(-up[0], up[1]))) if abs(up[1]) > 1e-6 else 0.0
        cv2.ellipse(mask, ((float(centre[0] - x0), float(centre[1] - y0)), (2 * axes[0], 2 * axes[1]), angle), 1.0, -1)
        self.head_mask = cv2.GaussianBlur(mask, (0, 0), blur)
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self._mask_xy = (self.head_mask * xs, self.head_mask * ys, self.head_mask)
        self.pivot = lm[CHIN] - 0.25 * fh * up  # the neck: the chin barely moves, the crown most
        self.up = up

    def _close_rest_mouth(self, frame: np.ndarray) -> np.ndarray:
        """The frame with whatever shows between the lips (the teeth of a smile) filled with lip.

        Closing the mouth squeezes that area to a line; filled, the line reads as lips meeting.
        Opening paints a fresh mouth interior over it, so every frame shows the same mouth.
        """
        import cv2

        pts = self.points[list(INNER_UPPER_LIP) + list(INNER_LOWER_LIP[::-1])]
        mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(pts * 4).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=2)
        if not mask.any():
            return frame
        # MediaPipe's inner upper-lip points tend to sit on the upper teeth: take a strip above them too.
        reach = int(round(REST_MOUTH_REACH * self.face_h))
        if reach > 0:
            kernel = np.zeros((2 * reach + 1, 1), np.uint8)
            kernel[reach:] = 1  # reflected by dilate: spreads the mask upwards
            mask = cv2.dilate(mask, kernel)
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        return cv2.inpaint(frame, mask, 3, cv2.INPAINT_TELEA)

    def _grid(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        if box not in self._grid_cache:
            x0, y0, x1, y1 = box
            xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
            self._grid_cache[box] = (xs, ys)
        return self._grid_cache[box]

    # ------------------------------------------------------------------ per frame

    def deformed_points(self, pose: RigPose) -> np.ndarray:
        """Mesh points after the local (mouth, eyes, brows) deformation, before head motion."""
        spread = pose.spread * (ROUND_GAIN / SPREAD_GAIN if pose.spread < 0 else 1.0)
        pout = POUT_SHARE * max(-pose.spread, 0.0) - PRESS_SHARE * pose.press
        return (self.points + self.base_const + pose.gap_px * self.base_gap + spread * self.base_spread
                + pout * self.base_pout + pose.blink * self.base_blink + pose.brow * self.base_brow)

    def rest_upper_lip(self, pose: RigPose) -> np.ndarray:
        """Where the inner upper lip rests with the mouth closed, moved with the head: the upper teeth hang there."""
        pts = (self.points + self.base_const)[list(INNER_UPPER_LIP)]
        return self._move_with_head(pts, self._head_affine(pose)) if _head_moves(pose) else pts

    def _head_affine(self, pose: RigPose) -> np.ndarray:
        theta = np.radians(pose.roll_deg)
        c, s = np.cos(theta), np.sin(theta)
        rot = np.array([[c, -s], [s, c]])
        if pose.nod:
            # Pitching forward: the face foreshortens towards the neck and drops a little.
            up = self.up
            squash = np.eye(2) - NOD_SQUASH * pose.nod * np.outer(up, up)
            rot = rot @ squash
        shift = self.pivot - rot @ self.pivot + np.array([pose.shift_x_px, pose.shift_y_px])
        if pose.nod:
            shift = shift - NOD_SHIFT_FRACTION * self.face_h * pose.nod * self.up
        return np.hstack([rot, shift[:, None]])

    def _local_field(self, moved: np.ndarray) -> np.ndarray:
        """Backward displacement (source - target) over `local_box`: a piecewise-affine warp."""
        import cv2

        x0, y0, x1, y1 = self.local_box
        src = self.points[self.active]  # (k, 3, 2) rest triangles
        dst = moved[self.active]
        dh = np.concatenate([dst.transpose(0, 2, 1), np.ones((len(dst), 1, 3))], axis=1)  # (k, 3, 3)
        # Triangles that moved this frame (the eyes' only while blinking) and are not squeezed flat.
        shifted = (np.abs(moved - self.points) > 0.01).any(axis=1)[self.active].any(axis=1)
        ok = shifted & (np.abs(np.linalg.det(dh)) > 1e-3)
        inv = np.zeros_like(dh)
        inv[ok] = np.linalg.inv(dh[ok])
        # Per triangle id: its affine map (target pixel -> source pixel) and the source triangle's box,
        # to which results are clamped (rasterised edge pixels of a squeezed sliver would otherwise
        # extrapolate far away). Id 0, outside every moving triangle, is the identity.
        table = np.empty((len(dst) + 1, 10), np.float32)
        table[0] = (1, 0, 0, 0, 1, 0, -1e9, -1e9, 1e9, 1e9)
        table[1:, :6] = (src.transpose(0, 2, 1) @ inv).reshape(-1, 6)
        table[1:, 6:8] = src.min(axis=1)
        table[1:, 8:10] = src.max(axis=1)
        labels = np.zeros((y1 - y0, x1 - x0), np.int32)
        corners = np.round((dst - np.array([x0, y0])) * 16).astype(np.int32)
        for k in np.flatnonzero(ok):
            cv2.fillConvexPoly(labels, corners[k], int(k) + 1, lineType=cv2.LINE_8, shift=4)
        xs, ys = self._grid(self.local_box)
        c = table[labels]
        field = np.empty((y1 - y0, x1 - x0, 2), np.float32)
        field[..., 0] = np.clip(c[..., 0] * xs + c[..., 1] * ys + c[..., 2], c[..., 6], c[..., 8]) - xs
        field[..., 1] = np.clip(c[..., 3] * xs + c[..., 4] * ys + c[..., 5], c[..., 7], c[..., 9]) - ys
        return field

    def render(self, pose: RigPose, *, paint: bool = True) -> np.ndarray:
        """The frame for `pose`: the rest frame warped, with the mouth interior painted (unless `paint` is
        False: the reference renderer lays the presenter's own mouth over it instead)."""
        import cv2

        base = self.rest
        moved = self.deformed_points(pose)
        field = self._local_field(moved)
        hx0, hy0, hx1, hy1 = self.head_box
        lx0, ly0, _, _ = self.local_box
        xs, ys = self._grid(self.head_box)
        affine = self._head_affine(pose)
        head_moves = _head_moves(pose)
        if head_moves:
            # Forward head displacement d(x) = mask(x) * (A x - x); its inverse, for small d: x - d(x).
            a = affine.astype(np.float32)
            mx, my, m = self._mask_xy
            dx = (a[0, 0] - 1) * mx + a[0, 1] * my + a[0, 2] * m
            dy = a[1, 0] * mx + (a[1, 1] - 1) * my + a[1, 2] * m
            x_rest, y_rest = xs - dx, ys - dy
        else:
            x_rest, y_rest = xs, ys
        local = cv2.remap(field, x_rest - np.float32(lx0), y_rest - np.float32(ly0), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        map_x, map_y = x_rest + local[..., 0], y_rest + local[..., 1]
        frame = base.copy()
        frame[hy0:hy1, hx0:hx1] = cv2.remap(base, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        if not paint:
            return frame
        upper = moved[list(INNER_UPPER_LIP)]
        lower = moved[list(INNER_LOWER_LIP)]
        if head_moves:
            upper, lower = self._move_with_head(upper, affine), self._move_with_head(lower, affine)
        if pose.gap_px > 0.6:
            shape = MouthShape(pose.gap_px / self.max_gap_px, pose.teeth, pose.lower_teeth, pose.tongue)
            paint_open_mouth(frame, upper, lower, self.rest_upper_lip(pose), shape, self.look, self.max_gap_px)
        else:
            _paint_seam(frame, (upper + lower) / 2, SEAM_DARKENING + (PRESS_SEAM_DARKENING - SEAM_DARKENING) * pose.press)
        return frame

    def _move_with_head(self, pts: np.ndarray, affine: np.ndarray) -> np.ndarray:
        hx0, hy0, hx1, hy1 = self.head_box
        ix = np.clip(np.round(pts[:, 0] - hx0).astype(int), 0, hx1 - hx0 - 1)
        iy = np.clip(np.round(pts[:, 1] - hy0).astype(int), 0, hy1 - hy0 - 1)
        weight = self.head_mask[iy, ix][:, None]
        target = pts @ affine[:, :2].T + affine[:, 2]
        return pts + weight * (target - pts)

    def landmarks_for(self, pose: RigPose) -> np.ndarray:
        """Where the face mesh landmarks (the first 468) end up for `pose`, head motion included."""
        pts = self.deformed_points(pose)[: self.n_face]
        return self._move_with_head(pts, self._head_affine(pose))


def _head_moves(pose: RigPose) -> bool:
    return (abs(pose.roll_deg) > 1e-4 or abs(pose.shift_x_px) > 1e-3 or abs(pose.shift_y_px) > 1e-3
            or abs(pose.nod) > 1e-4)


def _paint_seam(frame: np.ndarray, line: np.ndarray, darkening: float = SEAM_DARKENING) -> None:
    """Where closed lips meet: a soft, slightly darker line (the shadow between the lips)."""
    import cv2

    h, w = frame.shape[:2]
    x0, y0 = np.floor(line.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(line.max(axis=0)).astype(int) + 4
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.polylines(mask, [np.round((line - [x0, y0]) * 8).astype(np.int32)], False, 255, 1, cv2.LINE_AA, shift=3)
    mask = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.7)[..., None]
    patch = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(patch * (1 - darkening * mask / max(float(mask.max()), 1e-6)) + 0.5,
                                  0, 255).astype(np.uint8)
