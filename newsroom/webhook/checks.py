"""The checks every route makes, and the one error type they raise.

`ApiError` becomes a JSON `ErrorBody` with its status (and Retry-After, and Connection: close when the body
was not read) in `newsroom.webhook.app`. The signature is checked from the request line and headers alone
(`authenticate`), before a single body byte is read; bodies are read up to their limit and held to the
signed sha256 (`read_body`, `receive_upload`); JSON is parsed only when it is not nested too deeply
(`parse`); a named object must exist in an allowed place (`check_object`); every Launcher call and every
object store call has a deadline (`on_prefect`, `on_store`); a run is started once per signed request and
Idempotency-Key (`start_once`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from newsroom.errors import NewsroomError, ObjectNotFoundError, TransientError
from newsroom.storage import ObjectStore
from newsroom.webhook import auth
from newsroom.webhook.launcher import LaunchedRun, LaunchError
from newsroom.webhook.state import Limits

log = logging.getLogger("newsroom.webhook")
T = TypeVar("T")
RETRY_AFTER_S = 10  # what a 503 asks the client to wait before retrying
MAX_JSON_DEPTH = 16  # nesting of arrays/objects in a JSON body; ours need 5 (a storage event)
_JSON_TOKEN_RE = re.compile(rb'["\\\[\]{}]')
IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


class ApiError(Exception):
    def __init__(self, status: int, error: str, *, detail: Any = None, flow_run_id: str | None = None,
                 retry_after_s: int | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.flow_run_id = flow_run_id
        self.retry_after_s = retry_after_s


def unavailable(error: str) -> ApiError:
    """503 with Retry-After: a service behind the webhook is down or too slow; the request may be retried."""
    return ApiError(503, error, retry_after_s=RETRY_AFTER_S)


async def on_prefect(call: Awaitable[T], what: str, timeout_s: float) -> T:
    """Await a Launcher call for at most `timeout_s` (webhook_prefect_timeout_s). The Prefect client retries
    a busy server with backoff for a minute or more; a CMS should hear 503 + Retry-After long before that."""
    try:
        return await asyncio.wait_for(call, timeout_s)
    except TimeoutError:
        log.warning("the Prefect API did not answer within %.0f s (%s)", timeout_s, what)
        raise unavailable(f"the Prefect API did not answer within {timeout_s:.0f} s ({what}): retry in "
                          f"{RETRY_AFTER_S} s with a fresh signature and the same Idempotency-Key, which never "
                          "starts a second run") from None
    except LaunchError as exc:
        raise unavailable(str(exc)) from None


async def on_store(fn: Callable[..., T], *args: Any, timeout_s: float, **kwargs: Any) -> T:
    """Call the (blocking) object store in a thread for at most `timeout_s` (webhook_storage_timeout_s): a
    stalled store is a 503 with Retry-After, not a request that hangs. Its own errors pass through, except
    transient ones (the store's client gave up after its retries), which are a 503 as well."""
    try:
        return await asyncio.wait_for(run_in_threadpool(fn, *args, **kwargs), timeout_s)
    except TimeoutError:
        log.warning("the object store did not answer within %.0f s (%s)", timeout_s, getattr(fn, "__name__", "call"))
        raise unavailable(f"the object store did not answer within {timeout_s:.0f} s: retry in "
                          f"{RETRY_AFTER_S} s") from None
    except TransientError as exc:
        raise unavailable(f"object store unavailable: {exc}") from None


def authenticate(request: Request, secret: str) -> auth.SignedRequest:
    """Check the v2 signature from the request line and headers alone: not one body byte is read here."""
    if "transfer-encoding" in request.headers:
        raise ApiError(411, "send the body with a Content-Length (the signature covers it), not chunked")
    try:
        return auth.verify_request(secret, request.method, request.scope["path"],
                                   request.scope.get("query_string", b"").decode("latin-1"), request.headers)
    except auth.AuthError as exc:
        log.warning("refused %s %s from %s: %s", request.method, request.url.path, client_of(request), exc)
        raise ApiError(401, str(exc)) from None


async def read_body(request: Request, limit: int, signed: auth.SignedRequest | None = None) -> bytes:
    """The (small) body, at most `limit` bytes, held to the signed sha256 and Content-Length when `signed`
    is given."""
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, f"body is over the {limit}-byte limit (NEWSROOM_WEBHOOK_MAX_BODY_BYTES)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"body is over the {limit}-byte limit (NEWSROOM_WEBHOOK_MAX_BODY_BYTES)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the connection closed before the body was complete") from None
    request.state.body_read = True
    body = b"".join(chunks)
    if signed is not None:
        try:
            auth.check_content(signed, len(body), hashlib.sha256(body).hexdigest())
        except auth.ContentMismatchError as exc:
            raise ApiError(400, str(exc)) from None
    return body


async def receive_upload(request: Request, signed: auth.SignedRequest, out: Any) -> str:
    """Stream the body into `out`, held to the signed sha256 and length; returns the sha256."""
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    except ClientDisconnect:
        raise ApiError(400, f"the connection closed after {size} of {signed.content_length} bytes: "
                            "nothing was stored; send the file again") from None
    request.state.body_read = True
    try:
        auth.check_content(signed, size, digest.hexdigest())
    except auth.ContentMismatchError as exc:
        raise ApiError(400, f"{exc}; nothing was stored") from None
    out.flush()
    return digest.hexdigest()


def parse(model: type, body: bytes) -> Any:
    """`body` as an instance of the pydantic `model`: 400 for bad or too deeply nested JSON, 422 for JSON
    that is not an object or does not match."""
    depth = json_depth(body, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"body is JSON nested more than {MAX_JSON_DEPTH} levels deep: send a flat object "
                            "as the schema describes")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}") from None
    except ValueError:  # the one other: an integer of more than 4300 digits
        raise ApiError(400, "body is not valid JSON for this API: a number has thousands of digits") from None
    except RecursionError:  # not reached through the depth check above; never a 500
        raise ApiError(400, f"body is JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise ApiError(422, "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid parameters", detail=errors_of(exc.errors(include_url=False))) from None


async def check_object(store: ObjectStore, key: str, what: str, prefixes: tuple[str, ...], limits: Limits) -> None:
    """422 unless `key` is under one of `prefixes` and names a non-empty object of at most
    `limits.source_bytes`; 503 when the store cannot say (in time)."""
    if not key.startswith(prefixes):
        raise ApiError(422, f"{what} {key!r} is outside the allowed prefixes {', '.join(prefixes)}")
    try:
        info = await on_store(store.stat, key, timeout_s=limits.storage_timeout_s)
    except ObjectNotFoundError:
        raise ApiError(422, f"{what} {key!r} does not exist in the bucket: upload it first") from None
    except NewsroomError as exc:
        raise unavailable(f"object store unavailable: {exc}") from None
    if info.size_bytes == 0:
        raise ApiError(422, f"{what} {key!r} is empty")
    if info.size_bytes > limits.source_bytes:
        raise ApiError(422, f"{what} {key!r} is {info.size_bytes} bytes, over the {limits.source_bytes}-byte limit")


@dataclass(slots=True)
class Once:
    """A request that may start one run, inside `start_once`: its signed body and Idempotency-Key."""

    body: bytes
    idempotency_key: str
    run: LaunchedRun | None = None

    def started(self, run: LaunchedRun, parameters: dict[str, Any]) -> LaunchedRun:
        """Record the run the Launcher started (or found) for these parameters: 409 when the key was already
        used with different ones."""
        if run.duplicate and any(run.parameters.get(k) != v for k, v in parameters.items()):
            raise ApiError(409, f"{auth.IDEMPOTENCY_HEADER} {self.idempotency_key!r} was already used for a "
                                "different request", flow_run_id=run.id)
        self.run = run
        return run


@asynccontextmanager
async def start_once(request: Request, secret: str, guard: auth.ReplayGuard, limits: Limits) -> AsyncIterator[Once]:
    """The common path of the routes that start a run (a story, an article, a bulletin): the signature before
    the body, one claim per signed request (a replay is a 409), the body held to its signed sha256, the
    Idempotency-Key header. The block parses the body, checks what it names, starts the run and hands it to
    `Once.started`. Whatever the block raises releases the claim (nothing started: the same bytes may be
    retried); otherwise the signature is settled on the run."""
    signed = authenticate(request, secret)
    signature = signed.signature
    seen = await guard.aclaim(signature)
    if seen is not None:
        raise ApiError(409, "replayed request: this exact signed request was already received; "
                            "sign each retry with a fresh timestamp (the Idempotency-Key keeps it one run)",
                       flow_run_id=seen.flow_run_id)
    try:
        body = await read_body(request, limits.body_bytes, signed)
        key = request.headers.get(auth.IDEMPOTENCY_HEADER)
        if not key or not IDEMPOTENCY_RE.match(key):
            raise ApiError(400, f"{auth.IDEMPOTENCY_HEADER} header is required: 8-128 characters of "
                                "letters, digits and . _ : -")
        once = Once(body, key)
        yield once
        if once.run is None:
            raise RuntimeError("a start_once block ended without a run: call Once.started")
    except BaseException:
        guard.release(signature)  # nothing started: the same bytes may be retried
        raise
    guard.settle(signature, once.run.id)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def body_pending(request: Request) -> bool:
    """The request announced a body that the app has not read to its end."""
    if getattr(request.state, "body_read", False):
        return False
    declared = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or not declared.isdigit() or int(declared) > 0


def json_depth(body: bytes, stop_at: int) -> int:
    """How deeply arrays and objects nest in a JSON text (strings skipped), in one linear pass that stops
    once past `stop_at`: too deep a body is refused before a parser recurses into it."""
    depth = deepest = 0
    in_string, skip_to = False, -1
    for match in _JSON_TOKEN_RE.finditer(body):
        at = match.start()
        if at < skip_to:
            continue  # the character after a backslash in a string
        char = body[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip_to = at + 2
            elif char == 0x22:  # closing quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    break
        else:
            depth -= 1
    return deepest


def errors_of(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input echoed back (it may be huge or hostile)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
