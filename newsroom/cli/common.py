"""What every command module shares: the stderr console, choice enums generated from `newsroom/params.py`
and the language profiles, progress bars, running a flow in a worker thread (and stopping everything on a
signal), and the story helpers that list or copy a story's files."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar, get_args

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsroom.errors import NewsroomError
from newsroom.lang import CODES
from newsroom.params import AnchorParts, AsrModel, LoudnessProfile, RestorePreset, UpscaleMethod

err = Console(stderr=True)
log = logging.getLogger("newsroom.cli")
T = TypeVar("T")
_shutting_down = False


def choices(name: str, literal: Any, *, leave_out: tuple[str, ...] = ()) -> Any:
    """A typer choice enum generated from one of newsroom/params.py's Literal types (the flows' choices)."""
    return Enum(name, [(value, value) for value in get_args(literal) if value not in leave_out], type=str)


# Language choices come from the language profiles (newsroom/lang): one table.
LanguageChoice = Enum("LanguageChoice", {code: code for code in ("auto", *CODES)}, type=str)
TtsLanguage = Enum("TtsLanguage", {code: code for code in CODES}, type=str)
TranslateLanguage = Enum("TranslateLanguage", {code: code for code in CODES}, type=str)
AsrModelChoice = choices("AsrModelChoice", AsrModel)
UpscaleMethodChoice = choices("UpscaleMethodChoice", UpscaleMethod, leave_out=("none",))
EditUpscaleChoice = choices("EditUpscaleChoice", UpscaleMethod)
RestoreChoice = choices("RestoreChoice", RestorePreset)
LoudnessChoice = choices("LoudnessChoice", LoudnessProfile)
AnchorChoice = choices("AnchorChoice", AnchorParts)

GlossaryOption = Annotated[Path | None, typer.Option(
    help="Glossary for this run: names, places, organisations, one a line (UTF-8; 'heard -> written' corrects a "
    "mis-hearing), used with NEWSROOM_GLOSSARY.")]


def glossary_lines(file: Path | None) -> tuple[str, ...]:
    """The entries of a run's glossary file (checked here, so a bad file fails before any work starts)."""
    if file is None:
        return ()
    from newsroom.asr.glossary import Glossary

    glossary = Glossary.read(file)
    return (*glossary.terms, *(f"{heard} -> {written}" for heard, written in glossary.corrections))


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )


def load_transcript(path: Path):
    """A transcript JSON written by `newsroom transcribe --json` (or ingest), or a one-line error."""
    from newsroom.types import Transcript

    try:
        return Transcript.from_dict(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise NewsroomError(f"{path} does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise NewsroomError(f"{path} is not a newsroom transcript JSON ({exc})") from None


def read_text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise NewsroomError("give the text as an argument or with --file (one of them)")
    if file is not None:
        try:
            return file.read_text("utf-8")
        except FileNotFoundError:
            raise NewsroomError(f"{file} does not exist") from None
    return text or ""


def print_outputs(store, story_id: str, stage: str | None = None) -> None:
    """A table of the story's recorded files (of one stage, or all), then its id and manifest URL."""
    from newsroom.layout import StoryLayout
    from newsroom.manifest import Manifest, read_manifest

    manifest = Manifest.from_dict(read_manifest(store, story_id))
    layout = StoryLayout(story_id)
    table = Table(title=f"story {story_id}")
    for column in ("asset", "type", "bytes", "where"):
        table.add_column(column, overflow="fold")
    for asset in manifest.assets:
        name = asset.key.removeprefix(layout.prefix)
        if stage is None or name.startswith(f"{stage}/"):
            table.add_row(name, asset.media_type, f"{asset.bytes:,}", store.url(asset.key))
    Console(width=max(120, Console().width)).print(table)
    typer.echo(f"story id: {story_id}")
    typer.echo(f"manifest: {store.url(layout.manifest)}")


def copy_handouts(store, story_id: str, out: Path, route: tuple[str, ...] = ()) -> None:
    """Copy the story's finished files that its manifest lists (its route's handouts, with the translated
    subtitles of a `--translate-to` run) into `out`."""
    from newsroom.layout import FOOTAGE_ROUTE, StoryLayout
    from newsroom.manifest import Manifest, read_manifest

    listed = {asset.key for asset in Manifest.from_dict(read_manifest(store, story_id)).assets}
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for key, name in StoryLayout(story_id).handouts(route or FOOTAGE_ROUTE, listed).items():
        store.get_file(key, out / name)
        copied.append(name)
    typer.echo(f"copied {len(copied)} files to {out}: {' '.join(copied)}")


TranslateOption = Annotated[TranslateLanguage | None, typer.Option(
    help="Also subtitle the video in this language (the draft model translates the cues; subtitles.<language>.srt/"
    ".vtt/.ttml beside subtitles.srt). Off by default: it costs model time.")]


def shutdown(code: int, why: str) -> NoReturn:
    """Stop everything this run started (ffmpeg children, a temporary Prefect server) and exit now.

    Work still running in task threads cannot be joined quickly, so the process ends with os._exit after
    the clean-up; the flow run was already marked crashed by Prefect's own signal handling."""
    global _shutting_down
    if _shutting_down:  # a second signal while we clean up (e.g. sent to the process and its group)
        return  # type: ignore[misc]
    _shutting_down = True
    from newsroom.media import process

    killed = process.kill_all()
    stopping = sys.modules.get("flows.shutdown")  # imported by run_flow before any flow starts
    released = stopping.release_story_leases() if stopping is not None else 0  # while their server is up
    stopped = stopping.stop_ephemeral_servers() if stopping is not None else 0
    err.print(f"{why}: stopped {killed} child process(es), released {released} story lease(s) and stopped "
              f"{stopped} temporary Prefect server(s)")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_flow(flow: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a flow in a worker thread while the main thread waits. Prefect turns SIGTERM into a crash
    report in the thread that runs a flow, which waits on the API (possibly already gone); in a worker
    thread it leaves the CLI's own handler in charge, which stops children and the temporary server."""
    import flows.shutdown  # noqa: F401  (ready for shutdown: no imports inside a signal handler)

    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["value"] = flow(*args, **kwargs)
        except BaseException as exc:  # re-raised in the main thread
            result["error"] = exc

    worker = threading.Thread(target=call, name=f"flow-{getattr(flow, 'name', 'run')}", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)  # short waits: signals reach the main thread's handlers
    if "error" in result:
        raise result["error"]
    return result["value"]
