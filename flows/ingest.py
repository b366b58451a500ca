"""The ingest flow: raw media in -> stored source, mezzanine, proxy, transcript and manifest out."""

from __future__ import annotations

from prefect import flow

from newsroom.errors import NewsroomError, TransientError
from newsroom.params import AsrModel, GlossaryTerms, IngestLanguage
from tasks.common import publish_manifest
from tasks.ingest import discard_story, normalise_media, recheck_source, store_source, transcribe
from tasks.lease import story_lease
from tasks.reports import summarise_ingest


@flow(name="ingest", log_prints=False, validate_parameters=True)
def ingest(source: str, language: IngestLanguage = "auto", asr_model: AsrModel = "base",
           glossary: GlossaryTerms = ()) -> str:
    """Ingest one piece of raw footage or audio and transcribe it.

    Args:
        source: A local file path on the worker, or an object key in the newsroom bucket (e.g. inbox/clip.mp4).
        language: Spoken language: auto-detect (among NEWSROOM_LANGUAGES), or a language profile's code
            (newsroom/lang: en English, zh Mandarin written in Simplified Chinese, ...).
        asr_model: Speech-to-text model: base (English + Mandarin, accurate) or tiny.en (English only, fast).
        glossary: Names, places, organisations and jargon heard in this story, one an item (a known
            mis-hearing as "heard -> written"): speech recognition is steered towards them and near-misses are
            rewritten; used with the newsroom's glossary (NEWSROOM_GLOSSARY).

    Returns:
        The story id; every output lives under stories/<story id>/ in the store.
    """
    ref = store_source(source)
    with story_lease(ref.story_id):  # one run per story: another run of this content may be at work on it
        # After a wait, the other run may have discarded what store-source stored: store it again then.
        ref = recheck_source(ref) or store_source(source)
        transcript = None
        try:
            # store_source also stored the speech audio: the transcription runs while the video is normalised.
            transcript = transcribe.submit(ref.story_id, ref.audio_key, language, asr_model, glossary)
            normalise_media(ref.story_id, ref.key)
            spoken = transcript.result()
            manifest_key = publish_manifest(ref.story_id)
        except NewsroomError as exc:
            if transcript is not None:
                transcript.wait()  # nothing may still be writing when the story is discarded
            # Bad media discovered past the probe (e.g. a truncated file): leave no partial story behind.
            # Transient failures keep finished work so a re-run resumes from the cache.
            if not isinstance(exc, TransientError) and not ref.already_ingested:
                discard_story(ref.story_id)
            raise
    summarise_ingest(ref.story_id, ref.filename, spoken, manifest_key)
    return ref.story_id
