"""The webhook's `Launcher` over Prefect: deployment runs started with run_deployment(timeout=0)."""

from __future__ import annotations

import uuid
from typing import Any

from prefect.client.orchestration import get_client
from prefect.deployments import arun_deployment
from prefect.exceptions import ObjectNotFound

from flows.names import ARTICLE_DEPLOYMENT, BULLETIN_DEPLOYMENT, INBOX_DEPLOYMENT, PACKAGE_DEPLOYMENT
from newsroom.webhook.app import LaunchedRun, LaunchError, RunInfo

SCAN_TAG = "storage-event"  # the inbox scans that bucket notifications start


def prefect_ui_url(override: str | None = None) -> str | None:
    """Base URL of the Prefect UI (the setting wins; else Prefect's own PREFECT_UI_URL / API URL)."""
    if override:
        return override.rstrip("/")
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    if not ui and PREFECT_API_URL.value():
        ui = PREFECT_API_URL.value().removesuffix("/").removesuffix("/api")
    return ui.rstrip("/") if ui else None


class PrefectLauncher:
    """Starts package runs and inbox scans as runs of their deployments; reads their state back."""

    def __init__(self, *, package_deployment: str = PACKAGE_DEPLOYMENT, inbox_deployment: str = INBOX_DEPLOYMENT,
                 ui_url: str | None = None) -> None:
        self.package_deployment = package_deployment
        self.inbox_deployment = inbox_deployment
        self._ui = prefect_ui_url(ui_url)
        self._package_id: uuid.UUID | None = None
        self._inbox_id: uuid.UUID | None = None
        self._client: Any = None

    async def client(self) -> Any:
        """One Prefect client for the service's lifetime (opened in its event loop on first use): a new one
        per request would repeat the connection set-up and the API version check every time."""
        if self._client is None:
            client = get_client()
            await client.__aenter__()
            self._client = client
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    def run_url(self, run_id: str) -> str | None:
        return f"{self._ui}/runs/flow-run/{run_id}" if self._ui else None

    async def _start(self, deployment: str, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str],
                     name: str) -> LaunchedRun:
        # Our own run name tells a run we just created from one the same idempotency key made before (the
        # Prefect server answers a repeated key with the existing run): no clocks compared, no race.
        proposed = f"{name}-{uuid.uuid4().hex[:10]}"
        try:
            run = await arun_deployment(deployment, client=await self.client(), parameters=parameters, timeout=0,
                                        idempotency_key=idempotency_key, tags=tags, flow_run_name=proposed,
                                        as_subflow=False)
        except ObjectNotFound:
            raise LaunchError(f"deployment {deployment!r} does not exist: start `newsroom serve`, or deploy "
                              "infra/prefect.yaml (`newsroom ops bootstrap` then `prefect deploy --all`)") from None
        except Exception as exc:  # httpx/connection errors, Prefect API errors
            raise LaunchError(f"cannot start {deployment!r} on the Prefect API ({type(exc).__name__}): is the "
                              "server up and PREFECT_API_URL right?") from exc
        return LaunchedRun(id=str(run.id), parameters=dict(run.parameters or {}), duplicate=run.name != proposed,
                           ui_url=self.run_url(str(run.id)))

    async def start_story(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun:
        return await self._start(self.package_deployment, parameters, idempotency_key=idempotency_key, tags=tags,
                                 name="story")

    async def start_article(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun:
        return await self._start(ARTICLE_DEPLOYMENT, parameters, idempotency_key=idempotency_key, tags=tags,
                                 name="article")

    async def start_bulletin(self, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]) -> LaunchedRun:
        return await self._start(BULLETIN_DEPLOYMENT, parameters, idempotency_key=idempotency_key, tags=tags,
                                 name="bulletin")

    async def start_inbox_scan(self, *, idempotency_key: str) -> LaunchedRun:
        """Coalesced: while a scan started by a notification has not begun (scheduled or pending), it will see
        the new object too and is returned (`duplicate`); once it runs, one new scan is started ("scan again").
        A storm of notifications costs at most one running scan and one waiting, not one scan each."""
        waiting = await self._waiting_scan()
        if waiting is not None:
            return waiting
        # A notification means the upload is complete: no settle time.
        return await self._start(self.inbox_deployment, {"settle_s": 0.0}, idempotency_key=idempotency_key,
                                 tags=[SCAN_TAG], name="inbox-event")

    async def _waiting_scan(self) -> LaunchedRun | None:
        from datetime import UTC, datetime

        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterExpectedStartTime,
            FlowRunFilterState,
            FlowRunFilterStateType,
            FlowRunFilterTags,
        )
        from prefect.client.schemas.objects import StateType

        try:
            client = await self.client()
            if self._inbox_id is None:
                self._inbox_id = (await client.read_deployment_by_name(self.inbox_deployment)).id
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])),
                    tags=FlowRunFilterTags(all_=[SCAN_TAG]),
                    expected_start_time=FlowRunFilterExpectedStartTime(before_=datetime.now(UTC))),
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self._inbox_id])), limit=1)
        except ObjectNotFound:
            return None  # _start says what is missing
        except Exception as exc:
            raise LaunchError(f"cannot read runs from the Prefect API ({type(exc).__name__})") from exc
        if not runs:
            return None
        return LaunchedRun(id=str(runs[0].id), parameters=dict(runs[0].parameters or {}), duplicate=True,
                           ui_url=self.run_url(str(runs[0].id)))

    async def story_run(self, run_id: str) -> RunInfo | None:
        try:
            client = await self.client()
            if self._package_id is None:
                self._package_id = (await client.read_deployment_by_name(self.package_deployment)).id
            run = await client.read_flow_run(uuid.UUID(run_id))
        except ObjectNotFound:
            return None
        except Exception as exc:
            raise LaunchError(f"cannot read runs from the Prefect API ({type(exc).__name__})") from exc
        if run.deployment_id != self._package_id:
            return None  # only story package runs are visible through the webhook
        state = run.state
        return RunInfo(id=str(run.id), state=state.type.value if state else "UNKNOWN",
                       state_name=state.name if state else "Unknown", message=state.message if state else None,
                       parameters=dict(run.parameters or {}), ui_url=self.run_url(str(run.id)))

    async def healthy(self) -> bool:
        try:
            return await (await self.client()).api_healthcheck() is None
        except Exception:
            return False
