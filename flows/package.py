"""The whole package for one story: the flow a CMS or an editor starts. Grows with each stage."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.edit import RestorePreset, UpscaleMethod, edit
from flows.ingest import AsrModel, IngestLanguage, ingest

# Finished files of a story and the names they get when copied out (newsroom run --out DIR).
DELIVERABLES = {
    "ingest/transcript.json": "transcript.json",
    "ingest/transcript.txt": "transcript.txt",
    "edit/subtitles.srt": "subtitles.srt",
    "edit/subtitles.vtt": "subtitles.vtt",
    "edit/subtitles.ttml": "subtitles.ttml",
    "edit/cover-16x9.png": "cover-16x9.png",
    "edit/cover-9x16.png": "cover-9x16.png",
    "edit/cover-1x1.png": "cover-1x1.png",
    "edit/edit.mp4": "edit.mp4",
    "edit/edit-burned.mp4": "edit-burned.mp4",
    "edit/edit-vertical.mp4": "edit-vertical.mp4",
    "edit/highlight.otio": "highlight.otio",
    "edit/highlight.edl": "highlight.edl",
    "manifest.json": "manifest.json",
}


@flow(name="newsroom-package", log_prints=False, validate_parameters=True)
def newsroom_package(
    source: str,
    language: IngestLanguage = "auto",
    asr_model: AsrModel = "base",
    target_s: Annotated[float, Field(gt=0, le=600)] = 60.0,
    upscale: UpscaleMethod = "none",
    restore: RestorePreset = "auto",
    burn_subtitles: bool = True,
    vertical: bool = True,
    headline: str | None = None,
) -> str:
    """Produce everything for one story: ingest, then the edit (draft and broadcast join as they land).

    Args:
        source: A local file path on the worker, or an object key in the newsroom bucket (e.g. inbox/clip.mp4).
        language: Spoken language: auto-detect, English (en) or Mandarin (zh).
        asr_model: Speech-to-text model: base (English + Mandarin) or tiny.en (English only, fast).
        target_s: Length of the highlight edit in seconds.
        upscale: Super-resolution of the edit: none, lanczos or esrgan.
        restore: Restoration preset (auto measures the source).
        burn_subtitles: Also render a copy with burned-in subtitles.
        vertical: Also render a 9:16 version.
        headline: Headline for the covers (default: the story's first sentence).

    Returns:
        The story id.
    """
    story_id = ingest(source, language=language, asr_model=asr_model)
    edit(story_id, target_s=target_s, upscale=upscale, restore=restore, burn_subtitles=burn_subtitles,
         vertical=vertical, headline=headline)
    return story_id
