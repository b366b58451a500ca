"""Commands that run or look after the service: models (list, verify), serve, webhook, ops (bootstrap,
openapi) and the local stack (up, down, status, env)."""

from __future__ import annotations

import json
import tempfile
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from newsroom.cli.common import err
from newsroom.errors import NewsroomError


def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Which models are installed, assembled and verified."""
    _show_models(verify=False, as_json=as_json)


def models_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Assemble every installed model and check its sha256 (exit 1 if any fails)."""
    statuses = _show_models(verify=True, as_json=as_json)
    bad = [s.id for s in statuses if s.installed and not s.ready]
    if bad:
        raise NewsroomError(f"models failed verification: {', '.join(bad)}")


def _show_models(*, verify: bool, as_json: bool):
    from dataclasses import asdict

    from newsroom.models import ModelRegistry

    registry = ModelRegistry()
    with err.status("verifying checksums..." if verify else "checking models..."):
        statuses = registry.list(verify=verify)
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in statuses], indent=2))
        return statuses
    table = Table()
    for column in ("model", "kind", "size", "status", "path / how to fix"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        state = "[green]ready" if s.ready else ("[yellow]installed" if s.installed else "[red]missing")
        table.add_row(f"{s.id} ({s.version})", s.kind, f"{s.size_bytes / 1e6:.0f} MB", state,
                      f"{s.path}\n{s.message}" if s.path else s.message)
    Console().print(table)
    return statuses


def serve(
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once (default: no limit).")] = None,
    inbox_cron: Annotated[str, typer.Option(help="Cron schedule of the inbox scan ('' = no schedule).")] = "*/5 * * * *",
) -> None:
    """Serve every deployment (package, ingest, edit, broadcast, inbox scan) from this process: one machine."""
    from flows.deployments import serve_all

    serve_all(limit=limit, inbox_cron=inbox_cron or None)


def webhook(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """The CMS webhook service (needs NEWSROOM_WEBHOOK_SECRET; runs are started on the Prefect API)."""
    import uvicorn

    from flows.launch import PrefectLauncher
    from newsroom.config import get_settings
    from newsroom.webhook import create_app

    settings = get_settings()
    app_ = create_app(settings, PrefectLauncher(ui_url=settings.prefect_ui_url))
    uvicorn.run(app_, host=host, port=port, log_level="info", access_log=True, proxy_headers=True)


def ops_bootstrap(
    limit: Annotated[list[str] | None, typer.Option(help="TAG=SLOTS, e.g. newsroom-llm=2 (repeatable).")] = None,
    pool_type: Annotated[str, typer.Option(help="Worker type of the pools.")] = "process",
) -> None:
    """Create the work pools (cpu, heavy) and the named concurrency limits; safe to re-run."""
    import asyncio

    from flows.ops import bootstrap

    limits = {}
    for item in limit or []:
        tag, _, slots = item.partition("=")
        if not tag or not slots.isdigit():
            raise NewsroomError(f"--limit {item!r}: write TAG=SLOTS, e.g. newsroom-llm=2")
        limits[tag] = int(slots)
    report = asyncio.run(bootstrap(limits, pool_type=pool_type))
    typer.echo(json.dumps({"pools_created": report.pools_created, "pools_existing": report.pools_existing,
                           "limits": report.limits}))


def ops_openapi() -> None:
    """Print the webhook's OpenAPI schema (committed as infra/openapi.json)."""
    from newsroom.config import Settings
    from newsroom.storage import LocalStore
    from newsroom.webhook import create_app

    settings = Settings(webhook_secret="schema-export-only-secret")
    schema = create_app(settings, launcher=None, store=LocalStore(tempfile.gettempdir())).openapi()  # type: ignore[arg-type]
    typer.echo(json.dumps(schema, indent=2, ensure_ascii=False))


def _stack_status_table(status: dict) -> None:
    table = Table("service", "state", "healthy", "url", "processes")
    colours = {"running": "green", "stopped": "yellow", "failed": "red"}
    for name, service in status.items():
        table.add_row(name, f"[{colours[service.state]}]{service.state}", "yes" if service.healthy else "no",
                      service.url or "", ", ".join(f"{k}: {v}" for k, v in service.processes.items()))
    err.print(table)


def stack_up(
    service: Annotated[list[str] | None, typer.Option(help="Start only these services (repeatable; default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Start the stack (or what is missing of it) and return once every service is healthy."""
    from newsroom.stack import SERVICES, Stack

    stack = Stack()
    stack.up(tuple(service) if service else SERVICES)
    if as_json:
        typer.echo(json.dumps(stack.status_json(), indent=2))
    else:
        _stack_status_table(stack.status())
        err.print(f"Prefect UI {stack.ui_url}; webhook {stack.webhook_url}; S3 http://{stack.s3_endpoint} "
                  f"(bucket {stack.bucket}); logs in {stack.paths.logs}. Point the CLI at it: "
                  "eval \"$(newsroom stack env)\"")


def stack_down() -> None:
    """Stop every service of the stack; no process of it is left behind (its data stays in the stack folder)."""
    from newsroom.stack import Stack

    leftovers = Stack().down()
    if leftovers:
        err.print(f"killed {len(leftovers)} process(es) that outlived their service: {leftovers}")


def stack_status(as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False) -> None:
    """Each service's state (running, stopped, failed), health and address."""
    from newsroom.stack import Stack

    stack = Stack()
    if as_json:
        typer.echo(json.dumps(stack.status_json(), indent=2))
    else:
        _stack_status_table(stack.status())


def stack_env() -> None:
    """Shell exports that point newsroom and prefect at the stack: eval "$(newsroom stack env)"."""
    import shlex

    from newsroom.stack import Stack

    for key, value in Stack().client_env().items():
        typer.echo(f"export {key}={shlex.quote(value)}")
