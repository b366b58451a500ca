"""The webhook's story routes: module-level handlers that name what they use as dependencies (`state.py`)
and check requests with `checks.py`; what the OpenAPI schema says about the headers and bodies they read
themselves is in `docs.py`. The article and bulletin routes are in `programmes.py`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import tempfile
import time
import uuid
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from newsroom.errors import InvalidKeyError, NewsroomError, ObjectNotFoundError
from newsroom.layout import ARTICLE_ROUTE, BULLETIN_ROUTE, FOOTAGE_ROUTE, StoryLayout
from newsroom.manifest import Manifest
from newsroom.storage import ObjectStore
from newsroom.storage.keys import RUNS_PREFIX, run_record_key, validate_key
from newsroom.webhook import docs
from newsroom.webhook.checks import (
    RETRY_AFTER_S,
    ApiError,
    authenticate,
    check_object,
    client_of,
    on_prefect,
    on_store,
    parse,
    read_body,
    receive_upload,
    start_once,
    unavailable,
)
from newsroom.webhook.schemas import (
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
UPLOAD_PREFIX = "uploads"

router = APIRouter()


@router.post("/v1/stories", status_code=202, response_model=StoryAccepted, responses=docs.ERRORS,
             openapi_extra={"requestBody": docs.json_body(StoryRequest), "parameters": docs.SIGNED_ONCE})
async def create_story(request: Request, secrets: SecretsDep, launcher: LauncherDep, store: StoreDep,
                       guard: GuardDep, limits: LimitsDep) -> StoryAccepted:
    """Start the whole package (ingest, edit, draft, broadcast) for a media object."""
    async with start_once(request, secrets.signing, guard, limits) as once:
        story: StoryRequest = parse(StoryRequest, once.body)
        await check_object(store, story.source_key, "source_key", limits.source_prefixes, limits)
        if story.portrait_key:
            await check_object(store, story.portrait_key, "portrait_key", limits.portrait_prefixes, limits)
        parameters = story.flow_parameters()
        tags = ["cms"] + ([f"cms-ref:{story.cms_ref}"] if story.cms_ref else [])
        run = once.started(await on_prefect(
            launcher.start_story(parameters, idempotency_key=f"cms:{once.idempotency_key}", tags=tags),
            "starting the story run", limits.prefect_timeout_s), parameters)
    log.info("story run %s for %s (%s)", run.id, story.source_key, "duplicate" if run.duplicate else "new")
    return StoryAccepted(id=run.id, status_url=str(request.url_for("story_status", run_id=run.id)),
                         ui_url=run.ui_url, duplicate=run.duplicate)


@router.post("/v1/uploads", status_code=201, response_model=Uploaded, responses=docs.ERRORS,
             openapi_extra={"requestBody": docs.BINARY_BODY, "parameters": [*docs.SIGNED, docs.FILENAME]})
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
    if await guard.aclaim(signed.signature) is not None:
        raise ApiError(409, "replayed request: this exact signed upload was already received")
    uploading[client] += 1
    try:
        with tempfile.NamedTemporaryFile(prefix="newsroom-upload-") as tmp:
            sha256 = await receive_upload(request, signed, tmp)
            try:
                await on_store(store.put_file, key, tmp.name, timeout_s=limits.storage_timeout_s,
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


@router.get("/v1/stories/{run_id}", response_model=StoryStatus, responses=docs.ERRORS, name="story_status",
            openapi_extra={"parameters": docs.SIGNED})
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
        record = await on_store(store.get_json, run_record_key(run.id), timeout_s=limits.storage_timeout_s)
    except ObjectNotFoundError:
        return status
    except NewsroomError as exc:
        raise unavailable(f"object store unavailable: {exc}") from None
    status.story_id = record.get("story_id")
    status.note = record.get("note")
    if status.story_id:
        try:
            status.outputs = await on_store(story_outputs, store, status.story_id, timeout_s=limits.storage_timeout_s)
        except NewsroomError as exc:
            raise unavailable(f"object store unavailable: {exc}") from None
    return status


@router.post("/v1/storage-events", status_code=202, response_model=EventsAccepted, responses=docs.ERRORS,
             openapi_extra={"requestBody": docs.json_body(StorageEvent), "parameters": [docs.BEARER]})
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
        await on_store(store.exists, f"{RUNS_PREFIX}/healthz.json", timeout_s=limits.storage_timeout_s)
        storage_ok = True
    except (ApiError, NewsroomError):
        storage_ok = False
    health = Health(ok=prefect_ok and storage_ok, prefect=prefect_ok, storage=storage_ok)
    return JSONResponse(health.model_dump(), status_code=200 if health.ok else 503)


def story_outputs(store: ObjectStore, story_id: str) -> dict[str, str]:
    """Links to the story's finished files (the layout's handouts, translated subtitles too) that its published
    manifest lists."""
    layout = StoryLayout(story_id)
    try:
        manifest = Manifest.from_dict(store.get_json(layout.manifest))
    except ObjectNotFoundError:
        return {}
    every = FOOTAGE_ROUTE + ARTICLE_ROUTE + BULLETIN_ROUTE  # only the story's own files are recorded
    listed = {asset.key for asset in manifest.assets}  # with the translated subtitles of a `translate_to` run
    return {name: store.url(key) for key, name in layout.handouts(every, listed).items()}
