"""`newsroom` command line: a thin layer over the library and the flows.

Machine-readable output (`--json`) goes to stdout and nothing else does; progress bars, logs and
errors go to stderr. A `NewsroomError` becomes one readable line and exit status 1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar, get_args

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsroom.errors import NewsroomError
from newsroom.lang import CODES
from newsroom.params import AsrModel, LoudnessProfile, RestorePreset, UpscaleMethod

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

err = Console(stderr=True)
log = logging.getLogger("newsroom.cli")
T = TypeVar("T")
_shutting_down = False


# Language choices come from the language profiles (newsroom/lang): one table.
LanguageChoice = Enum("LanguageChoice", {code: code for code in ("auto", *CODES)}, type=str)
TtsLanguage = Enum("TtsLanguage", {code: code for code in CODES}, type=str)


def _choices(name: str, literal: Any, *, leave_out: tuple[str, ...] = ()) -> Any:
    """A typer choice enum generated from one of newsroom/params.py's Literal types (the flows' choices)."""
    return Enum(name, [(value, value) for value in get_args(literal) if value not in leave_out], type=str)


AsrModelChoice = _choices("AsrModelChoice", AsrModel)
GlossaryOption = Annotated[Path | None, typer.Option(
    help="Glossary for this run: names, places, organisations, one a line (UTF-8; 'heard -> written' corrects a "
    "mis-hearing), used with NEWSROOM_GLOSSARY.")]


def _glossary_lines(file: Path | None) -> tuple[str, ...]:
    """The entries of a run's glossary file (checked here, so a bad file fails before any work starts)."""
    if file is None:
        return ()
    from newsroom.asr.glossary import Glossary

    glossary = Glossary.read(file)
    return (*glossary.terms, *(f"{heard} -> {written}" for heard, written in glossary.corrections))


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


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )


@app.command()
def probe(
    file: Annotated[Path, typer.Argument(help="A media file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print MediaInfo as JSON.")] = False,
) -> None:
    """Show a media file's duration, streams and codecs."""
    from newsroom.media import probe as probe_media

    info = probe_media(file)
    if as_json:
        typer.echo(json.dumps(info.to_dict(), indent=2))
        return
    typer.echo(f"{file}: {info.format_name}, {info.duration_s:.2f} s, {info.size_bytes:,} bytes")
    for s in info.streams:
        if s.kind == "video":
            typer.echo(f"  video #{s.index}: {s.codec} {s.width}x{s.height} @ {s.avg_fps or s.fps:g} fps")
        elif s.kind == "audio":
            typer.echo(f"  audio #{s.index}: {s.codec} {s.sample_rate_hz} Hz x{s.channels}")


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="Audio or video file.")],
    language: Annotated[LanguageChoice, typer.Option(help="Spoken language.")] = LanguageChoice.auto,
    model: Annotated[AsrModelChoice, typer.Option(help="Whisper model.")] = AsrModelChoice.base,
    as_json: Annotated[bool, typer.Option("--json", help="Print the transcript JSON contract to stdout.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the transcript JSON here too.")] = None,
    glossary: GlossaryOption = None,
) -> None:
    """Transcribe a local file with word timestamps (no storage, no Prefect)."""
    from newsroom.asr import Transcriber
    from newsroom.asr.confidence import low_confidence
    from newsroom.asr.glossary import Glossary, load_glossary
    from newsroom.config import get_settings
    from newsroom.media import extract_audio
    from newsroom.media.gate import admit_media

    settings = get_settings()
    own = Glossary.read(glossary) if glossary else None
    terms = load_glossary(settings.glossary, None if language.value == "auto" else language.value, extra=own)
    info = admit_media(file, settings)
    with tempfile.TemporaryDirectory(prefix="newsroom-") as tmp, _progress() as bar:
        step = bar.add_task("extracting audio", total=1.0)
        wav = extract_audio(file, Path(tmp) / "audio.wav", info, progress=lambda f: bar.update(step, completed=f))
        bar.update(step, description="loading model", completed=0)
        engine = Transcriber.load(model.value, settings)
        bar.update(step, description="transcribing")
        transcript = engine.transcribe(
            wav, language.value, allowed_languages=tuple(settings.languages),
            progress=lambda f: bar.update(step, completed=f), glossary=terms,
        )
    for flag in low_confidence(transcript, known=terms.for_language(transcript.language).terms):
        log.warning("%s", flag.describe())
    if out:
        out.write_text(transcript.to_json(), "utf-8")
    if as_json:
        typer.echo(transcript.to_json())
    else:
        typer.echo(transcript.to_text() or "(no speech found)", nl=False)


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="Local file path or object key (e.g. inbox/clip.mp4).")],
    language: Annotated[LanguageChoice, typer.Option(help="Spoken language.")] = LanguageChoice.auto,
    model: Annotated[AsrModelChoice, typer.Option(help="Whisper model.")] = AsrModelChoice.base,
    as_json: Annotated[bool, typer.Option("--json", help="Print the story's manifest as JSON.")] = False,
    glossary: GlossaryOption = None,
) -> None:
    """Run the ingest flow (store, normalise, transcribe) and show where the outputs are."""
    from flows.ingest import ingest as ingest_flow
    from newsroom.manifest import read_manifest
    from newsroom.storage import open_store

    _admit_source(source, open_store())  # fail fast, before a Prefect server starts
    with err.status(f"ingesting {source} (Prefect flow 'ingest')..."):
        story_id = _run_flow(ingest_flow, source, language=language.value, asr_model=model.value,
                             glossary=_glossary_lines(glossary))
    store = open_store()
    if as_json:
        typer.echo(json.dumps(read_manifest(store, story_id), indent=2, ensure_ascii=False))
        return
    _print_outputs(store, story_id)


class SubtitleFormat(str, Enum):
    srt = "srt"
    vtt = "vtt"
    ttml = "ttml"


UpscaleMethodChoice = _choices("UpscaleMethodChoice", UpscaleMethod, leave_out=("none",))
EditUpscaleChoice = _choices("EditUpscaleChoice", UpscaleMethod)
RestoreChoice = _choices("RestoreChoice", RestorePreset)
LoudnessChoice = _choices("LoudnessChoice", LoudnessProfile)


@app.command()
def scenes(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print cuts and scenes as JSON.")] = False,
    threshold: Annotated[float, typer.Option(help="scdet threshold (0-100); lower finds more cuts.")] = 10.0,
) -> None:
    """Detect scene cuts (frame-exact times)."""
    from newsroom.video.scenes import detect_scenes

    with _progress() as bar:
        step = bar.add_task("detecting scenes", total=1.0)
        found = detect_scenes(video, threshold=threshold, progress=lambda f: bar.update(step, completed=f))
    if as_json:
        typer.echo(json.dumps(found.to_dict()))
        return
    typer.echo(f"{video}: {len(found.scenes)} scenes at {found.fps:g} fps")
    for i, scene in enumerate(found.scenes):
        typer.echo(f"  {i + 1:3d}  {scene.start_s:8.3f} -> {scene.end_s:8.3f}  ({scene.duration_s:.2f} s)")


@app.command()
def subtitles(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON (newsroom transcribe --json).")],
    fmt: Annotated[SubtitleFormat, typer.Option("--format", help="Subtitle format.")] = SubtitleFormat.srt,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    fps: Annotated[float, typer.Option(help="Frame rate the cue timing snaps to.")] = 25.0,
    video: Annotated[Path | None, typer.Option(
        help="The video the transcript is of: cues are timed around its shot changes (and at its frame rate).")] = None,
) -> None:
    """Broadcast-rule subtitles from word timestamps; rule violations are reported on stderr."""
    from newsroom.subtitles import build_cues, validate_cues, write_subtitles

    data = _load_transcript(transcript)
    cuts: tuple[float, ...] = ()
    if video is not None:
        from newsroom.video.scenes import detect_scenes

        found = detect_scenes(video)
        fps, cuts = found.fps, found.cuts_s
        err.print(f"{len(cuts)} shot changes in {video.name} at {fps:g} fps")
    cues = build_cues(data, fps=fps, shot_changes_s=cuts)
    for violation in validate_cues(cues, data, fps=fps, shot_changes_s=cuts):
        log.warning("cue %s breaks %s: %s", violation.cue_index, violation.rule, violation.message)
    text = write_subtitles(cues, fmt.value, data.language)
    if out:
        out.write_text(text, "utf-8")
        err.print(f"wrote {len(cues)} cues to {out}")
    else:
        typer.echo(text, nl=False)


@app.command()
def restore(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    out: Annotated[Path, typer.Option(help="Output MP4.")],
    preset: Annotated[RestoreChoice, typer.Option(help="auto, or a named preset.")] = RestoreChoice.auto,
) -> None:
    """Denoise / deinterlace / deband / stabilise with a named or automatically chosen preset."""
    from newsroom.video.restore import plan_restoration
    from newsroom.video.restore import restore as run_restore

    plan = plan_restoration(video, preset.value)
    err.print(f"preset {plan.preset}: {plan.reason}")
    with _progress() as bar:
        step = bar.add_task(f"restoring ({plan.preset})", total=1.0)
        run_restore(video, out, plan, progress=lambda f: bar.update(step, completed=f))
    typer.echo(str(out))


@app.command()
def upscale(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    out: Annotated[Path, typer.Option(help="Output MP4.")],
    scale: Annotated[int, typer.Option(help="2, 3 or 4.")] = 2,
    method: Annotated[UpscaleMethodChoice, typer.Option(help="Real-ESRGAN or Lanczos.")] = UpscaleMethodChoice.esrgan,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the chunks.")] = 1,
    chunk_s: Annotated[float, typer.Option(help="Seconds per chunk.")] = 4.0,
) -> None:
    """Super-resolution in chunks across worker processes, audio kept."""
    from newsroom.video.upscale import upscale_video

    with _progress() as bar:
        step = bar.add_task(f"upscaling x{scale} ({method.value}, {workers} workers)", total=1.0)
        upscale_video(video, out, scale=scale, method=method.value, workers=workers, chunk_s=chunk_s,
                      progress=lambda f: bar.update(step, completed=f))
    typer.echo(str(out))


@app.command()
def cover(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    headline: Annotated[str, typer.Option(help="Headline drawn on the covers.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    language: Annotated[LanguageChoice, typer.Option(help="Headline language (font); auto: from its script.")] = (
        LanguageChoice.auto),
) -> None:
    """Covers in 16:9, 9:16 and 1:1 from the best frame, with the headline."""
    from newsroom.covers import make_covers
    from newsroom.lang import detect
    from newsroom.params import check_headline

    check_headline(headline)
    out.mkdir(parents=True, exist_ok=True)
    code = detect(headline).code if language.value == "auto" else language.value
    with err.status("choosing the best frame..."):
        paths = make_covers(video, headline, out, language=code)
    for path in paths.values():
        typer.echo(str(path))


@app.command()
def edit(
    story_id: Annotated[str, typer.Argument(help="Story id printed by ingest.")],
    target_s: Annotated[float, typer.Option(help="Highlight length in seconds.")] = 60.0,
    upscale: Annotated[EditUpscaleChoice, typer.Option(help="Super-resolution of the edit.")] = EditUpscaleChoice.none,
    restore: Annotated[RestoreChoice, typer.Option(help="Restoration preset or auto.")] = RestoreChoice.auto,
    headline: Annotated[str | None, typer.Option(help="Headline for the covers.")] = None,
    burn: Annotated[bool, typer.Option(help="Also burn subtitles into a copy.")] = True,
    vertical: Annotated[bool, typer.Option(help="Also render a 9:16 version.")] = True,
) -> None:
    """Run the edit flow on an ingested story and list its outputs."""
    from flows.edit import edit as edit_flow
    from newsroom.layout import EDIT
    from newsroom.manifest import read_manifest
    from newsroom.params import check_headline
    from newsroom.storage import open_store

    check_headline(headline)
    store = open_store()
    read_manifest(store, story_id)  # fail fast, before a Prefect server starts
    with err.status(f"editing story {story_id} (Prefect flow 'edit')..."):
        _run_flow(edit_flow, story_id, target_s=target_s, upscale=upscale.value, restore=restore.value, headline=headline,
                  burn_subtitles=burn, vertical=vertical)
    _print_outputs(store, story_id, stage=EDIT)


def _print_outputs(store, story_id: str, stage: str | None = None) -> None:
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


def _admit_source(source: str, store) -> None:
    """Refuse a bad source here, in a second, before a Prefect server starts: the same checks ingest makes
    (readable, an allowed container, within every limit)."""
    from newsroom.media.gate import admit_media
    from newsroom.sources import parse_source

    spec = parse_source(source, store)
    if spec.kind == "path":
        admit_media(spec.value)


def _load_transcript(path: Path):
    """A transcript JSON written by `newsroom transcribe --json` (or ingest), or a one-line error."""
    from newsroom.types import Transcript

    try:
        return Transcript.from_dict(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise NewsroomError(f"{path} does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise NewsroomError(f"{path} is not a newsroom transcript JSON ({exc})") from None


def _read_text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise NewsroomError("give the text as an argument or with --file (one of them)")
    if file is not None:
        try:
            return file.read_text("utf-8")
        except FileNotFoundError:
            raise NewsroomError(f"{file} does not exist") from None
    return text or ""


@app.command()
def draft(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON (newsroom transcribe --json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the draft JSON instead of Markdown.")] = False,
) -> None:
    """Write a grounded news draft from a transcript (quotes verified against it)."""
    from newsroom.config import get_settings
    from newsroom.llm import load_backend, write_draft

    data = _load_transcript(transcript)
    settings = get_settings()
    with _progress() as bar:
        step = bar.add_task("loading the model", total=1.0)
        backend = load_backend(settings)
        bar.update(step, description="writing the draft")
        result = write_draft(data, backend, seed=settings.llm_seed, progress=lambda f: bar.update(step, completed=f))
    for warning in getattr(result, "warnings", ()):
        log.warning("check: %s", warning)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(result.to_markdown())


@app.command()
def speak(
    text: Annotated[str | None, typer.Argument(help="Text to read (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the text from this file.")] = None,
    language: Annotated[TtsLanguage, typer.Option(help="Voice language.")] = TtsLanguage.en,
    voice_name: Annotated[str | None, typer.Option(
        "--voice", help="engine:voice, e.g. ttskit:biaobei or kokoro:jm_kumo (default: the setting).")] = None,
    out: Annotated[Path, typer.Option(help="Output WAV.")] = Path("speech.wav"),
) -> None:
    """Read text with the anchor voice (WAV at a fixed rate; timings on stderr with -v)."""
    from newsroom.tts import load_voice

    script = _read_text(text, file)
    with _progress() as bar:
        step = bar.add_task("loading the voice", total=1.0)
        voice = load_voice(language.value, voice=voice_name)
        bar.update(step, description="speaking")
        speech = voice.synthesize(script, out, progress=lambda f: bar.update(step, completed=f))
    log.info("%d phonemes, %d words timed", len(speech.phonemes), len(speech.words))
    typer.echo(f"{out} ({speech.duration_s:.2f} s, {speech.sample_rate_hz} Hz, {speech.engine})")


@app.command()
def anchor(
    script: Annotated[str | None, typer.Option(help="Text the anchor reads.")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the script from this file.")] = None,
    language: Annotated[TtsLanguage, typer.Option(help="Voice language.")] = TtsLanguage.en,
    portrait: Annotated[Path | None, typer.Option(help="Portrait photo (default: the public-domain one; with "
                                                       "--reference, a still of the same presenter).")] = None,
    reference: Annotated[Path | None, typer.Option(help="Footage of the presenter speaking to the camera (at "
                                                        "least 30 s): the anchor speaks with their own mouth.")] = None,
    reference_transcript: Annotated[Path | None, typer.Option(help="The reference's transcript JSON (newsroom "
                                                                   "transcribe --json); default: transcribed now.")] = None,
    atlas: Annotated[Path | None, typer.Option(help="Mouth atlas .npz: reused if it exists, else built from "
                                                    "--reference and saved here.")] = None,
    out: Annotated[Path, typer.Option(help="Output MP4.")] = Path("anchor.mp4"),
) -> None:
    """Render the lip-synced digital anchor reading a script (optionally with a presenter's own mouth)."""
    from newsroom.anchor import LandmarkAnchorRenderer
    from newsroom.config import get_settings
    from newsroom.tts import load_voice

    text = _read_text(script, file)
    workers = get_settings().anchor_workers
    with _progress() as bar, tempfile.TemporaryDirectory(prefix="newsroom-") as tmp:
        step = bar.add_task("finding the face", total=1.0)
        if reference is not None or atlas is not None:
            from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer, transcribe_reference

            if atlas is not None and atlas.is_file():
                mouths = MouthAtlas.load(atlas)
            elif reference is None:
                raise NewsroomError(f"{atlas} does not exist: give --reference footage to build it")
            else:
                from newsroom.media.gate import admit_media

                admit_media(reference)  # readable, an allowed container, within every limit
                if reference_transcript is not None:
                    timings = _load_transcript(reference_transcript)
                else:
                    bar.update(step, description="transcribing the reference")
                    timings = transcribe_reference(reference, language.value)
                bar.update(step, description="reading the presenter's mouth", completed=0)
                mouths = MouthAtlas.build(reference, transcript=timings, progress=lambda f: bar.update(step, completed=f))
                if atlas is not None:
                    mouths.save(atlas)
            renderer = ReferenceAnchorRenderer.load(mouths, portrait, workers=workers)
        else:
            renderer = LandmarkAnchorRenderer.load(portrait, workers=workers)
        bar.update(step, description="speaking", completed=0)
        speech = load_voice(language.value).synthesize(text, Path(tmp) / "speech.wav")
        bar.update(step, description="rendering", completed=0)
        video = renderer.render(speech, out, progress=lambda f: bar.update(step, completed=f))
    typer.echo(f"{out} ({video.duration_s:.2f} s, {video.width}x{video.height} @ {video.fps:g} fps, {video.renderer})")


@app.command("broadcast")
def broadcast_cmd(
    story_id: Annotated[str, typer.Argument(help="Story id (ingested and edited).")],
    portrait: Annotated[str | None, typer.Option(help="Object key of a portrait in the store.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = LoudnessChoice.broadcast,
) -> None:
    """Run the broadcast flow (draft, voice, anchor, mastered segment) for an edited story."""
    from flows.broadcast import broadcast as broadcast_flow
    from newsroom.layout import BROADCAST
    from newsroom.manifest import read_manifest
    from newsroom.storage import open_store

    store = open_store()
    read_manifest(store, story_id)
    with err.status(f"producing the broadcast of {story_id} (Prefect flow 'broadcast')..."):
        _run_flow(broadcast_flow, story_id, portrait_key=portrait, loudness=loudness.value)
    _print_outputs(store, story_id, stage=BROADCAST)


@app.command()
def run(
    source: Annotated[str, typer.Argument(help="Local file path or object key (e.g. inbox/clip.mp4).")],
    language: Annotated[LanguageChoice, typer.Option(help="Spoken language.")] = LanguageChoice.auto,
    model: Annotated[AsrModelChoice, typer.Option(help="Whisper model.")] = AsrModelChoice.base,
    target_s: Annotated[float, typer.Option(help="Highlight length in seconds.")] = 60.0,
    upscale: Annotated[EditUpscaleChoice, typer.Option(help="Super-resolution of the edit.")] = EditUpscaleChoice.none,
    headline: Annotated[str | None, typer.Option(help="Headline for the covers.")] = None,
    portrait: Annotated[str | None, typer.Option(help="Object key of the anchor's portrait.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = LoudnessChoice.broadcast,
    out: Annotated[Path | None, typer.Option(help="Copy the finished files into this folder.")] = None,
    glossary: GlossaryOption = None,
) -> None:
    """Run the whole package for one story (flow 'newsroom-package') and collect the finished files."""
    from flows.package import newsroom_package
    from newsroom.params import check_headline
    from newsroom.storage import open_store

    check_headline(headline)
    store = open_store()
    _admit_source(source, store)  # fail fast, before a Prefect server starts
    with err.status(f"producing {source} (Prefect flow 'newsroom-package')..."):
        story_id = _run_flow(newsroom_package, source, language=language.value, asr_model=model.value,
                             target_s=target_s, upscale=upscale.value, headline=headline or "",
                             portrait_key=portrait or "", loudness=loudness.value,
                             glossary=_glossary_lines(glossary))
    _print_outputs(store, story_id)
    if out:
        _copy_handouts(store, story_id, out)


def _copy_handouts(store, story_id: str, out: Path, route: tuple[str, ...] = ()) -> None:
    """Copy the story's finished files (its route's handouts) into `out`."""
    from newsroom.layout import FOOTAGE_ROUTE, StoryLayout

    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for key, name in StoryLayout(story_id).handouts(route or FOOTAGE_ROUTE).items():
        if store.exists(key):
            store.get_file(key, out / name)
            copied.append(name)
    typer.echo(f"copied {len(copied)} files to {out}: {' '.join(copied)}")


AnchorChoice = Enum("AnchorChoice", {v: v for v in ("none", "intro", "outro", "both")}, type=str)


def _check_article(source: str, images: list[str], language: str) -> None:
    """Refuse a bad local article or picture here, in a second, before a Prefect server starts: the article
    read with its limits, every local picture through the media gate."""
    from newsroom.article import gate_images, parse_article
    from newsroom.article.source import MAX_ARTICLE_BYTES, ArticleRefusedError

    path = Path(source).expanduser()
    if not path.is_file():
        return  # an object key: the flow reads it
    if path.stat().st_size > MAX_ARTICLE_BYTES:
        raise ArticleRefusedError(f"{path.name} is over the {MAX_ARTICLE_BYTES:,}-byte limit for an article")
    read = parse_article(path.read_bytes(), name=path.name, language=language)
    local = [path.parent / i.file for i in read.images[len(images):] if i.file]  # the article's own files
    missing = [str(p) for p in local if not p.is_file()]
    if missing:
        raise NewsroomError(f"image {missing[0]} does not exist: check the path (relative to the article)")
    local += [Path(i).expanduser() for i in images if Path(i).expanduser().is_file()]  # others may be object keys
    gate_images(local)


@app.command("article")
def article_cmd(
    source: Annotated[str, typer.Argument(help="The article: Markdown with front matter, or JSON (path or key).")],
    image: Annotated[list[str] | None, typer.Option(
        "--image", help="A picture (path or object key), in order; repeat it. Replaces the files the article names.")
    ] = None,
    language: Annotated[LanguageChoice, typer.Option(help="The article's language.")] = LanguageChoice.auto,
    target_s: Annotated[float, typer.Option(help="About how long the narration runs (s).")] = 60.0,
    anchor: Annotated[AnchorChoice, typer.Option(help="Anchor intro (standfirst), outro, both or none.")] = (
        AnchorChoice.intro),
    condense: Annotated[bool, typer.Option(help="Let the draft model shorten paragraphs (numbers and names "
                                                "checked against the article).")] = False,
    portrait: Annotated[str | None, typer.Option(help="Object key of the anchor's portrait.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = (
        LoudnessChoice.broadcast),
    out: Annotated[Path | None, typer.Option(help="Copy the finished files into this folder.")] = None,
) -> None:
    """Turn an article and its pictures into a narrated video (flow 'article') and collect the files."""
    from flows.article import article as article_flow
    from newsroom.layout import ARTICLE_ROUTE
    from newsroom.storage import open_store

    _check_article(source, list(image or []), language.value)
    store = open_store()
    with err.status(f"making a video of {source} (Prefect flow 'article')..."):
        story_id = _run_flow(article_flow, source, images=list(image or []), language=language.value,
                             target_s=target_s, anchor=anchor.value, condense=condense, portrait_key=portrait or "",
                             loudness=loudness.value)
    _print_outputs(store, story_id)
    if out:
        _copy_handouts(store, story_id, out, ARTICLE_ROUTE)


@app.command("bulletin")
def bulletin_cmd(
    text: Annotated[str, typer.Argument(help="The bulletin's text, or a file holding it: items separated by lines "
                                             "of --- (or by blank lines).")],
    language: Annotated[LanguageChoice, typer.Option(help="The items' language.")] = LanguageChoice.auto,
    portrait: Annotated[str | None, typer.Option(help="Object key of the anchor's portrait.")] = None,
    loudness: Annotated[LoudnessChoice, typer.Option(help="broadcast (-23 LUFS) or web (-16 LUFS).")] = (
        LoudnessChoice.broadcast),
    out: Annotated[Path | None, typer.Option(help="Copy the finished files into this folder.")] = None,
) -> None:
    """Present text items as a bulletin read by the digital anchor (flow 'bulletin') and collect the files."""
    from flows.bulletin import bulletin as bulletin_flow
    from newsroom.bulletin import parse_items, split_items
    from newsroom.lang import detect
    from newsroom.layout import BULLETIN_ROUTE
    from newsroom.storage import open_store

    path = Path(text).expanduser()
    if len(text) < 4096 and path.is_file():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise NewsroomError(f"{path} is not UTF-8 text: save the bulletin as UTF-8") from None
    items = split_items(text)
    code = detect(text).code if language.value == "auto" else language.value
    parse_items(items, code)  # refuse empty or oversized items before a Prefect server starts
    store = open_store()
    with err.status(f"presenting {len(items)} item(s) (Prefect flow 'bulletin')..."):
        story_id = _run_flow(bulletin_flow, items, language=code, portrait_key=portrait or "", loudness=loudness.value)
    _print_outputs(store, story_id)
    if out:
        _copy_handouts(store, story_id, out, BULLETIN_ROUTE)


@app.command()
def verify(
    story_id: Annotated[str, typer.Argument(help="Story id printed by ingest.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verification as JSON.")] = False,
) -> None:
    """Re-hash every object the story's manifest lists and compare it with its entry (exit 1 on a mismatch)."""
    from newsroom.manifest import verify_story
    from newsroom.storage import open_store
    from newsroom.storage.keys import validate_story_id

    result = verify_story(open_store(), validate_story_id(story_id))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for problem in result.problems:
            typer.echo(f"MISMATCH {problem.key}: {problem.problem} (manifest {problem.expected or '-'}, "
                       f"object {problem.found or '-'})")
        for key in result.unlisted:
            typer.echo(f"unlisted {key} (not in the manifest)")
        typer.echo(f"story {story_id}: {result.checked - len(result.problems)} of {result.checked} manifest "
                   "entries match their objects")
    if not result.ok:
        raise NewsroomError(f"story {story_id}: {len(result.problems)} manifest entries do not match their objects: "
                            "run the stages that made them again (the resume cache recomputes what is missing)")


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Which models are installed, assembled and verified."""
    _show_models(verify=False, as_json=as_json)


@models_app.command("verify")
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


@app.command()
def serve(
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once (default: no limit).")] = None,
    inbox_cron: Annotated[str, typer.Option(help="Cron schedule of the inbox scan ('' = no schedule).")] = "*/5 * * * *",
) -> None:
    """Serve every deployment (package, ingest, edit, broadcast, inbox scan) from this process: one machine."""
    from flows.deployments import serve_all

    serve_all(limit=limit, inbox_cron=inbox_cron or None)


@app.command()
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


@ops_app.command("bootstrap")
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


@ops_app.command("openapi")
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


@stack_app.command("up")
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


@stack_app.command("down")
def stack_down() -> None:
    """Stop every service of the stack; no process of it is left behind (its data stays in the stack folder)."""
    from newsroom.stack import Stack

    leftovers = Stack().down()
    if leftovers:
        err.print(f"killed {len(leftovers)} process(es) that outlived their service: {leftovers}")


@stack_app.command("status")
def stack_status(as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False) -> None:
    """Each service's state (running, stopped, failed), health and address."""
    from newsroom.stack import Stack

    stack = Stack()
    if as_json:
        typer.echo(json.dumps(stack.status_json(), indent=2))
    else:
        _stack_status_table(stack.status())


@stack_app.command("env")
def stack_env() -> None:
    """Shell exports that point newsroom and prefect at the stack: eval "$(newsroom stack env)"."""
    import shlex

    from newsroom.stack import Stack

    for key, value in Stack().client_env().items():
        typer.echo(f"export {key}={shlex.quote(value)}")


def _shutdown(code: int, why: str) -> NoReturn:
    """Stop everything this run started (ffmpeg children, a temporary Prefect server) and exit now.

    Work still running in task threads cannot be joined quickly, so the process ends with os._exit after
    the clean-up; the flow run was already marked crashed by Prefect's own signal handling."""
    global _shutting_down
    if _shutting_down:  # a second signal while we clean up (e.g. sent to the process and its group)
        return  # type: ignore[misc]
    _shutting_down = True
    from newsroom.media import process

    killed = process.kill_all()
    shutdown = sys.modules.get("flows.shutdown")  # imported by _run_flow before any flow starts
    stopped = shutdown.stop_ephemeral_servers() if shutdown is not None else 0
    err.print(f"{why}: stopped {killed} child process(es) and {stopped} temporary Prefect server(s)")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_flow(flow: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a flow in a worker thread while the main thread waits. Prefect turns SIGTERM into a crash
    report in the thread that runs a flow, which waits on the API (possibly already gone); in a worker
    thread it leaves the CLI's own handler in charge, which stops children and the temporary server."""
    import flows.shutdown  # noqa: F401  (ready for _shutdown: no imports inside a signal handler)

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


def _on_sigterm(signum: int, frame: object) -> None:
    _shutdown(128 + signum, f"stopped by signal {signal.Signals(signum).name}")


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
        _shutdown(130, "interrupted")

if __name__ == "__main__":
    main()
