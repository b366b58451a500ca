"""The whole package for one story: the flow a CMS or an editor starts. Grows with each stage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.broadcast import LoudnessProfile, broadcast
from flows.edit import RestorePreset, UpscaleMethod, edit
from flows.ingest import AsrModel, IngestLanguage, ingest
from flows.stages import dispatching, run_stage
from newsroom.llm.errors import EmptyTranscriptError
from newsroom.manifest import DELIVERABLES  # noqa: F401 (re-exported: the package flow's outputs)
from newsroom.params import Headline
from newsroom.storage import story_key
from tasks.broadcast import render_anchor, speak, write_draft
from tasks.edit import refresh_covers
from tasks.ingest import publish_manifest
from tasks.reports import record_run, summarise_package


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
    headline: Headline = "",
    portrait_key: str = "",
    loudness: LoudnessProfile = "broadcast",
) -> str:
    """Produce everything for one story: ingest -> (edit, draft) side by side -> broadcast.

    Args:
        source: A local file path on the worker, or an object key in the newsroom bucket (e.g. inbox/clip.mp4).
        language: Spoken language: auto-detect, or a language profile's code (newsroom/lang).
        asr_model: Speech-to-text model: base (English + Mandarin) or tiny.en (English only, fast).
        target_s: Length of the highlight edit in seconds.
        upscale: Super-resolution of the edit: none, lanczos or esrgan.
        restore: Restoration preset (auto measures the source).
        burn_subtitles: Also render a copy with burned-in subtitles.
        vertical: Also render a 9:16 version.
        headline: Headline for the covers; leave empty to use the draft's headline.
        portrait_key: Object key of the anchor's portrait; leave empty for the public-domain portrait that ships.
        loudness: broadcast = EBU R128 (-23 LUFS); web = -16 LUFS.

    Returns:
        The story id.
    """
    story_id = ingest(source, language=language, asr_model=asr_model)
    record_run(story_id, source, "running")
    # The draft needs only the transcript: write it while the edit renders. Run in one process, the anchor
    # (voice, then face) follows the draft straight away, also beside the edit; dispatched, the broadcast
    # stage renders it on the heavy pool.
    draft_future = write_draft.submit(story_id, story_key(story_id, "ingest", "transcript.json"))
    anchor_future = None
    if not dispatching():
        speech_future = speak.submit(story_id, draft_future)
        anchor_future = render_anchor.submit(story_id, speech_future, portrait_key or None)
    run_stage(edit, "edit", story_id=story_id, target_s=target_s, upscale=upscale, restore=restore,
               burn_subtitles=burn_subtitles, vertical=vertical, headline=headline or None)
    try:
        draft_key = draft_future.result()
    except EmptyTranscriptError as exc:
        note = f"No broadcast: {exc}"
        summarise_package(story_id, note=note)
        record_run(story_id, source, "done", note)
        return story_id
    # The covers get the draft's headline while the broadcast renders.
    covers = None if headline else refresh_covers.submit(story_id, draft_key)
    anchor = None
    if anchor_future is not None:
        anchor = {"anchor_key": anchor_future.result(), "speech": asdict(speech_future.result())}
    run_stage(broadcast, "broadcast", story_id=story_id, portrait_key=portrait_key or None, loudness=loudness,
               draft_key=draft_key, **(anchor or {}))
    if covers is not None:
        covers.result()
        publish_manifest(story_id)  # the manifest lists the re-drawn covers' sizes and checksums
    summarise_package(story_id)
    record_run(story_id, source, "done")
    return story_id
