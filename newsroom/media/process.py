"""Every external program newsroom starts (ffmpeg, ffprobe, fc-list, ...) runs through this module.

Each child gets:
- a **deadline**: past it the child is killed and `DeadlineError` (transient: a slow or overloaded
  machine, not bad input) is raised. Callers scale it with the media's duration (`deadline_for`);
- its **own process group**, killed as a whole (SIGKILL) on the deadline, when the caller fails or is
  cancelled (any exception, including Prefect's timeout/cancellation exceptions and KeyboardInterrupt,
  arrives while we wait in short slices), and at interpreter exit (`kill_all`, registered with atexit;
  the CLI also calls it on SIGTERM). On Linux the kernel also kills it if our thread dies (PDEATHSIG),
  so not even `kill -9` of a worker leaves an ffmpeg running;
- a **classification** of how it ended: killed by a signal (the kernel's OOM killer sends SIGKILL) or
  "No space left on device" are `TransientError`s, to be retried; everything else is the caller's to
  explain (usually bad media).

Peak memory (`maxrss_kib`, the child's own VmHWM sampled while it runs) and wall time are measured for every run, so the hostile-input
suite can bound them.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import ctypes
import functools
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from newsroom.errors import DeadlineError, MediaError, ResourceError, TransientError

log = logging.getLogger("newsroom.media.process")

STDERR_KEEP_BYTES = 1024 * 1024  # the tail of a child's stderr kept for error messages and damage reports
DEFAULT_DEADLINE_S = 1800.0
_POLL_MIN_S, _POLL_MAX_S = 0.005, 0.2
_PR_SET_PDEATHSIG = 1


__all__ = ["Child", "Completed", "DeadlineError", "ResourceError", "binary", "classify_failure", "deadline_for",
           "kill_all", "last_lines", "live_children", "measure_children", "run"]


@dataclass(frozen=True, slots=True)
class Completed:
    """How a child ended. `stdout` is bytes unless `text=True` was asked for."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes | str
    stderr: str
    elapsed_s: float
    maxrss_kib: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def binary(name: str) -> str:
    """The path of an installed program; MediaError naming the fix when it is missing."""
    found = shutil.which(name)
    if not found:
        raise MediaError(f"{name} is not installed: run 'make setup' (or 'apt-get install ffmpeg')")
    return found


def last_lines(text: str, n: int = 3) -> str:
    """The last `n` non-empty lines of a child's output, joined for a one-line message."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "no error output"


def deadline_for(duration_s: float | None, *, per_media_s: float | None = None, floor_s: float | None = None) -> float:
    """A deadline for work on `duration_s` seconds of media: floor + factor x duration (settings
    `subprocess_deadline_floor_s` and `subprocess_deadline_factor`)."""
    from newsroom.config import get_settings

    settings = get_settings()
    floor = settings.subprocess_deadline_floor_s if floor_s is None else floor_s
    factor = settings.subprocess_deadline_factor if per_media_s is None else per_media_s
    if duration_s is None or duration_s <= 0:
        return max(floor, DEFAULT_DEADLINE_S)
    return floor + factor * duration_s


# ----------------------------------------------------------------------------------------- live children

# No lock guards `_live`: a dict's item assignment, pop and copy are atomic under the GIL, and a lock here could
# be left held for good by an exception raised into a thread (Prefect's task timeouts) between acquiring it and
# entering the block; every later child of the worker would then wait on it forever.
_live: dict[int, subprocess.Popen] = {}
_meter_lock = threading.Lock()
_METER_LOCK_WAIT_S = 1.0  # a meter update is skipped rather than wait on a lock some thread never released


@dataclass
class ChildMemory:
    """The children run inside one `measure_children()` block (and the tasks it starts, which inherit the
    context): how many, and the largest peak memory among them.

    The peak is the child's own high-water mark (VmHWM of its address space after exec), read while it runs
    (every poll; the last instants before it exits may be missed). Not wait4's ru_maxrss: Linux folds the
    parent's high-water mark into a forked child's at exec, so a child of a 4 GB worker "peaks" at 4 GB."""

    children: int = 0
    peak_rss_kib: int = 0


_meters: contextvars.ContextVar[tuple[ChildMemory, ...]] = contextvars.ContextVar("newsroom_child_meters", default=())


@contextlib.contextmanager
def measure_children() -> Iterator[ChildMemory]:
    """Count the children this context runs and their peak memory. Scoped by context variables, so a child
    that another thread started (an earlier run still finishing) is not counted; Prefect copies the context
    into the task threads it starts, so a flow's tasks are."""
    meter = ChildMemory()
    token = _meters.set((*_meters.get(), meter))
    try:
        yield meter
    finally:
        _meters.reset(token)


def _register(proc: subprocess.Popen) -> None:
    _live[proc.pid] = proc


def _unregister(proc: subprocess.Popen) -> None:
    _live.pop(proc.pid, None)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group, then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the kernel will not let go of
        log.error("child %d did not exit after SIGKILL", proc.pid)


def live_children() -> list[int]:
    """Pids of the children this process started that are still running."""
    return list(_live.copy())


def kill_all() -> int:
    """Kill every child still running (interpreter exit, SIGTERM in the CLI). Returns how many."""
    procs = list(_live.copy().values())
    for proc in procs:
        _live.pop(proc.pid, None)
    for proc in procs:
        _kill_group(proc)
    if procs:
        log.warning("killed %d child process(es) still running", len(procs))
    return len(procs)


atexit.register(kill_all)


def _preexec(memory_limit_bytes: int | None = None) -> None:  # runs in the child between fork and exec
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if memory_limit_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - not glibc/musl
        return None


_prctl = _load_prctl()


def _spawn(cmd: Sequence[str], *, stdin: int | None, stdout: int | None, stderr: int | None,
           memory_limit_bytes: int | None = None) -> subprocess.Popen:
    args = [str(a) for a in cmd]
    log.debug("running %s", " ".join(args))
    try:
        # preexec_fn instead of start_new_session: it also sets PDEATHSIG (a pre-resolved libc call) and
        # the optional address-space limit.
        proc = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=stderr,  # noqa: PLW1509
                                preexec_fn=functools.partial(_preexec, memory_limit_bytes))
    except FileNotFoundError as exc:
        raise MediaError(f"{args[0]} is not installed: run 'make setup'") from exc
    except OSError as exc:
        if exc.errno is None:  # raised into this thread while it started the child (a task timeout: TimeoutError)
            raise
        raise ResourceError(f"could not start {Path(args[0]).name}: {exc}") from exc
    _register(proc)
    return proc


# ----------------------------------------------------------------------------------------------- run()

def _drain(stream: IO[bytes], sink: Callable[[bytes], None]) -> None:
    try:
        for line in iter(stream.readline, b""):
            sink(line)
    except (OSError, ValueError):
        pass
    finally:
        stream.close()


class _Tail:
    """The last STDERR_KEEP_BYTES of a stream (a chatty child never fills our memory)."""

    def __init__(self, keep: int = STDERR_KEEP_BYTES) -> None:
        self.keep = keep
        self.parts: list[bytes] = []
        self.size = 0
        self.lock = threading.Lock()

    def __call__(self, data: bytes) -> None:
        with self.lock:
            self.parts.append(data)
            self.size += len(data)
            while self.size > self.keep and len(self.parts) > 1:
                self.size -= len(self.parts.pop(0))

    def text(self) -> str:
        with self.lock:
            return b"".join(self.parts).decode("utf-8", "replace")


def _high_water_kib(pid: int) -> int:
    """The peak resident memory (KiB) of a running child's own address space; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _wait(proc: subprocess.Popen, deadline: float) -> tuple[int, int]:
    """Wait for the child in short slices (so exceptions reach this thread), until `deadline`
    (monotonic). Returns (returncode, the child's own peak memory in KiB, see ChildMemory); raises
    DeadlineError after killing it."""
    delay = _POLL_MIN_S
    hwm_kib = 0
    while True:
        try:
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped elsewhere
            return proc.wait(), 0
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            meters = _meters.get()
            if meters and _meter_lock.acquire(timeout=_METER_LOCK_WAIT_S):
                try:
                    for meter in meters:
                        meter.children += 1
                        meter.peak_rss_kib = max(meter.peak_rss_kib, hwm_kib)
                finally:
                    _meter_lock.release()
            log.debug("%s exited %d, peak memory %.0f MiB", proc.args[0] if isinstance(proc.args, list) else proc.args,
                      proc.returncode, hwm_kib / 1024)
            return proc.returncode, hwm_kib
        if time.monotonic() > deadline:
            raise DeadlineError("deadline")
        hwm_kib = max(hwm_kib, _high_water_kib(proc.pid))
        time.sleep(delay)
        delay = min(_POLL_MAX_S, delay * 2)


def classify_failure(what: str, returncode: int, stderr: str) -> TransientError | None:
    """The transient error a failed child stands for, or None when it is the caller's to explain."""
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (the system may have run out of memory)" if sig == signal.SIGKILL else ""
        return ResourceError(f"{what} was killed by {name}{hint}: it will be retried; if it keeps happening, "
                             "give the worker more memory or lower NEWSROOM_THREADS")
    if re.search(r"No space left on device|Disk quota exceeded", stderr, re.IGNORECASE):
        return ResourceError(f"{what} failed: the disk is full (No space left on device): free space in "
                             f"{os.environ.get('TMPDIR', '/tmp')} or the output folder; it will be retried")
    if re.search(r"Cannot allocate memory|Out of memory", stderr, re.IGNORECASE):
        return ResourceError(f"{what} failed: out of memory: it will be retried; give the worker more memory")
    return None


def run(
    cmd: Sequence[str], *, what: str, timeout_s: float, stdin_bytes: bytes | None = None,
    on_line: Callable[[str], None] | None = None, text: bool = False, check: bool = False,
    merge_stderr: bool = False, memory_limit_bytes: int | None = None,
) -> Completed:
    """Run `cmd` to completion under a deadline; see the module docstring.

    stdout is collected (or, with `on_line`, fed line by line to the callback and not kept); stderr's
    tail is kept (with `merge_stderr`, stderr goes to stdout's stream, in the order written, and the tail
    holds nothing). `memory_limit_bytes` caps the child's address space (RLIMIT_AS): its allocations fail
    past it instead of exhausting the worker. With `check=True` a non-zero exit raises (transient causes as TransientError, others
    as MediaError naming `what`).
    """
    start = time.monotonic()
    proc = _spawn(cmd, stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                  memory_limit_bytes=memory_limit_bytes)
    out_parts: list[bytes] = []
    if on_line is None:
        out_sink: Callable[[bytes], None] = out_parts.append
    else:
        def out_sink(line: bytes) -> None:
            on_line(line.decode("utf-8", "replace"))
    err_tail = _Tail()
    readers = [threading.Thread(target=_drain, args=(proc.stdout, out_sink), daemon=True)]
    if not merge_stderr:
        readers.append(threading.Thread(target=_drain, args=(proc.stderr, err_tail), daemon=True))
    for reader in readers:
        reader.start()
    try:
        if stdin_bytes is not None:
            assert proc.stdin is not None
            try:
                proc.stdin.write(stdin_bytes)
            except BrokenPipeError:
                pass
            finally:
                proc.stdin.close()
        returncode, maxrss = _wait(proc, start + timeout_s)
    except DeadlineError:
        _kill_group(proc)
        raise DeadlineError(f"{what} did not finish within its {timeout_s:.0f} s deadline and was stopped: "
                            "the machine may be overloaded; it will be retried (raise "
                            "NEWSROOM_SUBPROCESS_DEADLINE_FACTOR for very slow machines)") from None
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        _unregister(proc)
        for reader in readers:
            reader.join(timeout=5)
    stdout: bytes | str = b"".join(out_parts)
    if text:
        stdout = stdout.decode("utf-8", "replace")
    done = Completed(tuple(str(a) for a in cmd), returncode, stdout, err_tail.text(),
                     time.monotonic() - start, maxrss)
    if check and not done.ok:
        raise classify_failure(what, returncode, done.stderr) or MediaError(f"{what} failed: {last_lines(done.stderr)}")
    return done


# ---------------------------------------------------------------------------------------------- Child

class Child:
    """A streaming child (frames piped in or out) under a deadline watchdog.

    The watchdog kills its group at the deadline (the caller then sees a closed pipe, and `wait()`
    raises DeadlineError). Call `wait()` when done (after closing stdin), or `kill()` on failure.
    """

    def __init__(self, cmd: Sequence[str], *, what: str, timeout_s: float, stdin: bool = False,
                 stdout: bool = False) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.timed_out = False
        self._start = time.monotonic()
        self.proc = _spawn(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                           stdout=subprocess.PIPE if stdout else subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._err = _Tail()
        self._reader = threading.Thread(target=_drain, args=(self.proc.stderr, self._err), daemon=True)
        self._reader.start()
        self._watchdog = threading.Timer(timeout_s, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def _expire(self) -> None:
        if self.proc.poll() is None:
            self.timed_out = True
            log.warning("%s passed its %.0f s deadline: stopping it", self.what, self.timeout_s)
            _kill_group(self.proc)

    def _finish(self) -> None:
        self._watchdog.cancel()
        _unregister(self.proc)
        self._reader.join(timeout=5)

    def kill(self) -> None:
        """Stop the child and everything it started (on the caller's failure)."""
        _kill_group(self.proc)
        self._finish()

    def wait(self) -> Completed:
        """Wait for the child to exit (in slices, so exceptions still reach this thread)."""
        try:
            returncode, maxrss = _wait(self.proc, float("inf"))
        except BaseException:
            self.kill()
            raise
        self._finish()
        if self.timed_out:
            raise DeadlineError(f"{self.what} did not finish within its {self.timeout_s:.0f} s deadline and was "
                                "stopped: the machine may be overloaded; it will be retried")
        return Completed(tuple(self.proc.args), returncode, b"", self._err.text(),
                         time.monotonic() - self._start, maxrss)
