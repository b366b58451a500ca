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

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from newsroom.config import Settings
from newsroom.storage import ObjectStore, open_store
from newsroom.webhook import auth, programmes, routes
from newsroom.webhook.checks import RETRY_AFTER_S, ApiError, body_pending, errors_of, unavailable
from newsroom.webhook.launcher import LaunchedRun, Launcher, LaunchError, RunInfo
from newsroom.webhook.schemas import ErrorBody, StorageEvent, StoryRequest
from newsroom.webhook.state import Limits, Secrets, WebhookState

log = logging.getLogger("newsroom.webhook")
REQUEST_MODELS = (StoryRequest, StorageEvent, programmes.ArticleRequest, programmes.BulletinRequest)

__all__ = [  # importable from here as before the routes moved out (flows/launch.py uses the run records)
    "RETRY_AFTER_S",
    "ApiError",
    "LaunchError",
    "LaunchedRun",
    "Launcher",
    "RunInfo",
    "create_app",
    "unavailable",
]


def create_app(settings: Settings, launcher: Launcher, store: ObjectStore | None = None) -> FastAPI:
    """The webhook app. Refuses to exist without a shared secret."""
    secrets = Secrets.from_settings(settings)

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
    objects = store or open_store(settings)
    # Replay memory shared through the bucket: a restarted webhook or another replica still refuses a replay.
    guard = auth.ReplayGuard(store=objects, timeout_s=settings.webhook_storage_timeout_s, unavailable=unavailable)
    app.state.webhook = WebhookState(settings=settings, secrets=secrets, launcher=launcher, store=objects,
                                     guard=guard, limits=Limits.from_settings(settings))
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.include_router(routes.router)  # stories, uploads, status, storage events, health
    app.include_router(programmes.router)  # articles, bulletins

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema of the routes, with the request bodies the handlers parse themselves as components."""
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                         description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in REQUEST_MODELS:
        spec = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        components.update(spec.pop("$defs", {}))
        components[model.__name__] = spec
    return schema


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc.error)
    body = ErrorBody(error=exc.error, detail=jsonable_encoder(exc.detail), flow_run_id=exc.flow_run_id)
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else {}
    if body_pending(request):
        # Refused before the body was read: close the connection rather than read (drain) the rest of it,
        # which a keep-alive connection would, at the sender's pace.
        headers["Connection"] = "close"
    return JSONResponse(body.model_dump(exclude_none=True), status_code=exc.status, headers=headers)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return await _api_error(request, ApiError(422, "invalid request", detail=errors_of(exc.errors())))


async def _http(request: Request, exc: HTTPException) -> JSONResponse:  # unknown paths, wrong methods
    return await _api_error(request, ApiError(exc.status_code, str(exc.detail)))
