"""Contact sheets of the anchor's mouth for the docs: not part of the test run.

    .venv/bin/python docs/anchor_sheet.py [--portrait PHOTO] [--out docs/img/anchor-visemes.png]
    .venv/bin/python docs/anchor_sheet.py --reference [--whisper] [--out docs/img/anchor-reference.png]

Renders every viseme of the Oculus/Meta set (`VISEME_GROUPS`: sil, PP, FF, TH, DD, kk, CH, SS, nn, RR,
aa, E, I, O, U) on the anchor portrait with the landmark renderer, crops the lower face and shows it at
2x, labelled with the sound and an example word. Each tile's caption also carries the measured teeth share
and near-black share of the interior (`newsroom.anchor.quality.mouth_stats`).

`--reference` makes the reference-footage sheet: 30 s of "presenter footage" rendered by the landmark
renderer from a piper read with known phonemes, then reframed, warmed and given grain by ffmpeg so it
is not the still's own pixels; a mouth atlas built from it (labelled from the known phonemes, or with
`--whisper` from the footage's own Whisper transcript); and a new read rendered three ways - the landmark
renderer's painted mouth, the presenter's mouth on a reference frame, and on the still. Rows show mouth
crops (found by Face Mesh on the decoded videos) at the same instants; the log reports each video's
measured lip-gap correlation with the read.

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


REFERENCE_SCRIPT = (
    "Good evening, and welcome to the news. The city council met this morning to approve a new budget. "
    "It puts more money into buses, bike lanes and the repair of old bridges. Officials say the first projects "
    "will start in the spring. Some residents worry about the cost, while others say the changes are long overdue. "
    "In sport, the local football club won its third match in a row on Saturday. And the weather: expect rain "
    "tomorrow morning, clearing by the afternoon, with sunshine through the weekend. That is all for tonight.")
NEW_READ = ("Police closed the main road after a water pipe burst early on Tuesday. Mom bought a big apple pie "
            "for the school fair.")
FOOTAGE_FILTER = "crop=1120:630:100:40,scale=1280:720,eq=saturation=1.08:gamma=0.96,noise=alls=5:allf=t"


def mouth_crops(video: Path, frames: list[int], size: tuple[int, int] = (300, 156)) -> list[np.ndarray]:
    """Mouth crops (found by Face Mesh on the decoded frames) of `frames` of `video`."""
    import cv2
    from mediapipe.python.solutions import face_mesh

    from newsroom.media import probe
    from newsroom.media.frames import read_frames

    info = probe(video)
    width, height = info.video.width, info.video.height
    crops = {}
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for i, frame in enumerate(read_frames(video, width=width, height=height, fps=25.0)):
            if i not in frames:
                continue
            lm = np.array([(p.x * width, p.y * height) for p in mesh.process(frame).multi_face_landmarks[0].landmark])
            fh = float(np.linalg.norm(lm[10] - lm[152]))
            cx, cy = (lm[13] + lm[14]) / 2
            x0, y0 = int(cx - 0.33 * fh), int(cy - 0.17 * fh)
            crop = frame[max(0, y0):y0 + int(0.34 * fh), max(0, x0):x0 + int(0.66 * fh)]
            crops[i] = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)
    return [crops[i] for i in frames]


def measured_gap(video: Path) -> np.ndarray:
    from mediapipe.python.solutions import face_mesh

    from newsroom.media.frames import read_frames

    gaps = []
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for frame in read_frames(video, width=1280, height=720, fps=25.0):
            result = mesh.process(frame)
            if not result.multi_face_landmarks:
                gaps.append(np.nan)
                continue
            lm = np.array([(p.x * 1280, p.y * 720) for p in result.multi_face_landmarks[0].landmark])
            gaps.append(np.linalg.norm(lm[13] - lm[14]) / np.linalg.norm(lm[10] - lm[152]))
    return np.array(gaps)


def reference_sheet(folder: Path, *, whisper: bool) -> np.ndarray:
    """Presenter footage -> atlas -> a new read three ways (see the module doc); returns the sheet."""
    import subprocess

    from PIL import Image, ImageDraw, ImageFont

    from newsroom.anchor import LandmarkAnchorRenderer
    from newsroom.anchor.portrait import default_portrait
    from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer, transcribe_reference
    from newsroom.media.process import binary
    from newsroom.tts import load_voice

    voice = load_voice("en")
    footage_speech = voice.synthesize(REFERENCE_SCRIPT, folder / "presenter.wav")
    LandmarkAnchorRenderer.load(seed=5).render(footage_speech, folder / "raw.mp4")
    footage = folder / "presenter.mp4"
    subprocess.run([binary("ffmpeg"), "-v", "error", "-y", "-i", str(folder / "raw.mp4"), "-vf", FOOTAGE_FILTER,
                    "-c:v", "libx264", "-crf", "18", "-c:a", "copy", str(footage)], check=True)
    if whisper:
        atlas = MouthAtlas.build(footage, transcript=transcribe_reference(footage, "en"))
    else:
        atlas = MouthAtlas.build(footage, phonemes=footage_speech.phonemes)
    speech = voice.synthesize(NEW_READ, folder / "read.wav")
    videos = {
        "landmark renderer (painted mouth)": LandmarkAnchorRenderer.load(seed=2).render(speech, folder / "landmark.mp4"),
        "reference mode, on a reference frame": ReferenceAnchorRenderer.load(atlas, seed=2).render(speech, folder / "ref-frame.mp4"),
        "reference mode, on the still": ReferenceAnchorRenderer.load(atlas, default_portrait(), seed=2).render(speech, folder / "ref-still.mp4"),
    }
    track, _ = LandmarkAnchorRenderer.load(seed=2).tracks(speech, videos["landmark renderer (painted mouth)"].frames)
    frames = [int(i) for i in np.linspace(8, track.frames - 12, 7)]
    rows = [("presenter footage (reference, 30 s)", mouth_crops(footage, [int(f) for f in np.linspace(50, 700, 7)]))]
    for label, video in videos.items():
        gap = measured_gap(Path(video.path))
        r = float(np.corrcoef(gap, track.open)[0, 1])
        log.info("%s: lip gap vs the read's target r = %.3f, face found on %d/%d frames", label, r,
                 int(np.isfinite(gap).sum()), len(gap))
        rows.append((f"{label}   r = {r:.2f}", mouth_crops(Path(video.path), frames)))
    th, tw = rows[0][1][0].shape[:2]
    pad, caption, head = 6, 26, 40
    sheet = Image.new("RGB", (7 * (tw + pad) + pad, head + len(rows) * (th + caption + pad)), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(FONT, 17)
    labels = "known phonemes" if not whisper else "its Whisper transcript"
    draw.text((pad + 4, 10), f"Reference-footage mode: mouth atlas of {len(atlas)} samples, labelled from {labels}; "
              "new read at the same instants", fill=(235, 235, 235), font=font)
    for k, (label, crops) in enumerate(rows):
        y = head + k * (th + caption + pad)
        draw.text((pad + 4, y + 2), label, fill=(235, 235, 235), font=font)
        for c, crop in enumerate(crops):
            sheet.paste(Image.fromarray(crop), (pad + c * (tw + pad), y + caption))
    return np.asarray(sheet)


def main() -> None:
    from PIL import Image

    from newsroom.anchor import LandmarkAnchorRenderer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", type=Path, default=None, help="a front-facing photo (default: NASA astronaut)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "img" / "anchor-visemes.png")
    parser.add_argument("--title", default="Anchor visemes (landmark renderer, mouth at 2x)")
    parser.add_argument("--reference", action="store_true", help="the reference-footage sheet instead")
    parser.add_argument("--whisper", action="store_true", help="label the atlas from the footage's Whisper transcript")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.reference:
        import tempfile

        out = args.out if args.out.name != "anchor-visemes.png" else args.out.with_name("anchor-reference.png")
        with tempfile.TemporaryDirectory(prefix="anchor-sheet-") as tmp:
            Image.fromarray(reference_sheet(Path(tmp), whisper=args.whisper)).save(out, optimize=True)
        log.info("wrote %s", out)
        return
    renderer = LandmarkAnchorRenderer.load(args.portrait)
    Image.fromarray(viseme_sheet(renderer, args.title)).save(args.out, optimize=True)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
