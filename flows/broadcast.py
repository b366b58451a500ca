"""The broadcast flow: news draft, anchor voice, lip-synced anchor, mastered segment."""

from __future__ import annotations

from prefect import flow

from newsroom.params import IngestLanguage, LoudnessProfile
from tasks.broadcast import assemble, render_anchor, speak, write_draft
from tasks.common import load_cut, load_story, publish_manifest
from tasks.lease import story_lease
from tasks.reports import summarise_broadcast


@flow(name="broadcast", log_prints=False, validate_parameters=True)
def broadcast(
    story_id: str,
    language: IngestLanguage = "auto",
    portrait_key: str | None = None,
    loudness: LoudnessProfile = "broadcast",
) -> str:
    """Write the draft (unless the story has one), voice it, render the anchor and assemble the mastered segment.

    Args:
        story_id: The story id (ingested and edited).
        language: auto = the transcript's language (drafts are never translated).
        portrait_key: Object key of the anchor's portrait (a still, or a presenter's mouth atlas .npz made by
            `newsroom anchor --reference`; default: the public-domain portrait that ships).
        loudness: broadcast = EBU R128 (-23 LUFS, true peak <= -1 dBTP); web = -16 LUFS.

    Returns:
        The key of the story's manifest.
    """
    with story_lease(story_id):  # one run per story at a time (tasks/lease.py)
        story = load_story(story_id, language)
        cut = load_cut(story_id)
        draft = story.draft or write_draft(story_id, story.transcript)
        voice = speak(story_id, draft)
        anchor_key = render_anchor(story_id, voice, portrait_key)
        segment = assemble(story_id, anchor_key, voice, cut, draft, loudness)
        manifest_key = publish_manifest(story_id)
    summarise_broadcast(story_id, draft, anchor_key, segment)
    return manifest_key
