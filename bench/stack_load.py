"""Load through the real stack: OBJECTS tiny objects dropped into the inbox at once (each one a bucket
notification to the webhook) while CMS clients storm the webhook with signed story requests (STORM stories,
each sent REPEATS times with the same Idempotency-Key) and poll their status.

Checks, then reports: every object became exactly one story run that finished, or failed with a reason
(or was refused into failed/ with its reason); no Idempotency-Key started two runs; nothing lost. Reports
throughput (stories per hour per core, wall clock from the first drop to the last finished story) and the
webhook's latency (p50/p99) for the story requests and the status polls made under that load.

Most objects are 1.5 s test-pattern clips with a tone (no speech: ingest, edit, then "nothing to write
about"); a few are audio-only (the edit fails: no pictures) and a few are not media (refused by the scan).

Run: .venv/bin/python bench/stack_load.py [--objects 50] [--storm 10] [--repeats 5] [--clients 8]
     [--stories-at-once 2] [--keep] [--json PATH]
Starts its own stack (two cpu workers, one heavy) in a temporary folder on free loopback ports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from report import Table, add_json_option, write_tables

from newsroom.config import Settings
from newsroom.stack import Stack
from newsroom.webhook import auth

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
log = logging.getLogger("bench.stack_load")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_objects(folder: Path, count: int, offset_hz: int, *, mixed: bool = True) -> dict[str, Path]:
    """name -> file: tiny videos; when `mixed`, ~5% audio-only and ~5% not media (at least one of each)."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = audio = max(1, count // 20) if mixed else 0
    made = {}
    for n in range(count):
        tone = offset_hz + 13 * n  # a distinct tone: distinct content, distinct story
        if n < bad:
            path = folder / f"notes-{n:03d}.mp4"
            path.write_text(f"meeting notes {n}, not a video\n" * 20)
        elif n < bad + audio:
            path = folder / f"radio-{n:03d}.m4a"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={tone}",
                            "-t", "1.5", "-c:a", "aac", str(path)], check=True)
        else:
            path = folder / f"clip-{n:03d}.mp4"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                            "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=44100", "-t", "1.5",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                           check=True)
        made[path.name] = path
    return made


class Api:
    """The Prefect REST API, retried on 503 like Prefect's own client (SQLite says 'busy' under load)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=60)

    def post(self, path: str, body: dict):
        for attempt in range(10):
            response = self.http.post(f"{self.url}{path}", json=body)
            if response.status_code not in (429, 503):
                break
            time.sleep(1 + attempt)
        response.raise_for_status()
        return response.json()

    def runs(self, deployment_id: str) -> list[dict]:
        found, offset = [], 0
        while page := self.post("/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [deployment_id]}},
                                                      "limit": 200, "offset": offset}):
            found += page
            offset += len(page)
        return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--storm", type=int, default=10, help="distinct stories the CMS clients request")
    parser.add_argument("--repeats", type=int, default=5, help="times each story request is sent (same key)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--stories-at-once", type=int, default=2)
    parser.add_argument("--timeout-min", type=float, default=90)
    parser.add_argument("--keep", action="store_true", help="leave the stack running (its folder is printed)")
    add_json_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # 16 uploads at once share a pool of 10: harmless
    cores = os.cpu_count() or 1
    root = Path(tempfile.mkdtemp(prefix="newsroom-load-"))
    stack = Stack(Settings(stack_dir=root / "stack", stack_s3_port=free_port(), stack_prefect_port=free_port(),
                           stack_webhook_port=free_port(), stack_cpu_workers=2, stack_heavy_workers=1,
                           stack_worker_poll_s=2, stack_stories_at_once=args.stories_at_once))
    started = time.perf_counter()
    stack.up()
    log.info("stack up in %.0f s (%s)", time.perf_counter() - started, root)
    try:
        tables = run_load(stack, root, args, cores)
    finally:
        if args.keep:
            print(f"stack left running: NEWSROOM_STACK_DIR={stack.paths.root} newsroom stack down")
        else:
            leftovers = stack.down()
            if leftovers:
                print(f"WARNING: {len(leftovers)} stack processes outlived `down` and were killed")
    for table in tables:
        print()
        print(table.markdown())
    write_tables(args.json_path, tables)


def run_load(stack: Stack, root: Path, args, cores: int) -> list[Table]:
    store, api = stack.open_store(), Api(stack.api_url)
    secret = stack.credentials()["webhook_secret"]
    inbox = make_objects(root / "inbox", args.objects, 200)
    storm = make_objects(root / "storm", args.storm, 3000, mixed=False)
    for name, path in storm.items():
        store.put_file(f"uploads/load/{name}", path)
    package = api.post("/deployments/filter", {"deployments": {"name": {"any_": ["package"]}}})[0]["id"]
    shas = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in inbox.items()}

    post_latencies: list[float] = []
    get_latencies: list[float] = []
    storm_runs: dict[str, set[str]] = {}
    lock = threading.Lock()

    def request_story(job: tuple[str, int]) -> None:
        name, _ = job
        key = f"load-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
        body = json.dumps({"source_key": f"uploads/load/{name}", "target_s": 5, "asr_model": "tiny.en"}).encode()
        with httpx.Client(timeout=120) as client:
            while True:  # as a CMS does: a 503 is retried with a fresh signature and the same key
                headers = {"Content-Type": "application/json", auth.IDEMPOTENCY_HEADER: key,
                           **auth.signed_headers(secret, "POST", "/v1/stories", body)}
                t = time.perf_counter()
                response = client.post(f"{stack.webhook_url}/v1/stories", content=body, headers=headers)
                with lock:
                    post_latencies.append(time.perf_counter() - t)
                if response.status_code == 503:
                    time.sleep(float(response.headers.get("retry-after", "5")))
                    continue
                if response.status_code != 202:
                    raise SystemExit(f"story request refused: {response.status_code} {response.text}")
                with lock:
                    storm_runs.setdefault(key, set()).add(response.json()["id"])
                return

    def drop(item: tuple[str, Path]) -> None:
        store.put_file(f"inbox/{item[0]}", item[1])

    t0 = time.perf_counter()
    jobs = [(name, r) for r in range(args.repeats) for name in storm]
    with ThreadPoolExecutor(16) as droppers, ThreadPoolExecutor(args.clients) as clients:
        dropped = droppers.map(drop, inbox.items())
        requested = clients.map(request_story, jobs)
        list(dropped)
        list(requested)
    log.info("dropped %d objects and sent %d story requests in %.1f s", len(inbox), len(jobs), time.perf_counter() - t0)

    storm_ids = {next(iter(ids)) for ids in storm_runs.values()}
    deadline = time.monotonic() + args.timeout_min * 60
    refused: dict[str, str] = {}
    while True:
        runs = api.runs(package)
        mine = [r for r in runs if (r["idempotency_key"] or "").startswith("inbox:") or r["id"] in storm_ids]
        final = [r for r in mine if r["state"]["type"] in FINAL]
        for info in store.list("failed/"):
            if info.key.endswith(".error.json"):
                record = store.get_json(info.key)
                refused[record["source_key"].removeprefix("inbox/")] = str(record["error"])[:120]
        waiting_inbox = [o.key for o in store.list("inbox/")]
        expected = len(inbox) - len(refused) + len(storm_ids)
        with httpx.Client(timeout=60) as client:  # the CMS polls its stories while all this runs
            for run_id in list(storm_ids)[:4]:
                path = f"/v1/stories/{run_id}"
                t = time.perf_counter()
                client.get(f"{stack.webhook_url}{path}", headers=auth.signed_headers(secret, "GET", path))
                get_latencies.append(time.perf_counter() - t)
        log.info("%d/%d story runs final, %d refused, %d objects still in the inbox", len(final), expected,
                 len(refused), len(waiting_inbox))
        if not waiting_inbox and len(mine) >= expected and len(final) == len(mine):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"not finished after {args.timeout_min} min: {len(final)}/{expected} runs final")
        time.sleep(10)
    wall_s = time.perf_counter() - t0
    last_end = max(_ts(r["end_time"]) for r in final if r["end_time"])

    # Tally: one run per content (inbox) and per Idempotency-Key (storm); every object accounted for.
    by_key: dict[str, list[dict]] = {}
    for run in mine:
        by_key.setdefault(run["idempotency_key"] or run["id"], []).append(run)
    twice = {k: len(v) for k, v in by_key.items() if len(v) > 1}
    inbox_keys = {f"inbox:{sha}" for name, sha in shas.items() if name not in refused}
    lost = sorted(k for k in inbox_keys if k not in by_key) + sorted(
        k for k, ids in storm_runs.items() if len(ids) != 1)
    outcomes = {"completed": 0, "failed with a reason": 0, "failed without a reason": 0}
    reasons: dict[str, int] = {}
    for run in mine:
        if run["state"]["type"] == "COMPLETED":
            outcomes["completed"] += 1
        elif run["state"]["message"]:
            outcomes["failed with a reason"] += 1
            reason = run["state"]["message"].split(":", 2)[-1].strip()[:90]
            reasons[reason] = reasons.get(reason, 0) + 1
        else:
            outcomes["failed without a reason"] += 1
    scans = len(api.post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["storage-event"]}}, "limit": 200}))
    events = stack.paths.log("webhook").read_text().count("POST /v1/storage-events HTTP/1.1\" 202")
    stories = len(mine)
    busy_s = last_end - _ts(min(r["start_time"] for r in mine if r["start_time"]))
    tables = [
        Table("load", f"Load through the stack: {len(inbox)} objects dropped at once + {len(jobs)} story requests "
                      f"({len(storm)} stories x {args.repeats}) from {args.clients} clients; 2 cpu workers, 1 heavy, "
                      f"{args.stories_at_once} stories at once, {cores} cores",
              ["what", "count"],
              [["objects dropped into the inbox", len(inbox)],
               ["refused by the scan into failed/ (with a reason)", len(refused)],
               ["story runs (inbox + CMS)", stories],
               *[[f"story runs {k}", v] for k, v in outcomes.items()],
               ["Idempotency-Keys / contents with more than one run", len(twice)],
               ["objects or requests lost (no run, not refused)", len(lost)],
               ["bucket notifications accepted by the webhook", events],
               ["inbox scans started by notifications", scans]],
              [f"failure reasons: {'; '.join(f'{n} x {r}' for r, n in reasons.items()) or 'none'}",
               f"refusal reasons: {'; '.join(sorted(set(refused.values()))) or 'none'}"]),
        Table("load", "Throughput and webhook latency under that load", ["measure", "value"],
              [["wall clock, first drop -> last story final (s)", round(wall_s, 1)],
               ["stories finished per hour", round(stories / wall_s * 3600, 1)],
               ["stories per hour per core", round(stories / wall_s * 3600 / cores, 1)],
               ["first story start -> last story end (s)", round(busy_s, 1)],
               ["POST /v1/stories p50 / p99 (ms)",
                f"{statistics.median(post_latencies) * 1000:.0f} / {percentile(post_latencies, 0.99) * 1000:.0f}"],
               ["GET /v1/stories/{id} p50 / p99 (ms)",
                f"{statistics.median(get_latencies) * 1000:.0f} / {percentile(get_latencies, 0.99) * 1000:.0f}"],
               ["story requests answered 503 (retried by the client)", len(post_latencies) - len(jobs)]]),
    ]
    if twice or lost or outcomes["failed without a reason"]:
        print(f"FAILED CHECKS: twice={twice} lost={lost} outcomes={outcomes}", file=sys.stderr)
    return tables


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    main()
