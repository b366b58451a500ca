"""The webhook's routes: module-level handlers that name what they use as dependencies (`state.py`) and
check requests with `checks.py`. The OpenAPI documentation of headers and bodies the handlers read
themselves (signature headers, raw bodies) is declared here, next to each route."""

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
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsroom.errors import InvalidKeyError, NewsroomError, ObjectNotFoundError
from newsroom.manifest import DELIVERABLES
from newsroom.storage import ObjectStore
from newsroom.storage.keys import RUNS_PREFIX, manifest_key, run_record_key, validate_key
from newsroom.webhook import auth
from newsroom.webhook.checks import (
    RETRY_AFTER_S,
    ApiError,
    authenticate,
    check_object,
    client_of,
    on_prefect,
    parse,
    read_body,
    receive_upload,
    unavailable,
)
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
from newsroom.webhook.state import (
    GuardDep,
    LauncherDep,
    LimitsDep,
    SecretsDep,
    SettingsDep,
    StoreDep,
    UploadingDep,
)

log = logging.getLogger("newsroom.webhook")
PORTRAIT_PREFIX = "portraits/"
UPLOAD_PREFIX = "uploads"
_IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

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
_FILENAME = {"name": "filename", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_BYTES},
             "description": "The file's own name with its extension (e.g. Mayor's speech (final).mp4). "
                            "Stored NFC-normalised with characters other than letters, digits, _ and - "
                            "replaced by _; the name as sent is kept in the object's metadata."}
_BINARY_BODY = {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


def _json_body(model: type) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


router = APIRouter()


@router.post("/v1/stories", status_code=202, response_model=StoryAccepted, responses=_ERRORS,
             openapi_extra={"requestBody": _json_body(StoryRequest), "parameters": [*_SIGNED, _IDEMPOTENCY]})
async def create_story(request: Request, secrets: SecretsDep, launcher: LauncherDep, store: StoreDep,
                       guard: GuardDep, limits: LimitsDep) -> StoryAccepted:
    """Start the whole package (ingest, edit, draft, broadcast) for a media object."""
    signed = authenticate(request, secrets.signing)
    signature = signed.signature
    seen = guard.claim(signature)
    if seen is not None:
        raise ApiError(409, "replayed request: this exact signed request was already received; "
                            "sign each retry with a fresh timestamp (the Idempotency-Key keeps it one run)",
                       flow_run_id=seen.flow_run_id)
    try:
        body = await read_body(request, limits.body_bytes, signed)
        key = request.headers.get(auth.IDEMPOTENCY_HEADER)
        if not key or not _IDEMPOTENCY_RE.match(key):
            raise ApiError(400, f"{auth.IDEMPOTENCY_HEADER} header is required: 8-128 characters of "
                                "letters, digits and . _ : -")
        story: StoryRequest = parse(StoryRequest, body)
        await check_object(store, story.source_key, "source_key", limits.source_prefixes, limits.source_bytes)
        if story.portrait_key:
            await check_object(store, story.portrait_key, "portrait_key", (*limits.source_prefixes, PORTRAIT_PREFIX),
                               limits.source_bytes)
        parameters = story.flow_parameters()
        tags = ["cms"] + ([f"cms-ref:{story.cms_ref}"] if story.cms_ref else [])
        run = await on_prefect(launcher.start_story(parameters, idempotency_key=f"cms:{key}", tags=tags),
                               "starting the story run", limits.prefect_timeout_s)
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


@router.post("/v1/uploads", status_code=201, response_model=Uploaded, responses=_ERRORS,
             openapi_extra={"requestBody": _BINARY_BODY, "parameters": [*_SIGNED, _FILENAME]})
async def upload(request: Request, secrets: SecretsDep, store: StoreDep, guard: GuardDep, limits: LimitsDep,
                 uploading: UploadingDep) -> Uploaded:
    """Store raw media for a story (streamed; the signature is checked before the body is read, the body's
    sha256 after); then POST /v1/stories with its key."""
    signed = authenticate(request, secrets.signing)
    names = request.query_params.getlist("filename")
    try:
        name = upload_name(names[0] if len(names) == 1 else "")
        key = validate_key(f"{UPLOAD_PREFIX}/{time.strftime('%Y-%m-%d', time.gmtime())}/{uuid.uuid4().hex[:12]}/"
                           f"{name.stored}")
    except InvalidKeyError as exc:
        raise ApiError(422, str(exc)) from None
    if signed.content_length > limits.upload_bytes:
        raise ApiError(413, f"upload is {signed.content_length} bytes, over the {limits.upload_bytes}-byte limit "
                            f"({limits.upload_setting})")
    if signed.content_length == 0:
        raise ApiError(422, "the upload is empty")
    client = client_of(request)
    if uploading[client] >= limits.uploads_per_client:
        raise ApiError(429, f"{uploading[client]} uploads from {client} are in progress, the most one client may "
                            f"send at once (NEWSROOM_WEBHOOK_UPLOADS_PER_CLIENT): retry when one has finished",
                       retry_after_s=RETRY_AFTER_S)
    if guard.claim(signed.signature) is not None:
        raise ApiError(409, "replayed request: this exact signed upload was already received")
    uploading[client] += 1
    try:
        with tempfile.NamedTemporaryFile(prefix="newsroom-upload-") as tmp:
            sha256 = await receive_upload(request, signed, tmp)
            try:
                await run_in_threadpool(store.put_file, key, tmp.name,
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


@router.get("/v1/stories/{run_id}", response_model=StoryStatus, responses=_ERRORS, name="story_status",
            openapi_extra={"parameters": _SIGNED})
async def story_status(run_id: UUID, request: Request, secrets: SecretsDep, launcher: LauncherDep, store: StoreDep,
                       limits: LimitsDep) -> StoryStatus:
    """Where a story's package run is, and links to its finished files."""
    await read_body(request, limits.body_bytes, authenticate(request, secrets.signing))
    run = await on_prefect(launcher.story_run(str(run_id)), "reading the story run", limits.prefect_timeout_s)
    if run is None:
        raise ApiError(404, f"no story run {run_id}")
    status = StoryStatus(id=run.id, state=run.state, state_name=run.state_name, message=run.message,
                         source_key=run.parameters.get("source"), ui_url=run.ui_url)
    try:
        record = await run_in_threadpool(store.get_json, run_record_key(run.id))
    except ObjectNotFoundError:
        return status
    except NewsroomError as exc:
        raise unavailable(f"object store unavailable: {exc}") from None
    status.story_id = record.get("story_id")
    status.note = record.get("note")
    if status.story_id:
        status.outputs = await run_in_threadpool(_outputs, store, status.story_id)
    return status


@router.post("/v1/storage-events", status_code=202, response_model=EventsAccepted, responses=_ERRORS,
             openapi_extra={"requestBody": _json_body(StorageEvent), "parameters": [_BEARER]})
async def storage_events(request: Request, settings: SettingsDep, secrets: SecretsDep, launcher: LauncherDep,
                         limits: LimitsDep) -> EventsAccepted:
    """MinIO bucket notifications: a new object under the inbox prefix starts an inbox scan right away."""
    token = request.headers.get("authorization", "")
    if not secrets.events_token or not hmac.compare_digest(token.encode("utf-8", "replace"),
                                                           f"Bearer {secrets.events_token}".encode()):
        log.warning("refused storage event from %s: bad or missing bearer token", client_of(request))
        raise ApiError(401, "storage events need 'Authorization: Bearer <token>' matching NEWSROOM_STORAGE_EVENTS_TOKEN")
    event: StorageEvent = parse(StorageEvent, await read_body(request, limits.body_bytes))
    wanted = [r for r in event.records
              if r.event_name.startswith("s3:ObjectCreated:") and r.s3.bucket.name == settings.minio_bucket
              and r.key.startswith(settings.inbox_prefix)]
    if not wanted:
        return EventsAccepted(scans=[], ignored=len(event.records))
    # One scan per distinct batch of objects: a storm of the same notification starts one scan.
    digest = hashlib.sha256(json.dumps(sorted((r.key, r.s3.object.etag or "", r.s3.object.sequencer or "")
                                              for r in wanted)).encode()).hexdigest()[:32]
    run = await on_prefect(launcher.start_inbox_scan(idempotency_key=f"inbox-event:{digest}"),
                           "starting the inbox scan", limits.prefect_timeout_s)
    return EventsAccepted(scans=[run.id], ignored=len(event.records) - len(wanted))


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(launcher: LauncherDep, store: StoreDep, limits: LimitsDep) -> JSONResponse:
    """Liveness and the two services the webhook needs (no authentication, no details)."""
    try:
        prefect_ok = await asyncio.wait_for(launcher.healthy(), limits.prefect_timeout_s)
    except TimeoutError:
        prefect_ok = False
    try:
        await run_in_threadpool(store.exists, f"{RUNS_PREFIX}/healthz.json")
        storage_ok = True
    except NewsroomError:
        storage_ok = False
    health = Health(ok=prefect_ok and storage_ok, prefect=prefect_ok, storage=storage_ok)
    return JSONResponse(health.model_dump(), status_code=200 if health.ok else 503)


def _outputs(store: ObjectStore, story_id: str) -> dict[str, str]:
    """The story's finished files that its manifest records: deliverable name -> URL."""
    try:
        manifest = store.get_json(manifest_key(story_id))
    except ObjectNotFoundError:
        return {}
    stored = {a["key"] for a in manifest.get("assets", [])} | {manifest_key(story_id)}
    prefix = manifest_key(story_id).rsplit("/", 1)[0] + "/"
    return {name: store.url(prefix + rel) for rel, name in DELIVERABLES.items() if prefix + rel in stored}
