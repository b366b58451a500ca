"""The checks every route makes, and the one error type they raise.

`ApiError` becomes a JSON `ErrorBody` with its status (and Retry-After, and Connection: close when the body
was not read) in `newsroom.webhook.app`. The signature is checked from the request line and headers alone
(`authenticate`), before a single body byte is read; bodies are read up to their limit and held to the
signed sha256 (`read_body`, `receive_upload`); JSON is parsed only when it is not nested too deeply
(`parse`); a named object must exist in an allowed place (`check_object`); every Launcher call has a
deadline (`on_prefect`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from newsroom.errors import NewsroomError, ObjectNotFoundError
from newsroom.storage import ObjectStore
from newsroom.webhook import auth
from newsroom.webhook.launcher import LaunchError

log = logging.getLogger("newsroom.webhook")
T = TypeVar("T")
RETRY_AFTER_S = 10  # what a 503 asks the client to wait before retrying
MAX_JSON_DEPTH = 16  # nesting of arrays/objects in a JSON body; ours need 5 (a storage event)
_JSON_TOKEN_RE = re.compile(rb'["\\\[\]{}]')


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


async def check_object(store: ObjectStore, key: str, what: str, prefixes: tuple[str, ...], max_bytes: int) -> None:
    """422 unless `key` is under one of `prefixes` and names a non-empty object of at most `max_bytes`;
    503 when the store cannot say."""
    if not key.startswith(prefixes):
        raise ApiError(422, f"{what} {key!r} is outside the allowed prefixes {', '.join(prefixes)}")
    try:
        info = await run_in_threadpool(store.stat, key)
    except ObjectNotFoundError:
        raise ApiError(422, f"{what} {key!r} does not exist in the bucket: upload it first") from None
    except NewsroomError as exc:
        raise unavailable(f"object store unavailable: {exc}") from None
    if info.size_bytes == 0:
        raise ApiError(422, f"{what} {key!r} is empty")
    if info.size_bytes > max_bytes:
        raise ApiError(422, f"{what} {key!r} is {info.size_bytes} bytes, over the {max_bytes}-byte limit")


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
