"""Screenshots of the Prefect UI for the docs (docs/ui.md): not part of the test run.

Starts a throwaway Prefect server (fresh SQLite database in a temp PREFECT_HOME) and `newsroom serve`,
runs the package deployment on the bundled sample, and photographs with headless Chromium:

- prefect-deployment-form.png: the package deployment's custom-run form (typed parameters, descriptions)
- prefect-flow-run.png: the finished package run
- prefect-story-artifact.png: the story artifact (headline, lede, cover, links, checklist)

Storage: by default a throwaway S3 server on loopback (moto, as in the tests) stands in for MinIO, so the
artifacts' links are presigned http URLs and the cover image loads in the browser, as in production. With
`--storage local` the links are file:// URLs, which a browser does not load from an http page (the cover
shows as a broken image).

Needs the system Chromium (plus an emoji font for the checklist marks) and Playwright's Python package, no
browser download:

    apt-get install -y chromium fonts-noto-color-emoji
    .venv/bin/pip install playwright==1.65.2
    .venv/bin/python docs/screenshots.py [--out docs/img] [--timeout-min 20] [--storage s3|local]

Every process it starts is stopped on exit, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx

log = logging.getLogger("screenshots")

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1440, "height": 1000}
MAX_PNG_BYTES = 400_000
PACKAGE = "newsroom-package/package"
DEPLOYMENTS = {PACKAGE, "ingest/ingest", "edit/edit", "broadcast/broadcast", "inbox-scan/inbox"}
# Quick settings: the smallest models and a short edit without the optional renders.
RUN_PARAMETERS = {"asr_model": "tiny.en", "target_s": 10, "vertical": False, "burn_subtitles": False}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool(name: str) -> list[str]:
    """A console script of this virtual environment (falls back to `python -m`)."""
    script = BIN / name
    if script.exists():
        return [str(script)]
    modules = {"prefect": "prefect.cli", "newsroom": "newsroom.cli", "moto_server": "moto.server"}
    return [sys.executable, "-m", modules[name]]


@contextmanager
def background(name: str, argv: list[str], env: dict[str, str], logdir: Path,
               show_log_on_error: bool = True) -> Iterator[subprocess.Popen]:
    """Run a process in its own process group (flow runs are its children); stop the whole group on exit."""
    logfile = logdir / f"{name}.log"
    log.info("starting %s: %s (log: %s)", name, " ".join(argv), logfile)
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    except BaseException:
        if not show_log_on_error:
            raise
        tail = logfile.read_text(errors="replace")[-3000:]
        log.error("%s log (last lines):\n%s", name, tail)
        raise
    finally:
        stop(name, proc)


def stop(name: str, proc: subprocess.Popen, grace_s: float = 20) -> None:
    if proc.poll() is None:
        log.info("stopping %s (pid %d)", name, proc.pid)
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s: killing it", name, grace_s)
    # Children (flow-run subprocesses, uvicorn workers) may outlive the leader: end the group either way.
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        log.error("%s (pid %d) is still running", name, proc.pid)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the group this script created for it (start_new_session)


def wait_for(what: str, check, timeout_s: float, every_s: float = 2.0, proc: subprocess.Popen | None = None):
    """Poll check() until it returns something truthy; fail if a watched process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"gave up waiting for {what}: the process exited with status {proc.returncode}")
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        time.sleep(every_s)


def save_png(png: bytes, path: Path) -> None:
    """Write the screenshot; if it is over the size budget, as an optimised 256-colour palette PNG."""
    if len(png) > MAX_PNG_BYTES:
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB")
        buffer = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
        png = buffer.getvalue()
    path.write_bytes(png)
    log.info("wrote %s (%d KB)", path, len(png) // 1024)
    if len(png) > MAX_PNG_BYTES:
        log.warning("%s is %d KB, over the %d KB budget", path, len(png) // 1024, MAX_PNG_BYTES // 1000)


class UI:
    """Headless Chromium on the Prefect UI."""

    def __init__(self, stack: ExitStack, base: str, debug_dir: Path) -> None:
        from playwright.sync_api import sync_playwright

        self.base = base
        self.debug_dir = debug_dir
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        stack.callback(browser.close)
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, color_scheme="light")
        self.page = context.new_page()
        self.page.set_default_timeout(90_000)

    def open(self, route: str, expect: list[str]) -> None:
        """Open a route and wait until the SPA has rendered: network idle and every expected text visible."""
        log.info("opening %s%s", self.base, route)
        self.page.goto(self.base + route, wait_until="networkidle")
        try:
            for text in expect:
                self.page.get_by_text(text, exact=False).first.wait_for(state="visible")
        except Exception:
            shot = self.debug_dir / f"failed-{route.strip('/').replace('/', '-')}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            (shot.with_suffix(".html")).write_text(self.page.content())
            log.error("the page did not show %s: what it showed is in %s", expect, shot)
            raise
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        # Nothing still loading (skeletons / spinners), then a moment for charts and fonts.
        try:
            self.page.wait_for_function(
                "() => !document.querySelector('.p-loading-icon, .p-skeleton, [class*=\"loading\"]:not(html)')",
                timeout=30_000)
        except Exception:  # noqa: BLE001 - a lingering loader must not stop the screenshot
            log.warning("something on the page still looks like it is loading")
        self.page.wait_for_timeout(1500)

    def shoot(self, path: Path) -> None:
        """Full-page screenshot. The Prefect UI scrolls inside its layout, not the document, so the viewport is
        grown to the content's height for the shot and restored afterwards."""
        height = self.page.evaluate(
            """() => Math.max(document.documentElement.scrollHeight,
                   ...[...document.querySelectorAll('*')].filter(e => {
                       const s = getComputedStyle(e);
                       return /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight;
                   }).map(e => e.scrollHeight + e.getBoundingClientRect().top))""")
        height = int(min(max(height, VIEWPORT["height"]), 4000))
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        self.settle()
        save_png(self.page.screenshot(full_page=True), path)
        self.page.set_viewport_size(VIEWPORT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img", help="folder for the PNGs")
    parser.add_argument("--timeout-min", type=float, default=20, help="longest wait for the package run")
    parser.add_argument("--source", type=Path, default=REPO / "samples" / "city-bikes.mp4", help="clip to package")
    parser.add_argument("--storage", choices=["s3", "local"], default="s3",
                        help="s3: a loopback S3 server (moto) as MinIO, links load in the browser; local: a folder")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp folder (server DB, logs, store)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not Path(CHROMIUM).exists():
        log.error("no Chromium at %s: apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)", CHROMIUM)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.source.resolve()
    if not source.is_file():
        log.error("no source clip at %s", source)
        return 1

    # A plain `kill` of this script still stops the server, the serve process and its flow runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    temp = Path(tempfile.mkdtemp(prefix="newsroom-screenshots-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSROOM_"))}
    # The UI asks the server where its API is; without this it would say the default port (4200).
    env.update(PREFECT_HOME=str(temp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_UI_API_URL=api, PREFECT_LOGGING_LEVEL="INFO")
    worker_env = dict(env, PREFECT_API_URL=api, NEWSROOM_STORAGE_BACKEND="local",
                      NEWSROOM_LOCAL_ROOT=str(temp / "store"), NEWSROOM_LLM_MODEL="qwen2.5-0.5b-instruct")
    s3_port = free_port()
    if args.storage == "s3":
        worker_env.update(NEWSROOM_STORAGE_BACKEND="minio", NEWSROOM_MINIO_ENDPOINT=f"127.0.0.1:{s3_port}",
                          NEWSROOM_MINIO_ACCESS_KEY="screenshots", NEWSROOM_MINIO_SECRET_KEY="screenshots-secret",
                          NEWSROOM_MINIO_BUCKET="newsroom", NEWSROOM_MINIO_SECURE="false",
                          NEWSROOM_MINIO_REGION="us-east-1")
    try:
        with ExitStack() as stack, httpx.Client(base_url=api, timeout=30) as client:
            server = stack.enter_context(background(
                "prefect-server", [*tool("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env, temp))
            wait_for("the Prefect API", lambda: client.get("/health").status_code == 200, 300, proc=server)
            log.info("Prefect server up at %s (%.0f s)", base, time.monotonic() - started)

            if args.storage == "s3":
                s3 = stack.enter_context(background(
                    "s3-server", [*tool("moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], env, temp,
                    show_log_on_error=False))  # only an access log
                wait_for("the S3 server", lambda: httpx.get(f"http://127.0.0.1:{s3_port}/").status_code < 500,
                         120, proc=s3)
                log.info("S3 server (moto) up at 127.0.0.1:%d", s3_port)

            serve = stack.enter_context(background(
                "newsroom-serve", [*tool("newsroom"), "serve", "--inbox-cron", ""], worker_env, temp))

            def names() -> set[str] | None:
                rows = client.post("/deployments/filter", json={"limit": 200}).raise_for_status().json()
                flows = {f["id"]: f["name"] for f in client.post("/flows/filter", json={"limit": 200}).json()}
                found = {f"{flows.get(d['flow_id'], '?')}/{d['name']}" for d in rows}
                return found if found >= DEPLOYMENTS else None

            found = wait_for("the newsroom deployments", names, 300, proc=serve)
            log.info("deployments: %s", ", ".join(sorted(found)))
            deployment = client.get(f"/deployments/name/{PACKAGE}").raise_for_status().json()

            ui = UI(stack, base, temp)
            ui.open(f"/deployments/deployment/{deployment['id']}/run",
                    ["A local file path on the worker", "Speech-to-text model"])
            ui.shoot(args.out / "prefect-deployment-form.png")

            parameters = {"source": str(source), **RUN_PARAMETERS}
            run = client.post(f"/deployments/{deployment['id']}/create_flow_run",
                              json={"parameters": parameters}).raise_for_status().json()
            log.info("started flow run %s (%s) with %s", run["name"], run["id"], parameters)
            last = [None]

            def finished() -> dict | None:
                current = client.get(f"/flow_runs/{run['id']}").raise_for_status().json()
                state = (current.get("state") or {}).get("type")
                if state != last[0]:
                    log.info("flow run %s: %s (%.0f s since start)", run["name"], state,
                             time.monotonic() - started)
                    last[0] = state
                return current if state in TERMINAL else None

            current = wait_for(f"flow run {run['name']}", finished, args.timeout_min * 60, every_s=10, proc=serve)
            if current["state"]["type"] != "COMPLETED":
                raise RuntimeError(f"flow run {run['name']} ended {current['state']['name']}: "
                                   f"{current['state'].get('message')} (see {base}/runs/flow-run/{run['id']})")

            ui.open(f"/runs/flow-run/{run['id']}", [run["name"], "Completed"])
            ui.shoot(args.out / "prefect-flow-run.png")

            artifacts = client.post("/artifacts/filter", json={
                "artifacts": {"flow_run_id": {"any_": [run["id"]]}, "key": {"like_": "story-"}},
                "sort": "CREATED_DESC", "limit": 1}).raise_for_status().json()
            if not artifacts:
                raise RuntimeError(f"flow run {run['name']} published no story artifact")
            story = artifacts[0]
            log.info("story artifact %s (%s)", story["key"], story["id"])
            headline = story["data"].splitlines()[0].lstrip("# ").strip()
            ui.open(f"/artifacts/artifact/{story['id']}", [headline[:40]])
            ui.shoot(args.out / "prefect-story-artifact.png")
        log.info("done in %.1f min: %s", (time.monotonic() - started) / 60, args.out)
        return 0
    except Exception:
        log.exception("screenshots failed (temp folder with logs: %s)", temp)
        args.keep_temp = True
        return 1
    finally:
        if args.keep_temp:
            log.info("kept %s", temp)
        else:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
