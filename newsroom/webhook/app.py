"""The CMS webhook: a small FastAPI app that validates signed requests and starts Prefect deployment runs.

It never touches media: it checks the request, that the named object exists, and asks a `Launcher`
(the Prefect side lives in `flows/launch.py`) to start the package or an inbox scan. One run per
Idempotency-Key is enforced by the Prefect server itself (a flow run's idempotency key is unique per
flow), so concurrent retries through any number of webhook replicas still start one run.

Headers (documented in the OpenAPI schema): `X-Newsroom-Timestamp`, `X-Newsroom-Content-SHA256` and
`X-Newsroom-Signature` (scheme v2, see `newsroom.webhook.auth`: it covers method, path, query, timestamp,
Content-Length and the body's hash, and is checked before the body is read), `Idempotency-Key` on
POST /v1/stories; MinIO's notifications on /v1/storage-events carry `Authorization: Bearer
<storage_events_token>` instead (MinIO cannot sign).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from newsroom.config import Settings
from newsroom.errors import ConfigError, InvalidKeyError, NewsroomError, ObjectNotFoundError, TransientError
from newsroom.layout import ARTICLE_ROUTE, BULLETIN_ROUTE, FOOTAGE_ROUTE, StoryLayout
from newsroom.manifest import Manifest
from newsroom.storage import ObjectStore, open_store
from newsroom.storage.keys import RUNS_PREFIX, run_record_key, validate_key
from newsroom.webhook import auth, programmes
from newsroom.webhook.schemas import (
    MAX_FILENAME_BYTES,
    ErrorBody,
    EventsAccepted,
    Health,
    StorageEvent,
    StoryAccepted,
    StoryRequest,
    StoryStatus,
    Uploaded,
    upload_name,
)

log = logging.getLogger("newsroom.webhook")
T = TypeVar("T")
RETRY_AFTER_S = 10  # what a 503 asks the client to wait before retrying
PORTRAIT_PREFIX = "portraits/"
UPLOAD_PREFIX = "uploads"
MAX_JSON_DEPTH = 16  # nesting of arrays/objects in a JSON body; ours need 5 (a storage event)
_JSON_TOKEN_RE = re.compile(rb'["\\\[\]{}]')
_IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


class LaunchError(Exception):
    """Prefect could not start or read a run; the message says what to check."""


@dataclass(frozen=True, slots=True)
class LaunchedRun:
    id: str
    parameters: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
    ui_url: str | None = None


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    state: str
    state_name: str
    message: str | None
    parameters: dict[str, Any]
    ui_url: str | None = None


class Launcher(Protocol):
    """Starts and reads the runs the webhook asks for (implemented over Prefect in flows/launch.py)."""

    async def start_story(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun: ...

    async def start_inbox_scan(self, *, idempotency_key: str) -> LaunchedRun: ...

    async def story_run(self, run_id: str) -> RunInfo | None: ...

    async def start_article(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun: ...

    async def start_bulletin(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun: ...

    async def healthy(self) -> bool: ...


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


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed request (JSON, headers), or a body that does not match its signed sha256",
        401: "Missing, wrong or stale signature (refused before the body is read; the connection is closed)",
        404: "No such story run",
        409: "Replayed request, or an Idempotency-Key reused with different parameters",
        411: "A chunked body: send Content-Length (the signature covers it)",
        413: "Body over the size limit",
        422: "Invalid parameters, file name or source object",
        429: "Too many uploads from this client at once: retry after Retry-After seconds",
        503: "Prefect, the object store or the webhook's disk is unavailable or too slow: retry after Retry-After seconds",
    }.items()
}
_SIGNED = [
    {"name": auth.TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
     "description": "Unix seconds when the request was signed (a 5-minute window)."},
    {"name": auth.CONTENT_SHA256_HEADER, "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
     "description": "Hex sha256 of the body as sent (of no bytes for a GET: e3b0c442...b855)."},
    {"name": auth.SIGNATURE_HEADER, "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^v2=[0-9a-f]{64}$"},
     "description": "v2=<hex HMAC-SHA256 with the shared secret of the lines NEWSROOM-HMAC-SHA256-V2, method, "
                    "path, canonical query, timestamp, Content-Length and content sha256, joined by newlines>."},
]
_IDEMPOTENCY = {"name": auth.IDEMPOTENCY_HEADER, "in": "header", "required": True,
                "schema": {"type": "string", "pattern": _IDEMPOTENCY_RE.pattern},
                "description": "Your id for this request; the same key never starts a second run."}
_BEARER = {"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string"},
           "description": "Bearer <storage_events_token> (MinIO's notify_webhook auth_token)."}


def _json_body(model: type) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def create_app(settings: Settings, launcher: Launcher, store: ObjectStore | None = None) -> FastAPI:
    """The webhook app. Refuses to exist without a shared secret."""
    if settings.webhook_secret is None or len(settings.webhook_secret.get_secret_value()) < 16:
        raise ConfigError("the webhook needs a shared secret of at least 16 characters: set NEWSROOM_WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()
    events_token = settings.storage_events_token.get_secret_value() if settings.storage_events_token else None
    objects = store or open_store(settings)
    # Replay memory shared through the bucket: a restarted webhook or another replica still refuses a replay.
    guard = auth.ReplayGuard(store=objects, timeout_s=settings.webhook_storage_timeout_s, unavailable=unavailable)
    limit = settings.webhook_max_body_bytes
    source_prefixes = tuple(settings.webhook_source_prefixes)
    # Uploads: never more than ingest accepts; the 413 names the setting that decided.
    if settings.webhook_max_upload_bytes <= settings.max_source_bytes:
        upload_cap, upload_cap_setting = settings.webhook_max_upload_bytes, "NEWSROOM_WEBHOOK_MAX_UPLOAD_BYTES"
    else:
        upload_cap, upload_cap_setting = settings.max_source_bytes, "NEWSROOM_MAX_SOURCE_BYTES"
    uploads_per_client = settings.webhook_uploads_per_client
    uploading: Counter[str] = Counter()  # remote address -> uploads streaming now (one event loop: no lock)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        close = getattr(launcher, "aclose", None)  # a launcher holding connections releases them
        if close is not None:
            await close()

    app = FastAPI(
        lifespan=lifespan,
        title="newsroom webhook",
        version="1",
        summary="Start and follow story packages from a CMS or MinIO bucket notifications.",
        description=__doc__,
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc.error)
        body = ErrorBody(error=exc.error, detail=jsonable_encoder(exc.detail), flow_run_id=exc.flow_run_id)
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else {}
        if _body_pending(request):
            # Refused before the body was read: close the connection rather than read (drain) the rest of it,
            # which a keep-alive connection would, at the sender's pace.
            headers["Connection"] = "close"
        return JSONResponse(body.model_dump(exclude_none=True), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _api_error(request, ApiError(422, "invalid request", detail=_errors(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:  # unknown paths, wrong methods
        return await _api_error(request, ApiError(exc.status_code, str(exc.detail)))

    prefect_timeout = settings.webhook_prefect_timeout_s

    async def on_prefect(call: Awaitable[T], what: str) -> T:
        """Await a Launcher call for at most webhook_prefect_timeout_s. The Prefect client retries a busy
        server with backoff for a minute or more; a CMS should hear 503 + Retry-After long before that."""
        try:
            return await asyncio.wait_for(call, prefect_timeout)
        except TimeoutError:
            log.warning("the Prefect API did not answer within %.0f s (%s)", prefect_timeout, what)
            raise unavailable(f"the Prefect API did not answer within {prefect_timeout:.0f} s ({what}): retry in "
                              f"{RETRY_AFTER_S} s with a fresh signature and the same Idempotency-Key, which never "
                              "starts a second run") from None
        except LaunchError as exc:
            raise unavailable(str(exc)) from None

    storage_timeout = settings.webhook_storage_timeout_s

    async def on_store(fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the (blocking) object store in a thread for at most webhook_storage_timeout_s: a stalled store
        is a 503 with Retry-After, not a request that hangs. Its own errors pass through, except transient
        ones (the store's client gave up after its retries), which are a 503 as well."""
        try:
            return await asyncio.wait_for(run_in_threadpool(fn, *args, **kwargs), storage_timeout)
        except TimeoutError:
            log.warning("the object store did not answer within %.0f s (%s)", storage_timeout,
                        getattr(fn, "__name__", "call"))
            raise unavailable(f"the object store did not answer within {storage_timeout:.0f} s: retry in "
                              f"{RETRY_AFTER_S} s") from None
        except TransientError as exc:
            raise unavailable(f"object store unavailable: {exc}") from None

    def authenticate(request: Request) -> auth.SignedRequest:
        """Check the v2 signature from the request line and headers alone: not one body byte is read here."""
        if "transfer-encoding" in request.headers:
            raise ApiError(411, "send the body with a Content-Length (the signature covers it), not chunked")
        try:
            return auth.verify_request(secret, request.method, request.scope["path"],
                                       request.scope.get("query_string", b"").decode("latin-1"), request.headers)
        except auth.AuthError as exc:
            log.warning("refused %s %s from %s: %s", request.method, request.url.path, _client(request), exc)
            raise ApiError(401, str(exc)) from None

    async def read_body(request: Request, signed: auth.SignedRequest | None = None) -> bytes:
        """The (small) body, held to the signed sha256 and Content-Length when `signed` is given."""
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

    def parse(model: type, body: bytes) -> Any:
        depth = _json_depth(body, MAX_JSON_DEPTH)
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
            raise ApiError(422, "invalid parameters", detail=_errors(exc.errors(include_url=False))) from None

    async def check_object(key: str, what: str, prefixes: tuple[str, ...]) -> None:
        if not key.startswith(prefixes):
            raise ApiError(422, f"{what} {key!r} is outside the allowed prefixes {', '.join(prefixes)}")
        try:
            info = await on_store(objects.stat, key)
        except ObjectNotFoundError:
            raise ApiError(422, f"{what} {key!r} does not exist in the bucket: upload it first") from None
        except NewsroomError as exc:
            raise unavailable(f"object store unavailable: {exc}") from None
        if info.size_bytes == 0:
            raise ApiError(422, f"{what} {key!r} is empty")
        if info.size_bytes > settings.max_source_bytes:
            raise ApiError(422, f"{what} {key!r} is {info.size_bytes} bytes, over the {settings.max_source_bytes}-byte limit")

    @app.post("/v1/stories", status_code=202, response_model=StoryAccepted, responses=_ERRORS,
              openapi_extra={"requestBody": _json_body(StoryRequest), "parameters": [*_SIGNED, _IDEMPOTENCY]})
    async def create_story(request: Request) -> StoryAccepted:
        """Start the whole package (ingest, edit, draft, broadcast) for a media object."""
        signed = authenticate(request)
        signature = signed.signature
        seen = await guard.aclaim(signature)
        if seen is not None:
            raise ApiError(409, "replayed request: this exact signed request was already received; "
                                "sign each retry with a fresh timestamp (the Idempotency-Key keeps it one run)",
                           flow_run_id=seen.flow_run_id)
        try:
            body = await read_body(request, signed)
            key = request.headers.get(auth.IDEMPOTENCY_HEADER)
            if not key or not _IDEMPOTENCY_RE.match(key):
                raise ApiError(400, f"{auth.IDEMPOTENCY_HEADER} header is required: 8-128 characters of "
                                    "letters, digits and . _ : -")
            story: StoryRequest = parse(StoryRequest, body)
            await check_object(story.source_key, "source_key", source_prefixes)
            if story.portrait_key:
                await check_object(story.portrait_key, "portrait_key", (*source_prefixes, PORTRAIT_PREFIX))
            parameters = story.flow_parameters()
            tags = ["cms"] + ([f"cms-ref:{story.cms_ref}"] if story.cms_ref else [])
            run = await on_prefect(launcher.start_story(parameters, idempotency_key=f"cms:{key}", tags=tags),
                                   "starting the story run")
            if run.duplicate and any(run.parameters.get(k) != v for k, v in parameters.items()):
                raise ApiError(409, f"{auth.IDEMPOTENCY_HEADER} {key!r} was already used for a different request",
                               flow_run_id=run.id)
        except BaseException:
            guard.release(signature)  # nothing started: the same bytes may be retried
            raise
        guard.settle(signature, run.id)
        log.info("story run %s for %s (%s)", run.id, story.source_key, "duplicate" if run.duplicate else "new")
        return StoryAccepted(id=run.id, status_url=str(request.url_for("story_status", run_id=run.id)),
                             ui_url=run.ui_url, duplicate=run.duplicate)

    @app.post("/v1/uploads", status_code=201, response_model=Uploaded, responses=_ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
                  "schema": {"type": "string", "format": "binary"}}}}, "parameters": [*_SIGNED, {
                  "name": "filename", "in": "query", "required": True,
                  "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_BYTES},
                  "description": "The file's own name with its extension (e.g. Mayor's speech (final).mp4). "
                                 "Stored NFC-normalised with characters other than letters, digits, _ and - "
                                 "replaced by _; the name as sent is kept in the object's metadata."}]})
    async def upload(request: Request) -> Uploaded:
        """Store raw media for a story (streamed; the signature is checked before the body is read, the body's
        sha256 after); then POST /v1/stories with its key."""
        signed = authenticate(request)
        names = request.query_params.getlist("filename")
        try:
            name = upload_name(names[0] if len(names) == 1 else "")
            key = validate_key(f"{UPLOAD_PREFIX}/{time.strftime('%Y-%m-%d', time.gmtime())}/{uuid.uuid4().hex[:12]}/"
                               f"{name.stored}")
        except InvalidKeyError as exc:
            raise ApiError(422, str(exc)) from None
        if signed.content_length > upload_cap:
            raise ApiError(413, f"upload is {signed.content_length} bytes, over the {upload_cap}-byte limit "
                                f"({upload_cap_setting})")
        if signed.content_length == 0:
            raise ApiError(422, "the upload is empty")
        client = _client(request)
        if uploading[client] >= uploads_per_client:
            raise ApiError(429, f"{uploading[client]} uploads from {client} are in progress, the most one client may "
                                f"send at once (NEWSROOM_WEBHOOK_UPLOADS_PER_CLIENT): retry when one has finished",
                           retry_after_s=RETRY_AFTER_S)
        if await guard.aclaim(signed.signature) is not None:
            raise ApiError(409, "replayed request: this exact signed upload was already received")
        uploading[client] += 1
        try:
            with tempfile.NamedTemporaryFile(prefix="newsroom-upload-") as tmp:
                sha256 = await receive_upload(request, signed, tmp)
                try:
                    await on_store(objects.put_file, key, tmp.name,
                                   metadata={"sha256": sha256, "filename": name.original})
                except NewsroomError as exc:
                    raise unavailable(f"object store unavailable: {exc}") from None
        except BaseException as exc:
            guard.release(signed.signature)  # nothing stored: the same signed request may be sent again
            if isinstance(exc, OSError):  # the webhook's own disk (full, say): not the client's fault
                log.error("could not buffer an upload in %s: %s", tempfile.gettempdir(), exc)
                raise unavailable("the webhook could not buffer the upload on its disk; nothing was stored: "
                                  "retry later") from None
            raise
        finally:
            uploading[client] -= 1
            if uploading[client] <= 0:
                del uploading[client]
        log.info("stored upload %s (%d bytes)", key, signed.content_length)
        return Uploaded(source_key=key, bytes=signed.content_length, sha256=sha256, filename=name.original)

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

    @app.get("/v1/stories/{run_id}", response_model=StoryStatus, responses=_ERRORS, name="story_status",
             openapi_extra={"parameters": _SIGNED})
    async def story_status(run_id: UUID, request: Request) -> StoryStatus:
        """Where a story's package run is, and links to its finished files."""
        await read_body(request, authenticate(request))
        run = await on_prefect(launcher.story_run(str(run_id)), "reading the story run")
        if run is None:
            raise ApiError(404, f"no story run {run_id}")
        status = StoryStatus(id=run.id, state=run.state, state_name=run.state_name, message=run.message,
                             source_key=run.parameters.get("source"), ui_url=run.ui_url)
        try:
            record = await on_store(objects.get_json, run_record_key(run.id))
        except ObjectNotFoundError:
            return status
        except NewsroomError as exc:
            raise unavailable(f"object store unavailable: {exc}") from None
        status.story_id = record.get("story_id")
        status.note = record.get("note")
        if status.story_id:
            try:
                status.outputs = await on_store(_outputs, objects, status.story_id)
            except NewsroomError as exc:
                raise unavailable(f"object store unavailable: {exc}") from None
        return status

    @app.post("/v1/storage-events", status_code=202, response_model=EventsAccepted, responses=_ERRORS,
              openapi_extra={"requestBody": _json_body(StorageEvent), "parameters": [_BEARER]})
    async def storage_events(request: Request) -> EventsAccepted:
        """MinIO bucket notifications: a new object under the inbox prefix starts an inbox scan right away."""
        token = request.headers.get("authorization", "")
        if not events_token or not hmac.compare_digest(token.encode("utf-8", "replace"),
                                                       f"Bearer {events_token}".encode()):
            log.warning("refused storage event from %s: bad or missing bearer token",
                        request.client.host if request.client else "?")
            raise ApiError(401, "storage events need 'Authorization: Bearer <token>' matching NEWSROOM_STORAGE_EVENTS_TOKEN")
        event: StorageEvent = parse(StorageEvent, await read_body(request))
        wanted = [r for r in event.records
                  if r.event_name.startswith("s3:ObjectCreated:") and r.s3.bucket.name == settings.minio_bucket
                  and r.key.startswith(settings.inbox_prefix)]
        if not wanted:
            return EventsAccepted(scans=[], ignored=len(event.records))
        # One scan per distinct batch of objects: a storm of the same notification starts one scan.
        digest = hashlib.sha256(json.dumps(sorted((r.key, r.s3.object.etag or "", r.s3.object.sequencer or "")
                                                  for r in wanted)).encode()).hexdigest()[:32]
        run = await on_prefect(launcher.start_inbox_scan(idempotency_key=f"inbox-event:{digest}"),
                               "starting the inbox scan")
        return EventsAccepted(scans=[run.id], ignored=len(event.records) - len(wanted))

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    async def healthz() -> JSONResponse:
        """Liveness and the two services the webhook needs (no authentication, no details)."""
        try:
            prefect_ok = await asyncio.wait_for(launcher.healthy(), prefect_timeout)
        except TimeoutError:
            prefect_ok = False
        try:
            await on_store(objects.exists, f"{RUNS_PREFIX}/healthz.json")
            storage_ok = True
        except (ApiError, NewsroomError):
            storage_ok = False
        health = Health(ok=prefect_ok and storage_ok, prefect=prefect_ok, storage=storage_ok)
        return JSONResponse(health.model_dump(), status_code=200 if health.ok else 503)

    # POST /v1/articles and /v1/bulletins (newsroom/webhook/programmes.py), with the same checks as a story.
    programmes.add_programme_routes(
        app, launcher=launcher, authenticate=authenticate, read_body=read_body, parse=parse, check_object=check_object,
        on_prefect=on_prefect, guard=guard, source_prefixes=source_prefixes,
        portrait_prefixes=(*source_prefixes, PORTRAIT_PREFIX), api_error=ApiError, responses=_ERRORS,
        openapi_parameters=[*_SIGNED, _IDEMPOTENCY], json_body=_json_body, idempotency_re=_IDEMPOTENCY_RE)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (StoryRequest, StorageEvent, programmes.ArticleRequest, programmes.BulletinRequest):
                spec = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
                components.update(spec.pop("$defs", {}))
                components[model.__name__] = spec
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _body_pending(request: Request) -> bool:
    """The request announced a body that the app has not read to its end."""
    if getattr(request.state, "body_read", False):
        return False
    declared = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or not declared.isdigit() or int(declared) > 0


def _json_depth(body: bytes, stop_at: int) -> int:
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


def _errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input echoed back (it may be huge or hostile)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]


def _outputs(store: ObjectStore, story_id: str) -> dict[str, str]:
    """Links to the story's finished files (the layout's handouts) that its published manifest lists."""
    layout = StoryLayout(story_id)
    try:
        manifest = Manifest.from_dict(store.get_json(layout.manifest))
    except ObjectNotFoundError:
        return {}
    every = FOOTAGE_ROUTE + ARTICLE_ROUTE + BULLETIN_ROUTE  # only the story's own files are recorded
    return {name: store.url(key) for key, name in layout.handouts(every).items()
            if key == layout.manifest or manifest.has(key)}
