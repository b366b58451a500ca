"""Fault injection against the real stack (issue 14, part 6): kill, stall and fill it, and lose nothing.

Each case injects one fault into the running stack (tests/conftest.py `session_stack`: JuiceFS S3 gateway,
Prefect server, two cpu workers, one heavy worker, the webhook) or into the model cache, and asserts:

- nothing lost: the run finishes (at once, after its retries, or when run again) and its manifest lists
  every asset a clean run lists;
- nothing half-written: `newsroom verify STORY` re-hashes every manifest entry against its object;
- nothing done twice: a task that had finished before the fault is not computed again by the re-run
  (counted from the Prefect API: its task run is reused, or the new one is `Cached`).

Set NEWSROOM_FAULTS_REPORT=path.json to get the fault table (bench/results.py --faults writes it into
bench/RESULTS.md): one row per case, injected / survived / lost, with the figures measured.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from newsroom.errors import ObjectNotFoundError
from newsroom.layout import StoryLayout
from newsroom.manifest import collect, verify_story
from newsroom.stack import Stack
from newsroom.storage import story_id_from_sha256
from tests.test_stack import FINAL, api, deployment_id, flow_runs, tiny_clip

NEWSROOM = str(Path(sys.executable).with_name("newsroom"))
INGEST_ASSETS = {"source/original", "ingest/audio", "ingest/mezzanine", "ingest/transcript.json"}
ROWS: dict[str, dict] = {}


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def stack(session_stack):
    """The whole stack, (re)started for this module (an earlier module may have stopped all but S3)."""
    stack = session_stack.full()
    yield stack
    if stack.supervisor.running():
        for name in ("webhook", "worker-heavy", "worker-cpu", "prefect"):
            stack.stop(name)


@pytest.fixture
def row(request):
    """This case's line in the fault table: filled as the test goes, `survived` set by its last step."""
    entry = {"fault": request.node.originalname.removeprefix("test_"), "injected": "", "survived": False, "lost": "",
             "figures": ""}
    yield entry
    ROWS[entry["fault"]] = entry
    target = os.environ.get("NEWSROOM_FAULTS_REPORT")
    if target:
        path = Path(target)
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved[entry["fault"]] = entry
        path.write_text(json.dumps(saved, indent=2))


def wait_for(check: Callable[[], object], timeout_s: float, what: str, every_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(every_s)
    return found


def task_runs(stack: Stack, run_ids: list[str]) -> list[dict]:
    return api(stack, "/task_runs/filter", {"flow_runs": {"id": {"any_": run_ids}}, "limit": 200})


def task_name(task_run: dict) -> str:
    return task_run["name"].rsplit("-", 1)[0]


@functools.cache
def resumable_tasks() -> frozenset[str]:
    """The names of the tasks under the resume cache (the work a re-run must not do again)."""
    import importlib
    import pkgutil

    from prefect import Task

    import tasks
    from tasks.common import Resumable

    names = set()
    for module in pkgutil.iter_modules(tasks.__path__):
        for value in vars(importlib.import_module(f"tasks.{module.name}")).values():
            if isinstance(value, Task) and isinstance(value.cache_policy, Resumable):
                names.add(value.name)
    return frozenset(names)


def finished_work(stack: Stack, run_ids: list[str]) -> dict[str, dict]:
    """Task runs that finished real work (a task under the resume cache), by id."""
    return {t["id"]: t for t in task_runs(stack, run_ids)
            if (t["state"] or {}).get("type") == "COMPLETED" and task_name(t) in resumable_tasks()}


def described(tasks: list[dict]) -> list[tuple]:
    return sorted((task_name(t), (t["state"] or {}).get("name"), t["run_count"]) for t in tasks)


def recomputed(before: dict[str, dict], after: list[dict]) -> list[str]:
    """Task runs finished before the fault whose work ran again afterwards: the same call (task key and dynamic
    key) must be the same task run, not run again, or a new one that came from the cache. A finished call the
    re-run does not show at all counts too (the check would otherwise pass without looking)."""
    calls = {(t["task_key"], t["dynamic_key"]): t for t in before.values()}
    again, seen = [], set()
    for t in after:
        call = (t["task_key"], t["dynamic_key"])
        original = calls.get(call)
        if original is None:
            continue
        seen.add(call)
        if t["id"] == original["id"]:
            if t["run_count"] != original["run_count"] or (t["state"] or {}).get("type") != "COMPLETED":
                again.append(task_name(t))
        elif (t["state"] or {}).get("name") != "Cached":
            again.append(f"{task_name(t)} ({t['state']['name']})")
    return again + [f"{task_name(calls[c])} (not found after)" for c in calls if c not in seen]


def start_ingest(stack: Stack, key: str) -> str:
    ingest = deployment_id(stack, "ingest/ingest")
    run = api(stack, f"/deployments/{ingest}/create_flow_run",
              {"parameters": {"source": key, "asr_model": "tiny.en"}, "idempotency_key": f"{key}:{uuid.uuid4().hex}"})
    return run["id"]


def wait_done(stack: Stack, run_ids: list[str], timeout_s: float) -> list[dict]:
    return wait_for(lambda: (runs := flow_runs(stack, id={"any_": run_ids})) and len(runs) == len(run_ids)
                    and all(r["state"]["type"] in FINAL for r in runs) and runs, timeout_s,
                    f"runs {run_ids} to finish", every_s=2)


def rerun(stack: Stack, run_id: str) -> None:
    """Run a flow run again (what an operator's "retry" does): back to Scheduled, a worker takes it."""
    api(stack, f"/flow_runs/{run_id}/set_state", {"state": {"type": "SCHEDULED", "name": "Scheduled"}, "force": True})


def new_clip(stack: Stack, folder: Path, tone_hz: int, seconds: float = 3.0) -> tuple[str, str]:
    """A distinct tiny clip uploaded under uploads/: (its key, its story id)."""
    clip = tiny_clip(folder / f"clip-{tone_hz}.mp4", tone_hz, seconds)
    key = f"uploads/faults-{uuid.uuid4().hex[:8]}/clip-{tone_hz}.mp4"
    stack.open_store().put_file(key, clip)
    return key, story_id_from_sha256(hashlib.sha256(clip.read_bytes()).hexdigest())


def assert_whole(stack: Stack, story_id: str) -> list[str]:
    """The story's manifest lists the ingest's assets and every entry matches its object (`newsroom verify`)."""
    result = subprocess.run([NEWSROOM, "verify", story_id, "--json"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **stack.client_env()})
    assert result.returncode == 0, result.stdout + result.stderr
    verified = json.loads(result.stdout)
    assert verified["ok"] and verified["checked"] >= 4, verified
    assert verify_story(stack.open_store(), story_id).ok
    manifest = json.loads(stack.open_store().get_bytes(f"stories/{story_id}/manifest.json"))
    keys = [a["key"].removeprefix(f"stories/{story_id}/") for a in manifest["assets"]]
    missing = [k for k in INGEST_ASSETS if not any(key.startswith(k) for key in keys)]
    assert not missing, f"the manifest lacks {missing}: {keys}"
    return keys


def logs_of(stack: Stack, run_id: str) -> str:
    return "\n".join(entry["message"] for entry in
                     api(stack, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}))


def kill_worker_and_its_runs(stack: Stack, service: str) -> list[int]:
    """kill -9 of the worker with everything below it (its flow-run processes, ffmpeg): a lost machine."""
    pids = stack.pids(service, descendants=True)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


# --------------------------------------------------------------------------- default cases

def test_two_runs_of_the_same_story_at_once(stack, tmp_path, row):
    """An inbox drop and a CMS request for the same content at once: one run holds the story's lease, the
    other waits for it and then reuses what the first made; neither loses the other's entries."""
    row["injected"] = "two ingest runs of one source started together (two cpu workers)"
    key, story = new_clip(stack, tmp_path, 611)
    runs = [start_ingest(stack, key), start_ingest(stack, key)]
    done = wait_done(stack, runs, 420)
    assert [r["state"]["type"] for r in done] == ["COMPLETED"] * 2, [r["state"]["message"] for r in done]
    tasks = task_runs(stack, runs)
    work = [t for t in tasks if task_name(t) in resumable_tasks()]
    computed = [task_name(t) for t in work if (t["state"] or {}).get("name") == "Completed"]
    assert sorted(computed) == ["normalise-media", "transcribe"], described(work)  # once each, by one of the runs
    assert sorted(task_name(t) for t in work if (t["state"] or {}).get("name") == "Cached") == ["normalise-media", "transcribe"], \
        described(work)
    waited = [r for r in runs if "is being processed by another run" in logs_of(stack, r)]
    # The one that asked for the lease while the other held it waited; when the workers picked the runs up far
    # enough apart, the second found the work done and reused it without waiting (the assertions above hold).
    assert len(waited) <= 1, "both runs waited for the story's lease"
    keys = assert_whole(stack, story)
    row.update(survived=True, lost="none", figures=f"{len(keys)} assets verified; work computed once, reused once; "
               f"{'one run waited for the lease' if waited else 'the second run found the work done'}")


def test_kill_9_of_the_worker_during_ingest_then_the_rerun_resumes(stack, tmp_path, row):
    row["injected"] = "kill -9 of the cpu workers and their flow-run processes mid-ingest, then the run re-run"
    key, story = new_clip(stack, tmp_path, 733, seconds=8.0)
    run_id = start_ingest(stack, key)
    # Kill once the first piece of real work has finished (the other is then still running, or just done).
    before = wait_for(lambda: finished_work(stack, [run_id]), 300, "a finished ingest task", every_s=0.25)
    state = flow_runs(stack, id={"any_": [run_id]})[0]["state"]["type"]
    running = [task_name(t) for t in task_runs(stack, [run_id]) if (t["state"] or {}).get("type") == "RUNNING"]
    killed = kill_worker_and_its_runs(stack, "worker-cpu")
    assert state == "RUNNING" and killed
    row["injected"] += f" (killed while {', '.join(running)} ran)" if running else " (killed between two tasks)"
    wait_for(lambda: stack.health("worker-cpu"), 120, "supervisor restarting the killed workers", every_s=1)
    started = time.monotonic()
    rerun(stack, run_id)
    final = wait_done(stack, [run_id], 420)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    again = recomputed(before, task_runs(stack, [run_id]))
    assert not again, f"finished before the kill, computed again by the re-run: {again}"
    keys = assert_whole(stack, story)
    row.update(survived=True, lost="none", figures=f"re-run {time.monotonic() - started:.0f} s (story lease expiry "
               f"included); finished before the kill: {', '.join(sorted(task_name(t) for t in before.values()))}, "
               f"computed again: none; {len(keys)} assets verified")


@pytest.mark.parametrize("how", ["stopped", pytest.param("stalled", marks=pytest.mark.slow)])
def test_the_s3_server_gone_for_a_while_mid_flow(stack, tmp_path, row, how):
    """The S3 server goes away while an ingest runs (stopped 20 s: connections refused; stalled 45 s: SIGSTOP,
    connections hang): the storage calls fail or wait within their deadlines, the tasks retry after their
    delays, and the run finishes with everything stored."""
    row["fault"] += f"[{how}]"
    row["injected"] = f"S3 server {'stopped 20 s' if how == 'stopped' else 'stalled (SIGSTOP) 45 s'} mid-ingest"
    key, story = new_clip(stack, tmp_path, 877 if how == "stopped" else 919, seconds=8.0)
    run_id = start_ingest(stack, key)
    wait_for(lambda: any(task_name(t) == "store-source" and (t["state"] or {}).get("type") == "COMPLETED"
                         for t in task_runs(stack, [run_id])), 300, "the source stored", every_s=0.25)
    stack.stop("s3") if how == "stopped" else stack.pause("s3")
    stopped = time.monotonic()
    # A stalled server still accepts connections (the kernel does): a call waits for its read deadline, up to
    # about 70 s with its own retries (README, NEWSROOM_STORAGE_*), and goes on once the server answers again.
    time.sleep(20 if how == "stopped" else 45)
    stack.start("s3") if how == "stopped" else stack.resume("s3")
    outage_s = time.monotonic() - stopped
    final = wait_done(stack, [run_id], 420)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    tasks = task_runs(stack, [run_id])
    retried = sorted(task_name(t) for t in tasks if t["run_count"] > 1)
    if how == "stopped":  # refused connections fail at once: a task met the outage and was retried
        assert retried, "no task met the outage (it ended before the server stopped?)"
    keys = assert_whole(stack, story)
    row.update(survived=True, lost="none", figures=f"outage {outage_s:.0f} s; tasks retried: "
               f"{', '.join(retried) or 'none (the calls waited within their deadlines)'}; {len(keys)} assets verified")


# --------------------------------------------------------------------------- the model cache (no stack needed)

def _flip_a_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_a_same_size_byte_flip_in_a_cached_model_is_detected_and_reassembled(tmp_path, row):
    from newsroom.config import Settings
    from newsroom.models.assembly import file_sha256
    from newsroom.models.registry import MODELS, ModelRegistry

    row["injected"] = "one byte flipped (same size) in the middle of a cached whisper-tiny-en model.bin"
    registry = ModelRegistry(Settings(model_cache=tmp_path / "cache"))
    folder = registry.resolve("whisper-tiny-en")
    weights = folder / "model.bin"
    expected = next(f.sha256 for f in MODELS["whisper-tiny-en"].files if f.target == "model.bin")
    size = weights.stat().st_size
    _flip_a_byte(weights, size // 2)
    assert weights.stat().st_size == size and file_sha256(weights) != expected
    started = time.monotonic()
    status = registry.status("whisper-tiny-en", verify=True)  # `newsroom models verify`, one model
    repair_s = time.monotonic() - started
    assert status.ready and "sha256 verified" in status.message, status.message
    assert file_sha256(weights) == expected
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]
    # The pickled weights (ttskit) are re-hashed on every resolution: a flip there is caught on use.
    row.update(survived=True, lost="none", figures=f"detected and re-assembled in {repair_s:.1f} s ({size / 1e6:.0f} MB)")


def test_a_model_assembly_killed_half_way(tmp_path, row):
    """kill -9 of a process assembling whisper-base (split across two packages): no half model is ever in
    place; the next resolution removes the dead assembly's temp folder and assembles the model."""
    from newsroom.config import Settings
    from newsroom.models.assembly import file_sha256
    from newsroom.models.registry import MODELS, ModelRegistry

    row["injected"] = "kill -9 of a process half-way through assembling whisper-base (145 MB)"
    cache = tmp_path / "cache"
    script = ("import sys; from pathlib import Path; from newsroom.config import Settings; "
              "from newsroom.models.registry import ModelRegistry; "
              "ModelRegistry(Settings(model_cache=Path(sys.argv[1]))).resolve('whisper-base')")
    child = subprocess.Popen([sys.executable, "-c", script, str(cache)])
    try:
        temp = wait_for(lambda: next((p for p in cache.glob(".tmp-whisper-base-*/model.bin") if p.stat().st_size), None),
                        60, "the assembly to start writing", every_s=0.002)
        os.kill(child.pid, signal.SIGSTOP)
        written = temp.stat().st_size
    finally:
        child.kill()
        child.wait()
    total = next(f.size_bytes for f in MODELS["whisper-base"].files if f.target == "model.bin")
    assert written < total, "the assembly finished before it could be killed"
    registry = ModelRegistry(Settings(model_cache=cache))
    assert not registry.status("whisper-base").ready  # the half copy is not the model
    folder = registry.resolve("whisper-base")
    assert file_sha256(folder / "model.bin") == next(f.sha256 for f in MODELS["whisper-base"].files
                                                 if f.target == "model.bin")
    assert not list(cache.glob(".tmp-*")), "the killed assembly's temp folder was left behind"
    row.update(survived=True, lost="none", figures=f"killed at {written / 1e6:.0f} of {total / 1e6:.0f} MB; temp "
               "removed, next resolution assembled and verified")


# --------------------------------------------------------------------------- the webhook and the inbox

def test_the_webhook_restarted_inside_the_replay_window_still_refuses_a_replay(stack, tmp_path, row):
    """The replay memory lives in the bucket (webhook/replay/), shared by replicas and kept across restarts."""
    import httpx

    from newsroom.webhook import auth

    row["injected"] = "webhook restarted between a signed upload and its exact replay"
    clip = tiny_clip(tmp_path / "replayed.mp4", 947, seconds=1.0)
    data, query = clip.read_bytes(), {"filename": f"replayed-{uuid.uuid4().hex[:6]}.mp4"}
    headers = {**auth.signed_headers(stack.credentials()["webhook_secret"], "POST", "/v1/uploads", data, query=query),
               "Content-Type": "application/octet-stream"}

    def send() -> httpx.Response:
        return httpx.post(f"{stack.webhook_url}/v1/uploads", params=query, content=data, headers=headers, timeout=60)

    first = send()
    assert first.status_code == 201, first.text
    assert send().status_code == 409  # the running webhook remembers
    stack.stop("webhook")
    stack.start("webhook")
    again = send()
    assert again.status_code == 409, again.text
    assert "replayed request" in again.json()["error"]
    row.update(survived=True, lost="none", figures="replay after the restart: 409")


@pytest.mark.slow  # ~3 min of scans on 2 cores; the default run keeps test_webhook's one-scan-per-notification case
def test_a_storm_of_inbox_notifications_is_coalesced(stack):
    """Six objects dropped at once: one notification each, but a scan that has not begun yet takes them all
    (at most one scan running and one waiting), and every object is handled."""
    from tests.test_stack import _ts

    store, since = stack.open_store(), time.time()
    names = [f"inbox/storm-{uuid.uuid4().hex[:6]}-{n}.mp4" for n in range(6)]
    for name in names:
        store.put_bytes(name, b"not media at all " * 8)
    wait_for(lambda: not any(store.exists(name) for name in names), 240, "the inbox emptied", every_s=2)
    scans = [r for r in flow_runs(stack, tags={"all_": ["storage-event"]}) if _ts(r["created"]) >= since - 1]
    assert 1 <= len(scans) <= 3, f"{len(scans)} scans for {len(names)} notifications"
    failed = [o.key for o in store.list("failed/")]
    assert all(any(name.rsplit("/", 1)[1].removesuffix(".mp4") in key for key in failed) for name in names), failed


@pytest.mark.slow
def test_the_s3_server_gone_longer_than_the_retries(stack, tmp_path, row):
    """Down past every retry (5 + 30 + 120 s of back-off): the run fails saying the store is unreachable, and
    once the server is back the same run re-run finishes without redoing what was finished."""
    row["injected"] = "S3 server stopped until the run gave up, then started and the run re-run"
    key, story = new_clip(stack, tmp_path, 1013, seconds=8.0)
    run_id = start_ingest(stack, key)
    wait_for(lambda: any(task_name(t) == "store-source" and (t["state"] or {}).get("type") == "COMPLETED"
                         for t in task_runs(stack, [run_id])), 300, "the source stored", every_s=0.25)
    stack.stop("s3")
    stopped = time.monotonic()
    try:
        failed = wait_done(stack, [run_id], 600)[0]
    finally:
        stack.start("s3")
    down_s = time.monotonic() - stopped
    assert failed["state"]["type"] == "FAILED", failed["state"]
    assert "cannot reach MinIO" in failed["state"]["message"] or "retry" in failed["state"]["message"], failed["state"]
    before = finished_work(stack, [run_id])
    rerun(stack, run_id)
    final = wait_done(stack, [run_id], 420)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    assert not recomputed(before, task_runs(stack, [run_id]))
    keys = assert_whole(stack, story)
    row.update(survived=True, lost="none", figures=f"gave up after {down_s:.0f} s: {failed['state']['message'][:90]}; "
               f"re-run completed, {len(keys)} assets verified")


@pytest.mark.slow
def test_kill_9_of_the_heavy_worker_during_an_upscale_chunk(stack, tmp_path, row):
    """The edit dispatches its super-resolution to the heavy pool; the heavy worker dies with a chunk half
    done. The upscale run re-run finishes only the chunks that were not finished; the edit, waiting on it,
    completes; the chunks are joined, recorded, then removed."""
    row["injected"] = "kill -9 of the heavy worker and its flow-run process between Real-ESRGAN chunks"
    key, story = new_clip(stack, tmp_path, 1109, seconds=12.0)  # three 4-s chunks
    ingested = wait_done(stack, [start_ingest(stack, key)], 420)[0]
    assert ingested["state"]["type"] == "COMPLETED", ingested["state"]["message"]
    edit = api(stack, f"/deployments/{deployment_id(stack, 'edit/edit')}/create_flow_run",
               {"parameters": {"story_id": story, "target_s": 12, "upscale": "esrgan", "vertical": False,
                               "burn_subtitles": False, "covers": False}})

    def upscale_run() -> dict | None:
        return next((r for r in flow_runs(stack, parent_flow_run_id={"any_": [edit["id"]]})
                     if r["work_pool_name"] == "heavy"), None)

    child = wait_for(upscale_run, 420, "the upscale run on the heavy pool", every_s=1)

    def some_chunks_done() -> tuple[dict, list] | None:
        chunks = [t for t in task_runs(stack, [child["id"]]) if task_name(t) == "upscale-chunk"]
        done = {t["id"]: t for t in chunks if (t["state"] or {}).get("type") == "COMPLETED"}
        return (done, chunks) if done and len(done) < len(chunks) else None

    before, chunks = wait_for(some_chunks_done, 600, "a chunk finished while another runs", every_s=0.25)
    killed = kill_worker_and_its_runs(stack, "worker-heavy")
    assert killed
    row["injected"] += f" ({len(before)} of {len(chunks)} chunks finished)"
    wait_for(lambda: stack.health("worker-heavy"), 120, "supervisor restarting the heavy worker", every_s=1)
    rerun(stack, child["id"])
    final = wait_done(stack, [edit["id"]], 900)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    again = recomputed(before, task_runs(stack, [child["id"]]))
    assert not again, f"chunks finished before the kill were upscaled again: {again}"
    verified = verify_story(stack.open_store(), story)
    assert verified.ok, verified
    assert not [k for k in verified.unlisted if "/upscale/chunk-" in k], verified.unlisted
    assert stack.open_store().exists(f"stories/{story}/edit/upscaled.mp4")
    row.update(survived=True, lost="none", figures=f"{len(before)} finished chunks reused, none upscaled again; "
               f"{verified.checked} assets verified, no chunk left")


@pytest.mark.slow
def test_the_prefect_api_down_during_an_inbox_scan(stack, row):
    """The Prefect server stops for 20 s while a scan is taking objects: the scan's client retries, or the scan
    is run again; every object ends in failed/ (these are not media) exactly once, none is left or lost."""
    row["injected"] = "Prefect server stopped 20 s while an inbox scan took 30 objects"
    store, prefix = stack.open_store(), f"faultbox-{uuid.uuid4().hex[:6]}/"
    names = [f"{prefix}junk-{n:02d}.mp4" for n in range(30)]
    for name in names:
        store.put_bytes(name, b"not media at all " * 8)
    run = api(stack, f"/deployments/{deployment_id(stack, 'inbox-scan/inbox')}/create_flow_run",
              {"parameters": {"prefix": prefix, "settle_s": 0}})
    wait_for(lambda: any(task_name(t) == "take-inbox-object" for t in task_runs(stack, [run["id"]])), 300,
             "the scan taking objects", every_s=0.25)
    stack.stop("prefect")
    time.sleep(20)
    stack.start("prefect")
    final = wait_done(stack, [run["id"]], 300)[0]
    reruns = 0
    if final["state"]["type"] != "COMPLETED":  # the run lost its API for good: run it again, as an operator would
        reruns = 1
        rerun(stack, run["id"])
        final = wait_done(stack, [run["id"]], 300)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    if list(store.list(prefix)):  # a scan that ended early leaves the rest to the next one
        again = api(stack, f"/deployments/{deployment_id(stack, 'inbox-scan/inbox')}/create_flow_run",
                    {"parameters": {"prefix": prefix, "settle_s": 0}})
        assert wait_done(stack, [again["id"]], 300)[0]["state"]["type"] == "COMPLETED"
        reruns += 1
    assert not list(store.list(prefix)), "objects left in the scanned folder"
    failed = [o.key for o in store.list("failed/")]
    for name in names:
        copies = [key for key in failed if key.endswith("/" + name.rsplit("/", 1)[1])]
        assert len(copies) == 1, f"{name}: {copies or 'lost'}"
    wait_for(lambda: stack.health("worker-cpu"), 120, "the cpu workers back", every_s=1)
    row.update(survived=True, lost="none", figures=f"{len(names)} objects, each in failed/ once; "
               f"{'no re-run needed' if not reruns else f'{reruns} scan(s) run again'}")


# --------------------------------------------------------------------------- the worker's disk

@pytest.mark.slow
def test_the_disk_full_under_the_scratch_folder(stack, tmp_path, row):
    """The cpu workers' scratch folder (their TMPDIR) on a 64 KiB tmpfs mounted over it during an ingest: the
    run fails saying the disk is full, after its retries, with nothing half-written (whatever it stored is recorded,
    nothing discarded as bad media); with
    room again the same run re-run finishes without redoing what was finished, and verifies."""
    row["injected"] = "cpu workers' scratch folder (TMPDIR) on a full 64 KiB tmpfs during an ingest, then room again"
    scratch = stack.paths.scratch / "worker-cpu"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(scratch)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()[:80]})")
    try:
        key, story = new_clip(stack, tmp_path, 1201, seconds=6.0)
        run_id = start_ingest(stack, key)
        failed = wait_done(stack, [run_id], 600)[0]
        leftovers = [p.name for p in scratch.iterdir()]
    finally:
        subprocess.run(["umount", "-l", str(scratch)], check=False)
    assert failed["state"]["type"] == "FAILED", failed["state"]
    message = failed["state"]["message"]
    assert "disk" in message and ("full" in message or "No space" in message), message
    ours = [name for name in leftovers if name.startswith("newsroom-")]  # the rest is the Prefect worker's own
    assert not ours, f"scratch files left on the full disk: {ours}"
    store, layout = stack.open_store(), StoryLayout(story)
    stored = {o.key for o in store.list(layout.prefix) if not layout.is_bookkeeping(o.key)}
    try:
        recorded = {asset.key for asset in collect(store, story).assets}
    except ObjectNotFoundError:  # it failed before anything was stored (the source did not fit the scratch disk)
        recorded = set()
    assert stored <= recorded, f"stored but never recorded (half-written): {sorted(stored - recorded)}"
    before = finished_work(stack, [run_id])
    rerun(stack, run_id)
    final = wait_done(stack, [run_id], 420)[0]
    assert final["state"]["type"] == "COMPLETED", final["state"]["message"]
    assert not recomputed(before, task_runs(stack, [run_id]))
    keys = assert_whole(stack, story)
    row.update(survived=True, lost="none", figures=f"failed: {message[:100]}; {len(stored)} objects stored before, "
               f"all recorded; re-run completed, {len(keys)} assets verified")
