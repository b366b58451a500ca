"""The article video's parts, as the article flow's tasks call them (I/O at the edges: local paths in,
files out):

    images = gate_images(paths)                          # the media gate for stills, before any decoding
    shots = plan_shots(article, narration)               # which picture is on screen when
    plan = render_pictures(article, paths, shots, out, size=...)   # Ken Burns + cross-fades, one aspect
    thirds = caption_thirds(article, shots, offset_s=intro_s)      # captions and credits
    transcript = programme_transcript([(intro_speech, 0.0), (narration.speech, intro_s), ...])
    timeline = article_timeline(article, shots, ...)     # OTIO/EDL: stills, dissolves, anchor, narration
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsroom import lang
from newsroom.article.kenburns import (
    FADE_S,
    Shot,
    describe,
    detect_faces,
    load_still,
    make_plate,
    plan_motion,
    render_track,
)
from newsroom.article.narration import Narration
from newsroom.article.source import Article, ArticleRefusedError
from newsroom.broadcast.segment import LowerThird
from newsroom.config import Settings
from newsroom.media.gate import ImageInfo, admit_image
from newsroom.types import Segment, Speech, Transcript, Word
from newsroom.video.faces import FaceDetector
from newsroom.video.timeline import TimelineClip, programme_timeline, still_source_in

log = logging.getLogger("newsroom.article.video")

MAX_IMAGE_BYTES = 50 * 1024 * 1024  # a press photo is a few MB; the pixel limit is the media gate's
CAPTION_DELAY_S = 0.6  # after the picture appears
CAPTION_SHOW_S = 5.0
ANCHOR_REEL = "ANCHOR"
NARRATION_REEL = "NARR"


def gate_images(paths: Sequence[Path], settings: Settings | None = None) -> list[ImageInfo]:
    """Every picture through the media gate (JPEG/PNG/WebP, within the pixel limit, read from the header
    only), and within `MAX_IMAGE_BYTES`; MediaRefusedError/MediaError naming the picture otherwise."""
    infos = []
    for n, path in enumerate(paths, 1):
        path = Path(path)
        if path.is_file() and path.stat().st_size > MAX_IMAGE_BYTES:
            raise ArticleRefusedError(f"image {n} ({path.name}) is {path.stat().st_size / 1e6:.0f} MB, over the "
                                      f"{MAX_IMAGE_BYTES / 1e6:.0f} MB limit for an article picture: export it smaller")
        infos.append(admit_image(path, settings, what=f"image {n}"))
    return infos


def plan_shots(article: Article, narration: Narration) -> list[Shot]:
    """Shots on the narration's clock: each paragraph's picture from the middle of the pause before it to the
    middle of the pause after it (paragraphs in a row that share a picture share one shot), so the
    cross-fade between two pictures falls in the pause and a picture is whole on screen while its
    paragraph is read."""
    spans = sorted(narration.spans, key=lambda s: s.start_s)
    shots: list[Shot] = []
    for i, span in enumerate(spans):
        image = article.image_for(span.paragraph)
        start = 0.0 if i == 0 else (spans[i - 1].end_s + span.start_s) / 2
        if shots and shots[-1].image == image:
            continue
        if shots:
            shots[-1] = Shot(shots[-1].image, shots[-1].start_s, start)
        shots.append(Shot(image, start, 0.0))
    last = shots[-1]
    shots[-1] = Shot(last.image, last.start_s, narration.speech.duration_s)
    return shots


@dataclass(frozen=True, slots=True)
class PicturePlan:
    """What `render_pictures` drew: per shot, its picture, times and the recorded plate and window (shots.json)."""

    size: tuple[int, int]
    fps: float
    shots: tuple[Shot, ...]
    described: tuple[dict[str, Any], ...]
    faces: tuple[tuple[tuple[int, int, int, int], ...], ...]  # per image: face boxes found in the picture

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "fps": self.fps, "fade_s": FADE_S,
                "shots": [{"image": s.image, "start_s": round(s.start_s, 4), "end_s": round(s.end_s, 4), **d}
                          for s, d in zip(self.shots, self.described, strict=True)],
                "faces": [[list(b) for b in boxes] for boxes in self.faces]}


def render_pictures(images: Sequence[Path], shots: Sequence[Shot], out: str | Path, *, size: tuple[int, int],
                    fps: float, duration_s: float, detector: FaceDetector | None = None,
                    progress: Callable[[float], None] | None = None) -> PicturePlan:
    """The picture track for one frame shape: each shot's picture on its plate, moving, cross-faded."""
    detector = detector or FaceDetector.load()
    stills, faces = {}, {}
    for index in sorted({s.image for s in shots}):
        stills[index] = load_still(images[index])
        faces[index] = detect_faces(stills[index], detector)
    plates = [make_plate(stills[s.image], faces[s.image], size) for s in shots]
    motions = [plan_motion(p, i) for i, p in enumerate(plates)]
    render_track(plates, motions, shots, out, size=size, fps=fps, duration_s=duration_s, progress=progress)
    found = tuple(tuple((b.x, b.y, b.w, b.h) for b in faces.get(i, ())) for i in range(len(images)))
    log.info("picture track %dx%d: %d shots, faces in %d picture(s)", *size, len(shots),
             sum(1 for f in faces.values() if f))
    return PicturePlan(size, fps, tuple(shots), tuple(describe(p, m) for p, m in zip(plates, motions, strict=True)),
                       found)


def caption_thirds(article: Article, shots: Sequence[Shot], *, offset_s: float) -> list[LowerThird]:
    """Each picture's caption (and credit, below it) shortly after it appears, for a few seconds."""
    thirds = []
    for shot in shots:
        image = article.images[shot.image]
        start = offset_s + shot.start_s + (CAPTION_DELAY_S if shot.start_s > 0 else CAPTION_DELAY_S / 2)
        end = min(start + CAPTION_SHOW_S, offset_s + shot.end_s - FADE_S)
        if end - start < 1.0:
            continue
        if image.caption:
            thirds.append(LowerThird(image.caption, start, end, "caption"))
        if image.credit:
            thirds.append(LowerThird(image.credit, start, end, "credit"))
    return thirds


def speech_words(speech: Speech, offset_s: float) -> list[Word]:
    return [Word(w.start_s + offset_s, max(w.end_s, w.start_s) + offset_s, w.word, 1.0) for w in speech.words]


def programme_transcript(parts: Sequence[tuple[Speech, float]], language: str, duration_s: float) -> Transcript:
    """The programme's words (each speech's word timings moved by its offset), one segment per speech, for
    subtitles: the voice's own timings, no speech recognition."""
    segments = []
    for speech, offset in parts:
        words = tuple(speech_words(speech, offset))
        if words:
            segments.append(Segment(words[0].start, words[-1].end, lang.joiner(language).join(w.word for w in words),
                                    words))
    return Transcript(language, duration_s, "tts", tuple(segments))


def article_timeline(article: Article, shots: Sequence[Shot], *, fps: float, image_names: Sequence[str],
                     narration_name: str, narration_s: float, intro: tuple[str, float] | None = None,
                     outro: tuple[str, float] | None = None):
    """The article video as an OTIO timeline: the stills (dissolving where the picture changes) between the
    anchor parts on V1, the anchor's sound and the narration on A1. Names are the files' names in the story."""
    def frames(s: float) -> int:
        return round(s * fps)

    video: list[TimelineClip] = []
    audio: list[TimelineClip] = []
    at = 0
    if intro is not None:
        name, seconds = intro
        video.append(TimelineClip("anchor intro", name, ANCHOR_REEL, 0, frames(seconds)))
        audio.append(TimelineClip("anchor intro", name, ANCHOR_REEL, 0, frames(seconds)))
        at = frames(seconds)
    fade = frames(FADE_S)
    for i, shot in enumerate(shots):
        start, end = at + frames(shot.start_s), at + frames(shot.end_s)
        image = article.images[shot.image]
        video.append(TimelineClip(
            f"picture {shot.image + 1}", image_names[shot.image], f"IMG{shot.image + 1:02d}", start, end - start,
            still_source_in(fps), fade if i > 0 else 0, True,
            {"image": shot.image, "caption": image.caption, "credit": image.credit}))
    audio.append(TimelineClip("narration", narration_name, NARRATION_REEL, at, frames(narration_s)))
    at += frames(narration_s)
    if outro is not None:
        name, seconds = outro
        video.append(TimelineClip("anchor outro", name, ANCHOR_REEL, at, frames(seconds)))
        audio.append(TimelineClip("anchor outro", name, ANCHOR_REEL, at, frames(seconds)))
    return programme_timeline(article.title, fps, video, [audio], audio_channels=["A"])
