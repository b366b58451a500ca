"""The inbox scan against the S3 test server and a real Prefect API: two scans, one run per object."""

from __future__ import annotations

import asyncio
import json

from flows.inbox import scan_inbox
from newsroom.inbox import archive_key, scan
from newsroom.storage import LocalStore, open_store, sha256_file


def _package_runs(deployment_id):
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return [r for r in await client.read_flow_runs(limit=200) if r.deployment_id == deployment_id]

    return asyncio.run(read())


def test_settle_time_and_hidden_names(tmp_path):
    store = LocalStore(tmp_path)
    for key in ("inbox/a.mp4", "inbox/.b.mp4.part", "inbox/c.mp4.error.json", "inbox/sub/d.wav", "other/e.mp4"):
        store.put_bytes(key, b"x")
    ready, waiting = scan(store, "inbox/", settle_s=3600)
    assert ready == [] and sorted(o.key for o in waiting) == ["inbox/a.mp4", "inbox/sub/d.wav"]
    ready, waiting = scan(store, "inbox/", settle_s=0)
    assert sorted(o.key for o in ready) == ["inbox/a.mp4", "inbox/sub/d.wav"] and waiting == []


def test_two_scans_start_one_run_per_object(minio_env, package_deployment, media_dir):
    store = open_store()
    store.put_file("inbox/news-a.mp4", media_dir / "av.mp4")
    store.put_file("inbox/tone.m4a", media_dir / "tone.m4a")
    store.put_file("inbox/notes.mp4", media_dir / "text.mp4")  # not media
    store.put_file("inbox/broken.mp4", media_dir / "empty.mp4")  # an upload that died at 0 bytes

    # Everything was just written: a long settle time leaves it all for later (maybe still uploading).
    waiting = scan_inbox(settle_s=3600)
    assert {r.outcome for r in waiting} == {"waiting"} and len(waiting) == 4
    assert _package_runs(package_deployment) == []

    first = {r.key: r for r in scan_inbox(settle_s=0)}
    assert first["inbox/news-a.mp4"].outcome == "started" and first["inbox/tone.m4a"].outcome == "started"
    assert first["inbox/notes.mp4"].outcome == "failed" and first["inbox/broken.mp4"].outcome == "failed"
    assert list(store.list("inbox/")) == []
    archived = archive_key("inbox/news-a.mp4", sha256_file(media_dir / "av.mp4"))
    assert first["inbox/news-a.mp4"].moved_to == archived and store.exists(archived)
    failed = first["inbox/notes.mp4"].moved_to
    assert failed.startswith("failed/") and store.get_bytes(failed) == (media_dir / "text.mp4").read_bytes()
    assert "not usable media" in json.loads(store.get_bytes(failed + ".error.json"))["error"]

    # The same content again, under another name, plus one new object: one new run only.
    store.put_file("inbox/news-a-again.mp4", media_dir / "av.mp4")
    store.put_file("inbox/vfr.mp4", media_dir / "vfr.mp4")
    second = {r.key: r for r in scan_inbox(settle_s=0)}
    assert second["inbox/news-a-again.mp4"].outcome == "duplicate"
    assert second["inbox/news-a-again.mp4"].flow_run_id == first["inbox/news-a.mp4"].flow_run_id
    assert second["inbox/vfr.mp4"].outcome == "started"
    assert scan_inbox(settle_s=0) == []  # nothing left

    runs = _package_runs(package_deployment)
    assert len(runs) == 3
    assert {r.parameters["source"] for r in runs} == {first["inbox/news-a.mp4"].moved_to,
                                                      first["inbox/tone.m4a"].moved_to,
                                                      second["inbox/vfr.mp4"].moved_to}
    assert all("inbox" in r.tags for r in runs)


def _set_state(run_id, state) -> None:
    from prefect.client.orchestration import get_client

    async def write():
        async with get_client() as client:
            await client.set_flow_run_state(run_id, state, force=True)

    asyncio.run(write())


def test_a_redrop_after_a_transient_failure_runs_again(local_env, package_deployment, media_dir):
    """Content whose run failed because of the machine (out of memory, disk full, crashed worker) is
    processed again when dropped again; content whose run refused it stays a duplicate."""
    from prefect.states import Crashed, Failed

    store = open_store()
    store.put_file("inbox/a.mp4", media_dir / "av.mp4")
    first = scan_inbox(settle_s=0)[0]
    assert first.outcome == "started"
    _set_state(first.flow_run_id, Failed(message="ResourceError: normalising a.mp4 failed: the disk is full"))

    store.put_file("inbox/a-again.mp4", media_dir / "av.mp4")
    again = scan_inbox(settle_s=0)[0]
    assert again.outcome == "retried" and again.flow_run_id != first.flow_run_id

    store.put_file("inbox/a-third.mp4", media_dir / "av.mp4")  # the retry is still scheduled: a duplicate
    third = scan_inbox(settle_s=0)[0]
    assert third.outcome == "duplicate" and third.flow_run_id == again.flow_run_id

    _set_state(again.flow_run_id, Crashed(message="the worker was killed"))
    store.put_file("inbox/a-fourth.mp4", media_dir / "av.mp4")
    fourth = scan_inbox(settle_s=0)[0]
    assert fourth.outcome == "retried" and fourth.flow_run_id not in (first.flow_run_id, again.flow_run_id)

    store.put_file("inbox/t.m4a", media_dir / "tone.m4a")
    tone = scan_inbox(settle_s=0)[0]
    _set_state(tone.flow_run_id, Failed(message="DamagedMediaError: t.m4a is damaged or cut off: ..."))
    store.put_file("inbox/t-again.m4a", media_dir / "tone.m4a")
    refused = scan_inbox(settle_s=0)[0]
    assert refused.outcome == "duplicate" and refused.flow_run_id == tone.flow_run_id
    assert "DamagedMediaError" in refused.detail


def test_a_poison_object_never_starves_the_inbox(local_env, package_deployment, media_dir, monkeypatch):
    """An object that keeps failing (here: the storage times out on it) waits behind fresh objects in each
    scan's batch, and goes to failed/ after MAX_ATTEMPTS scans."""
    import flows.inbox
    import tasks.inbox
    from newsroom.errors import ResourceError

    real_admit = tasks.inbox.admit_media

    def flaky_admit(path, settings=None):
        if path.stat().st_size == (media_dir / "vfr.mp4").stat().st_size:
            raise ResourceError("reading it timed out")
        return real_admit(path, settings)

    monkeypatch.setattr(tasks.inbox, "admit_media", flaky_admit)  # the fault, injected for one object
    monkeypatch.setattr(flows.inbox, "take_object", tasks.inbox.take_object.with_options(retries=0))
    store = open_store()
    store.put_file("inbox/poison.mp4", media_dir / "vfr.mp4")
    first = scan_inbox(settle_s=0, max_objects=1)
    assert [(r.key, r.outcome) for r in first] == [("inbox/poison.mp4", "error")]
    store.put_file("inbox/fresh.mp4", media_dir / "av.mp4")
    second = {r.key: r for r in scan_inbox(settle_s=0, max_objects=1)}
    assert second["inbox/fresh.mp4"].outcome == "started"  # the fresh object went first
    assert second["inbox/poison.mp4"].outcome == "waiting"
    outcomes = [scan_inbox(settle_s=0, max_objects=1)[0] for _ in range(tasks.inbox.MAX_ATTEMPTS - 1)]
    assert [r.outcome for r in outcomes] == ["error"] * (tasks.inbox.MAX_ATTEMPTS - 2) + ["failed"]
    assert "gave up after 5 attempts: " in outcomes[-1].detail and "timed out" in outcomes[-1].detail
    assert list(store.list("inbox/")) == [] and store.exists(outcomes[-1].moved_to)
    assert list(store.list(tasks.inbox.ATTEMPTS_PREFIX)) == []
