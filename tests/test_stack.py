"""The real stack (`newsroom stack`): supervised JuiceFS S3 gateway, Prefect server, two cpu workers, one
heavy worker and the webhook, started once for the session (tests/conftest.py `stack`).

What is proven here through the processes themselves, read back from the Prefect REST API: the bucket's
own notification reaches the webhook and starts the inbox scan that takes the object; a story sent to the
webhook runs its package on a cpu worker and its broadcast stage on the heavy worker; two cpu workers share
a batch; a stalled S3 server is a bounded 503 / TransientError, not a hang; and `up` names the service
that does not start. `down` leaving no process behind is checked when the session's stack stops.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from newsroom.config import Settings
from newsroom.errors import TransientError
from newsroom.stack import SERVICES, Stack, StackError
from newsroom.storage import story_id_from_sha256
from newsroom.storage.minio import MinioStore
from newsroom.webhook import auth
from tests.conftest import SAMPLE, ffmpeg, free_port

NEWSROOM = str(Path(sys.executable).with_name("newsroom"))
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module", autouse=True)
def _idle_stack_after_this_module(session_stack):
    """The workers poll and the server runs its loops: stop all but S3 once these tests are done (later
    modules only need the S3 server; the session still stops everything and checks nothing is left)."""
    yield
    if session_stack.stack.supervisor.running():
        for name in ("webhook", "worker-heavy", "worker-cpu", "prefect"):
            session_stack.stack.stop(name)


# --------------------------------------------------------------------------- helpers over the REST API

def api(stack: Stack, path: str, body: dict | None = None):
    """One REST call, retried on 503 as Prefect's own client does (SQLite answers 'busy' under load)."""
    url = f"{stack.api_url}{path}"
    for attempt in range(10):
        response = httpx.post(url, json=body or {}, timeout=60) if body is not None else httpx.get(url, timeout=60)
        if response.status_code not in (429, 503):
            break
        time.sleep(1 + attempt)
    response.raise_for_status()
    return response.json()


def flow_runs(stack: Stack, **filters) -> list[dict]:
    return api(stack, "/flow_runs/filter", {"flow_runs": filters, "limit": 200, "sort": "START_TIME_ASC"})


def deployment_id(stack: Stack, name: str) -> str:
    return api(stack, f"/deployments/name/{name}")["id"]


def wait_final(stack: Stack, run_ids: list[str], timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        runs = flow_runs(stack, id={"any_": run_ids})
        if len(runs) == len(run_ids) and all(r["state"]["type"] in FINAL for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = {r["name"]: r["state"]["name"] for r in runs}
            raise AssertionError(f"runs not finished after {timeout_s:.0f} s: {states}")
        time.sleep(3)


def worker_of(run: dict) -> str | None:
    return (run.get("labels") or {}).get("prefect.worker.name")


def signed_post(stack: Stack, path: str, body: dict, key: str) -> httpx.Response:
    data = json.dumps(body).encode()
    secret = stack.credentials()["webhook_secret"]
    headers = {"Content-Type": "application/json", auth.IDEMPOTENCY_HEADER: key,
               **auth.signed_headers(secret, "POST", path, data)}
    return httpx.post(f"{stack.webhook_url}{path}", content=data, headers=headers, timeout=60)


def listening_addresses(pids: set[int]) -> list[str]:
    """host:port of every TCP socket in LISTEN state held by these processes (from /proc, IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            host_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(host_hex)
            if width == 8:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:  # four little-endian 32-bit words
                host = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
                host = host.removeprefix("::ffff:")
            found.append(f"{host}:{int(port_hex, 16)}")
    return found


def tiny_clip(path: Path, frequency_hz: int, seconds: float = 2.0) -> Path:
    """A small distinct clip (its tone makes the content, and so the story, differ)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i",
           f"sine=frequency={frequency_hz}:sample_rate=44100", "-t", str(seconds), "-c:v", "libx264", "-pix_fmt",
           "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


# --------------------------------------------------------------------------- the stack itself

def test_status_json_lists_every_service_running_on_loopback(stack):
    env = {**os.environ, "NEWSROOM_STACK_DIR": str(stack.paths.root),
           "NEWSROOM_STACK_S3_PORT": str(stack.ports["s3"]), "NEWSROOM_STACK_PREFECT_PORT": str(stack.ports["prefect"]),
           "NEWSROOM_STACK_WEBHOOK_PORT": str(stack.ports["webhook"])}
    out = subprocess.run([NEWSROOM, "stack", "status", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    services = json.loads(out.stdout)["services"]
    assert list(services) == list(SERVICES)
    for name, service in services.items():
        assert service["state"] == "running" and service["healthy"], (name, service)
        assert service["url"].startswith("http://127.0.0.1:"), service["url"]
    assert set(services["worker-cpu"]["processes"]) == {"worker-cpu-0", "worker-cpu-1"}
    # Every listening TCP socket of the stack's processes is on loopback.
    pids = {pid for name in SERVICES for pid in stack.pids(name, descendants=True)}
    addresses = listening_addresses(pids)
    assert {f"127.0.0.1:{port}" for port in stack.ports.values()} <= set(addresses), addresses
    assert all(a.startswith("127.0.0.1:") for a in addresses), addresses


def test_up_refuses_a_port_in_use_and_names_the_service(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = Stack(Settings(stack_dir=tmp_path / "stack", stack_s3_port=port, stack_prefect_port=free_port(),
                               stack_webhook_port=free_port()))
        with pytest.raises(StackError, match=f"port {port} for s3 is in use.*NEWSROOM_STACK_S3_PORT"):
            stack.up(["s3"])
    assert not stack.supervisor.running()


def test_up_names_the_service_that_does_not_start_and_down_leaves_nothing(tmp_path):
    stack = Stack(Settings(stack_dir=tmp_path / "stack", stack_s3_port=free_port(), stack_prefect_port=free_port(),
                           stack_webhook_port=free_port()))
    stack.paths.meta_db.parent.mkdir(parents=True)
    stack.paths.meta_db.write_bytes(b"not a sqlite database" * 100)  # the S3 volume's metadata is damaged
    try:
        with pytest.raises(StackError, match=r"^s3 (did not start|stopped while starting|is not healthy)"):
            stack.up(["s3"], timeout_s=60)
        assert stack.status()["s3"].state == "failed"
    finally:
        leftovers = stack.down()
    assert leftovers == [] and stack.leftover_pids() == []
    assert all(s.state == "stopped" for s in stack.status().values())


def test_a_stalled_s3_server_is_a_bounded_503_and_a_transient_error(stack):
    """SIGSTOP the S3 server: the store gives up within its deadlines, the webhook answers 503 within its own
    (NEWSROOM_WEBHOOK_STORAGE_TIMEOUT_S), and both work again once it resumes."""
    creds = stack.credentials()
    quick = MinioStore(stack.s3_endpoint, creds["s3_access_key"], creds["s3_secret_key"], stack.bucket,
                       connect_timeout_s=1, read_timeout_s=1, retries=1, retry_backoff_s=0.1)
    quick.put_bytes("uploads/stall/clip.mp4", SAMPLE.read_bytes()[:4096])
    stack.pause("s3")
    try:
        with pytest.raises(TransientError, match="retried later"):
            quick.stat("uploads/stall/clip.mp4")
        response = signed_post(stack, "/v1/stories", {"source_key": "uploads/stall/clip.mp4"}, f"stall-{uuid.uuid4().hex}")
        assert response.status_code == 503 and response.headers["retry-after"], response.text
        assert "object store did not answer within" in response.json()["error"]
        assert not stack.health("s3")
    finally:
        stack.resume("s3")
    assert quick.stat("uploads/stall/clip.mp4").size_bytes == 4096
    deadline = time.monotonic() + 60
    while httpx.get(f"{stack.webhook_url}/healthz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the webhook did not recover after the S3 server resumed"
        time.sleep(1)


# --------------------------------------------------------------------------- notifications and scale-out

def test_the_buckets_own_notification_starts_the_inbox_scan_that_takes_the_object(stack, tmp_path):
    clip = tiny_clip(tmp_path / "notified.mp4", 523)
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    since = time.time()
    stack.open_store().put_file("inbox/notified.mp4", clip)
    deadline = time.monotonic() + 180
    package = []
    while not package:
        assert time.monotonic() < deadline, "no package run was started for the dropped object"
        time.sleep(2)
        package = [r for r in flow_runs(stack, tags={"all_": ["inbox"]}) if r["idempotency_key"] == f"inbox:{sha}"]
    scans = [r for r in flow_runs(stack, tags={"all_": ["storage-event"]})
             if _ts(r["created"]) >= since - 1]
    assert scans, "no scan started by a storage event"
    outcomes = []
    for scan in wait_final(stack, [s["id"] for s in scans], 120):
        for artifact in api(stack, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [scan["id"]]}}}):
            rows = artifact["data"] if isinstance(artifact["data"], list) else json.loads(artifact["data"])
            outcomes += [(row["object"], row["outcome"], row["flow run"]) for row in rows]
    assert ("inbox/notified.mp4", "started", package[0]["id"]) in outcomes
    assert not stack.open_store().exists("inbox/notified.mp4")
    assert package[0]["parameters"]["source"].startswith("archive/")
    assert "POST /v1/storage-events HTTP/1.1\" 202" in stack.paths.log("webhook").read_text()
    wait_final(stack, [package[0]["id"]], 600)  # leave the workers idle for the next test


@pytest.fixture(scope="module")
def batch(stack, tmp_path_factory) -> dict[str, dict]:
    """Six tiny clips ingested at once through the `ingest` deployment: story id -> its finished flow run."""
    store, folder = stack.open_store(), tmp_path_factory.mktemp("batch")
    ingest = deployment_id(stack, "ingest/ingest")
    run_ids = {}
    for n in range(6):
        clip = tiny_clip(folder / f"clip-{n}.mp4", 300 + 70 * n, seconds=1.5)
        key = f"uploads/batch-{uuid.uuid4().hex[:8]}/clip-{n}.mp4"
        store.put_file(key, clip)
        run = api(stack, f"/deployments/{ingest}/create_flow_run",
                  {"parameters": {"source": key, "asr_model": "tiny.en"}, "idempotency_key": key})
        run_ids[story_id_from_sha256(hashlib.sha256(clip.read_bytes()).hexdigest())] = run["id"]
    runs = {r["id"]: r for r in wait_final(stack, list(run_ids.values()), 600)}
    return {story: runs[run_id] for story, run_id in run_ids.items()}


def test_two_cpu_workers_share_a_batch(stack, batch):
    runs = list(batch.values())
    assert [r["state"]["type"] for r in runs] == ["COMPLETED"] * 6, [r["state"]["message"] for r in runs]
    workers = [worker_of(r) for r in runs]
    assert set(workers) == {"worker-cpu-0", "worker-cpu-1"}, workers
    assert {r["work_pool_name"] for r in runs} == {"cpu"}
    store = stack.open_store()
    assert all(store.exists(f"stories/{story}/manifest.json") for story in batch)


def test_an_edit_runs_on_a_cpu_worker_and_its_upscale_on_the_heavy_worker(stack, batch):
    story = next(iter(batch))
    edit = api(stack, f"/deployments/{deployment_id(stack, 'edit/edit')}/create_flow_run",
               {"parameters": {"story_id": story, "target_s": 5, "upscale": "lanczos", "vertical": False,
                               "burn_subtitles": False}})
    run = wait_final(stack, [edit["id"]], 600)[0]
    assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
    children = flow_runs(stack, parent_flow_run_id={"any_": [run["id"]]})
    upscale = [r for r in children if r["work_pool_name"] == "heavy"]
    assert len(upscale) == 1 and api(stack, f"/flows/{upscale[0]['flow_id']}")["name"] == "upscale-video"
    assert worker_of(run).startswith("worker-cpu-") and worker_of(upscale[0]) == "worker-heavy"
    assert stack.open_store().exists(f"stories/{story}/edit/upscaled.mp4")


@pytest.mark.slow
def test_a_story_runs_its_package_on_cpu_and_its_broadcast_on_heavy(stack):
    store = stack.open_store()
    key = f"uploads/scale-out-{uuid.uuid4().hex[:8]}/city-bikes.mp4"
    store.put_file(key, SAMPLE)
    response = signed_post(stack, "/v1/stories", {"source_key": key, "target_s": 10, "language": "en"},
                           f"scale-out-{uuid.uuid4().hex}")
    assert response.status_code == 202, response.text
    package = wait_final(stack, [response.json()["id"]], 1500)[0]
    assert package["state"]["type"] == "COMPLETED", package["state"]["message"]
    stages = {r["name"]: r for r in flow_runs(stack, parent_flow_run_id={"any_": [package["id"]]})}
    by_flow = {api(stack, f"/flows/{r['flow_id']}")["name"]: r for r in stages.values()}
    assert set(by_flow) == {"ingest", "edit", "broadcast"}, list(by_flow)
    assert by_flow["ingest"]["work_pool_name"] is None  # inline: in the package run's own process
    assert worker_of(package).startswith("worker-cpu") and package["work_pool_name"] == "cpu"
    assert worker_of(by_flow["edit"]).startswith("worker-cpu") and by_flow["edit"]["work_pool_name"] == "cpu"
    assert worker_of(by_flow["broadcast"]) == "worker-heavy" and by_flow["broadcast"]["work_pool_name"] == "heavy"
    path = f"/v1/stories/{package['id']}"
    status = httpx.get(f"{stack.webhook_url}{path}", timeout=60,
                       headers=auth.signed_headers(stack.credentials()["webhook_secret"], "GET", path)).json()
    assert status["state"] == "COMPLETED" and "broadcast" in status["outputs"], status
    assert store.exists(f"stories/{status['story_id']}/broadcast/broadcast.mp4")


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_esrgan_chunks_of_the_edit_flow_run_on_a_dask_cluster_of_two_workers(minio_env, monkeypatch, tmp_path):
    """NEWSROOM_TASK_RUNNER=dask: the edit flow's Real-ESRGAN chunks go to a `distributed` cluster (two worker
    processes here; machines in production) through prefect-dask, and join into the same upscaled edit."""
    from distributed import Client, LocalCluster, get_task_stream

    from flows.edit import edit
    from flows.ingest import ingest
    from newsroom.config import get_settings
    from newsroom.manifest import read_manifest
    from newsroom.media import probe
    from newsroom.storage import open_store

    clip = tmp_path / "chunks.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-t", "8.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(clip))  # two chunks of about 4 s
    story_id = ingest(str(clip), asr_model="tiny.en")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        monkeypatch.setenv("NEWSROOM_TASK_RUNNER", "dask")
        monkeypatch.setenv("NEWSROOM_DASK_ADDRESS", cluster.scheduler_address)
        get_settings.cache_clear()
        with get_task_stream(client) as stream:
            edit(story_id, target_s=30, upscale="esrgan", upscale_workers=1, vertical=False, burn_subtitles=False)
        workers = {task["worker"] for task in stream.data}
        assert workers == set(client.scheduler_info()["workers"]) and len(workers) == 2, stream.data
    get_settings.cache_clear()
    store = open_store()
    manifest = read_manifest(store, story_id)
    upscaled = next(a for a in manifest["assets"] if a["key"].endswith("edit/upscaled.mp4"))
    assert upscaled["model"]["id"] == "realesrgan-animevideov3"
    assert manifest["stages"]["edit"]["upscale"]["chunks"] == len(stream.data) >= 2  # one Dask task per chunk
    out = probe(store.get_file(upscaled["key"], tmp_path / "up.mp4"))
    assert (out.video.width, out.video.height) == (128, 96) and out.duration_s == pytest.approx(8.5, abs=0.15)
    assert not list(store.list(f"stories/{story_id}/edit/upscale/"))  # the chunks were scratch space


def test_the_dask_runner_needs_an_address(monkeypatch):
    from flows.runners import chunk_task_runner
    from newsroom.config import get_settings
    from newsroom.errors import ConfigError

    monkeypatch.setenv("NEWSROOM_TASK_RUNNER", "dask")
    monkeypatch.delenv("NEWSROOM_DASK_ADDRESS", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="NEWSROOM_DASK_ADDRESS"):
            chunk_task_runner()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
