"""Webhook benchmark: POST /v1/stories throughput and latency on loopback, and accepted -> run-start time.

Starts a real Prefect API (the test harness: a temporary SQLite server), `newsroom webhook` and, for the
start-time part, `newsroom serve` as processes, all on loopback. Side by side, the reference: the same
flow-run creation called straight on the Prefect API (what the webhook adds = signature check, validation,
object stat, the idempotent create), and a bare uvicorn endpoint (the HTTP floor). Every POST creates a
real flow run (unique Idempotency-Key); nothing executes during the throughput part (no worker yet).

Run: .venv/bin/python bench/webhook.py [--seconds 30] [--clients 8] [--starts 5]
Machines here are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from report import Table, add_json_option, write_tables

from newsroom.storage import LocalStore
from newsroom.webhook import auth

ROOT = Path(__file__).resolve().parents[1]
NEWSROOM = str(Path(sys.executable).with_name("newsroom"))
SECRET = "bench-webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


def hammer(seconds: float, clients: int, send) -> list[float]:
    """Call `send(client, i)` from `clients` threads until `seconds` pass; returns per-request latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        i = 0
        with httpx.Client(timeout=60) as client:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                send(client, f"{n}-{i}")
                with lock:
                    latencies.append(time.perf_counter() - t)
                i += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return latencies


def row(name: str, latencies: list[float], seconds: float) -> tuple[str, float, float, float]:
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
    return name, len(lat) / seconds, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--starts", type=int, default=5)
    add_json_option(parser)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.package import newsroom_package

    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=180):
        store = LocalStore(Path(tmp) / "store")
        store.put_bytes("uploads/notes.mp4", b"not media: runs fail fast in ingest")
        newsroom_package.to_deployment("package").apply()
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "NEWSROOM_STORAGE_BACKEND": "local",
               "NEWSROOM_LOCAL_ROOT": str(Path(tmp) / "store"), "NEWSROOM_WEBHOOK_SECRET": SECRET}
        port, floor_port = free_port(), free_port()
        web = subprocess.Popen([NEWSROOM, "webhook", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        floor_app = ("from fastapi import FastAPI, Request\napp = FastAPI()\n"
                     "@app.post('/v1/stories', status_code=202)\nasync def s(r: Request):\n"
                     "    return {'id': 'x', 'body': len(await r.body())}\n")
        (Path(tmp) / "floor.py").write_text(floor_app)
        floor = subprocess.Popen([sys.executable, "-m", "uvicorn", "floor:app", "--port", str(floor_port),
                                  "--log-level", "warning"], cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url, floor_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
            wait_http(f"{url}/healthz")
            wait_http(f"{floor_url}/docs")
            body = json.dumps({"source_key": "uploads/notes.mp4", "asr_model": "tiny.en"}).encode()

            def webhook_send(client: httpx.Client, i: str) -> str:
                # Each CMS request differs (its own story reference), so no two share a signature.
                key = f"bench-{uuid.uuid4().hex}"
                body = json.dumps({"source_key": "uploads/notes.mp4", "asr_model": "tiny.en", "cms_ref": key}).encode()
                headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body), auth.IDEMPOTENCY_HEADER: key,
                           "Content-Type": "application/json"}
                response = client.post(f"{url}/v1/stories", content=body, headers=headers)
                assert response.status_code == 202, response.text
                return response.json()["id"]

            def floor_send(client: httpx.Client, i: str) -> None:
                assert client.post(f"{floor_url}/v1/stories", content=body).status_code == 202

            async def direct(seconds: float, clients: int) -> list[float]:
                from prefect.deployments import arun_deployment

                latencies: list[float] = []
                deadline = time.perf_counter() + seconds
                async with get_client() as client:
                    async def worker() -> None:
                        while time.perf_counter() < deadline:
                            t = time.perf_counter()
                            await arun_deployment("newsroom-package/package", client=client, timeout=0,
                                                  parameters={"source": "uploads/notes.mp4"}, as_subflow=False,
                                                  idempotency_key=f"direct-{uuid.uuid4().hex}")
                            latencies.append(time.perf_counter() - t)
                    await asyncio.gather(*(worker() for _ in range(clients)))
                return latencies

            rows = [row("webhook POST /v1/stories", hammer(args.seconds, args.clients, webhook_send), args.seconds),
                    row("reference: run_deployment direct", asyncio.run(direct(args.seconds, args.clients)), args.seconds),
                    row("floor: bare uvicorn endpoint", hammer(args.seconds, args.clients, floor_send), args.seconds)]
            print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each, loopback")
            print(f"{'':36s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}")
            for name, rps, p50, p99 in rows:
                print(f"{name:36s} {rps:8.1f} {p50:8.1f} {p99:8.1f}")
            print(f"webhook / direct throughput: {rows[0][1] / rows[1][1]:.2f}x; webhook / floor: {rows[0][1] / rows[2][1]:.2f}x")
            table = Table("webhook", f"Webhook throughput: {args.clients} concurrent clients, {args.seconds:.0f} s each, "
                                     "loopback (test-harness Prefect server, SQLite)",
                          ["endpoint", "req/s", "p50 ms", "p99 ms", "x direct API"],
                          [[name, round(rps, 1), round(p50, 1), round(p99, 1), round(rps / rows[1][1], 2)]
                           for name, rps, p50, p99 in rows])

            # Accepted -> running: a served runner picks the run up (runs fail fast in ingest: not media).
            async def drop_backlog() -> None:  # the throughput runs must not queue ahead of the timed ones
                async with get_client() as client:
                    while runs := await client.read_flow_runs(limit=200):
                        await asyncio.gather(*(client.delete_flow_run(run.id) for run in runs))
            asyncio.run(drop_backlog())
            serve = subprocess.Popen([NEWSROOM, "serve", "--inbox-cron", ""], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                time.sleep(15)
                delays = []
                with httpx.Client(timeout=60) as client:
                    for _ in range(args.starts):
                        accepted_at = datetime.now(UTC)
                        run_id = webhook_send(client, "start")
                        delays.append(asyncio.run(_start_delay(run_id, accepted_at)))
                poll = os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", "10 (default)")
                print(f"accepted -> flow run RUNNING: median {statistics.median(delays):.1f} s, max {max(delays):.1f} s "
                      f"over {len(delays)} runs (runner poll every {poll} s)")
                table.notes.append(f"accepted -> flow run RUNNING: median {statistics.median(delays):.1f} s, max "
                                   f"{max(delays):.1f} s over {len(delays)} runs (runner poll every {poll} s)")
                write_tables(args.json_path, [table])
            finally:  # the whole group: the runner's flow-run processes too
                os.killpg(serve.pid, signal.SIGTERM)
                serve.wait(30)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(serve.pid, signal.SIGKILL)
        finally:
            for proc in (web, floor):
                proc.terminate()
                proc.wait(30)


async def _start_delay(run_id, accepted_at: datetime, timeout_s: float = 120) -> float:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while time.monotonic() < deadline:
            run = await client.read_flow_run(uuid.UUID(run_id))
            if run.start_time:
                return (run.start_time - accepted_at).total_seconds()
            await asyncio.sleep(0.2)
    raise SystemExit(f"run {run_id} did not start within {timeout_s} s")


if __name__ == "__main__":
    main()
