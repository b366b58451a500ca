"""The subprocess runner: deadlines, process groups, nothing left running, transient faults told apart."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from newsroom.errors import DeadlineError, MediaError, ResourceError
from newsroom.media import process, run_ffmpeg
from newsroom.media.inputs import input_args


def _pids_with_marker(marker: str) -> list[int]:
    """Processes whose environment carries `marker`: every descendant of a test run, wherever it was re-parented."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_gone(marker: str, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _pids_with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def marker(monkeypatch) -> str:
    value = f"NEWSROOM_TEST_MARKER_{uuid.uuid4().hex}"
    monkeypatch.setenv(value, "1")
    return value


def test_a_deadline_kills_the_whole_process_group(marker):
    started = time.monotonic()
    with pytest.raises(DeadlineError, match="did not finish within its 1 s deadline"):
        # sh starts a grandchild: the whole group goes, not only the direct child.
        process.run(["sh", "-c", "sleep 60 & sleep 60"], what="a stuck job", timeout_s=1.0)
    assert time.monotonic() - started < 5
    assert _wait_gone(marker) == []
    assert process.live_children() == []


def test_an_exception_in_the_waiting_thread_kills_the_child(marker):
    """What Prefect does on a task timeout or cancellation: an exception raised into the thread that waits."""
    import ctypes
    import threading

    caught: list[BaseException] = []

    def task() -> None:
        try:
            process.run(["sleep", "60"], what="sleeping", timeout_s=600)
        except BaseException as exc:
            caught.append(exc)

    def sleeping() -> bool:  # the child itself, past exec (a fork still inside Popen carries the marker too)
        for pid in _pids_with_marker(marker):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0060\x00":
                    return True
        return False

    worker = threading.Thread(target=task, daemon=True)  # a failure here must not hang the run at exit
    worker.start()
    while not sleeping():
        time.sleep(0.05)
    time.sleep(0.2)  # and the runner waiting on it
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(TimeoutError))
    worker.join(timeout=10)
    assert not worker.is_alive() and isinstance(caught[0], TimeoutError)
    assert _wait_gone(marker) == []


def test_prefect_task_timeout_kills_the_child(marker, prefect_harness):
    """A task's timeout_seconds arrives as an exception in the waiting thread; the child dies with it."""
    from prefect import flow, task

    @task(timeout_seconds=2)
    def stuck() -> None:
        process.run(["sleep", "120"], what="a stuck ffmpeg", timeout_s=600)

    @flow
    def run_stuck() -> str:
        state = stuck(return_state=True)
        return state.type.value

    started = time.monotonic()
    assert run_stuck() == "FAILED"
    assert time.monotonic() - started < 60
    assert _wait_gone(marker) == []


def test_a_worker_killed_with_sigkill_takes_its_children_along(marker, tmp_path):
    """PR_SET_PDEATHSIG: even `kill -9` of the Python process running a task leaves no ffmpeg behind."""
    script = ("from newsroom.media import process\n"
              "process.run(['sleep', '120'], what='x', timeout_s=600)\n")
    worker = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while len(_pids_with_marker(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_pids_with_marker(marker)) == 2, "the worker did not start its child"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert _wait_gone(marker) == []


def test_killed_by_the_system_is_transient():
    with pytest.raises(ResourceError, match="killed by SIGKILL .*out of memory"):
        process.run(["sh", "-c", "kill -9 $$"], what="an encoder", timeout_s=30, check=True)


def test_a_full_disk_is_transient_not_bad_media(media_dir):
    with pytest.raises(ResourceError, match="disk is full"):
        run_ffmpeg([*input_args(media_dir / "av.mp4"), "-c", "copy", "-f", "mp4", "/dev/full"],
                   what="writing the mezzanine")


def test_bad_media_is_not_transient(media_dir, tmp_path):
    with pytest.raises(MediaError) as caught:
        run_ffmpeg([*input_args(media_dir / "av.mp4"), "-c:v", "no-such-encoder", str(tmp_path / "x.mp4")],
                   what="encoding")
    assert not isinstance(caught.value, ResourceError)


def test_ungated_inputs_are_a_programming_error(media_dir, tmp_path):
    with pytest.raises(ValueError, match="not gated"):
        run_ffmpeg(["-i", str(media_dir / "av.mp4"), str(tmp_path / "x.mp4")])


def test_sigterm_stops_a_cli_ingest_and_everything_it_started(marker, tmp_path):
    """`timeout` sends SIGTERM: the CLI stops its ffmpeg child and its temporary Prefect server, gives back its
    story's lease, then exits; run again, the same story starts at once (no wait for the lease to expire)."""
    long_clip = tmp_path / "long.avi"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi",
                    "-i", "sine=f=440", "-t", "90", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "mp3", str(long_clip)],
                   check=True)
    env = {**os.environ, "NEWSROOM_LOCAL_ROOT": str(tmp_path / "store"), "NEWSROOM_STORAGE_BACKEND": "local"}
    env.pop("PREFECT_API_URL", None)  # as a user runs it: the CLI starts its own temporary server
    # ... on a Prefect home of its own, as on a fresh machine (not the database every other CLI test used).
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    for run in ("first", "again"):
        cli = subprocess.Popen([sys.executable, "-m", "newsroom.cli", "ingest", str(long_clip), "--model",
                                "tiny.en"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            err = _stop_a_working_cli(cli, marker)
        finally:
            if cli.poll() is None:  # a failed check: take the CLI and its children down, not the later tests
                cli.kill()
                cli.communicate()
        assert "released 1 story lease" in " ".join(err.split()), err
        assert "being processed by another run" not in err, (run, err)


def _stop_a_working_cli(cli: subprocess.Popen, marker: str) -> str:
    deadline = time.monotonic() + 240
    # Wait until the flow is really working: an ffmpeg converting the source to H.264 (the Prefect server is up
    # and the story's lease taken), not the CLI's check of the file nor store-source's speech audio before it.
    while time.monotonic() < deadline and cli.poll() is None:
        cmdlines = []
        for pid in _pids_with_marker(marker):
            try:
                cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
            except OSError:
                continue
        if any(b"ffmpeg" in c and b"libx264" in c for c in cmdlines):
            break
        time.sleep(0.2)
    assert cli.poll() is None, cli.communicate()
    running = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
               for pid in _pids_with_marker(marker)}
    if len(running) < 3:  # the CLI, its Prefect server, an ffmpeg: say where the CLI was instead
        cli.send_signal(signal.SIGTERM)
        _, err = cli.communicate(timeout=60)
        pytest.fail(f"no ffmpeg converting after 240 s; running: {running}\nCLI log (tail):\n{err[-4000:]}")
    stopped_at = time.monotonic()
    cli.send_signal(signal.SIGTERM)
    _, err = cli.communicate(timeout=60)
    assert time.monotonic() - stopped_at < 20
    assert cli.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err and "stopped by signal SIGTERM" in err
    assert _wait_gone(marker) == []
    return err
