"""`newsroom` command line: a thin layer over the library and the flows.

Machine-readable output (`--json`) goes to stdout and nothing else does; progress bars, logs and
errors go to stderr. A `NewsroomError` becomes one readable line and exit status 1.

The commands live by concern: `media.py` (local files, no store, no Prefect), `story.py` (a story through
the flows), `programmes.py` (article, bulletin), `ops.py` (models, serve, webhook, ops, stack); what they
share (choices generated from `newsroom/params.py` and the language profiles, progress, running a flow) is
in `common.py`. This module builds the app from them, in the order `newsroom --help` lists them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Annotated, NoReturn

import typer
from rich.logging import RichHandler

from newsroom.cli import media, ops, programmes, story
from newsroom.cli.common import LanguageChoice, TtsLanguage, err, shutdown
from newsroom.errors import NewsroomError

__all__ = ["LanguageChoice", "TtsLanguage", "app", "main"]

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="newsroom: ingest, edit and broadcast news media with offline models.",
)
models_app = typer.Typer(no_args_is_help=True, help="Packaged models: status and checksums.")
app.add_typer(models_app, name="models")
ops_app = typer.Typer(no_args_is_help=True, help="Operations: Prefect work pools, concurrency limits, the API schema.")
app.add_typer(ops_app, name="ops")
stack_app = typer.Typer(no_args_is_help=True, help="The local stack: S3, Prefect server, pool workers and the webhook "
                        "as supervised processes on this machine (loopback only).")
app.add_typer(stack_app, name="stack")

# Every command, in the order `newsroom --help` lists them: (group, name, function).
COMMANDS = (
    (app, "probe", media.probe),
    (app, "transcribe", media.transcribe),
    (app, "ingest", story.ingest),
    (app, "scenes", media.scenes),
    (app, "subtitles", media.subtitles),
    (app, "restore", media.restore),
    (app, "upscale", media.upscale),
    (app, "cover", media.cover),
    (app, "edit", story.edit),
    (app, "draft", media.draft),
    (app, "speak", media.speak),
    (app, "anchor", media.anchor),
    (app, "broadcast", story.broadcast_cmd),
    (app, "run", story.run),
    (app, "article", programmes.article_cmd),
    (app, "bulletin", programmes.bulletin_cmd),
    (app, "verify", story.verify),
    (models_app, "list", ops.models_list),
    (models_app, "verify", ops.models_verify),
    (app, "serve", ops.serve),
    (app, "webhook", ops.webhook),
    (ops_app, "bootstrap", ops.ops_bootstrap),
    (ops_app, "openapi", ops.ops_openapi),
    (stack_app, "up", ops.stack_up),
    (stack_app, "down", ops.stack_down),
    (stack_app, "status", ops.stack_status),
    (stack_app, "env", ops.stack_env),
)
for group, name, command in COMMANDS:
    group.command(name)(command)


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False) -> None:
    handler = RichHandler(console=err, show_path=False, rich_tracebacks=False)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        # Prefect logs a failed run with its traceback; the CLI reports the error itself, in one line.
        handler.addFilter(lambda record: not record.name.startswith("prefect"))
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler], force=True)
    if not verbose:
        # Prefect's console handler prints tracebacks for failed runs; the CLI reports errors itself.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _on_sigterm(signum: int, frame: object) -> None:
    shutdown(128 + signum, f"stopped by signal {signal.Signals(signum).name}")


def _error(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn library errors into one line on stderr and a non-zero exit status; on SIGTERM or
    Ctrl-C, stop every child process and temporary server before exiting."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(args=argv)  # standalone: usage errors print help and exit 2
    except NewsroomError as exc:
        _error(str(exc))
    except OSError as exc:  # the machine: a full disk, a missing or unreadable path
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}: check the path, its permissions and the free disk space")
    except MemoryError:
        _error("out of memory: close other programs or use a machine with more memory")
    except KeyboardInterrupt:
        shutdown(130, "interrupted")
