"""What the routes work with, built once per app and handed to them as FastAPI dependencies.

`create_app` puts one `WebhookState` on `app.state.webhook`; each route names what it uses (`SettingsDep`,
`SecretsDep`, `LauncherDep`, `StoreDep`, `GuardDep`, `LimitsDep`, `UploadingDep`), so its signature says
what it touches, and a test may swap any of them (`app.dependency_overrides[webhook_store] = ...`). None of
these dependencies takes a parameter from the request, so the OpenAPI schema does not see them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.storage import ObjectStore
from newsroom.webhook import auth
from newsroom.webhook.launcher import Launcher

PORTRAIT_PREFIX = "portraits/"


@dataclass(frozen=True, slots=True)
class Limits:
    """The sizes and deadlines the webhook holds requests to (from `Settings`)."""

    body_bytes: int  # a JSON body (NEWSROOM_WEBHOOK_MAX_BODY_BYTES)
    upload_bytes: int  # an upload: never more than ingest accepts ...
    upload_setting: str  # ... and the setting that decided it, named in the 413
    uploads_per_client: int  # uploads one remote address may stream at once
    source_bytes: int  # a source object named in a request (NEWSROOM_MAX_SOURCE_BYTES)
    source_prefixes: tuple[str, ...]  # where source objects may be
    prefect_timeout_s: float  # the most a Launcher call may take before the client hears 503
    storage_timeout_s: float  # the most an object store call may take before the client hears 503

    @property
    def portrait_prefixes(self) -> tuple[str, ...]:
        """Where an anchor's portrait may be: a source prefix, or the portraits folder."""
        return (*self.source_prefixes, PORTRAIT_PREFIX)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        if settings.webhook_max_upload_bytes <= settings.max_source_bytes:
            upload, setting = settings.webhook_max_upload_bytes, "NEWSROOM_WEBHOOK_MAX_UPLOAD_BYTES"
        else:
            upload, setting = settings.max_source_bytes, "NEWSROOM_MAX_SOURCE_BYTES"
        return cls(body_bytes=settings.webhook_max_body_bytes, upload_bytes=upload, upload_setting=setting,
                   uploads_per_client=settings.webhook_uploads_per_client, source_bytes=settings.max_source_bytes,
                   source_prefixes=tuple(settings.webhook_source_prefixes),
                   prefect_timeout_s=settings.webhook_prefect_timeout_s,
                   storage_timeout_s=settings.webhook_storage_timeout_s)


@dataclass(frozen=True, slots=True)
class Secrets:
    """The shared signing secret and MinIO's bearer token (kept out of reprs and logs)."""

    signing: str = field(repr=False)  # NEWSROOM_WEBHOOK_SECRET
    events_token: str | None = field(repr=False)  # NEWSROOM_STORAGE_EVENTS_TOKEN; None: storage events refused

    @classmethod
    def from_settings(cls, settings: Settings) -> Secrets:
        if settings.webhook_secret is None or len(settings.webhook_secret.get_secret_value()) < 16:
            raise ConfigError("the webhook needs a shared secret of at least 16 characters: set "
                              "NEWSROOM_WEBHOOK_SECRET")
        token = settings.storage_events_token.get_secret_value() if settings.storage_events_token else None
        return cls(settings.webhook_secret.get_secret_value(), token)


@dataclass(frozen=True, slots=True)
class WebhookState:
    settings: Settings
    secrets: Secrets
    launcher: Launcher
    store: ObjectStore
    guard: auth.ReplayGuard
    limits: Limits
    uploading: Counter[str] = field(default_factory=Counter)  # remote address -> uploads streaming now
    # (one event loop: no lock)


def _state(request: Request) -> WebhookState:
    return request.app.state.webhook


async def webhook_settings(request: Request) -> Settings:
    return _state(request).settings


async def webhook_secrets(request: Request) -> Secrets:
    return _state(request).secrets


async def webhook_launcher(request: Request) -> Launcher:
    return _state(request).launcher


async def webhook_store(request: Request) -> ObjectStore:
    return _state(request).store


async def replay_guard(request: Request) -> auth.ReplayGuard:
    return _state(request).guard


async def webhook_limits(request: Request) -> Limits:
    return _state(request).limits


async def uploads_in_progress(request: Request) -> Counter[str]:
    return _state(request).uploading


SettingsDep = Annotated[Settings, Depends(webhook_settings)]
SecretsDep = Annotated[Secrets, Depends(webhook_secrets)]
LauncherDep = Annotated[Launcher, Depends(webhook_launcher)]
StoreDep = Annotated[ObjectStore, Depends(webhook_store)]
GuardDep = Annotated[auth.ReplayGuard, Depends(replay_guard)]
LimitsDep = Annotated[Limits, Depends(webhook_limits)]
UploadingDep = Annotated[Counter[str], Depends(uploads_in_progress)]
