"""Commands that walk a story through the flows (a temporary Prefect server unless PREFECT_API_URL is set):
ingest, edit, broadcast and the whole package (run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from newsroom.cli.common import (
    AsrModelChoice,
    EditUpscaleChoice,
    GlossaryOption,
    LanguageChoice,
    LoudnessChoice,
    RestoreChoice,
    TranslateLanguage,
    TranslateOption,
    copy_handouts,
    err,
    glossary_lines,
    print_outputs,
    run_flow,
)


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

    admit_source(source, open_store())  # fail fast, before a Prefect server starts
    with err.status(f"ingesting {source} (Prefect flow 'ingest')..."):
        story_id = run_flow(ingest_flow, source, language=language.value, asr_model=model.value,
                             glossary=glossary_lines(glossary))
    store = open_store()
    if as_json:
        typer.echo(json.dumps(read_manifest(store, story_id), indent=2, ensure_ascii=False))
        return
    print_outputs(store, story_id)


def edit(
    story_id: Annotated[str, typer.Argument(help="Story id printed by ingest.")],
    target_s: Annotated[float, typer.Option(help="Highlight length in seconds.")] = 60.0,
    upscale: Annotated[EditUpscaleChoice, typer.Option(help="Super-resolution of the edit.")] = EditUpscaleChoice.none,
    restore: Annotated[RestoreChoice, typer.Option(help="Restoration preset or auto.")] = RestoreChoice.auto,
    headline: Annotated[str | None, typer.Option(help="Headline for the covers.")] = None,
    burn: Annotated[bool, typer.Option(help="Also burn subtitles into a copy.")] = True,
    vertical: Annotated[bool, typer.Option(help="Also render a 9:16 version.")] = True,
    translate_to: Annotated[TranslateLanguage | None, typer.Option(
        help="Also subtitle the edit in this language (the draft model; a second soft track and a bilingual "
        "burned copy).")] = None,
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
        run_flow(edit_flow, story_id, target_s=target_s, upscale=upscale.value, restore=restore.value, headline=headline,
                 burn_subtitles=burn, vertical=vertical, translate_to=translate_to.value if translate_to else None)
    print_outputs(store, story_id, stage=EDIT)


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
        run_flow(broadcast_flow, story_id, portrait_key=portrait, loudness=loudness.value)
    print_outputs(store, story_id, stage=BROADCAST)


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
    translate_to: TranslateOption = None,
) -> None:
    """Run the whole package for one story (flow 'newsroom-package') and collect the finished files."""
    from flows.package import newsroom_package
    from newsroom.params import check_headline
    from newsroom.storage import open_store

    check_headline(headline)
    store = open_store()
    admit_source(source, store)  # fail fast, before a Prefect server starts
    with err.status(f"producing {source} (Prefect flow 'newsroom-package')..."):
        story_id = run_flow(newsroom_package, source, language=language.value, asr_model=model.value,
                             target_s=target_s, upscale=upscale.value, headline=headline or "",
                             portrait_key=portrait or "", loudness=loudness.value,
                             glossary=glossary_lines(glossary),
                             translate_to=translate_to.value if translate_to else None)
    print_outputs(store, story_id)
    if out:
        copy_handouts(store, story_id, out)


def admit_source(source: str, store) -> None:
    """Refuse a bad source here, in a second, before a Prefect server starts: the same checks ingest makes
    (readable, an allowed container, within every limit)."""
    from newsroom.media.gate import admit_media
    from newsroom.sources import parse_source

    spec = parse_source(source, store)
    if spec.kind == "path":
        admit_media(spec.value)


def verify(
    story_id: Annotated[str, typer.Argument(help="Story id printed by ingest.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verification as JSON.")] = False,
) -> None:
    """Re-hash every object the story's manifest lists and compare it with its entry (exit 1 on a mismatch)."""
    from newsroom.errors import NewsroomError
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
