"""Anchor benchmark: seconds of 720p25 anchor video per CPU-second and per wall-second, beside the floor
every renderer pays - encoding the same number of (static) frames through the same ffmpeg pipe.

CPU time counts this process and its ffmpeg children (resource.getrusage RUSAGE_CHILDREN).
Speech: ~15 s of piper English with phoneme timings. Needs the tts extra and mediapipe.

With `--reference VIDEO` (>= 30 s of a presenter, e.g. made by docs/anchor_sheet.py --reference) it also
times building the mouth atlas (labelled by shape only: no Whisper in the timing) and the reference-mode
render of the same speech.

Run: .venv/bin/python bench/anchor.py [--portrait PHOTO] [--text TEXT] [--workers N] [--reference VIDEO]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from newsroom.anchor import LandmarkAnchorRenderer
from newsroom.config import get_settings
from newsroom.media import probe
from newsroom.media.frames import FrameWriter
from newsroom.types import PhonemeTiming, Speech

TEXT = ("Good evening. The city council approved a new budget today, with more money for buses and bike lanes. "
        "Council member Maria Lopez said the plan would cut waiting times for thousands of riders. "
        "Work on the first new routes begins in the spring, and the council will review progress in a year.")


def synthesise(text: str, path: Path) -> Speech:
    from piper import PiperVoice, SynthesisConfig

    from newsroom.models import ModelRegistry

    voice = PiperVoice.load(ModelRegistry().resolve("piper-joe-en"), include_alignments=True)
    rate, cursor = voice.config.sample_rate, 0
    chunks, phonemes = [], []
    for chunk in voice.synthesize(text, syn_config=SynthesisConfig(normalize_audio=False, volume=0.9), include_alignments=True):
        for a in chunk.phoneme_alignments or ():
            phonemes.append(PhonemeTiming(a.phoneme, cursor / rate, (cursor + a.num_samples) / rate))
            cursor += a.num_samples
        chunks.append(chunk.audio_int16_array)
    audio = np.concatenate(chunks)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(audio.tobytes())
    return Speech(str(path), rate, len(audio) / rate, "en", "piper", text, tuple(phonemes))


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds including finished children) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", type=Path, default=None, help="a front-facing photo (default: NASA astronaut)")
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--workers", type=int, default=get_settings().anchor_workers,
                        help="processes for the parallel render (default: NEWSROOM_ANCHOR_WORKERS)")
    parser.add_argument("--reference", type=Path, default=None, help="presenter footage: also time reference mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        speech = synthesise(args.text, tmp / "speech.wav")
        holder: list[LandmarkAnchorRenderer] = []
        load_wall, load_cpu = measured(lambda: holder.append(LandmarkAnchorRenderer.load(args.portrait)))
        renderer = holder[0]
        frames = round(speech.duration_s * renderer.fps)
        width, height = renderer.size

        def encode_only() -> None:
            with FrameWriter(tmp / "floor.mp4", width=width, height=height, fps=renderer.fps, crf=renderer.crf,
                             preset=renderer.preset, yuv=True) as writer:
                for _ in range(frames):
                    writer.write(renderer.rig.rest)

        floor_wall, floor_cpu = measured(encode_only)
        track, events = renderer.tracks(speech, frames)
        poses, _ = renderer.poses(track, speech.duration_s, events)
        rig_wall, rig_cpu = measured(lambda: [renderer.frame(p) for p in poses])
        renderer.workers = 1
        render_wall, render_cpu = measured(lambda: renderer.render(speech, tmp / "anchor.mp4"))
        renderer.workers = args.workers
        parts_wall, parts_cpu = measured(lambda: renderer.render(speech, tmp / "anchor-parts.mp4"))
        video_s = probe(tmp / "anchor.mp4").duration_s
        reference_rows = []
        if args.reference is not None:
            from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer

            atlases: list[MouthAtlas] = []
            atlas_wall, atlas_cpu = measured(lambda: atlases.append(MouthAtlas.build(args.reference)))
            reference = ReferenceAnchorRenderer.load(atlases[0])
            ref_wall, ref_cpu = measured(lambda: reference.render(speech, tmp / "reference.mp4"))
            reference_rows = [("reference mode (select+draw+encode)", ref_wall, ref_cpu)]
            print(f"mouth atlas from {atlases[0].duration_s:.1f}s of footage: {atlas_wall:.1f}s wall, {atlas_cpu:.1f} CPU-s "
                  f"({atlas_cpu / atlases[0].duration_s:.2f} CPU-s per footage second, once per presenter)")

    print(f"speech: {speech.duration_s:.2f}s, {len(speech.phonemes)} phonemes; video: {video_s:.2f}s, {frames} frames "
          f"{width}x{height}@{renderer.fps:g}")
    print(f"portrait load (face mesh + rig): {load_wall:.2f}s wall, {load_cpu:.2f} CPU-s (once per renderer)")
    print(f"{'step':37s} {'video-s/CPU-s':>14s} {'CPU-s/video-s':>14s} {'video-s/wall-s':>15s} {'ms/frame CPU':>13s}")
    for name, wall, cpu in (("encode static frames (floor)", floor_wall, floor_cpu),
                            ("rig warp only (no encoding)", rig_wall, rig_cpu),
                            ("anchor render (warp+encode+mux)", render_wall, render_cpu),
                            (f"anchor render, {args.workers} processes", parts_wall, parts_cpu), *reference_rows):
        print(f"{name:37s} {video_s / cpu:14.2f} {cpu / video_s:14.3f} {video_s / wall:15.2f} {1000 * cpu / frames:13.1f}")
    print(f"{args.workers} processes vs 1: {render_wall / parts_wall:.2f}x faster (wall)")


if __name__ == "__main__":
    main()
