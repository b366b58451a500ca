"""Ingest tasks: store the source, normalise it, transcribe it, publish the manifest."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from newsroom import media
from newsroom.asr import Transcriber
from newsroom.errors import SourceError
from newsroom.manifest import record_assets, write_manifest
from newsroom.models.registry import ASR_MODEL_IDS, MODELS
from newsroom.sources import MEDIA_SUFFIXES, parse_source
from newsroom.storage import delete_prefix, sha256_file, story_id_from_sha256, story_key, story_prefix
from newsroom.storage.base import guess_content_type
from newsroom.storage.keys import manifest_key
from newsroom.types import Asset, MediaInfo, ModelRef, Transcript
from tasks.common import (
    RESUMABLE,
    RETRY_DELAYS_S,
    TRANSIENT_RETRIES,
    ProgressArtifact,
    retry_on_transient,
    scratch_dir,
    settings,
    store,
    upload,
)

log = logging.getLogger("newsroom.tasks.ingest")

MEZZANINE = "mezzanine.mp4"
MEZZANINE_AUDIO_ONLY = "mezzanine.m4a"
PROXY = "proxy.mp4"
ASR_AUDIO = "audio-16k.wav"
TRANSCRIPT_JSON = "transcript.json"
TRANSCRIPT_TXT = "transcript.txt"
HEAVY_TAG = "newsroom-asr"


@dataclass(frozen=True, slots=True)
class SourceRef:
    story_id: str
    key: str
    sha256: str
    filename: str
    info: MediaInfo
    already_ingested: bool  # the story had a manifest before this run
    audio_key: str | None = None  # 16 kHz mono speech audio; None when the source has no audio track


@dataclass(frozen=True, slots=True)
class NormalisedMedia:
    mezzanine_key: str
    proxy_key: str


@task(name="store-source", retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
      retry_condition_fn=retry_on_transient, cache_policy=NO_CACHE)
def store_source(source: str) -> SourceRef:
    """Check the source is readable media, store it under its content-derived story id, and store its
    speech audio (16 kHz mono WAV) so transcription can start while the video is normalised.

    Idempotent by content: the same file always maps to the same story and is uploaded once.
    Nothing is stored when the file is not usable media. The speech audio comes from the copy this task
    already holds (it must read every byte to hash it), so the source is fetched once for both.
    """
    spec = parse_source(source, store())
    with scratch_dir() as tmp:
        if spec.kind == "path":
            local = Path(spec.value)
        else:
            local = store().get_file(spec.value, tmp / Path(spec.value).name)
        size = local.stat().st_size
        if size > settings().max_source_bytes:
            raise SourceError(
                f"{spec.name} is {size / 1e9:.1f} GB, over the {settings().max_source_bytes / 1e9:.1f} GB limit "
                "(NEWSROOM_MAX_SOURCE_BYTES): trim it or raise the limit"
            )
        info = media.probe(local)
        digest = sha256_file(local)
        story_id = story_id_from_sha256(digest)
        suffix = Path(spec.name).suffix.lower()
        key = story_key(story_id, "source", f"original{suffix if suffix in MEDIA_SUFFIXES else '.bin'}")
        already = store().exists(manifest_key(story_id))
        audio = _speech_audio(local, info, story_id, digest, tmp)  # before anything is stored
        if store().exists(key) and store().stat(key).metadata.get("sha256") == digest:
            log.info("source already stored as %s", key)
            asset = None
        else:
            asset = upload(local, key, step="store-source", metadata={"filename": spec.name[:200]})
        if isinstance(audio, Path):
            audio = upload(audio, story_key(story_id, "ingest", ASR_AUDIO), step="extract-audio",
                           metadata={"source-sha256": digest})
    if asset is not None:
        record_assets(store(), story_id, "source", [asset],
                      info={"filename": spec.name, "sha256": digest, "duration_s": info.duration_s,
                            "format": info.format_name})
    if audio is not None:
        record_assets(store(), story_id, "ingest", [audio])
    log.info("story %s: %s (%.1fs, video=%s, audio=%s)", story_id, spec.name, info.duration_s,
             info.has_video, info.has_audio)
    return SourceRef(story_id, key, digest, spec.name, info, already, audio.key if audio is not None else None)


def _speech_audio(local: Path, info: MediaInfo, story_id: str, digest: str, tmp: Path) -> Path | Asset | None:
    """The speech WAV to upload (a Path), the one an earlier run stored from the same bytes (its Asset),
    or None for a source without audio."""
    if not info.has_audio:
        return None
    key = story_key(story_id, "ingest", ASR_AUDIO)
    if store().exists(key):
        stored = store().stat(key)
        if stored.metadata.get("source-sha256") == digest and stored.metadata.get("sha256"):
            return Asset(key=key, sha256=stored.metadata["sha256"], bytes=stored.size_bytes,
                         media_type=guess_content_type(key), step="extract-audio")
    return media.extract_audio(local, tmp / ASR_AUDIO, info)


@task(name="normalise-media", retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
      retry_condition_fn=retry_on_transient, cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def normalise_media(story_id: str, source_key: str) -> NormalisedMedia:
    """Mezzanine (H.264/AAC, CFR; conforming streams copied) and a 360p proxy."""
    with scratch_dir() as tmp:
        src = store().get_file(source_key, tmp / Path(source_key).name)
        info = media.probe(src)
        progress = ProgressArtifact(f"Normalising {Path(source_key).name}")
        mezz_name = MEZZANINE if info.has_video else MEZZANINE_AUDIO_ONLY
        mezz = media.normalise(src, tmp / mezz_name, info, progress=lambda f: progress(0.7 * f))
        proxy = media.make_proxy(src, tmp / PROXY, info, progress=lambda f: progress(0.7 + 0.3 * f))
        progress(1.0)
        assets = [upload(path, story_key(story_id, "ingest", path.name), step=step)
                  for path, step in ((mezz, "normalise"), (proxy, "proxy"))]
    record_assets(store(), story_id, "ingest", assets,
                  info={"media": {"duration_s": info.duration_s, "has_video": info.has_video,
                                  "has_audio": info.has_audio, "fps": media.target_fps(info) if info.has_video else None,
                                  "width": info.video.width if info.video else None,
                                  "height": info.video.height if info.video else None,
                                  "variable_frame_rate": info.is_variable_frame_rate,
                                  "video_copied": media.copyable_video(info)}})
    return NormalisedMedia(story_key(story_id, "ingest", mezz_name), story_key(story_id, "ingest", PROXY))


@cache
def _transcriber(model: str, threads: int, beam_size: int) -> Transcriber:
    """Load once per worker process, call many times."""
    return Transcriber.load(model, settings(), beam_size=beam_size)


@task(name="transcribe", retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
      retry_condition_fn=retry_on_transient, cache_policy=RESUMABLE, timeout_seconds=4 * 3600,
      tags=[HEAVY_TAG])
def transcribe(story_id: str, audio_key: str | None, language: str = "auto", model: str = "base") -> str:
    """Speech-to-text with word timestamps -> transcript.json (the contract) + transcript.txt."""
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
            wav = store().get_file(audio_key, tmp / ASR_AUDIO)
            engine = _transcriber(model, settings().threads, settings().asr_beam_size)
            progress = ProgressArtifact(f"Transcribing with {model_id}")
            transcript = engine.transcribe(wav, language, allowed_languages=tuple(settings().languages),
                                           progress=progress)
            if transcript.is_empty:
                note = "no speech was found in the audio: the transcript is empty"
        json_path = tmp / TRANSCRIPT_JSON
        json_path.write_text(transcript.to_json(), "utf-8")
        txt_path = tmp / TRANSCRIPT_TXT
        txt_path.write_text(transcript.to_text(), "utf-8")
        assets = [
            upload(json_path, story_key(story_id, "ingest", TRANSCRIPT_JSON), step="transcribe", model=ref),
            upload(txt_path, story_key(story_id, "ingest", TRANSCRIPT_TXT), step="transcribe", model=ref),
        ]
    record_assets(store(), story_id, "ingest", assets,
                  info={"language": transcript.language, "asr_model": transcript.model,
                        "segments": len(transcript.segments), "note": note})
    return story_key(story_id, "ingest", TRANSCRIPT_JSON)


@task(name="publish-manifest", retries=TRANSIENT_RETRIES, retry_delay_seconds=RETRY_DELAYS_S,
      retry_condition_fn=retry_on_transient, cache_policy=NO_CACHE)
def publish_manifest(story_id: str) -> str:
    """Write the story's manifest.json last, after every asset it lists."""
    write_manifest(store(), story_id)
    return manifest_key(story_id)


@task(name="discard-story", cache_policy=NO_CACHE)
def discard_story(story_id: str) -> int:
    """Remove everything a failed first ingest wrote, so no partial story is left behind."""
    removed = delete_prefix(store(), story_prefix(story_id))
    log.warning("removed %d partial objects of story %s", removed, story_id)
    return removed

