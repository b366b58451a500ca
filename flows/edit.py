"""The edit flow: scenes, restoration, highlight edit (+ NLE export), optional upscaling, subtitles, covers,
and a vertical version, all written under the story's edit/ prefix."""

from __future__ import annotations

from typing import Annotated, Literal

from prefect import flow, unmapped
from pydantic import Field

from flows.names import UPSCALE_DEPLOYMENT
from flows.runners import chunk_task_runner
from flows.stages import run_stage
from newsroom.layout import StoryLayout
from newsroom.params import Headline, RestorePreset, TranslateLanguage, UpscaleMethod
from tasks.common import load_story, publish_manifest, remove_objects
from tasks.edit import detect_scenes as detect_scenes_task
from tasks.edit import (
    finish_edit_video,
    highlight_edit,
    join_upscaled,
    make_covers,
    make_subtitles,
    pick_headline,
    plan_upscale,
    restore_video,
    translate_subtitles,
    upscale_chunk,
    vertical_version,
)
from tasks.lease import story_lease
from tasks.reports import summarise_edit


@flow(name="upscale-video", log_prints=False, task_runner=chunk_task_runner())
def upscale_video(story_id: str, video_key: str, cut_frames: list[int], scale: int = 2, method: str = "esrgan") -> str:
    """Split the video into chunks that run as independent tasks, then join them frame-exactly with the audio.

    Args:
        story_id: The story the video belongs to.
        video_key: Object key of the video to upscale.
        cut_frames: Frames where chunk boundaries may snap (scene cuts).
        scale: Upscaling factor (2, 3 or 4).
        method: esrgan (Real-ESRGAN animevideov3) or lanczos.
    """
    chunks = plan_upscale(video_key, cut_frames)
    futures = upscale_chunk.map(unmapped(story_id), unmapped(video_key), chunks, unmapped(scale), unmapped(method))
    chunk_keys = [future.result() for future in futures]
    joined = join_upscaled(story_id, chunk_keys, video_key, method, scale)
    remove_objects(chunk_keys)  # scratch, used up: only once the join's result is recorded
    return joined


@flow(name="edit", log_prints=False, validate_parameters=True)
def edit(
    story_id: str,
    target_s: Annotated[float, Field(gt=0, le=600)] = 60.0,
    upscale: UpscaleMethod = "none",
    upscale_scale: Literal[2, 3, 4] = 2,
    upscale_workers: Annotated[int, Field(ge=1, le=64)] = 2,
    restore: RestorePreset = "auto",
    burn_subtitles: bool = True,
    vertical: bool = True,
    headline: Headline | None = None,
    sentence_ids: list[int] | None = None,
    time_ranges: list[tuple[float, float]] | None = None,
    covers: bool = True,
    translate_to: TranslateLanguage | None = None,
) -> str:
    """Edit an ingested story: highlight cut, subtitles, covers and a vertical version.

    Args:
        story_id: The story id printed by ingest (20 hex characters).
        target_s: Length of the highlight edit in seconds (30, 60, 90 ...).
        upscale: Super-resolution for the edit: none, lanczos (fast) or esrgan (Real-ESRGAN, slow on CPU).
        upscale_scale: Upscaling factor.
        upscale_workers: Worker processes sharing the upscaling chunks on this machine.
        restore: Restoration preset: auto measures noise and interlacing; or a named preset.
        burn_subtitles: Also render a version with subtitles burned into the picture.
        vertical: Also render a 9:16 version for social platforms.
        headline: Headline for the covers (default: the story's first sentence until a draft exists).
        sentence_ids: Transcript sentence numbers to use instead of automatic selection.
        time_ranges: Source time ranges [start_s, end_s] to use instead of sentences (win over sentence_ids).
        covers: Also draw the covers (the package flow draws them itself, with the draft's headline).
        translate_to: Also make subtitles in this language (translated by the draft model, cue by cue): files
            subtitles.<language>.srt/.vtt/.ttml, a second soft track in edit.mp4, and edit-bilingual.mp4 with
            both languages burned in (when burn_subtitles). Off by default: it costs model time.

    Returns:
        The key of the story's updated manifest.
    """
    with story_lease(story_id):  # one run per story at a time (tasks/lease.py)
        story = load_story(story_id)
        video_key = story.require_video()
        found = detect_scenes_task(story_id, video_key)
        picture_key = restore_video(story_id, video_key, restore)
        first_sentence, language = pick_headline(story.transcript)
        drawing = make_covers.submit(story_id, picture_key, headline or first_sentence, language, found,
                                     story.transcript) if covers else None
        cut = highlight_edit(story_id, picture_key, story.transcript, found, target_s, headline, sentence_ids, time_ranges)
        clean_key = cut.video_key
        if upscale != "none":
            runner = chunk_task_runner(upscale_workers)
            # Dispatched (infra/prefect.yaml), super-resolution runs on the heavy pool; its output key is fixed.
            clean_key = run_stage(upscale_video.with_options(task_runner=runner), UPSCALE_DEPLOYMENT, story_id=story_id,
                                  video_key=clean_key, cut_frames=cut.decision.cut_frames, scale=upscale_scale,
                                  method=upscale) or StoryLayout(story_id).upscaled
        subtitles = (make_subtitles(story_id, cut.transcript, cut.decision.fps, cut.decision.shot_changes_s(found))
                     if cut.transcript else None)
        srt_key = subtitles.srt_key if subtitles else None
        vertical_future = vertical_version.submit(story_id, clean_key, srt_key, language) if vertical else None
        translated = None
        if subtitles and translate_to and translate_to != language:
            translated = translate_subtitles(story_id, cut.transcript, cut.decision.fps,
                                             cut.decision.shot_changes_s(found), translate_to)
        video_keys = finish_edit_video(story_id, clean_key, srt_key, language, burn_subtitles, translated)
        drawn = drawing.result() if drawing else None
        vertical_key = vertical_future.result() if vertical_future else None
        manifest_key = publish_manifest(story_id)
        summarise_edit(story_id, found, cut.decision, subtitles.report if subtitles else None, drawn,
                       [*video_keys, *([vertical_key] if vertical_key else [])])
    return manifest_key
