"""The broadcast flow: news draft, anchor voice, lip-synced anchor, mastered segment."""

from __future__ import annotations

from prefect import flow

from flows.ingest import IngestLanguage
from newsroom.params import LoudnessProfile
from tasks.broadcast import SpeechRef, assemble, load_broadcast_inputs, render_anchor, speak, write_draft
from tasks.ingest import publish_manifest
from tasks.reports import summarise_broadcast


@flow(name="broadcast", log_prints=False, validate_parameters=True)
def broadcast(
    story_id: str,
    language: IngestLanguage = "auto",
    portrait_key: str | None = None,
    loudness: LoudnessProfile = "broadcast",
    draft_key: str | None = None,
    anchor_key: str | None = None,
    speech: dict[str, str] | None = None,
) -> str:
    """Write the draft, voice it, render the anchor and assemble the mastered broadcast segment.

    Args:
        story_id: The story id (ingested and edited).
        language: auto = the transcript's language (drafts are never translated).
        portrait_key: Object key of the anchor's portrait (default: the public-domain portrait that ships).
        loudness: broadcast = EBU R128 (-23 LUFS, true peak <= -1 dBTP); web = -16 LUFS.
        draft_key: An existing draft.json to use instead of writing one (the package flow passes it).
        anchor_key: An anchor video already rendered from that draft (the package flow passes it).
        speech: The voice of that anchor video: {"wav_key": ..., "timings_key": ...} (with anchor_key).

    Returns:
        The key of the story's manifest.
    """
    inputs = load_broadcast_inputs(story_id, language)
    draft = draft_key or inputs.draft_key or write_draft(story_id, inputs.transcript_key)
    if anchor_key and speech:
        voice = SpeechRef(**speech)
    else:
        voice = speak(story_id, draft)
        anchor_key = render_anchor(story_id, voice, portrait_key)
    result = assemble(story_id, anchor_key, voice, inputs.story_video_key, inputs.story_transcript_key, draft,
                      inputs.decision, loudness)
    manifest_key = publish_manifest(story_id)
    summarise_broadcast(story_id, draft, anchor_key, result)
    return manifest_key
