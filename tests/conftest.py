"""Shared fixtures: real ffmpeg-generated media, the real stack (JuiceFS S3 server, Prefect server, pool
workers, webhook: started once per session, each part when a test first needs it), both store backends."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# Any accidental model-hub call fails loudly instead of hanging on the closed network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

from newsroom.config import Settings  # noqa: E402
from newsroom.storage import LocalStore  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
SAMPLE = REPO / "samples" / "city-bikes.mp4"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Small clips made with ffmpeg: test pattern + tone, and the bad inputs ingest must refuse."""
    d = tmp_path_factory.mktemp("media")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-movflags", "+faststart", "-shortest", str(d / "av.mp4"))
    # Odd size, no audio, moov at the end.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=321x241:rate=30", "-t", "2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(d / "noaudio.mp4"))
    # Variable frame rate: drop every third frame, keep original timestamps.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3",
           "-vf", "select='not(eq(mod(n\\,3)\\,2))'", "-fps_mode", "vfr", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(d / "vfr.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100", "-t", "2", str(d / "tone.wav"))
    ffmpeg("-i", str(d / "tone.wav"), "-c:a", "libmp3lame", "-b:a", "64k", str(d / "tone.mp3"))
    ffmpeg("-i", str(d / "tone.wav"), "-c:a", "aac", "-b:a", "64k", str(d / "tone.m4a"))
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "4", str(d / "silence.wav"))
    (d / "text.mp4").write_text("this is not a video, just text renamed to .mp4\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    data = (d / "av.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str


class SessionStack:
    """The stack of this test session: started part by part as tests need it, stopped at the end."""

    def __init__(self, root: Path) -> None:
        from newsroom.stack import Stack

        settings = Settings(stack_dir=root, stack_s3_port=free_port(), stack_prefect_port=free_port(),
                            stack_webhook_port=free_port(), stack_cpu_workers=2, stack_heavy_workers=1,
                            stack_worker_poll_s=2, stack_stories_at_once=2)
        # Workers draft with the small model (the package tests here check plumbing, not prose).
        self.stack = Stack(settings, extra_env={"NEWSROOM_LLM_MODEL": "qwen2.5-0.5b-instruct"})

    def s3(self) -> S3Server:
        self.stack.up(["s3"])
        creds = self.stack.credentials()
        return S3Server(self.stack.s3_endpoint, creds["s3_access_key"], creds["s3_secret_key"])

    def full(self):
        self.stack.up()
        return self.stack


@pytest.fixture(scope="session")
def session_stack(tmp_path_factory):
    session = SessionStack(tmp_path_factory.mktemp("stack"))
    yield session
    leftovers = session.stack.down()
    assert leftovers == [], f"stack processes outlived `down`: {leftovers}"


@pytest.fixture(scope="session")
def s3_server(session_stack) -> S3Server:
    """The real S3 server (the stack's JuiceFS gateway) on loopback; the rest of the stack is not started."""
    return session_stack.s3()


@pytest.fixture(scope="session")
def stack(session_stack):
    """The whole stack up: S3, Prefect server, two cpu workers, one heavy worker, the webhook."""
    return session_stack.full()


@pytest.fixture
def minio_settings(s3_server, tmp_path, request) -> Settings:
    bucket = "nr-" + request.node.name.lower().replace("_", "-")[:40].strip("-[]").replace("[", "-").replace("]", "")
    return Settings(storage_backend="minio", minio_endpoint=s3_server.endpoint, minio_access_key=s3_server.access_key,
                    minio_secret_key=s3_server.secret_key, minio_bucket=bucket, local_root=tmp_path / "unused")


@pytest.fixture(params=["local", "minio"])
def store(request, tmp_path, s3_server):
    """Each storage contract test runs against both backends."""
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    from newsroom.storage.minio import MinioStore

    bucket = f"contract-{abs(hash(request.node.nodeid)) % 10**8}"
    return MinioStore(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, bucket)


# -- Prefect: one temporary server for the whole session; stores configured through NEWSROOM_* env ---------

@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def local_env(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSROOM_STORAGE_BACKEND", "local")
    monkeypatch.setenv("NEWSROOM_LOCAL_ROOT", str(tmp_path / "store"))
    _reset_task_state()
    yield tmp_path / "store"
    _reset_task_state()


@pytest.fixture
def minio_env(prefect_harness, minio_settings, monkeypatch):
    monkeypatch.setenv("NEWSROOM_STORAGE_BACKEND", "minio")
    monkeypatch.setenv("NEWSROOM_MINIO_ENDPOINT", minio_settings.minio_endpoint)
    monkeypatch.setenv("NEWSROOM_MINIO_ACCESS_KEY", minio_settings.minio_access_key)
    monkeypatch.setenv("NEWSROOM_MINIO_SECRET_KEY", minio_settings.minio_secret_key.get_secret_value())
    monkeypatch.setenv("NEWSROOM_MINIO_BUCKET", minio_settings.minio_bucket)
    _reset_task_state()
    yield minio_settings
    _reset_task_state()




@pytest.fixture
def package_deployment(prefect_harness):
    """The package deployment registered on the API, with no worker: its runs stay scheduled for counting."""
    from prefect.client.orchestration import get_client

    from flows.package import newsroom_package

    deployment_id = newsroom_package.to_deployment("package").apply()
    yield deployment_id

    async def cleanup():
        async with get_client() as client:
            for run in await client.read_flow_runs(limit=200):
                if run.deployment_id == deployment_id:
                    await client.delete_flow_run(run.id)
            await client.delete_deployment(deployment_id)

    asyncio.run(cleanup())


def _reset_task_state() -> None:
    import tasks.common

    tasks.common.reset()
