"""supervisord for the stack: its configuration file and a small client over its XML-RPC socket.

supervisor (4.3.0) runs each service as a child process with its own log file, restarts it when it dies
unexpectedly, stops a service with its whole process group (`stopasgroup`/`killasgroup`: a Prefect worker's
flow-run processes go with it) and lets a caller stop, start or signal one service while the others run -
what the fault-injection tests need. It listens on a UNIX socket inside the stack folder (mode 0700), never
on a TCP port.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from newsroom.errors import NewsroomError

log = logging.getLogger("newsroom.stack.supervisor")
START_TIMEOUT_S = 30.0
# supervisor's process states, grouped as `newsroom stack status` reports them.
RUNNING_STATES = frozenset({"RUNNING", "STARTING"})
STOPPED_STATES = frozenset({"STOPPED", "STOPPING"})
SUCCESS_STATUS = 80  # supervisor.xmlrpc.Faults.SUCCESS: the per-process result of a group call
# EXITED (died and was not restarted), BACKOFF (dying on start), FATAL (gave up), UNKNOWN: failed



class SupervisorError(NewsroomError):
    """supervisord could not be started or reached; the message says where its log is."""


@dataclass(frozen=True, slots=True)
class Program:
    """One supervised program: `numprocs` copies of one command (`<name>-0`, `<name>-1`, ... when more than one)."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    directory: Path | None = None
    numprocs: int = 1
    priority: int = 100
    start_secs: int = 2
    stop_wait_s: int = 20
    log_file: Path | None = None


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    name: str
    group: str
    state: str
    pid: int
    exit_status: int
    description: str


def _quote(value: str) -> str:
    """A value for supervisor's configuration: %-escaped (it expands %(...)s) and double-quoted."""
    escaped = value.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_config(programs: list[Program], *, socket_path: Path, pid_file: Path, log_dir: Path,
                  directory: Path) -> str:
    """supervisord.conf for these programs. None starts by itself: `Stack.up` starts them in order."""
    lines = [
        "; written by `newsroom stack up`; edits are overwritten",
        "[unix_http_server]",
        f"file={socket_path}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={log_dir / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={pid_file}",
        f"childlogdir={log_dir}",
        f"directory={directory}",
        "identifier=newsroom-stack",
        "minfds=4096",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket_path}",
        "",
    ]
    for program in programs:
        # "{process_num}" in an argument becomes each copy's number (supervisor's %(process_num)d).
        command = (" ".join(shlex.quote(arg) for arg in program.command).replace("%", "%%")
                   .replace("{process_num}", "%(process_num)d"))
        env = ",".join(f"{key}={_quote(value)}" for key, value in sorted(program.env.items()))
        log_file = program.log_file or log_dir / f"{program.name}.log"
        lines += [
            f"[program:{program.name}]",
            f"command={command}",
            f"process_name=%(program_name)s{'-%(process_num)d' if program.numprocs > 1 else ''}",
            f"numprocs={program.numprocs}",
            f"priority={program.priority}",
            f"directory={program.directory or directory}",
            *([f"environment={env}"] if env else []),
            "autostart=false",
            "autorestart=unexpected",
            "exitcodes=0",
            f"startsecs={program.start_secs}",
            "startretries=3",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_wait_s}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            # One file for all copies of a program: each line of a worker's log names the worker.
            f"stdout_logfile={str(log_file).replace('%', '%%')}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
            "",
        ]
    return "\n".join(lines)


class Supervisor:
    """A running (or startable) supervisord for one configuration file."""

    def __init__(self, config: Path, socket_path: Path, pid_file: Path, log_file: Path) -> None:
        self.config = config
        self.socket_path = socket_path
        self.pid_file = pid_file
        self.log_file = log_file

    def _proxy(self) -> xmlrpc.client.ServerProxy:
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    @property
    def rpc(self):
        return self._proxy().supervisor

    def running(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return self.rpc.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, env: dict[str, str]) -> None:
        """Start supervisord (it daemonises) and wait until it answers on its socket."""
        if self.running():
            return
        self.socket_path.unlink(missing_ok=True)  # left by a supervisord that was killed
        result = subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
                                env=env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SupervisorError(f"supervisord did not start: {(result.stderr or result.stdout).strip()[-500:]} "
                                  f"(see {self.log_file})")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.running():
                log.info("supervisord running (pid %s)", self.pid())
                return
            time.sleep(0.2)
        raise SupervisorError(f"supervisord did not answer on {self.socket_path} within {START_TIMEOUT_S:.0f} s: "
                              f"see {self.log_file}")

    def processes(self) -> list[ProcessInfo]:
        return [ProcessInfo(name=p["name"], group=p["group"], state=p["statename"], pid=int(p["pid"]),
                            exit_status=int(p["exitstatus"]), description=p["description"])
                for p in self.rpc.getAllProcessInfo()]

    def group(self, name: str) -> list[ProcessInfo]:
        return [p for p in self.processes() if p.group == name]

    def start_group(self, name: str) -> None:
        """Start every process of a program (waits for supervisor's startsecs; a failed start is an error)."""
        try:
            self.rpc.startProcessGroup(name, True)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"{name} did not start ({exc.faultString}): see its log") from None
        failed = [p for p in self.group(name) if p.state not in RUNNING_STATES]
        if failed:
            raise SupervisorError(f"{name} did not start: {', '.join(f'{p.name} {p.state}' for p in failed)}")

    def stop_group(self, name: str) -> None:
        try:
            self.rpc.stopProcessGroup(name, True)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"{name} did not stop ({exc.faultString})") from None

    def signal_group(self, name: str, signal_name: str) -> None:
        """Send a signal (STOP, CONT, KILL, ...) to every running process of a program (not its children).
        SupervisorError when one of them was not signalled (supervisord skips a process it is restarting)."""
        try:
            results = self.rpc.signalProcessGroup(name, signal_name)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"cannot signal {name} ({exc.faultString})") from None
        missed = [f"{r.get('name')}: {r.get('description')}" for r in results if r.get("status") != SUCCESS_STATUS]
        if missed or not results:
            raise SupervisorError(f"{signal_name} did not reach {name} ({'; '.join(missed) or 'no process'})")

    def shutdown(self, timeout_s: float = 120.0) -> None:
        """Stop every program (process groups, TERM then KILL after stopwaitsecs) and supervisord itself."""
        pid = self.pid()
        with contextlib.suppress(OSError, xmlrpc.client.Error):
            self.rpc.shutdown()
        deadline = time.monotonic() + timeout_s
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid and _alive(pid):
            raise SupervisorError(f"supervisord (pid {pid}) did not stop within {timeout_s:.0f} s: see {self.log_file}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our child, not reaped yet) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False
