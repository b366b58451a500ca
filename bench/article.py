"""Article-to-video benchmark: each step of the article flow's work on the sample article, in one process
(no Prefect, no store), with wall and CPU seconds (this process and its ffmpeg children) per minute of output.

Run: .venv/bin/python bench/article.py [ARTICLE.md] [--target-s 45] [--anchor intro|none]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from newsroom.anchor import LandmarkAnchorRenderer
from newsroom.article import (
    gate_images,
    parse_article,
    plan_narration,
    plan_shots,
    render_pictures,
    speak_narration,
)
from newsroom.article.video import caption_thirds, programme_transcript
from newsroom.audio.loudness import profile
from newsroom.broadcast.programme import Part, assemble_programme
from newsroom.config import get_settings
from newsroom.lang.spoken import speakable
from newsroom.tts import load_voice

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "article" / "space-exhibition.md"


def cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("article", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--target-s", type=float, default=45.0)
    parser.add_argument("--anchor", choices=("intro", "none"), default="intro")
    args = parser.parse_args()
    steps: list[tuple[str, float, float]] = []
    mark = [time.perf_counter(), cpu_s()]

    def step(name: str) -> None:
        now, cpu = time.perf_counter(), cpu_s()
        steps.append((name, now - mark[0], cpu - mark[1]))
        mark[:] = [now, cpu]

    from newsroom.subtitles import build_cues, write_subtitles

    with tempfile.TemporaryDirectory(prefix="bench-article-") as tmp:
        out = Path(tmp)
        article = parse_article(args.article.read_bytes(), name=args.article.name)
        images = [args.article.parent / i.file for i in article.images]
        gate_images(images)
        voice = load_voice(article.language)
        step("read + gate + load the voice")
        narration = speak_narration(plan_narration(article, args.target_s), voice, out / "narration.wav", workdir=out)
        step("narration (TTS)")
        parts, spoken, intro_s = [], [(narration.speech, 0.0)], 0.0
        if args.anchor == "intro":
            speech = voice.synthesize(speakable(article.standfirst or article.title, article.language), out / "a.wav")
            video = LandmarkAnchorRenderer.load(None, workers=get_settings().anchor_workers).render(speech, out / "a.mp4")
            intro_s = round(video.duration_s * 25) / 25
            parts.append(Part(out / "a.mp4"))
            spoken = [(speech, 0.0), (narration.speech, intro_s)]
            step("anchor intro (TTS + lip-sync)")
        shots = plan_shots(article, narration)
        for size, name in (((1280, 720), "wide"), ((720, 1280), "vertical")):
            render_pictures(images, shots, out / f"{name}.mp4", size=size, fps=25, duration_s=narration.speech.duration_s)
            step(f"pictures {size[0]}x{size[1]} (Ken Burns)")
        total = intro_s + round(narration.speech.duration_s * 25) / 25
        lines = programme_transcript(spoken, article.language, total)
        srt = out / "s.srt"
        srt.write_text(write_subtitles(build_cues(lines, fps=25), "srt", article.language), "utf-8")
        made = assemble_programme([*parts, Part(out / "wide.mp4", out / "narration.wav")], out=out / "article.mp4",
                                  burned=out / "burned.mp4", subtitles=srt, language=article.language,
                                  lower_thirds=caption_thirds(article, shots, offset_s=intro_s),
                                  master_to=profile("broadcast"))
        step("assemble 16:9 (soft + burned, mastered)")
        assemble_programme([*parts, Part(out / "vertical.mp4", out / "narration.wav")], burned=out / "vertical-out.mp4",
                           subtitles=srt, language=article.language, master_to=profile("broadcast"), size=(720, 1280),
                           burn_margin_v_px=256)
        step("assemble 9:16 (burned, mastered)")
        from newsroom import covers

        covers.make_covers(out / "wide.mp4", article.title, out / "covers", language=article.language)
        step("covers")
    minutes = made.duration_s / 60
    print(f"{args.article.name}: {made.duration_s:.1f} s of video ({args.anchor} anchor), {len(shots)} shots")
    print(f"{'step':<42} {'wall s':>8} {'CPU s':>8}")
    for name, wall, cpu in steps:
        print(f"{name:<42} {wall:8.1f} {cpu:8.1f}")
    wall, cpu = sum(s[1] for s in steps), sum(s[2] for s in steps)
    print(f"{'total':<42} {wall:8.1f} {cpu:8.1f}")
    print(f"per minute of output: {wall / minutes:.1f} wall-s, {cpu / minutes:.1f} CPU-s")


if __name__ == "__main__":
    main()
