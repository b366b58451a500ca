"""The whole package for one story: the flow a CMS or an editor starts.

    ingest -> (edit || draft) -> covers, once, with the real headline -> voice -> anchor -> segment -> manifest

Run in one process, the anchor's voice and face follow the draft at once, beside the edit; dispatched
(NEWSROOM_DISPATCH=deployments), the edit and the broadcast stage run as their own deployments' runs on
their pools, and the broadcast stage voices the draft written here.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.broadcast import broadcast
from flows.edit import edit
from flows.ingest import ingest
from flows.names import BROADCAST_DEPLOYMENT, EDIT_DEPLOYMENT
from flows.stages import dispatching, run_stage
from newsroom.layout import DELIVERABLES  # noqa: F401 (re-exported: the package flow's outputs)
from newsroom.llm.errors import EmptyTranscriptError
from newsroom.params import (
    AsrModel,
    GlossaryTerms,
    Headline,
    IngestLanguage,
    LoudnessProfile,
    RestorePreset,
    TranslateLanguage,
    UpscaleMethod,
)
from tasks.broadcast import assemble, render_anchor, speak, write_draft
from tasks.common import load_cut, load_story, publish_manifest
from tasks.edit import make_covers, pick_headline
from tasks.lease import lease_scope
from tasks.reports import record_run, summarise_broadcast, summarise_package


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
    glossary: GlossaryTerms = (),
    translate_to: TranslateLanguage | None = None,
) -> str:
    """Produce everything for one story: ingest -> (edit, draft) side by side -> covers -> broadcast.

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
        portrait_key: Object key of the anchor's portrait (a still, or a presenter's mouth atlas .npz made by
            `newsroom anchor --reference`); leave empty for the public-domain portrait that ships.
        loudness: broadcast = EBU R128 (-23 LUFS); web = -16 LUFS.
        glossary: Names, places and organisations heard in this story, one an item ("heard -> written" corrects
            a known mis-hearing): they steer speech recognition, with the newsroom's glossary (NEWSROOM_GLOSSARY).
        translate_to: Also subtitle the edit in this language (the draft model translates the cues; a second
            soft track and a bilingual burned version). Off by default: it costs model time.

    Returns:
        The story id.
    """
    # One run per story at a time: the lease the ingest takes once it knows the story is held to the end.
    with lease_scope():
        story_id = ingest(source, language=language, asr_model=asr_model, glossary=glossary)
        record_run(story_id, source, "running")
        story = load_story(story_id)
        # The draft needs only the transcript: it is written while the edit renders, and in one process the
        # anchor's voice and face follow it straight away, also beside the edit.
        draft = write_draft.submit(story_id, story.transcript)
        voice = anchor = None
        if not dispatching():
            voice = speak.submit(story_id, draft)
            anchor = render_anchor.submit(story_id, voice, portrait_key or None)
        run_stage(edit, EDIT_DEPLOYMENT, story_id=story_id, target_s=target_s, upscale=upscale, restore=restore,
                  burn_subtitles=burn_subtitles, vertical=vertical, headline=headline or None, covers=False,
                  translate_to=translate_to)
        cut = load_cut(story_id)
        note = None
        try:
            written = draft.result()
        except EmptyTranscriptError as exc:  # nothing was said: no draft, no broadcast
            written, note = None, f"No broadcast: {exc}"
        first_sentence, spoken = pick_headline(story.transcript)
        cover_headline = headline or (written.headline if written else first_sentence)
        covers = make_covers.submit(story_id, cut.picture_key, cover_headline, spoken, cut.scenes, story.transcript, written)
        if written is not None:
            if dispatching():  # the heavy pool voices the draft written here, renders the anchor, assembles
                run_stage(broadcast, BROADCAST_DEPLOYMENT, story_id=story_id, portrait_key=portrait_key or None,
                          loudness=loudness)
            else:
                segment = assemble(story_id, anchor.result(), voice.result(), cut, written, loudness)
                summarise_broadcast(story_id, written, anchor.result(), segment)
        covers.result()
        publish_manifest(story_id)
        summarise_package(story_id, note=note)
        record_run(story_id, source, "done", note)
    return story_id
