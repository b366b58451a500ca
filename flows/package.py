"""The whole package for one story: the flow a CMS or an editor starts. Grows with each stage."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.broadcast import LoudnessProfile, broadcast
from flows.edit import RestorePreset, UpscaleMethod, edit
from flows.ingest import AsrModel, IngestLanguage, ingest
from newsroom.llm.errors import EmptyTranscriptError
from newsroom.storage import story_key
from tasks.broadcast import write_draft
from tasks.edit import refresh_covers
from tasks.reports import summarise_package

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
    "broadcast/draft.json": "draft.json",
    "broadcast/draft.md": "draft.md",
    "broadcast/anchor.wav": "anchor.wav",
    "broadcast/anchor.mp4": "anchor.mp4",
    "broadcast/broadcast.mp4": "broadcast.mp4",
    "broadcast/broadcast-burned.mp4": "broadcast-burned.mp4",
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
    portrait_key: str | None = None,
    loudness: LoudnessProfile = "broadcast",
) -> str:
    """Produce everything for one story: ingest -> (edit, draft) side by side -> broadcast.

    Args:
        source: A local file path on the worker, or an object key in the newsroom bucket (e.g. inbox/clip.mp4).
        language: Spoken language: auto-detect, English (en) or Mandarin (zh).
        asr_model: Speech-to-text model: base (English + Mandarin) or tiny.en (English only, fast).
        target_s: Length of the highlight edit in seconds.
        upscale: Super-resolution of the edit: none, lanczos or esrgan.
        restore: Restoration preset (auto measures the source).
        burn_subtitles: Also render a copy with burned-in subtitles.
        vertical: Also render a 9:16 version.
        headline: Headline for the covers (default: the draft's headline... or the first sentence).
        portrait_key: Object key of the anchor's portrait (default: the public-domain portrait that ships).
        loudness: broadcast = EBU R128 (-23 LUFS); web = -16 LUFS.

    Returns:
        The story id.
    """
    story_id = ingest(source, language=language, asr_model=asr_model)
    # The draft needs only the transcript: write it while the edit renders.
    draft_future = write_draft.submit(story_id, story_key(story_id, "ingest", "transcript.json"))
    edit(story_id, target_s=target_s, upscale=upscale, restore=restore, burn_subtitles=burn_subtitles,
         vertical=vertical, headline=headline)
    try:
        draft_key = draft_future.result()
    except EmptyTranscriptError as exc:
        summarise_package(story_id, note=f"No broadcast: {exc}")
        return story_id
    if not headline:
        refresh_covers(story_id, draft_key)
    broadcast(story_id, portrait_key=portrait_key, loudness=loudness, draft_key=draft_key)
    summarise_package(story_id)
    return story_id
