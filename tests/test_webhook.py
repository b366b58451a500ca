"""The CMS webhook through real HTTP: `newsroom webhook` and `newsroom serve` as processes on loopback,
talking to a real Prefect API (the session harness), with the local store.

One signed request starts exactly one package run that completes on the bundled sample (its edit and
broadcast stages dispatched as runs of their own deployments); every abuse case gets its 4xx and starts
nothing; a storm of identical requests starts one run; a fuzz pass over the OpenAPI schema gets no 5xx.
Uploads: a bad signature is refused before the body is sent (raw sockets show how much was sent), a body
that is not the signed one stores nothing, one client streams at most two at once, real-world names work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from newsroom.storage import LocalStore
from newsroom.storage.keys import validate_key
from newsroom.webhook import auth
from tests.conftest import SAMPLE

ROOT = Path(__file__).resolve().parents[1]
NEWSROOM = str(Path(sys.executable).with_name("newsroom"))
SECRET = "test-webhook-secret-0123456789"
EVENTS_TOKEN = "test-storage-events-token"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
MAX_SOURCE_BYTES = 64_000_000
MAX_UPLOAD_BYTES = 48_000_000  # the stack's NEWSROOM_WEBHOOK_MAX_UPLOAD_BYTES: room for the 40 MB refused upload
# The article and bulletin endpoints start real renders: fuzzed in process (tests/test_webhook_programmes.py).
SCHEMA = schemathesis.openapi.from_dict(json.loads((ROOT / "infra" / "openapi.json").read_text("utf-8"))).exclude(
    path_regex="^/v1/(articles|bulletins)$")


@dataclass
class Stack:
    url: str
    store: LocalStore
    logs: Path
    tmp: Path  # the webhook process's TMPDIR: where uploads are streamed to before they are stored


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout_s: float, what: str, procs=()):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode} while waiting for {what}"
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(prefect_harness, tmp_path_factory):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    root = tmp_path_factory.mktemp("webhook-store")
    logs = tmp_path_factory.mktemp("webhook-logs")
    upload_tmp = tmp_path_factory.mktemp("webhook-tmp")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "NEWSROOM_STORAGE_BACKEND": "local",
           "NEWSROOM_LOCAL_ROOT": str(root), "NEWSROOM_WEBHOOK_SECRET": SECRET,
           "NEWSROOM_STORAGE_EVENTS_TOKEN": EVENTS_TOKEN, "NEWSROOM_WEBHOOK_MAX_BODY_BYTES": "4096",
           "NEWSROOM_LLM_MODEL": "qwen2.5-0.5b-instruct", "NEWSROOM_DISPATCH": "deployments",
           "PREFECT_RUNNER_POLL_FREQUENCY": "2", "NEWSROOM_MAX_SOURCE_BYTES": str(MAX_SOURCE_BYTES),
           "NEWSROOM_WEBHOOK_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    port = _free_port()
    with open(logs / "serve.log", "w") as serve_log, open(logs / "webhook.log", "w") as web_log:
        # Own process groups: stopping one also stops the flow-run processes the runner started.
        serve = subprocess.Popen([NEWSROOM, "-v", "serve", "--inbox-cron", ""], env=env, stdout=serve_log,
                                 stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        web = subprocess.Popen([NEWSROOM, "webhook", "--port", str(port)], env={**env, "TMPDIR": str(upload_tmp)},
                               stdout=web_log,
                               stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    async def deployed() -> bool:
        from prefect.exceptions import ObjectNotFound

        async with get_client() as client:
            try:
                for name in ("newsroom-package/package", "inbox-scan/inbox", "edit/edit", "broadcast/broadcast"):
                    await client.read_deployment_by_name(name)
            except ObjectNotFound:
                return False
            return True

    def ready() -> bool:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200 and asyncio.run(deployed())

    try:
        _wait(ready, 180, "the webhook and the served deployments", procs=(serve, web))
        yield Stack(url, LocalStore(root), logs, upload_tmp)
    finally:
        for proc in (web, serve):
            _stop_group(proc)
        print((logs / "webhook.log").read_text()[-3000:])


def _stop_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):  # the leader is gone; a flow-run process left in its group too
            os.killpg(proc.pid, signal.SIGKILL)
        return


def answered(send, budget_s: float = 300) -> httpx.Response:
    """Send until the answer is not a 503 with Retry-After, as a CMS does: on this 2-core machine the test
    harness's Prefect server (SQLite) can stall while the sample story runs, and the webhook then answers
    503 instead of hanging. Retrying is safe: the Idempotency-Key keeps it one run."""
    deadline = time.monotonic() + budget_s
    while True:
        response = send()
        if response.status_code != 503 or "retry-after" not in response.headers or time.monotonic() > deadline:
            return response
        time.sleep(min(float(response.headers["retry-after"]), 5))


def post(stack: Stack, path: str, body: bytes | dict, *, key: str | None = "auto", ts: int | None = None,
         secret: str = SECRET, headers: dict | None = None, client: httpx.Client | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if key == "auto":
        key = f"test-{uuid.uuid4().hex}"

    def send() -> httpx.Response:  # signed afresh on every try, as a retry must be
        sent = {"Content-Type": "application/json", **auth.signed_headers(secret, "POST", path, data, timestamp=ts)}
        if key:
            sent[auth.IDEMPOTENCY_HEADER] = key
        sent.update(headers or {})
        return (client or httpx).post(f"{stack.url}{path}", content=data, headers=sent, timeout=60)

    return answered(send)


def get(stack: Stack, path: str) -> httpx.Response:
    return answered(lambda: httpx.get(f"{stack.url}{path}", headers=auth.signed_headers(SECRET, "GET", path),
                                      timeout=60))


def _runs(deployment: str, *, key_prefix: str | None = None):
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            dep = await client.read_deployment_by_name(deployment)
            runs = [r for r in await client.read_flow_runs(limit=200) if r.deployment_id == dep.id]
        return [r for r in runs if key_prefix is None or (r.idempotency_key or "").startswith(key_prefix)]

    return asyncio.run(read())


# --------------------------------------------------------------------------- signing, no server


def _verify(headers: dict, method: str = "POST", path: str = "/v1/stories", query: str = "", body: bytes = b"",
            now: float = 1_000_100) -> auth.SignedRequest:
    """What the server does with a request's line and headers (Content-Length as an HTTP client sends it)."""
    sent = {**headers, "Content-Length": str(len(body))} if body or method != "GET" else headers
    return auth.verify_request(SECRET, method, path, query, sent, now=now)


def test_signature_v2_string_to_sign_is_the_documented_one():
    """A known answer, computed here from the README's recipe with hmac and with openssl: what a CMS does."""
    body = b'{"source_key": "inbox/a.mp4"}'
    headers = auth.signed_headers(SECRET, "POST", "/v1/stories", body, timestamp=1_764_552_000)
    digest = hashlib.sha256(body).hexdigest()
    message = f"NEWSROOM-HMAC-SHA256-V2\nPOST\n/v1/stories\n\n1764552000\n{len(body)}\n{digest}"
    expected = _hmac_hex(message.encode())
    assert headers == {"X-Newsroom-Timestamp": "1764552000", "X-Newsroom-Content-SHA256": digest,
                       "X-Newsroom-Signature": f"v2={expected}"}
    openssl = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", SECRET, "-r"], input=message.encode(),
                             capture_output=True, check=True)
    assert openssl.stdout.split()[0].decode() == expected
    # The query is signed in canonical form: names and values percent-encoded (space = %20), sorted.
    name = "Mayor's speech #2 (50%) café.mp4"
    assert auth.canonical_query({"filename": name, "b": "x y", "a": "1"}) == (
        "a=1&b=x%20y&filename=Mayor%27s%20speech%20%232%20%2850%25%29%20caf%C3%A9.mp4")


def _hmac_hex(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_signature_rules():
    body = b'{"source_key": "inbox/a.mp4"}'
    headers = auth.signed_headers(SECRET, "POST", "/v1/stories", body, timestamp=1_000_000)
    signed = _verify(headers, body=body)
    assert (signed.timestamp, signed.content_length, signed.content_sha256) == (
        1_000_000, len(body), hashlib.sha256(body).hexdigest())
    auth.check_content(signed, len(body), hashlib.sha256(body).hexdigest())
    with pytest.raises(auth.ContentMismatchError, match="does not match the signed"):
        auth.check_content(signed, len(body), hashlib.sha256(body + b" ").hexdigest())
    with pytest.raises(auth.ContentMismatchError, match="does not match the signed"):
        auth.check_content(signed, len(body) - 1, hashlib.sha256(body).hexdigest())
    # Every part of the request line and the signed headers is covered: change one, and it does not match.
    for method, path, query, sent, secret in [
        ("GET", "/v1/stories", "", headers, SECRET),  # another method
        ("POST", "/v1/uploads", "", headers, SECRET),  # another endpoint
        ("POST", "/v1/stories", "filename=a.mp4", headers, SECRET),  # a query added
        ("POST", "/v1/stories", "", {**headers, "X-Newsroom-Timestamp": "1000001"}, SECRET),
        ("POST", "/v1/stories", "", {**headers, "X-Newsroom-Content-SHA256": "0" * 64}, SECRET),
        ("POST", "/v1/stories", "", {**headers, "Content-Length": str(len(body) + 1)}, SECRET),
        ("POST", "/v1/stories", "", headers, "another-secret-0000000"),
    ]:
        with pytest.raises(auth.AuthError, match="does not match"):
            auth.verify_request(secret, method, path, query, {"Content-Length": str(len(body)), **sent},
                                now=1_000_100)
    for now in (1_000_301, 999_690):
        with pytest.raises(auth.AuthError, match="away from the server's clock"):
            _verify(headers, body=body, now=now)
    for header in headers:
        with pytest.raises(auth.AuthError, match="missing"):
            _verify({k: v for k, v in headers.items() if k != header}, body=body)
    with pytest.raises(auth.AuthError, match="Unix seconds"):
        _verify({**headers, "X-Newsroom-Timestamp": "yesterday"}, body=body)
    with pytest.raises(auth.AuthError, match="64 lower-case hex"):
        _verify({**headers, "X-Newsroom-Content-SHA256": "ABC"}, body=body)
    v1 = "sha256=" + _hmac_hex(b"1000000." + body)  # the retired scheme: over the body only
    with pytest.raises(auth.AuthError, match="v1 'sha256=' scheme over the body is retired"):
        _verify({**headers, "X-Newsroom-Signature": v1}, body=body)
    # Header names in any case, as HTTP allows.
    assert _verify({k.lower(): v for k, v in headers.items()}, body=body).timestamp == 1_000_000
    # The query: signed from the client's parameters, verified from the raw query string however it was
    # encoded ('+' or %20 for a space, any order).
    name = "Mayor's speech #2 (50%) café.mp4"
    data = b"\x00" * 10
    up = auth.signed_headers(SECRET, "POST", "/v1/uploads", data, query={"filename": name, "lang": "en"},
                             timestamp=1_000_000)
    for raw in ("filename=Mayor%27s+speech+%232+%2850%25%29+caf%C3%A9.mp4&lang=en",
                "lang=en&filename=Mayor's%20speech%20%232%20(50%25)%20caf%C3%A9.mp4"):
        assert _verify(up, path="/v1/uploads", query=raw, body=data).content_length == 10
    for raw in ("filename=other.mp4&lang=en", "filename=Mayor%27s+speech+%232+%2850%25%29+caf%C3%A9.mp4",
                "filename=Mayor%27s+speech+%232+%2850%25%29+caf%C3%A9.mp4&lang=en&lang=zh"):
        with pytest.raises(auth.AuthError, match="does not match"):
            _verify(up, path="/v1/uploads", query=raw, body=data)
    with pytest.raises(auth.AuthError, match="not UTF-8"):
        _verify(up, path="/v1/uploads", query="filename=%ff.mp4", body=data)
    guard = auth.ReplayGuard(window_s=300)
    sig = headers[auth.SIGNATURE_HEADER]
    assert guard.claim(sig, now=0) is None
    guard.settle(sig, "run-1")
    assert guard.claim(sig, now=10).flow_run_id == "run-1"
    assert guard.claim(sig, now=601) is None  # long after the window: the timestamp check refuses it anyway


def test_refuses_to_start_without_a_secret():
    env = {k: v for k, v in os.environ.items() if k != "NEWSROOM_WEBHOOK_SECRET"}
    result = subprocess.run([NEWSROOM, "webhook", "--port", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "NEWSROOM_WEBHOOK_SECRET" in result.stderr


def test_committed_openapi_schema_is_current():
    result = subprocess.run([NEWSROOM, "ops", "openapi"], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout) == json.loads((ROOT / "infra" / "openapi.json").read_text("utf-8")), (
        "infra/openapi.json is stale: newsroom ops openapi > infra/openapi.json")


@pytest.mark.timeout(120)  # without the deadline, the Prefect client's own retries hang each request for minutes
def test_a_stalled_prefect_api_gets_503_with_retry_after(tmp_path):
    """A Prefect API that accepts connections and never answers (a server stuck on a locked database): the
    webhook answers 503 + Retry-After within its deadline, starts nothing, and lets the same bytes be retried."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.launch import PrefectLauncher
    from newsroom.config import Settings
    from newsroom.webhook.app import create_app

    store = LocalStore(tmp_path)
    store.put_bytes("uploads/clip.mp4", b"not media")
    settings = Settings(webhook_secret=SECRET, storage_backend="local", local_root=tmp_path,
                        webhook_prefect_timeout_s=2)
    body = json.dumps({"source_key": "uploads/clip.mp4"}).encode()
    headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body), auth.IDEMPOTENCY_HEADER: "stalled-api-0001",
               "Content-Type": "application/json"}
    status_path = f"/v1/stories/{uuid.uuid4()}"

    async def exercise(app, launcher) -> list[httpx.Response]:
        answers = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhook") as client:
            for send in (lambda: client.post("/v1/stories", content=body, headers=headers),
                         lambda: client.post("/v1/stories", content=body, headers=headers),  # the same bytes again
                         lambda: client.get(status_path, headers=auth.signed_headers(SECRET, "GET", status_path)),
                         lambda: client.get("/healthz")):
                answers.append(await send())
        await launcher.aclose()
        return answers

    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)  # the kernel completes connections; nothing ever reads or answers them
        with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{hole.getsockname()[1]}/api"}):
            launcher = PrefectLauncher()
            answers = asyncio.run(exercise(create_app(settings, launcher, store), launcher))
    first, again, status, health = answers
    for response in (first, again, status):
        # The deadline's own message: without it the Prefect client retries for minutes, then fails otherwise.
        assert response.status_code == 503 and response.headers["retry-after"] == "10", response.text
        assert "Prefect API did not answer within 2 s" in response.json()["error"]
    assert "same Idempotency-Key" in first.json()["error"]
    assert health.status_code == 503 and health.json()["prefect"] is False and health.json()["storage"] is True


def test_hostile_json_and_upload_limits_in_process(tmp_path):
    """The app in-process (exceptions surface here instead of as a 500): JSON within a 2 MB body limit that
    would make a parser recurse or choke is a 400; the upload limit never exceeds max_source_bytes."""
    from newsroom.config import Settings
    from newsroom.webhook.app import create_app

    settings = Settings(webhook_secret=SECRET, storage_backend="local", local_root=tmp_path,
                        webhook_max_body_bytes=2_000_000, max_source_bytes=1_000_000)  # uploads: 2 GiB by default
    app = create_app(settings, launcher=None, store=LocalStore(tmp_path))  # type: ignore[arg-type]  # never reached
    hostile = {
        "100k [": (b"[" * 100_000, "levels deep"),
        "100k {": (b'{"a":' * 100_000, "levels deep"),
        "deep inside a valid-looking object": (b'{"source_key": "x", "detail": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                               "levels deep"),
        "5000-digit number": (b'{"target_s": 1' + b"0" * 5000 + b"}", "thousands of digits"),
        "1 MB of spaces": (b" " * 1_000_000, "not valid JSON"),
    }

    async def exercise() -> dict[str, httpx.Response]:
        answers = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhook") as client:
            for name, (body, _) in hostile.items():
                headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body),
                           auth.IDEMPOTENCY_HEADER: "hostile-json-0001", "Content-Type": "application/json"}
                answers[name] = await client.post("/v1/stories", content=body, headers=headers)
            data, query = bytes(1_000_001), {"filename": "clip.mp4"}
            answers["upload"] = await client.post("/v1/uploads", params=query, content=data, headers=auth.signed_headers(
                SECRET, "POST", "/v1/uploads", data, query=query))
        return answers

    answers = asyncio.run(exercise())
    for name, (_, message) in hostile.items():
        assert answers[name].status_code == 400 and message in answers[name].json()["error"], (name, answers[name].text)
    upload = answers["upload"]
    assert upload.status_code == 413 and "over the 1000000-byte limit (NEWSROOM_MAX_SOURCE_BYTES)" in upload.json()["error"]
    assert upload.headers["connection"] == "close"


# --------------------------------------------------------------------------- through HTTP


@pytest.fixture(scope="module")
def sample_run(stack):
    """The real story: the bundled sample, started once through the webhook; finished in the last test."""
    stack.store.put_file("uploads/city-bikes.mp4", SAMPLE)
    request = {"source_key": "uploads/city-bikes.mp4", "asr_model": "tiny.en", "target_s": 10,
               "burn_subtitles": False, "vertical": False, "cms_ref": "cms/story-42"}
    response = post(stack, "/v1/stories", request, key="sample-story-0001")
    assert response.status_code == 202, response.text
    return request, response.json()


def test_signed_request_starts_one_run(stack, sample_run):
    request, accepted = sample_run
    assert accepted["duplicate"] is False and accepted["status_url"].endswith(f"/v1/stories/{accepted['id']}")
    # A retry of the same story with a fresh signature: the same run, flagged as a duplicate.
    again = post(stack, "/v1/stories", request, key="sample-story-0001", ts=int(time.time()) - 30)  # re-signed
    assert again.status_code == 202 and again.json()["id"] == accepted["id"] and again.json()["duplicate"] is True
    status = get(stack, f"/v1/stories/{accepted['id']}")
    assert status.status_code == 200 and status.json()["source_key"] == "uploads/city-bikes.mp4"
    runs = _runs("newsroom-package/package", key_prefix="cms:sample-story-0001")
    assert [str(r.id) for r in runs] == [accepted["id"]]
    assert "cms-ref:cms/story-42" in runs[0].tags


def _upload(stack: Stack, data: bytes, filename: str = "clip.mp4", *, secret: str = SECRET, ts: int | None = None,
            signed_body: bytes | None = None) -> httpx.Response:
    query = {"filename": filename}
    signed = auth.signed_headers(secret, "POST", "/v1/uploads", data if signed_body is None else signed_body,
                                 query=query, timestamp=ts)
    return httpx.post(f"{stack.url}/v1/uploads", params=query, content=data,
                      headers={**signed, "Content-Type": "application/octet-stream"}, timeout=60)


def _uploads(stack: Stack) -> set[str]:
    return {o.key for o in stack.store.list("uploads/")}


def _upload_temp_files(stack: Stack) -> list[Path]:
    return list(stack.tmp.glob("newsroom-upload-*"))


def _upload_head(query: dict, headers: dict, declared: int) -> bytes:
    """The request line and headers of an upload, for a raw socket (the body is sent separately)."""
    lines = [f"POST /v1/uploads?{auth.canonical_query(query)} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {declared}",
             "Content-Type: application/octet-stream", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _signed_upload(secret: str, query: dict, declared: int, digest: str) -> dict[str, str]:
    """Upload headers for a body of `declared` bytes hashing to `digest`, without the body at hand."""
    ts = int(time.time())
    return {auth.TIMESTAMP_HEADER: str(ts), auth.CONTENT_SHA256_HEADER: digest,
            auth.SIGNATURE_HEADER: auth.sign(secret, "POST", "/v1/uploads", query=query, timestamp=ts,
                                             content_length=declared, content_sha256=digest)}


def _connect(stack: Stack) -> socket.socket:
    return socket.create_connection(("127.0.0.1", urlsplit(stack.url).port), timeout=60)


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: dict
    sent_bytes: int  # body bytes the client had sent when the answer arrived


def _send_slowly(stack: Stack, head: bytes, total_bytes: int, *, chunk_bytes: int = 64 * 1024, pause_s: float = 0.03,
                 watch=lambda: None) -> RawAnswer:
    """Send the head, then a body of zeros in chunks with pauses (about 2 MB/s: a slow client), looking for
    an answer between chunks and calling `watch` there; stop sending once the answer arrives."""
    chunk = bytes(chunk_bytes)
    with _connect(stack) as sock:
        sock.sendall(head)
        sent, received = 0, b""
        while sent < total_bytes and b"\r\n\r\n" not in received:
            watch()
            if select.select([sock], [], [], 0)[0]:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
                continue
            try:
                sock.sendall(chunk[: total_bytes - sent])
            except OSError:  # the server closed the connection: read its answer
                break
            sent += min(chunk_bytes, total_bytes - sent)
            time.sleep(pause_s)
        head_end = -1
        with contextlib.suppress(OSError):  # a reset after the whole answer arrived is expected
            while (head_end := received.find(b"\r\n\r\n")) < 0 or len(received) < head_end + 4 + int(
                    dict(_header_lines(received[:head_end])).get("content-length", "0")):
                data = sock.recv(65536)
                if not data:
                    break
                received += data
    status_line, _, header_text = received[:head_end].partition(b"\r\n")
    headers = dict(_header_lines(header_text))
    return RawAnswer(int(status_line.split()[1]), headers, json.loads(received[head_end + 4:]), sent)


def _header_lines(text: bytes):
    for line in text.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            yield name.strip().lower(), value.strip()


def test_a_bad_signature_is_refused_before_the_body_is_sent(stack):
    """40 MB at about 2 MB/s with a wrong signature: the 401 arrives while the client has sent a small part
    (the old webhook read all of it, to disk, before looking at the signature), and nothing touches the disk."""
    total = 40_000_000
    query = {"filename": "clip.mp4"}
    headers = _signed_upload("not-the-secret-at-all", query, total, hashlib.sha256(bytes(total)).hexdigest())
    before = _uploads(stack)

    def nothing_on_disk() -> None:
        assert not _upload_temp_files(stack), "the refused upload was streamed to a temporary file"

    answer = _send_slowly(stack, _upload_head(query, headers, total), total, watch=nothing_on_disk)
    assert answer.status == 401 and "does not match" in answer.body["error"], answer
    assert answer.headers["connection"] == "close"  # closed, not drained at the sender's pace
    assert answer.sent_bytes < total // 4, f"the 401 came after {answer.sent_bytes} of {total} bytes"
    nothing_on_disk()
    assert _uploads(stack) == before


def test_an_upload_over_the_limit_is_refused_before_the_body_is_sent(stack):
    declared = MAX_UPLOAD_BYTES + 1
    query = {"filename": "long.mp4"}
    headers = _signed_upload(SECRET, query, declared, hashlib.sha256(b"a body that is never sent").hexdigest())
    answer = _send_slowly(stack, _upload_head(query, headers, declared), declared)
    assert answer.status == 413 and "NEWSROOM_WEBHOOK_MAX_UPLOAD_BYTES" in answer.body["error"], answer
    assert answer.headers["connection"] == "close" and answer.sent_bytes < declared // 4
    assert not _upload_temp_files(stack)


def test_a_body_other_than_the_signed_one_is_refused_and_nothing_is_stored(stack):
    before = _uploads(stack)
    signed = b"\x00" * 100_000
    tampered = _upload(stack, signed[:-1] + b"\x01", signed_body=signed)  # same length, other bytes
    assert tampered.status_code == 400 and "does not match the signed" in tampered.json()["error"], tampered.text
    longer = _upload(stack, signed + b"\x00", signed_body=signed)  # Content-Length is signed too
    assert longer.status_code == 401 and "does not match" in longer.json()["error"], longer.text
    assert _uploads(stack) == before and not _upload_temp_files(stack)
    # The same for a story: the JSON body is held to the hash signed with it.
    body = json.dumps({"source_key": "uploads/notes.mp4"}).encode()
    headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body), auth.IDEMPOTENCY_HEADER: "tampered-0001",
               "Content-Type": "application/json"}
    story = httpx.post(f"{stack.url}/v1/stories", content=body.replace(b"notes", b"other"), headers=headers, timeout=60)
    assert story.status_code == 400 and "does not match the signed" in story.json()["error"], story.text


def test_a_signature_is_valid_for_one_method_and_path_only(stack):
    stack.store.put_bytes("uploads/notes.mp4", b"not media")
    body = json.dumps({"source_key": "uploads/notes.mp4"}).encode()
    headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body), auth.IDEMPOTENCY_HEADER: "one-path-0001",
               "Content-Type": "application/json"}
    before, uploads = len(_runs("newsroom-package/package")), _uploads(stack)
    for method, path in [("GET", f"/v1/stories/{uuid.uuid4()}"), ("POST", "/v1/uploads?filename=notes.mp4"),
                         ("POST", "/v1/stories?priority=urgent")]:
        response = httpx.request(method, f"{stack.url}{path}", content=body, headers=headers, timeout=60)
        assert response.status_code == 401 and "does not match" in response.json()["error"], (path, response.text)
    assert len(_runs("newsroom-package/package")) == before and _uploads(stack) == uploads
    # The signature itself is good: where it was made for, it is accepted.
    accepted = answered(lambda: httpx.post(f"{stack.url}/v1/stories", content=body, headers=headers, timeout=60))
    assert accepted.status_code == 202, accepted.text


def test_one_client_streams_at_most_two_uploads_at_once(stack):
    before = _uploads(stack)
    data = bytes(1_000_000)
    slow = []
    for i in range(2):  # two uploads that stop half-way and wait
        query = {"filename": f"slow-{i}.mp4"}
        sock = _connect(stack)
        sock.sendall(_upload_head(query, auth.signed_headers(SECRET, "POST", "/v1/uploads", data, query=query),
                                  len(data)) + data[:100_000])
        slow.append(sock)
    try:
        _wait(lambda: len(_upload_temp_files(stack)) == 2, 60, "two uploads streaming")
        third = _upload(stack, b"\x00" * 1000, "third.mp4")
        assert third.status_code == 429 and third.headers["retry-after"] == "10", third.text
        assert "NEWSROOM_WEBHOOK_UPLOADS_PER_CLIENT" in third.json()["error"]
    finally:
        for sock in slow:  # the two clients give up: their slots and temporary files are released
            sock.close()
    _wait(lambda: not _upload_temp_files(stack), 60, "the abandoned uploads' temporary files to go")
    after = _upload(stack, b"\x00" * 1000, "after.mp4")
    assert after.status_code == 201, after.text
    assert _uploads(stack) - before == {after.json()["source_key"]}


def test_upload_then_story(stack, media_dir):
    data = (media_dir / "av.mp4").read_bytes()
    stored = _upload(stack, data, "council meeting.mp4")
    assert stored.status_code == 201, stored.text
    key = stored.json()["source_key"]
    assert key.startswith("uploads/") and key.endswith("/council meeting.mp4")
    assert stack.store.get_bytes(key) == data and stored.json()["bytes"] == len(data)
    metadata = stack.store.stat(key).metadata
    assert metadata["sha256"] == stored.json()["sha256"] and metadata["filename"] == "council meeting.mp4"
    story = post(stack, "/v1/stories", {"source_key": key, "asr_model": "tiny.en"}, key="upload-then-story")
    assert story.status_code == 202 and story.json()["duplicate"] is False
    _cancel(story.json()["id"])  # not followed here: the two cores stay with the sample story


def _cancel(run_id: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import State

    async def cancel():
        async with get_client() as client:  # what `prefect flow-run cancel` does: the runner stops the process
            await client.set_flow_run_state(uuid.UUID(run_id), State(type=StateType.CANCELLING), force=True)

    asyncio.run(cancel())


REAL_NAMES = {  # as sent -> the name in the stored key (the same rule as inbox objects: storage.keys.clean_name)
    "Mayor's speech.mp4": "Mayor's speech.mp4",
    "Mayor\u2019s speech.mp4": "Mayor\u2019s speech.mp4",
    "clip #2.mp4": "clip #2.mp4",
    "50%.mp4": "50%.mp4",
    "interview (final) [v2].mov": "interview (final) [v2].mov",
    "市议会 会议.mp4": "市议会 会议.mp4",
    unicodedata.normalize("NFD", "café crème.mp4"): "café crème.mp4",  # as macOS writes it
    unicodedata.normalize("NFC", "café crème.mp4"): "café crème.mp4",
    "non\u00a0breaking.mp4": "non breaking.mp4",
    "report.v2.final.MXF": "report.v2.final.MXF",
}


@pytest.mark.parametrize("sent", list(REAL_NAMES))
def test_real_world_file_names_are_accepted(stack, sent):
    data = b"\x00" * 100
    response = _upload(stack, data, sent)
    assert response.status_code == 201, response.text
    key = response.json()["source_key"]
    assert key.rsplit("/", 1)[1] == REAL_NAMES[sent] and validate_key(key) == key
    assert unicodedata.is_normalized("NFC", key)
    assert stack.store.stat(key).metadata["filename"] == sent == response.json()["filename"]
    assert stack.store.get_bytes(key) == data


@pytest.mark.parametrize("case", ["bad signature", "no extension", "path in name", "control characters only",
                                  "punctuation only", "empty name", "empty body"])
def test_bad_uploads_store_nothing(stack, case):
    before = _uploads(stack)
    response = {
        "bad signature": lambda: _upload(stack, b"\x00" * 1000, secret="not-the-secret-at-all"),
        "no extension": lambda: _upload(stack, b"\x00" * 10, "clip"),
        "path in name": lambda: _upload(stack, b"\x00" * 10, "../../etc/clip.mp4"),
        "control characters only": lambda: _upload(stack, b"\x00" * 10, "\x01\x1b\x7f.mp4"),
        "punctuation only": lambda: _upload(stack, b"\x00" * 10, "?!%#.mp4"),
        "empty name": lambda: _upload(stack, b"\x00" * 10, ""),
        "empty body": lambda: _upload(stack, b""),
    }[case]()
    assert response.status_code == (401 if case == "bad signature" else 422), response.text
    assert response.json()["error"]
    assert _uploads(stack) == before


def _abuse_cases():
    good = {"source_key": "uploads/notes.mp4"}
    now = int(time.time())
    return {
        "missing signature": (lambda s: httpx.post(f"{s.url}/v1/stories", json=good, timeout=30), 401, "sign"),
        "wrong secret": (lambda s: post(s, "/v1/stories", good, secret="not-the-secret-at-all"), 401, "does not match"),
        "stale timestamp": (lambda s: post(s, "/v1/stories", good, ts=now - 600), 401, "clock"),
        "future timestamp": (lambda s: post(s, "/v1/stories", good, ts=now + 600), 401, "clock"),
        "no idempotency key": (lambda s: post(s, "/v1/stories", good, key=None), 400, "Idempotency-Key"),
        "bad idempotency key": (lambda s: post(s, "/v1/stories", good, key="a b"), 400, "Idempotency-Key"),
        "malformed json": (lambda s: post(s, "/v1/stories", b'{"source_key": '), 400, "not valid JSON"),
        "not an object": (lambda s: post(s, "/v1/stories", b'["inbox/a.mp4"]'), 422, "JSON object"),
        "unknown field": (lambda s: post(s, "/v1/stories", {**good, "priority": "urgent"}), 422, "invalid parameters"),
        "bad language": (lambda s: post(s, "/v1/stories", {**good, "language": "fr"}), 422, "invalid parameters"),
        "target too long": (lambda s: post(s, "/v1/stories", {**good, "target_s": 1e9}), 422, "invalid parameters"),
        "escaping key": (lambda s: post(s, "/v1/stories", {"source_key": "../etc/passwd"}), 422, "invalid parameters"),
        "key outside prefixes": (lambda s: post(s, "/v1/stories", {"source_key": "stories/x/manifest.json"}), 422,
                                 "outside the allowed prefixes"),
        "missing object": (lambda s: post(s, "/v1/stories", {"source_key": "inbox/never-uploaded.mp4"}), 422,
                           "does not exist"),
        "body over the limit": (lambda s: post(s, "/v1/stories", {**good, "headline": "x" * 5000}), 413, "limit"),
        "deeply nested json": (lambda s: post(s, "/v1/stories", b"[" * 3000), 400, "levels deep"),
        "huge nested json": (lambda s: post(s, "/v1/stories", b"[" * 100_000), 413, "NEWSROOM_WEBHOOK_MAX_BODY_BYTES"),
        "deep json in a string": (lambda s: post(s, "/v1/stories", {"source_key": "[" * 500}), 422, "outside the allowed"),
        "v1 signature": (lambda s: httpx.post(f"{s.url}/v1/stories", json=good, timeout=30, headers={
            auth.TIMESTAMP_HEADER: str(now), auth.SIGNATURE_HEADER: "sha256=" + "0" * 64,
            auth.CONTENT_SHA256_HEADER: "0" * 64}), 401, "retired"),
        "events without token": (lambda s: post(s, "/v1/storage-events", {"Records": []}), 401, "Bearer"),
        "status of a bad id": (lambda s: get(s, "/v1/stories/not-a-uuid"), 422, "invalid request"),
        "status of an unknown run": (lambda s: get(s, f"/v1/stories/{uuid.uuid4()}"), 404, "no story run"),
        "status unsigned": (lambda s: httpx.get(f"{s.url}/v1/stories/{uuid.uuid4()}", timeout=30), 401, "sign"),
        "chunked body": (lambda s: httpx.post(f"{s.url}/v1/stories", content=iter([b"{}"]), timeout=30,
                                              headers=auth.signed_headers(SECRET, "POST", "/v1/stories", b"{}")),
                         411, "Content-Length"),
    }


@pytest.mark.parametrize("case", list(_abuse_cases()))
def test_abuse_gets_the_right_4xx_and_starts_nothing(stack, case):
    stack.store.put_bytes("uploads/notes.mp4", b"not media")
    send, status, message = _abuse_cases()[case]
    before = len(_runs("newsroom-package/package"))
    response = send(stack)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert SECRET not in response.text
    assert len(_runs("newsroom-package/package")) == before


def test_replayed_request_is_refused(stack):
    stack.store.put_bytes("uploads/notes.mp4", b"not media")
    body = json.dumps({"source_key": "uploads/notes.mp4"}).encode()
    headers = {**auth.signed_headers(SECRET, "POST", "/v1/stories", body), auth.IDEMPOTENCY_HEADER: "replay-test-0001",
               "Content-Type": "application/json"}
    # A 503 (Prefect slow) starts nothing and forgets the signature, so the same bytes may be sent again.
    first = answered(lambda: httpx.post(f"{stack.url}/v1/stories", content=body, headers=headers, timeout=60))
    replay = httpx.post(f"{stack.url}/v1/stories", content=body, headers=headers, timeout=60)
    assert first.status_code == 202 and replay.status_code == 409
    assert "replayed" in replay.json()["error"] and replay.json()["flow_run_id"] == first.json()["id"]
    # The key reused for a different story is a conflict, not a second run.
    other = post(stack, "/v1/stories", {"source_key": "uploads/notes.mp4", "language": "zh"}, key="replay-test-0001")
    assert other.status_code == 409 and "different request" in other.json()["error"]
    assert len(_runs("newsroom-package/package", key_prefix="cms:replay-test-0001")) == 1


def test_a_storm_of_identical_requests_starts_one_run(stack):
    stack.store.put_bytes("uploads/notes.mp4", b"not media")
    body = {"source_key": "uploads/notes.mp4", "target_s": 30}
    now = int(time.time())
    with httpx.Client() as client, ThreadPoolExecutor(20) as pool:
        # 20 retries signed at different moments (distinct signatures) + 20 byte-identical copies of one.
        fresh = list(pool.map(lambda i: post(stack, "/v1/stories", body, key="storm-key-0001", ts=now - i,
                                             client=client), range(20)))
        data = json.dumps(body).encode()
        same = {**auth.signed_headers(SECRET, "POST", "/v1/stories", data), auth.IDEMPOTENCY_HEADER: "storm-key-0002",
                "Content-Type": "application/json"}
        copies = list(pool.map(lambda _: answered(lambda: client.post(f"{stack.url}/v1/stories", content=data,
                                                                      headers=same, timeout=60)), range(20)))
    assert [r.status_code for r in fresh] == [202] * 20
    assert len({r.json()["id"] for r in fresh}) == 1
    assert sum(not r.json()["duplicate"] for r in fresh) == 1
    assert sorted(r.status_code for r in copies) == [202] + [409] * 19
    assert len(_runs("newsroom-package/package", key_prefix="cms:storm-key-0001")) == 1
    assert len(_runs("newsroom-package/package", key_prefix="cms:storm-key-0002")) == 1


def test_storage_event_triggers_an_inbox_scan(stack):
    stack.store.put_bytes("inbox/garbled.mp4", b"half a header and nothing else")
    event = {"EventName": "s3:ObjectCreated:Put", "Key": "newsroom/inbox/garbled.mp4", "Records": [{
        "eventName": "s3:ObjectCreated:Put",
        "s3": {"bucket": {"name": "newsroom"}, "object": {"key": "inbox/garbled.mp4", "size": 30, "eTag": "abc",
                                                          "sequencer": "17F"}}}]}
    auth_header = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
    wrong = post(stack, "/v1/storage-events", event, key=None, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    first = post(stack, "/v1/storage-events", event, key=None, headers=auth_header)
    again = post(stack, "/v1/storage-events", event, key=None, headers=auth_header)
    assert first.status_code == 202 and len(first.json()["scans"]) == 1
    assert again.json()["scans"] == first.json()["scans"]  # the same notification twice: one scan
    elsewhere = {"Records": [{**event["Records"][0], "s3": {**event["Records"][0]["s3"],
                                                            "object": {"key": "archive/x.mp4"}}}]}
    ignored = post(stack, "/v1/storage-events", elsewhere, key=None, headers=auth_header)
    assert ignored.status_code == 202 and ignored.json() == {"scans": [], "ignored": 1}
    # The scan runs in the served process: the unreadable object lands in failed/ with its reason.
    # (The record is written before the original is deleted, so a crash between them loses nothing.)
    _wait(lambda: any(o.key.endswith("garbled.mp4.error.json") for o in stack.store.list("failed/"))
          and not stack.store.exists("inbox/garbled.mp4"), 180, "the inbox scan to move the unreadable object")


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_never_get_a_5xx(stack, case):
    kwargs = case.as_transport_kwargs(base_url=stack.url)
    headers = dict(kwargs.get("headers") or {})
    body = b""
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif kwargs.get("data") is not None:
        body = kwargs["data"] if isinstance(kwargs["data"], bytes) else str(kwargs["data"]).encode()
    # Most requests correctly signed, some as generated: chosen from the case itself, so a failure replays.
    pick = zlib.crc32(body + repr(sorted((kwargs.get("params") or {}).items())).encode() + case.path.encode()) % 10
    if case.path != "/v1/storage-events" and pick < 8:
        # Signed as the reference client does: the method, the path as the server decodes it, the query.
        path = unquote(urlsplit(kwargs["url"]).path)
        headers.update(auth.signed_headers(SECRET, kwargs["method"], path, body, query=kwargs.get("params")))
    elif case.path == "/v1/storage-events" and pick < 5:
        headers["Authorization"] = f"Bearer {EVENTS_TOKEN}"
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")}
    response = httpx.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"), content=body,
                             headers=headers, timeout=60)
    # The one 5xx allowed: 503 + Retry-After when the Prefect API is too slow to answer (a dependency, not a bug).
    overloaded = response.status_code == 503 and "retry-after" in response.headers and "Prefect API" in response.text
    assert response.status_code < 500 or overloaded, (
        f"{case.method} {case.path} -> {response.status_code}: {response.text[:500]}")
    if response.status_code >= 400 and case.path != "/healthz":
        assert response.json()["error"]


def test_the_sample_story_completes_with_its_files(stack, sample_run):
    _, accepted = sample_run
    status: dict = {}

    def finished() -> bool:
        nonlocal status
        status = get(stack, f"/v1/stories/{accepted['id']}").json()
        return status["state"] in FINAL

    _wait(finished, 1200, "the sample story's package run")
    assert status["state"] == "COMPLETED", (status, (stack.logs / "serve.log").read_text()[-4000:])
    assert status["story_id"] and len(status["story_id"]) == 20
    for name in ("transcript.json", "draft.json", "subtitles.srt", "edit.mp4", "anchor.mp4", "broadcast.mp4",
                 "cover-16x9.png", "manifest.json"):
        assert name in status["outputs"], name
        assert Path(status["outputs"][name].removeprefix("file://")).is_file()
    # The stages ran as runs of their own deployments (NEWSROOM_DISPATCH=deployments), all completed.
    for deployment in ("edit/edit", "broadcast/broadcast"):
        runs = _runs(deployment)
        assert runs and all(r.state.is_completed() for r in runs), deployment
    assert len(_runs("newsroom-package/package", key_prefix="cms:sample-story-0001")) == 1
