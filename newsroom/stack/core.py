"""`newsroom stack`: the whole system on one machine, as supervised processes under one folder.

    s3            juicefs gateway (S3 API, MinIO bucket notifications to the webhook)
    prefect       prefect server start (SQLite in the stack folder, analytics off)
    worker-cpu    prefect worker start --pool cpu      (stack_cpu_workers processes)
    worker-heavy  prefect worker start --pool heavy    (stack_heavy_workers processes)
    webhook       newsroom webhook

`up` formats the S3 volume once, starts supervisord, then each service in that order, waiting until it is
healthy; between them it creates the bucket and its notification, runs `newsroom ops bootstrap` and deploys
infra/prefect.yaml (with the code taken from this checkout). Everything listens on 127.0.0.1. `down` stops
supervisord and every process group it started, then checks that no process of the stack is left (each
one, down to ffmpeg, carries NEWSROOM_STACK_ID in its environment) and kills any it finds.

The library never imports Prefect: the stack drives it through its CLIs and its REST API.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Literal

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, NewsroomError
from newsroom.stack import procs, s3
from newsroom.stack.paths import Paths, code_dir
from newsroom.stack.procs import STACK_ID_ENV, all_pids, stack_process
from newsroom.stack.supervisor import RUNNING_STATES, STOPPED_STATES, Program, Supervisor, render_config

log = logging.getLogger("newsroom.stack")
__all__ = ["HOST", "SERVICES", "STACK_ID_ENV", "Paths", "ServiceStatus", "Stack", "StackError", "code_dir"]
HOST = "127.0.0.1"
SERVICES = ("s3", "prefect", "worker-cpu", "worker-heavy", "webhook")  # also the order `up` starts them in
POOLS = {"worker-cpu": "cpu", "worker-heavy": "heavy"}
HEALTH_TIMEOUT_S = 3.0
CLI_TIMEOUT_S = 600.0
State = Literal["running", "stopped", "failed"]


class StackError(NewsroomError):
    """A stack service could not be started, reached or stopped; the message names it and its log."""


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    state: State
    url: str | None
    healthy: bool
    pids: list[int] = field(default_factory=list)
    processes: dict[str, str] = field(default_factory=dict)  # supervisor's process name -> its state
    log: str | None = None


class Stack:
    """One stack folder: start, stop, inspect and disturb its services."""

    def __init__(self, settings: Settings | None = None, *, extra_env: dict[str, str] | None = None) -> None:
        self.settings = settings or get_settings()
        self.paths = Paths(self.settings.stack_dir)
        self.code = code_dir()
        self.extra_env = dict(extra_env or {})
        self.id = hashlib.sha256(str(self.paths.root).encode()).hexdigest()[:16]
        self.supervisor = Supervisor(self.paths.config, self.paths.socket, self.paths.pid_file,
                                     self.paths.logs / "supervisord.log")
        s = self.settings
        self.ports = {"s3": s.stack_s3_port, "prefect": s.stack_prefect_port, "webhook": s.stack_webhook_port}
        self.workers = {"worker-cpu": s.stack_cpu_workers, "worker-heavy": s.stack_heavy_workers}
        if self.supervisor.running() and self.paths.layout.exists():
            # A running stack keeps the ports and worker counts it was started with, whatever this shell says.
            layout = json.loads(self.paths.layout.read_text())
            self.ports, self.workers = layout["ports"], layout["workers"]

    # -- addresses and settings for clients
    @property
    def s3_endpoint(self) -> str:
        return f"{HOST}:{self.ports['s3']}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.ports['prefect']}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ports['prefect']}"

    @property
    def webhook_url(self) -> str:
        return f"http://{HOST}:{self.ports['webhook']}"

    @property
    def bucket(self) -> str:
        return self.settings.minio_bucket

    def credentials(self) -> dict[str, str]:
        """The stack's secrets, made once (0600 file in the stack folder); settings given by the user win."""
        path = self.paths.secrets
        stored = json.loads(path.read_text()) if path.exists() else {}
        s = self.settings
        wanted = {
            "s3_access_key": stored.get("s3_access_key") or "newsroom",
            "s3_secret_key": stored.get("s3_secret_key") or secrets.token_hex(16),
            "webhook_secret": (s.webhook_secret.get_secret_value() if s.webhook_secret else None)
            or stored.get("webhook_secret") or secrets.token_hex(24),
            "storage_events_token": (s.storage_events_token.get_secret_value() if s.storage_events_token else None)
            or stored.get("storage_events_token") or secrets.token_hex(24),
        }
        if wanted != stored:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(wanted, fh, indent=2)
        return wanted

    def client_env(self) -> dict[str, str]:
        """NEWSROOM_* and PREFECT_* variables that point a CLI, a test or a bench at this stack."""
        creds = self.credentials()
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "NEWSROOM_STORAGE_BACKEND": "minio",
            "NEWSROOM_MINIO_ENDPOINT": self.s3_endpoint,
            "NEWSROOM_MINIO_ACCESS_KEY": creds["s3_access_key"],
            "NEWSROOM_MINIO_SECRET_KEY": creds["s3_secret_key"],
            "NEWSROOM_MINIO_BUCKET": self.bucket,
            "NEWSROOM_WEBHOOK_SECRET": creds["webhook_secret"],
            "NEWSROOM_STORAGE_EVENTS_TOKEN": creds["storage_events_token"],
            "NEWSROOM_PREFECT_UI_URL": self.ui_url,
        }

    def client_settings(self, **overrides) -> Settings:
        env = self.client_env()
        return Settings(storage_backend="minio", minio_endpoint=env["NEWSROOM_MINIO_ENDPOINT"],
                        minio_access_key=env["NEWSROOM_MINIO_ACCESS_KEY"],
                        minio_secret_key=env["NEWSROOM_MINIO_SECRET_KEY"], minio_bucket=self.bucket,
                        webhook_secret=env["NEWSROOM_WEBHOOK_SECRET"],
                        storage_events_token=env["NEWSROOM_STORAGE_EVENTS_TOKEN"], **overrides)

    def open_store(self):
        from newsroom.storage.minio import MinioStore

        creds = self.credentials()
        return MinioStore(self.s3_endpoint, creds["s3_access_key"], creds["s3_secret_key"], self.bucket)

    # -- the services
    def programs(self) -> list[Program]:
        creds = self.credentials()
        p, py = self.paths, sys.executable
        common = {
            **self.extra_env,
            STACK_ID_ENV: self.id,
            "PREFECT_HOME": str(p.prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join([str(self.code), *filter(None, [os.environ.get("PYTHONPATH")])]),
        }
        # SQLite answers 'busy' (503) under load; Prefect's client retries those, 5 times by default: not
        # enough for 50 queued stories on 2 cores (a flow run failed on it in the load bench).
        client = {**common, **self.client_env(), "PREFECT_LOGGING_EXTRA_LOGGERS": "newsroom",
                  "PREFECT_CLIENT_MAX_RETRIES": "10"}
        worker_limit = self.worker_limit()
        programs = [
            Program("s3", s3.gateway_command(p.meta_db, self.s3_endpoint, p.s3_cache),
                    env={**common, **s3.gateway_env(creds["s3_access_key"], creds["s3_secret_key"],
                                                    f"{self.webhook_url}/v1/storage-events",
                                                    creds["storage_events_token"], p.s3_events)},
                    priority=10, log_file=p.log("s3")),
            Program("prefect", [py, "-m", "prefect", "server", "start", "--host", HOST,
                                "--port", str(self.ports["prefect"])],
                    env={**common, "PREFECT_API_DATABASE_CONNECTION_URL":
                         f"sqlite+aiosqlite:///{p.prefect_home / 'prefect.db'}",
                         "PREFECT_UI_API_URL": self.api_url, "PREFECT_API_URL": self.api_url},
                    priority=20, start_secs=3, stop_wait_s=30, log_file=p.log("prefect")),
        ]
        for service, pool in POOLS.items():
            count = self.workers[service]
            name = f"{service}-{{process_num}}" if count > 1 else service
            programs.append(Program(
                service, [py, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
                          "--name", name, "--limit", str(worker_limit)],
                env={**client, "PREFECT_WORKER_QUERY_SECONDS": str(self.settings.stack_worker_poll_s),
                     "PREFECT_WORKER_PREFETCH_SECONDS": str(self.settings.stack_worker_poll_s),
                     "TMPDIR": str(p.scratch / service)},
                numprocs=count, priority=30, start_secs=3, stop_wait_s=30, log_file=p.log(service)))
        programs.append(Program("webhook", [py, "-m", "newsroom.cli", "webhook", "--host", HOST,
                                            "--port", str(self.ports["webhook"])],
                                env={**client, "TMPDIR": str(p.scratch / "webhook")}, priority=40, start_secs=2,
                                log_file=p.log("webhook")))
        return programs

    def worker_limit(self) -> int:
        """Flow runs one worker takes at once. A package run waits for its edit run on the same pool, so the
        pool needs a slot beyond the stories allowed at once (and one for an inbox scan), or it deadlocks."""
        return max(1, math.ceil((self.stories_at_once() + 2) / self.workers["worker-cpu"]))

    def stories_at_once(self) -> int:
        return self.settings.stack_stories_at_once

    def urls(self) -> dict[str, str]:
        return {"s3": f"http://{self.s3_endpoint}", "prefect": self.ui_url,
                "worker-cpu": f"{self.ui_url}/work-pools/work-pool/cpu",
                "worker-heavy": f"{self.ui_url}/work-pools/work-pool/heavy", "webhook": self.webhook_url}

    # -- up / down / status
    def up(self, services: tuple[str, ...] | list[str] = SERVICES, *, timeout_s: float | None = None) -> dict[str, ServiceStatus]:
        """Start `services` (in the stack's order) and return once each is healthy; a StackError names the one
        that is not, with the end of its log."""
        unknown = set(services) - set(SERVICES)
        if unknown:
            raise ConfigError(f"unknown stack service(s) {', '.join(sorted(unknown))}: choose from {', '.join(SERVICES)}")
        timeout_s = timeout_s or self.settings.stack_up_timeout_s
        p = self.paths
        for folder in (p.run, p.logs, p.s3_cache, p.s3_events, p.prefect_home, *(p.scratch / s for s in
                                                                                 (*POOLS, "webhook"))):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.supervisor.running():
            self._check_ports()
            s3.format_volume(p.meta_db, p.s3_data)
            p.config.write_text(render_config(self.programs(), socket_path=p.socket, pid_file=p.pid_file,
                                              log_dir=p.logs, directory=self.code))
            p.layout.write_text(json.dumps({"ports": self.ports, "workers": self.workers}))
            self.supervisor.start(self._supervisor_env())
        for service in [s for s in SERVICES if s in services]:
            if self._service_state(service) == "running" and self.health(service):
                continue
            log.info("starting %s", service)
            try:
                self.supervisor.start_group(service)
            except NewsroomError as exc:
                raise StackError(f"{service} did not start: {exc}\n{self.tail(service)}") from None
            self._wait_healthy(service, timeout_s)
            if service == "s3":
                self._prepare_bucket()
            elif service == "prefect":
                self._bootstrap_and_deploy()
        return self.status()

    def down(self) -> list[int]:
        """Stop everything; returns the pids of stack processes that outlived supervisord (killed here)."""
        if self.supervisor.running():
            self.supervisor.shutdown()
        elif (pid := self.supervisor.pid()) and stack_process(pid, self.id):
            os.kill(pid, signal.SIGTERM)  # a supervisord that stopped answering
        leftovers = self.leftover_pids()
        for pid in leftovers:
            log.warning("killing pid %d left by the stack", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.paths.socket.unlink(missing_ok=True)
        return leftovers

    def leftover_pids(self) -> list[int]:
        """Every live process started by this stack (found by NEWSROOM_STACK_ID in its environment)."""
        own = os.getpid()
        return [pid for pid in all_pids() if pid != own and stack_process(pid, self.id)]

    def status(self) -> dict[str, ServiceStatus]:
        running = self.supervisor.running()
        processes = self.supervisor.processes() if running else []
        urls = self.urls()
        result = {}
        for service in SERVICES:
            mine = [p for p in processes if p.group == service]
            state = _state([p.state for p in mine])
            healthy = state == "running" and self.health(service)
            result[service] = ServiceStatus(state=state, url=urls[service], healthy=healthy,
                                            pids=[p.pid for p in mine if p.pid],
                                            processes={p.name: p.state for p in mine},
                                            log=str(self.paths.log(service)))
        return result

    def status_json(self) -> dict:
        return {"stack_dir": str(self.paths.root),
                "services": {name: asdict(s) for name, s in self.status().items()}}

    # -- health
    def health(self, service: str) -> bool:
        try:
            if service == "s3":
                return _get(f"http://{self.s3_endpoint}/minio/health/live") == 200
            if service == "prefect":
                return _get(f"{self.api_url}/health") == 200
            if service == "webhook":
                return _get(f"{self.webhook_url}/healthz") == 200
            return self._workers_online(service)
        except (OSError, ValueError):
            return False

    def _workers_online(self, service: str) -> bool:
        request = urllib.request.Request(f"{self.api_url}/work_pools/{POOLS[service]}/workers/filter", data=b"{}",
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_S) as response:
            online = {w["name"] for w in json.load(response) if w.get("status") == "ONLINE"}
        return set(self.worker_names(service)) <= online

    def worker_names(self, service: str) -> list[str]:
        count = self.workers[service]
        return [f"{service}-{i}" for i in range(count)] if count > 1 else [service]

    def _wait_healthy(self, service: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.health(service):
                log.info("%s is healthy", service)
                return
            failed = [p for p in self.supervisor.group(service) if p.state not in RUNNING_STATES]
            if failed:
                raise StackError(f"{service} stopped while starting ({failed[0].name}: {failed[0].state}, "
                                 f"{failed[0].description}): see {self.paths.log(service)}\n{self.tail(service)}")
            time.sleep(0.5)
        raise StackError(f"{service} is not healthy after {timeout_s:.0f} s: see {self.paths.log(service)}\n"
                         f"{self.tail(service)}")

    def tail(self, service: str, lines: int = 15) -> str:
        try:
            return "\n".join(self.paths.log(service).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- disturbing a running stack (fault injection)
    def stop(self, service: str) -> None:
        self.supervisor.stop_group(service)

    def start(self, service: str, timeout_s: float | None = None) -> None:
        self.supervisor.start_group(service)
        self._wait_healthy(service, timeout_s or self.settings.stack_up_timeout_s)

    def pause(self, service: str, timeout_s: float = 60.0) -> None:
        """SIGSTOP the service's processes: they keep their sockets but answer nothing (a stalled server).
        A service still coming back from an earlier kill is paused once it is up; returns when every process
        of it is stopped."""
        self._wait_healthy(service, timeout_s)
        self.supervisor.signal_group(service, "STOP")
        pids = self.pids(service)
        deadline = time.monotonic() + 5
        while not all(procs.state(pid) in ("T", "t") for pid in pids):
            if time.monotonic() > deadline:
                raise StackError(f"{service} did not stop on SIGSTOP (pids {pids})")
            time.sleep(0.05)

    def resume(self, service: str) -> None:
        self.supervisor.signal_group(service, "CONT")

    def kill(self, service: str) -> None:
        """SIGKILL the service's processes (supervisor restarts them, as it would after a crash)."""
        self.supervisor.signal_group(service, "KILL")

    def pids(self, service: str, *, descendants: bool = False) -> list[int]:
        """The service's process ids, and with `descendants` every process below them (flow runs, ffmpeg)."""
        roots = [p.pid for p in self.supervisor.group(service) if p.pid]
        return procs.descendants(roots) if descendants else roots

    # -- steps of `up`
    def _check_ports(self) -> None:
        settings_of = {"s3": "NEWSROOM_STACK_S3_PORT", "prefect": "NEWSROOM_STACK_PREFECT_PORT",
                       "webhook": "NEWSROOM_STACK_WEBHOOK_PORT"}
        for service, port in self.ports.items():
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((HOST, port))
                except OSError:
                    raise StackError(f"port {port} for {service} is in use on {HOST}: stop what uses it, or "
                                     f"choose another with {settings_of[service]}") from None

    def _supervisor_env(self) -> dict[str, str]:
        """supervisord's own environment (its programs inherit it): the caller's, less anything that would
        point a service at another Prefect server or store, plus the stack id."""
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("PREFECT_", "MINIO_")) and k not in self.client_env()}
        return {**keep, STACK_ID_ENV: self.id}

    def _prepare_bucket(self) -> None:
        store = self.open_store()  # creates the bucket
        s3.notify_inbox(store.client, self.bucket, self.settings.inbox_prefix)

    def _bootstrap_and_deploy(self) -> None:
        env = {**self._supervisor_env(), **self.client_env(), "PREFECT_HOME": str(self.paths.prefect_home),
               "PYTHONPATH": os.pathsep.join([str(self.code), *filter(None, [os.environ.get("PYTHONPATH")])])}
        env.pop(STACK_ID_ENV, None)
        self._cli([sys.executable, "-m", "newsroom.cli", "ops", "bootstrap"], env, "newsroom ops bootstrap")
        self.paths.prefect_yaml.write_text(self.deployment_spec())
        self._cli([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file",
                   str(self.paths.prefect_yaml)], env, "prefect deploy")

    def deployment_spec(self) -> str:
        """infra/prefect.yaml for this machine: flows run from this checkout; at most stories_at_once package
        runs at a time (the rest wait for a slot: backpressure for a full inbox)."""
        import yaml

        spec = yaml.safe_load((self.code / "infra" / "prefect.yaml").read_text("utf-8"))
        spec["pull"] = [{"prefect.deployments.steps.set_working_directory": {"directory": str(self.code)}}]
        spec.pop("definitions", None)
        for deployment in spec["deployments"]:
            if deployment["name"] == "package":
                deployment["concurrency_limit"] = self.stories_at_once()
        return "# written by `newsroom stack up` from infra/prefect.yaml\n" + yaml.safe_dump(spec, sort_keys=False)

    def _cli(self, command: list[str], env: dict[str, str], what: str) -> None:
        log.info("running %s", what)
        result = subprocess.run(command, env=env, cwd=self.code, capture_output=True, text=True,
                                timeout=CLI_TIMEOUT_S)
        with open(self.paths.logs / "setup.log", "a") as fh:
            fh.write(f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}\n")
        if result.returncode != 0:
            raise StackError(f"{what} failed (exit {result.returncode}): {(result.stderr or result.stdout)[-1500:]}")

    def _service_state(self, service: str) -> State:
        return _state([p.state for p in self.supervisor.group(service)])


def _state(states: list[str]) -> State:
    if not states or all(s in STOPPED_STATES for s in states):
        return "stopped"
    if all(s in RUNNING_STATES for s in states):
        return "running"
    return "failed"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
