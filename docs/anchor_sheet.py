"""Contact sheets of the anchor's mouth for the docs: not part of the test run.

    .venv/bin/python docs/anchor_sheet.py [--portrait PHOTO] [--out docs/img/anchor-visemes.png]

Renders every viseme of the Oculus/Meta set (`VISEME_GROUPS`: sil, PP, FF, TH, DD, kk, CH, SS, nn, RR,
aa, E, I, O, U) on the anchor portrait with the landmark renderer, crops the lower face and shows it at
2x, labelled with the sound and an example word. Each tile's caption also carries the measured teeth share
and near-black share of the interior (`newsroom.anchor.quality.mouth_stats`).

The same script draws the "before" sheet when run against an older tree (only the pose fields that tree's
`RigPose` knows are passed), e.g. `git worktree add /tmp/old <commit>` and
`PYTHONPATH=/tmp/old .venv/bin/python docs/anchor_sheet.py --out docs/img/anchor-visemes-before.png`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("newsroom.docs")

SCALE = 2
CROP_W, CROP_H = 0.62, 0.42  # of the face height, around the mouth
COLUMNS = 5
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GROUPS = {  # fallback for trees without VISEME_GROUPS
    "sil": ("_", "silence"), "PP": ("p", "put, bat, mat"), "FF": ("f", "fat, vat"), "TH": ("θ", "think, that"),
    "DD": ("d", "tip, doll"), "kk": ("k", "call, gas"), "CH": ("ʃ", "chair, she"), "SS": ("s", "sir, zeal"),
    "nn": ("l", "lot, not"), "RR": ("ɹ", "red"), "aa": ("ɑ", "car"), "E": ("ɛ", "bed"), "I": ("i", "tip, see"),
    "O": ("o", "toe"), "U": ("u", "book, boot"),
}


def viseme_pose(rig, symbol: str):
    """The rig pose that holds one sound's viseme (only the fields this tree's RigPose has)."""
    from newsroom.anchor.rig import RigPose
    from newsroom.anchor.visemes import viseme_for

    v = viseme_for(symbol)
    values = {"gap_px": v.open * rig.max_gap_px, "spread": v.spread, "teeth": v.teeth,
              "lower_teeth": getattr(v, "lower", 0.0), "tongue": getattr(v, "tongue", 0.0),
              "press": 1.0 if getattr(v, "press", False) else 0.0}
    known = {f.name for f in dataclasses.fields(RigPose)}
    return RigPose(**{k: val for k, val in values.items() if k in known})


def mouth_tile(renderer, pose) -> tuple[np.ndarray, str]:
    """The lower face for `pose`, cropped around the mouth and scaled `SCALE`x, plus a measurement line."""
    import cv2

    rig = renderer.rig
    frame = rig.render(pose)
    lm = renderer.portrait.landmarks
    cx, cy = (lm[13] + lm[14]) / 2
    fh = rig.face_h
    x0, y0 = int(cx - CROP_W * fh / 2), int(cy - 0.4 * CROP_H * fh)
    crop = frame[y0:y0 + int(CROP_H * fh), x0:x0 + int(CROP_W * fh)]
    note = ""
    try:
        from newsroom.anchor.quality import mouth_stats

        stats = mouth_stats(frame, rig.landmarks_for(pose))
        if stats.pixels >= 8:
            note = f"teeth {stats.teeth_share:.0%}, black {stats.dark_share:.0%}"
    except ImportError:
        pass
    return cv2.resize(crop, (crop.shape[1] * SCALE, crop.shape[0] * SCALE), interpolation=cv2.INTER_CUBIC), note


def viseme_sheet(renderer, title: str) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    try:
        from newsroom.anchor.visemes import VISEME_GROUPS as groups
    except ImportError:
        groups = GROUPS
    tiles = []
    for name, (symbol, example) in groups.items():
        tile, note = mouth_tile(renderer, viseme_pose(renderer.rig, symbol))
        tiles.append((tile, f"{name}  /{symbol}/  {example}", note))
    th, tw = tiles[0][0].shape[:2]
    caption, pad, head = 44, 6, 40
    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * (tw + pad) + pad, head + rows * (th + caption + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font, small = ImageFont.truetype(FONT, 17), ImageFont.truetype(FONT, 14)
    draw.text((pad + 4, 10), title, fill=(235, 235, 235), font=font)
    for k, (tile, label, note) in enumerate(tiles):
        x, y = pad + (k % COLUMNS) * (tw + pad), head + (k // COLUMNS) * (th + caption + pad)
        sheet.paste(Image.fromarray(tile), (x, y))
        draw.text((x + 4, y + th + 3), label, fill=(235, 235, 235), font=font)
        draw.text((x + 4, y + th + 24), note, fill=(170, 170, 170), font=small)
    return np.asarray(sheet)


def main() -> None:
    from PIL import Image

    from newsroom.anchor import LandmarkAnchorRenderer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", type=Path, default=None, help="a front-facing photo (default: NASA astronaut)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "img" / "anchor-visemes.png")
    parser.add_argument("--title", default="Anchor visemes (landmark renderer, mouth at 2x)")
    args = parser.parse_args()
    renderer = LandmarkAnchorRenderer.load(args.portrait)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(viseme_sheet(renderer, args.title)).save(args.out, optimize=True)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
