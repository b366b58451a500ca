"""What the webhook asks of Prefect: a `Launcher` (implemented over Prefect in flows/launch.py) and the run
records it returns. The webhook itself never imports Prefect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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
