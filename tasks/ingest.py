"""Ingest tasks: store the source, normalise it, transcribe it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from newsroom import media
from newsroom.asr import Transcriber
from newsroom.asr.glossary import load_glossary
from newsroom.asr.voice_encoder import MODEL_ID as SPEAKER_MODEL
from newsroom.errors import ObjectNotFoundError
from newsroom.inbox import ORIGINAL_NAME_METADATA
from newsroom.layout import INGEST, SOURCE, StoryLayout
from newsroom.media.damage import Damage
from newsroom.media.gate import MediaRefusedError, admit_media
from newsroom.models.registry import ASR_MODEL_IDS, MODELS
from newsroom.results import IngestedMedia, SourceRef
from newsroom.sources import MEDIA_SUFFIXES, parse_source
from newsroom.storage import delete_prefix, sha256_file, story_id_from_sha256
from newsroom.storage.base import guess_content_type
from newsroom.types import Asset, MediaInfo, ModelRef, Transcript
from tasks.common import (
    RESUMABLE,
    Output,
    ProgressArtifact,
    retrying_task,
    scratch_dir,
    settings,
    store,
    store_outputs,
)

log = logging.getLogger("newsroom.tasks.ingest")
HEAVY_TAG = "newsroom-asr"


@retrying_task(name="store-source", cache_policy=NO_CACHE)
def store_source(source: str) -> SourceRef:
    """Check the source is readable media, store it under its content-derived story id, and store its
    speech audio (16 kHz mono WAV) so transcription can start while the video is normalised.

    Idempotent by content: the same file always maps to the same story and is uploaded once.
    Nothing is stored when the file is not usable media. The speech audio comes from the copy this task
    already holds (it must read every byte to hash it), so the source is fetched once for both.
    """
    spec = parse_source(source, store())
    filename = spec.name
    damage: list[Damage] = []
    with scratch_dir() as tmp:
        if spec.kind == "path":
            local = Path(spec.value)
        else:
            stored = store().stat(spec.value)
            if stored.size_bytes > settings().max_source_bytes:
                raise MediaRefusedError(
                    f"{spec.name} is {stored.size_bytes / 1e9:.1f} GB, over the {settings().max_source_bytes / 1e9:.1f} "
                    "GB limit (NEWSROOM_MAX_SOURCE_BYTES): trim it or raise the limit")
            filename = stored.metadata.get(ORIGINAL_NAME_METADATA) or spec.name  # as dropped into the inbox
            local = store().get_file(spec.value, tmp / f"source{Path(spec.value).suffix[:16]}")
        info = admit_media(local, settings())  # the gate: allowed container, within every limit
        digest = sha256_file(local)
        story_id = story_id_from_sha256(digest)
        layout = StoryLayout(story_id)
        suffix = Path(spec.name).suffix.lower()
        key = layout.source(suffix if suffix in MEDIA_SUFFIXES else ".bin")
        already = store().exists(layout.manifest)
        audio = _speech_audio(local, info, layout, digest, tmp, damage.append)  # before anything is stored
        source: Output | Asset | None = _stored_asset(key, "store-source", sha256=digest)
        if source is not None:
            log.info("source already stored as %s", key)
        else:
            source = Output(local, key, "store-source", metadata={"filename": filename[:200]})
        # Recorded on every run, also when the object was already stored: a run killed between the upload and
        # the record must not leave the manifest without its source.
        store_outputs(story_id, SOURCE, source, info={"filename": filename, "sha256": digest,
                                                      "duration_s": info.duration_s, "format": info.format_name,
                                                      **_damage_info(damage)})
        if isinstance(audio, Path):
            audio = Output(audio, layout.audio, "extract-audio", metadata={"source-sha256": digest})
        if audio is not None:
            audio = store_outputs(story_id, INGEST, audio)[0]
    log.info("story %s: %s (%.1fs, video=%s, audio=%s)", story_id, filename, info.duration_s,
             info.has_video, info.has_audio)
    return SourceRef(story_id, key, digest, filename, info, already, audio.key if isinstance(audio, Asset) else None)


@retrying_task(name="recheck-source", cache_policy=NO_CACHE)
def recheck_source(ref: SourceRef) -> SourceRef | None:
    """`ref` as it stands now that this run holds the story (whether it was ingested meanwhile), or None when
    its source or speech audio is gone (another run discarded the story while this one waited)."""
    layout = StoryLayout(ref.story_id)
    if not store().exists(ref.key) or (ref.audio_key is not None and not store().exists(ref.audio_key)):
        log.warning("story %s: the stored source is gone (discarded by another run): storing it again", ref.story_id)
        return None
    return dataclasses.replace(ref, already_ingested=ref.already_ingested or store().exists(layout.manifest))


def _stored_asset(key: str, step: str, *, sha256: str | None = None, source_sha256: str | None = None
                  ) -> Asset | None:
    """The Asset of `key` when an earlier run stored it from the same bytes (its own sha256, or the sha256 of
    the source it was made from, as recorded in its metadata); else None."""
    try:
        stored = store().stat(key)
    except ObjectNotFoundError:
        return None
    meta = stored.metadata
    if not meta.get("sha256") or (sha256 and meta["sha256"] != sha256) or \
            (source_sha256 and meta.get("source-sha256") != source_sha256):
        return None
    return Asset(key=key, sha256=meta["sha256"], bytes=stored.size_bytes, media_type=guess_content_type(key),
                 step=step)


def _damage_info(damage: list[Damage]) -> dict:
    """The manifest's record of tolerated damage: `warnings` (for people) and `damage` (the figures)."""
    if not damage:
        return {}
    return {"warnings": [f"{d.describe()}: concealed; check the picture and sound there" for d in damage],
            "damage": [d.to_dict() for d in damage]}


def _speech_audio(local: Path, info: MediaInfo, layout: StoryLayout, digest: str, tmp: Path,
                  on_damage: Callable[[Damage], None]) -> Path | Asset | None:
    """The speech WAV to upload (a Path), the one an earlier run stored from the same bytes (its Asset),
    or None for a source without audio."""
    if not info.has_audio:
        return None
    stored = _stored_asset(layout.audio, "extract-audio", source_sha256=digest)
    if stored is not None:
        return stored
    return media.extract_audio(local, tmp / StoryLayout.audio.name, info, on_damage=on_damage)


@retrying_task(name="normalise-media", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def normalise_media(story_id: str, source_key: str) -> IngestedMedia:
    """Mezzanine (H.264/AAC, CFR; conforming streams copied) and a 360p proxy."""
    layout = StoryLayout(story_id)
    with scratch_dir() as tmp:
        src = store().get_file(source_key, tmp / Path(source_key).name)
        info = media.probe(src)
        progress = ProgressArtifact(f"Normalising {Path(source_key).name}")
        mezzanine = StoryLayout.mezzanine if info.has_video else StoryLayout.mezzanine_audio
        damage: list[Damage] = []

        def video_damage(found: Damage) -> None:  # audio damage was judged and recorded by store-source
            if found.kind == "video":
                damage.append(found)

        mezz = media.normalise(src, tmp / mezzanine.name, info, progress=lambda f: progress(0.7 * f),
                               on_damage=video_damage)
        proxy = media.make_proxy(src, tmp / StoryLayout.proxy.name, info, progress=lambda f: progress(0.7 + 0.3 * f),
                                 on_damage=video_damage)
        progress(1.0)
        normalised = IngestedMedia(
            duration_s=info.duration_s, has_video=info.has_video, has_audio=info.has_audio,
            fps=media.target_fps(info) if info.has_video else None, width=info.video.width if info.video else None,
            height=info.video.height if info.video else None, variable_frame_rate=info.is_variable_frame_rate,
            video_copied=media.copyable_video(info))
        store_outputs(story_id, INGEST, Output(mezz, layout.key(mezzanine), "normalise"),
                      Output(proxy, layout.proxy, "proxy"), info={"media": normalised.to_dict(), **_damage_info(damage)})
    return normalised


@cache
def _transcriber(model: str, threads: int, beam_size: int, diarize: bool, diarize_distance: float) -> Transcriber:
    """Load once per worker process (per model and options), call many times."""
    return Transcriber.load(model, settings(), beam_size=beam_size, diarize=diarize)


@retrying_task(name="transcribe", cache_policy=RESUMABLE, timeout_seconds=4 * 3600, tags=[HEAVY_TAG])
def transcribe(story_id: str, audio_key: str | None, language: str = "auto", model: str = "base",
               glossary: tuple[str, ...] = ()) -> Transcript:
    """Speech-to-text with word timestamps -> transcript.json (the contract) + transcript.txt.

    `glossary`: the run's own terms, before the newsroom's (NEWSROOM_GLOSSARY); see newsroom.asr.glossary."""
    model_id = ASR_MODEL_IDS[model]
    ref = ModelRef(model_id, MODELS[model_id].version)
    note = None
    with scratch_dir() as tmp:
        if audio_key is None:
            note = "the source has no audio track: the transcript is empty"
            log.warning("story %s: %s", story_id, note)
            transcript = Transcript(language=language if language != "auto" else settings().languages[0],
                                    duration_s=0.0, model=model_id)
        else:
            wav = store().get_file(audio_key, tmp / StoryLayout.audio.name)
            engine = _transcriber(model, settings().threads, settings().asr_beam_size, settings().diarize,
                                  settings().diarize_distance)
            progress = ProgressArtifact(f"Transcribing with {model_id}")
            terms = load_glossary(settings().glossary, None if language == "auto" else language, extra=glossary)
            transcript = engine.transcribe(wav, language, allowed_languages=tuple(settings().languages),
                                           progress=progress, glossary=terms)
            if transcript.is_empty:
                note = "no speech was found in the audio: the transcript is empty"
        layout = StoryLayout(story_id)
        json_path = tmp / StoryLayout.transcript_json.name
        json_path.write_text(transcript.to_json(), "utf-8")
        txt_path = tmp / StoryLayout.transcript_txt.name
        txt_path.write_text(transcript.to_text(), "utf-8")
        store_outputs(story_id, INGEST, Output(json_path, layout.transcript_json, "transcribe", ref),
                      Output(txt_path, layout.transcript_txt, "transcribe", ref),
                      info={"language": transcript.language, "asr_model": transcript.model,
                            "segments": len(transcript.segments), "speakers": len(transcript.speakers),
                            "speaker_model": SPEAKER_MODEL if settings().diarize else None, "note": note,
                            "glossary": list(glossary) or None})
    return transcript


@task(name="discard-story", cache_policy=NO_CACHE)
def discard_story(story_id: str) -> int:
    """Remove everything a failed first ingest wrote, so no partial story is left behind."""
    removed = delete_prefix(store(), StoryLayout(story_id).prefix)
    log.warning("removed %d partial objects of story %s", removed, story_id)
    return removed

