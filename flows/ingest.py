"""The ingest flow: raw media in -> stored source, mezzanine, proxy, transcript and manifest out."""

from __future__ import annotations

from typing import Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from newsroom.errors import NewsroomError, TransientError
from tasks.common import store
from tasks.ingest import discard_story, normalise_media, publish_manifest, store_source, transcribe

IngestLanguage = Literal["auto", "en", "zh"]
AsrModel = Literal["base", "tiny.en"]


@flow(name="ingest", log_prints=False, validate_parameters=True)
def ingest(source: str, language: IngestLanguage = "auto", asr_model: AsrModel = "base") -> str:
    """Ingest one piece of raw footage or audio and transcribe it.

    Args:
        source: A local file path on the worker, or an object key in the newsroom bucket (e.g. inbox/clip.mp4).
        language: Spoken language: auto-detect, English (en) or Mandarin (zh, written in Simplified Chinese).
        asr_model: Speech-to-text model: base (English + Mandarin, accurate) or tiny.en (English only, fast).

    Returns:
        The story id; every output lives under stories/<story id>/ in the store.
    """
    ref = store_source(source)
    try:
        normalised = normalise_media(ref.story_id, ref.key)
        transcript_key = transcribe(ref.story_id, normalised.audio_key, language, asr_model)
        manifest_key = publish_manifest(ref.story_id)
    except NewsroomError as exc:
        # Bad media discovered past the probe (e.g. a truncated file): leave no partial story behind.
        # Transient failures keep finished work so a re-run resumes from the cache.
        if not isinstance(exc, TransientError) and not ref.already_ingested:
            discard_story(ref.story_id)
        raise
    _summary_artifact(ref.story_id, ref.filename, transcript_key, manifest_key)
    return ref.story_id


def _summary_artifact(story_id: str, filename: str, transcript_key: str, manifest_key: str) -> None:
    transcript = store().get_json(transcript_key)
    manifest = store().get_json(manifest_key)
    excerpt = transcript["text"][:600] + ("..." if len(transcript["text"]) > 600 else "")
    rows = "\n".join(
        f"| `{a['key'].split('/', 2)[2]}` | {a['media_type']} | {a['bytes']:,} | {a['step']} |"
        for a in manifest["assets"]
    )
    create_markdown_artifact(
        key=f"ingest-{story_id}",
        description=f"Ingest of {filename}",
        markdown=(
            f"# Ingested: {filename}\n\nStory `{story_id}` - language **{transcript['language']}**, "
            f"{transcript['duration_s']:.1f} s, {len(transcript['segments'])} segments "
            f"({transcript['model']}).\n\n> {excerpt or '_no speech found_'}\n\n"
            f"| asset | type | bytes | step |\n|---|---|---|---|\n{rows}\n\n"
            f"Transcript: {store().url(transcript_key)}\n"
        ),
    )
