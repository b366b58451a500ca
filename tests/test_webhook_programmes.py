"""POST /v1/articles and /v1/bulletins in process, with a launcher that records what it is asked to start:
signed like every endpoint, idempotent, objects checked, parameters the flows accept; fuzzed from the
committed OpenAPI schema (never a 5xx)."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from newsroom.config import Settings
from newsroom.storage import LocalStore
from newsroom.webhook import auth
from newsroom.webhook.app import LaunchedRun, create_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "programme-test-secret-0123456789"
SCHEMA = schemathesis.openapi.from_dict(json.loads((ROOT / "infra" / "openapi.json").read_text("utf-8"))).include(
    path_regex="^/v1/(articles|bulletins)$")


class Recorder:
    """Starts nothing: remembers each run it was asked for (one per idempotency key, as Prefect does)."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[str, dict[str, Any], list[str]]] = {}

    async def _start(self, kind: str, parameters: dict[str, Any], idempotency_key: str, tags: list[str]) -> LaunchedRun:
        if idempotency_key in self.runs:
            _, first, _ = self.runs[idempotency_key]
            return LaunchedRun(id=f"run-{len(self.runs)}", parameters=first, duplicate=True)
        self.runs[idempotency_key] = (kind, parameters, tags)
        return LaunchedRun(id=f"00000000-0000-0000-0000-{len(self.runs):012d}", parameters=parameters)

    async def start_article(self, parameters, *, idempotency_key, tags):
        return await self._start("article", parameters, idempotency_key, tags)

    async def start_bulletin(self, parameters, *, idempotency_key, tags):
        return await self._start("bulletin", parameters, idempotency_key, tags)


def app_and_store(tmp_path):
    store = LocalStore(tmp_path / "store")
    launcher = Recorder()
    app = create_app(Settings(webhook_secret=SECRET, storage_backend="local", local_root=tmp_path / "store"),
                     launcher=launcher, store=store)  # type: ignore[arg-type]
    return app, store, launcher


def call(app, path: str, body: dict | bytes, key: str | None = "cms-article-0001", sign: bool = True,
         timestamp: int | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    async def go() -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if sign:
            headers.update(auth.signed_headers(SECRET, "POST", path, data, timestamp=timestamp))
        if key:
            headers[auth.IDEMPOTENCY_HEADER] = key
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhook") as client:
            return await client.post(path, content=data, headers=headers)

    return asyncio.run(go())


def test_article_and_bulletin_requests_start_their_flows(tmp_path):
    from flows.article import article
    from flows.bulletin import bulletin

    app, store, launcher = app_and_store(tmp_path)
    store.put_bytes("inbox/articles/river.md", b"---\ntitle: River\n---\nText.\n")
    store.put_bytes("uploads/2026/a/photo.jpg", b"\xff\xd8\xff fake but present")
    request = {"article_key": "inbox/articles/river.md", "image_keys": ["uploads/2026/a/photo.jpg"], "target_s": 30,
               "cms_ref": "cms/article-7"}
    answer = call(app, "/v1/articles", request)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status_url"].endswith(f"/v1/stories/{answer.json()['id']}")
    kind, parameters, tags = launcher.runs["cms-article:cms-article-0001"]
    assert kind == "article" and tags == ["cms", "article", "cms-ref:cms/article-7"]
    article.validate_parameters(parameters)  # what the webhook starts, the flow accepts
    assert parameters["article"] == "inbox/articles/river.md" and parameters["images"] == ["uploads/2026/a/photo.jpg"]
    fresh = int(time.time()) - 7
    again = call(app, "/v1/articles", request, timestamp=fresh)  # a fresh signature, the same key: the same run
    assert again.status_code == 202 and again.json()["duplicate"] and len(launcher.runs) == 1
    changed = call(app, "/v1/articles", {**request, "target_s": 45})
    assert changed.status_code == 409

    answer = call(app, "/v1/bulletins", {"items": ["Headline\nFirst item.", "Second item."], "language": "en"},
                  key="cms-bulletin-0001")
    assert answer.status_code == 202, answer.text
    kind, parameters, _ = launcher.runs["cms-bulletin:cms-bulletin-0001"]
    assert kind == "bulletin" and parameters["items"] == ["Headline\nFirst item.", "Second item."]
    bulletin.validate_parameters(parameters)


@pytest.mark.parametrize("path, body, key, sign, status, message", [
    ("/v1/articles", {"article_key": "inbox/missing.md"}, "cms-article-0002", True, 422, "does not exist"),
    ("/v1/articles", {"article_key": "etc/passwd"}, "cms-article-0003", True, 422, "outside the allowed prefixes"),
    ("/v1/articles", {"article_key": "inbox/a.md", "image_keys": ["inbox/nope.jpg"]}, "cms-article-0004", True, 422,
     "image_keys[0]"),
    ("/v1/articles", {"article_key": "inbox/../x.md"}, "cms-article-0005", True, 422, "invalid parameters"),
    ("/v1/articles", {"article_key": "inbox/a.md"}, None, True, 400, "Idempotency-Key"),
    ("/v1/articles", {"article_key": "inbox/a.md"}, "cms-article-0006", False, 401, "sign the request"),
    ("/v1/bulletins", {"items": []}, "cms-bulletin-0002", True, 422, "invalid parameters"),
    ("/v1/bulletins", {"items": ["x"] * 21}, "cms-bulletin-0003", True, 422, "invalid parameters"),
    ("/v1/bulletins", {"items": ["ok."], "language": "xx"}, "cms-bulletin-0004", True, 422, "invalid parameters"),
])
def test_bad_requests_start_nothing(tmp_path, path, body, key, sign, status, message):
    app, store, launcher = app_and_store(tmp_path)
    store.put_bytes("inbox/a.md", b"---\ntitle: A\n---\nText.\n")
    answer = call(app, path, body, key=key, sign=sign)
    assert answer.status_code == status and message in answer.text, answer.text
    assert launcher.runs == {}


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_programme_requests_never_get_a_5xx(case, tmp_path_factory):
    app, _, _ = app_and_store(tmp_path_factory.mktemp("fuzz"))
    kwargs = case.as_transport_kwargs(base_url="http://webhook")
    body = json.dumps(kwargs["json"]).encode() if "json" in kwargs else b""
    sign = zlib.crc32(body) % 10 < 8
    answer = call(app, case.path, body, key=f"fuzz-{zlib.crc32(body):08x}", sign=sign)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["error"]
