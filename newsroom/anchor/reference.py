"""Reference-footage mode: the anchor speaks with the presenter's own mouth ("video rewrite").

    atlas = MouthAtlas.build("presenter.mp4", phonemes=timings)      # or transcript= (Whisper words)
    renderer = ReferenceAnchorRenderer.load(atlas)                    # or portrait="still.jpg"
    video = renderer.render(speech, "anchor.mp4")

After Bregler, Covell & Slaney's Video Rewrite (1997) and its descendants (Ezzat et al. 2002,
Suwajanakorn et al. 2017), without any learned model:

1. Annotate (`MouthAtlas.build`, in `newsroom.anchor.atlas`): every usable frame of the presenter
   speaking to the camera becomes a mouth sample in a canonical face frame (see that module).
2. Select (`select_samples`). For each output frame the target is the co-articulated mouth track of the
   new read (`newsroom.anchor.visemes`): lip gap and width, scaled to the presenter's own range, and the
   viseme group. A Viterbi pass over the `CANDIDATES` nearest samples per frame minimises target cost
   (shape distance + group mismatch, also one frame either side: context) plus join cost (free for the
   next source frame, cheap for a hold, otherwise a jump penalty plus the shape jump), so runs of real
   consecutive footage are reused wherever they fit.
3. Place (`ReferenceAnchorRenderer`). The base (a reference frame, or a still of the presenter with
   `portrait=`) is animated by the landmark rig - head motion, blinks, brows, nods, and a jaw opened to
   the chosen sample's gap so chin and cheeks follow - with no painted mouth. The sample's patch is mapped
   onto it by the similarity between the canonical frame and the rig's stable points this frame, and
   blended through a mask that covers both lip outlines and fades over `FEATHER` mouth widths. Where the
   path jumps, the sample that would have come next lingers faintly for `CROSSFADE_FRAMES` frame. Patches are colour-matched
   to the base once (Lab mean and spread on a ring of skin around the mouth), so nothing flickers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsroom.anchor.atlas import (
    MIN_REFERENCE_S,
    STABLE_POINTS,
    VOWEL_GROUPS,
    MouthAtlas,
    similarity,
    transcribe_reference,
    transcript_phonemes,
)
from newsroom.anchor.deform import OPEN_NARROWING, SPREAD_GAIN
from newsroom.anchor.mesh import OUTER_LOWER_LIP, OUTER_UPPER_LIP
from newsroom.anchor.portrait import Portrait, compose, load_image
from newsroom.anchor.renderer import ANCHOR_HEIGHT, ANCHOR_WIDTH, LandmarkAnchorRenderer
from newsroom.anchor.rig import ROUND_GAIN, RigPose
from newsroom.anchor.visemes import MouthTrack

log = logging.getLogger("newsroom.anchor")

__all__ = [  # the atlas moved to newsroom.anchor.atlas; these stay importable from here
    "MIN_REFERENCE_S",
    "MouthAtlas",
    "ReferenceAnchorRenderer",
    "ReferenceShot",
    "crossfades",
    "match_colours",
    "select_samples",
    "target_shape",
    "transcribe_reference",
    "transcript_phonemes",
]

CANDIDATES = 24
GAP_SIGMA_IOD = 0.014
WIDTH_SIGMA_IOD = 0.04
GROUP_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.15
HOLD_COST = 0.4
JUMP_COST = 1.0
SPEECH_OPEN_P97 = 0.8  # the openness a read passes 3% of the time: mapped onto the presenter's 97th percentile
FEATHER = 0.16  # of the mouth width
MASK_MARGIN = 0.1  # of the mouth width around both lip outlines
CROSSFADE_FRAMES = 1
CROSSFADE_CARRY = 0.35  # weight of the sample that would have come next, on the frame after a jump


# ------------------------------------------------------------------ choosing samples


@dataclass(frozen=True, slots=True)
class ReferenceShot:
    """One output frame: the rig pose of the base, and which atlas samples (with weights) show the mouth."""

    pose: RigPose
    samples: tuple[tuple[int, float], ...]


def target_shape(track: MouthTrack, atlas: MouthAtlas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output frame: the lip gap, mouth width and chin drop (inter-ocular units) the read asks for, in
    the presenter's own range (the read's widest usual opening = the presenter's 97th percentile)."""
    gap = track.open / SPEECH_OPEN_P97 * atlas.gap_p97
    chin = track.open / SPEECH_OPEN_P97 * float(np.percentile(atlas.chin_drop, 97))
    gain = np.where(track.spread < 0, ROUND_GAIN, SPREAD_GAIN)
    width = atlas.rest_width * (1 + gain * track.spread - OPEN_NARROWING * track.open)
    return gap, width, chin


def select_samples(track: MouthTrack, atlas: MouthAtlas) -> np.ndarray:
    """The atlas sample shown on each output frame: Viterbi over target and join costs (module doc)."""
    gap_t, width_t, chin_t = target_shape(track, atlas)
    chin = atlas.chin_drop
    frames = track.frames
    groups = track.groups if track.groups and atlas.labelled else ()
    group_ids = {g: k for k, g in enumerate(sorted(set(atlas.groups) | set(groups)))}
    shape = (((gap_t[:, None] - atlas.gap[None]) / GAP_SIGMA_IOD) ** 2
             + ((chin_t[:, None] - chin[None]) / GAP_SIGMA_IOD) ** 2
             + ((width_t[:, None] - atlas.width[None]) / WIDTH_SIGMA_IOD) ** 2)
    cost = shape
    if groups:
        ref = np.array([group_ids[g] for g in atlas.groups])
        out = np.array([group_ids[g] for g in groups])
        vowel = np.array([g in VOWEL_GROUPS for g in sorted(group_ids, key=group_ids.get)])

        def mismatch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            same = a[:, None] == b[None]
            family = vowel[a][:, None] == vowel[b][None]
            return np.where(same, 0.0, np.where(family, 0.5, 1.0))

        cost = cost + GROUP_WEIGHT * mismatch(out, ref)
        # Context: the frames either side (a viseme looks different after an m than after an s).
        for step in (-2, 2):
            neighbours_out = out[np.clip(np.arange(frames) + step, 0, frames - 1)]
            neighbours_ref = ref[np.clip(np.arange(len(ref)) + step, 0, len(ref) - 1)]
            cost = cost + CONTEXT_WEIGHT * mismatch(neighbours_out, neighbours_ref)
    k = min(CANDIDATES, len(atlas))
    candidates = np.argpartition(cost, k - 1, axis=1)[:, :k]
    local = np.take_along_axis(cost, candidates, axis=1)
    consecutive = np.diff(atlas.frame_index) == 1  # sample j+1 is the frame after sample j
    total = local[0].copy()
    back = np.zeros((frames, k), np.int64)
    for t in range(1, frames):
        prev, cur = candidates[t - 1], candidates[t]
        nxt = np.minimum(prev + 1, len(atlas) - 1)
        follows = (cur[None, :] == (prev + 1)[:, None]) & np.append(consecutive, False)[prev][:, None]
        holds = cur[None, :] == prev[:, None]
        jump = JUMP_COST + (np.abs(chin[nxt][:, None] - chin[cur][None]) / GAP_SIGMA_IOD
                            + np.abs(atlas.gap[nxt][:, None] - atlas.gap[cur][None]) / GAP_SIGMA_IOD
                            + np.abs(atlas.width[nxt][:, None] - atlas.width[cur][None]) / WIDTH_SIGMA_IOD)
        join = np.where(follows, 0.0, np.where(holds, HOLD_COST, jump))
        options = total[:, None] + join
        back[t] = np.argmin(options, axis=0)
        total = options[back[t], np.arange(k)] + local[t]
    path = np.empty(frames, np.int64)
    j = int(np.argmin(total))
    for t in range(frames - 1, -1, -1):
        path[t] = candidates[t, j]
        j = back[t, j]
    return path


def crossfades(path: np.ndarray, atlas: MouthAtlas) -> list[tuple[tuple[int, float], ...]]:
    """Per output frame: the samples to blend. Where the path jumps, the sample that would have come next
    stays faintly (`CROSSFADE_CARRY`) and fades out over `CROSSFADE_FRAMES` frames: a soft cut that does not
    delay the new shape."""
    out: list[tuple[tuple[int, float], ...]] = []
    carry: int | None = None
    left = 0
    last = len(atlas) - 1
    for t, j in enumerate(path):
        j = int(j)
        if t > 0:
            prev = int(path[t - 1])
            natural = min(prev + 1, last)
            if j not in (prev, natural):
                carry, left = natural, CROSSFADE_FRAMES
        if carry is not None and left > 0:
            weight = CROSSFADE_CARRY * left / CROSSFADE_FRAMES
            out.append(((j, 1.0 - weight), (carry, weight)))
            carry, left = min(carry + 1, last), left - 1
        else:
            out.append(((j, 1.0),))
    return out


# ------------------------------------------------------------------ rendering


class ReferenceAnchorRenderer(LandmarkAnchorRenderer):
    """The landmark rig on the presenter's base picture, with the presenter's own mouth from a `MouthAtlas`."""

    name = "reference"

    def __init__(self, portrait: Portrait, atlas: MouthAtlas, **options) -> None:
        super().__init__(portrait, **options)
        self.atlas = atlas
        self.iod_px = float(np.linalg.norm(portrait.landmarks[33] - portrait.landmarks[263]))
        self.patches = match_colours(atlas, portrait.frame, portrait.landmarks)

    @classmethod
    def load(cls, atlas: MouthAtlas | str | Path, portrait: str | Path | None = None, *, width: int = ANCHOR_WIDTH,
             height: int = ANCHOR_HEIGHT, **options) -> ReferenceAnchorRenderer:
        """The presenter's mouth atlas (built, or an .npz saved by `MouthAtlas.save`) on a still of the
        presenter (`portrait`) or, by default, on the atlas's own base frame."""
        from newsroom.anchor.portrait import detect_landmarks

        if not isinstance(atlas, MouthAtlas):
            atlas = MouthAtlas.load(atlas)
        if portrait is None:
            image, landmarks, source = atlas.base, atlas.base_landmarks, f"{atlas.source} (base frame)"
        else:
            image = load_image(portrait)
            landmarks, source = detect_landmarks(image, name=str(portrait)), str(portrait)
        renderer = cls(compose(image, landmarks, width, height, source=source), atlas, **options)
        log.info("reference anchor: %d mouth samples from %s on %s", len(atlas), atlas.source or "an atlas", source)
        return renderer

    def shots(self, track: MouthTrack, poses: list[RigPose]) -> tuple[list[Any], np.ndarray]:
        atlas = self.atlas
        path = select_samples(track, atlas)
        # The rig opens the base's jaw so its chin drops as far as the sample's chin did (Face Mesh puts the
        # inner-lip points inside the lips, so the measured gap understates the opening; the chin does not).
        chin = atlas.chin_drop
        jaw_share = self.rig.jaw_share
        mixes = crossfades(path, atlas)
        shots = []
        drawn = np.empty(len(poses))
        for i, (pose, mix) in enumerate(zip(poses, mixes, strict=True)):
            gap = sum(w * atlas.gap[j] for j, w in mix)
            width = sum(w * atlas.width[j] for j, w in mix)
            jaw_px = max(0.0, sum(w * chin[j] for j, w in mix)) * self.iod_px / jaw_share
            ratio = width / atlas.rest_width + OPEN_NARROWING * min(gap / max(atlas.gap_p97, 1e-6), 1.0)
            spread = (ratio - 1) / (SPREAD_GAIN if ratio >= 1 else ROUND_GAIN)
            drawn[i] = min(1.0, gap / max(atlas.gap_p97, 1e-6) * SPEECH_OPEN_P97)
            body = RigPose(gap_px=float(max(jaw_px, gap * self.iod_px)), spread=float(np.clip(spread, -1.0, 1.0)), blink=pose.blink,
                           roll_deg=pose.roll_deg, shift_x_px=pose.shift_x_px, shift_y_px=pose.shift_y_px,
                           brow=pose.brow, nod=pose.nod)
            shots.append(ReferenceShot(body, tuple((int(j), float(w)) for j, w in mix)))
        runs = int(np.sum(np.diff(path) != 1)) + 1
        log.info("reference anchor: %d frames from %d runs of the presenter's footage (mean run %.1f frames)",
                 len(path), runs, len(path) / runs)
        return shots, drawn

    def frame(self, shot: Any) -> np.ndarray:
        if isinstance(shot, RigPose):  # a plain pose (previews): the landmark renderer's painted mouth
            return super().frame(shot)
        return self.composite(self.rig.render(shot.pose, paint=False), shot)

    def composite(self, frame: np.ndarray, shot: ReferenceShot) -> np.ndarray:
        """Lay the shot's mouth sample(s) into `frame` (the rig's render of the base), in place."""
        import cv2

        target = self.rig.landmarks_for(shot.pose)
        m = similarity(self.atlas.template, target[list(STABLE_POINTS)])  # canonical patch -> frame
        patch = np.zeros(self.patches.shape[1:], np.float32)
        for j, w in shot.samples:
            patch += np.float32(w) * self.patches[j]
        # Mask (canonical frame): both lip outlines (the sample's, and where the rig put the lips) plus a margin.
        inverse = cv2.invertAffineTransform(m)
        rig_lips = _outer_lips(target) @ inverse[:, :2].T + inverse[:, 2]
        mask = np.zeros(patch.shape[:2], np.uint8)
        mouth_w = float(np.linalg.norm(self.atlas.landmarks[shot.samples[0][0]][61] - self.atlas.landmarks[shot.samples[0][0]][291]))
        for j, _ in shot.samples:
            cv2.fillPoly(mask, [np.round(_outer_lips(self.atlas.landmarks[j]) * 4).astype(np.int32)], 255, shift=2)
        cv2.fillPoly(mask, [np.round(rig_lips * 4).astype(np.int32)], 255, shift=2)
        grow = max(1, int(round(MASK_MARGIN * mouth_w)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), FEATHER * mouth_w / 2)
        h, w = frame.shape[:2]
        corners = np.array([[0, 0], [patch.shape[1], 0], [0, patch.shape[0]], [patch.shape[1], patch.shape[0]]], np.float32)
        placed = corners @ m[:, :2].T + m[:, 2]
        x0, y0 = np.maximum(np.floor(placed.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(placed.max(axis=0)).astype(int) + 1, [w, h])
        if x1 <= x0 or y1 <= y0:
            return frame
        shift = m.copy()
        shift[:, 2] -= (x0, y0)
        size = (int(x1 - x0), int(y1 - y0))
        warped = cv2.warpAffine(patch, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        a = cv2.warpAffine(alpha, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(region + (warped - region) * a + 0.5, 0, 255).astype(np.uint8)
        return frame


def _outer_lips(lm: np.ndarray) -> np.ndarray:
    return np.concatenate([lm[list(OUTER_UPPER_LIP)], lm[list(OUTER_LOWER_LIP)][::-1]])


def _skin_ring(shape: tuple[int, int], lm: np.ndarray) -> np.ndarray:
    """A ring of skin around the mouth (between 1.15 and 1.6 times the outer lip outline), without the lips."""
    import cv2

    lips = _outer_lips(lm)
    centre = lips.mean(axis=0)
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(centre + 1.6 * (lips - centre)).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(centre + 1.15 * (lips - centre)).astype(np.int32)], 0)
    return mask > 0


def match_colours(atlas: MouthAtlas, base: np.ndarray, base_landmarks: np.ndarray) -> np.ndarray:
    """The atlas patches with their colours matched to the base picture on the skin around the mouth: Lab
    means shifted, lightness contrast scaled (per-sample spread, so head motion in the footage does not
    count as contrast). One transform for all samples, so nothing flickers."""
    import cv2

    ring = _skin_ring(base.shape[:2], base_landmarks)
    base_lab = cv2.cvtColor(base, cv2.COLOR_RGB2LAB)[ring].astype(np.float32)
    picks = np.linspace(0, len(atlas) - 1, min(len(atlas), 40)).astype(int)
    rings = [cv2.cvtColor(atlas.patches[j], cv2.COLOR_RGB2LAB)[_skin_ring(atlas.patches.shape[1:3], atlas.landmarks[j])]
             .astype(np.float32) for j in picks]
    rings = [r for r in rings if len(r) >= 20]
    if len(base_lab) < 20 or not rings:
        return atlas.patches
    atlas_mean = np.mean([r.mean(axis=0) for r in rings], axis=0)
    atlas_std = np.mean([r.std(axis=0) for r in rings], axis=0)
    gain = np.ones(3, np.float32)
    gain[0] = float(np.clip(base_lab[:, 0].std() / max(float(atlas_std[0]), 1e-3), 0.85, 1.15))
    offset = base_lab.mean(axis=0) - gain * atlas_mean
    if abs(gain[0] - 1) < 0.03 and np.all(np.abs(offset) < 1.5):
        return atlas.patches
    log.info("reference patches colour-matched to the base: L gain %.2f, Lab offset %s", gain[0],
             np.round(offset, 1).tolist())
    out = np.empty_like(atlas.patches)
    for j, patch in enumerate(atlas.patches):
        lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32) * gain + offset
        out[j] = cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    return out
