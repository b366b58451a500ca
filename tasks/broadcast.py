"""Broadcast-stage tasks: the news draft, the anchor's voice and face, the mastered segment."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from prefect.cache_policies import NO_CACHE

from newsroom import media
from newsroom.audio import loudness
from newsroom.broadcast import segment
from newsroom.manifest import record_assets
from newsroom.models.registry import MODELS
from newsroom.storage import story_key
from newsroom.types import ModelRef, PhonemeTiming, Speech, Transcript, WordTiming
from tasks.common import (
    RESUMABLE,
    ProgressArtifact,
    retrying_task,
    scratch_dir,
    settings,
    store,
    upload,
)

log = logging.getLogger("newsroom.tasks.broadcast")
STAGE = "broadcast"
LLM_TAG = "newsroom-llm"
ANCHOR_TAG = "newsroom-anchor"


_retrying = retrying_task


@cache
def _backend():
    from newsroom.llm import load_backend

    return load_backend(settings())


@_retrying(name="write-draft", cache_policy=RESUMABLE, timeout_seconds=3600, tags=[LLM_TAG])
def write_draft(story_id: str, transcript_key: str) -> str:
    """draft.json + draft.md from the transcript (quotes verified against it)."""
    from newsroom.llm import write_draft as draft_story

    transcript = Transcript.from_dict(store().get_json(transcript_key))
    draft = draft_story(transcript, _backend(), seed=settings().llm_seed)
    model_id = settings().llm_model if settings().llm_backend in ("llama-cpp", "transformers") else None
    ref = ModelRef(model_id, MODELS[model_id].version) if model_id in MODELS else None
    with scratch_dir() as tmp:
        json_path, md_path = tmp / "draft.json", tmp / "draft.md"
        json_path.write_text(json.dumps(draft.to_dict(), indent=2, ensure_ascii=False), "utf-8")
        md_path.write_text(draft.to_markdown(), "utf-8")
        assets = [upload(p, story_key(story_id, STAGE, p.name), step="draft", model=ref) for p in (json_path, md_path)]
    # The editor's checks (dropped quotes with the reason, unsupported numbers and names, missed lengths)
    # are not part of draft.json: the manifest carries them for editors and the CMS.
    record_assets(store(), story_id, STAGE, assets, info={
        "draft": {"key": assets[0].key, "headline": draft.headline, "quotes": len(draft.quotes),
                  "dropped_quotes": len(draft.dropped_quotes), "warnings": list(draft.warnings),
                  "model": draft.model}})
    return assets[0].key


def speech_to_dict(speech: Speech) -> dict:
    data = asdict(speech)
    data.pop("path")
    return data


def speech_from_dict(data: dict, path: Path) -> Speech:
    return Speech(
        path=str(path), sample_rate_hz=data["sample_rate_hz"], duration_s=data["duration_s"],
        language=data["language"], engine=data["engine"], text=data["text"],
        phonemes=tuple(PhonemeTiming(**p) for p in data.get("phonemes", ())),
        words=tuple(WordTiming(**w) for w in data.get("words", ())),
    )


@dataclass(frozen=True, slots=True)
class SpeechRef:
    wav_key: str
    timings_key: str


@cache
def _voice(language: str):
    from newsroom.tts import load_voice

    return load_voice(language, settings())


@_retrying(name="speak-anchor-script", cache_policy=RESUMABLE, timeout_seconds=3600)
def speak(story_id: str, draft_key: str) -> SpeechRef:
    """anchor.wav (+ timings JSON) for the draft's anchor script."""
    draft = store().get_json(draft_key)
    voice = _voice(draft["language"])
    with scratch_dir() as tmp:
        speech = voice.synthesize(draft["anchor_script"], tmp / "anchor.wav")
        timings = tmp / "anchor-speech.json"
        timings.write_text(json.dumps(speech_to_dict(speech), ensure_ascii=False), "utf-8")
        registry_id = getattr(voice, "model_id", None)
        ref = ModelRef(registry_id, MODELS[registry_id].version) if registry_id in MODELS else None
        assets = [upload(Path(speech.path), story_key(story_id, STAGE, "anchor.wav"), step="tts", model=ref),
                  upload(timings, story_key(story_id, STAGE, timings.name), step="tts", model=ref)]
    record_assets(store(), story_id, STAGE, assets, info={"voice": {"engine": speech.engine,
                                                                     "duration_s": speech.duration_s}})
    return SpeechRef(assets[0].key, assets[1].key)


def _load_speech(ref: SpeechRef, folder: Path) -> Speech:
    wav = store().get_file(ref.wav_key, folder / "anchor.wav")
    return speech_from_dict(store().get_json(ref.timings_key), wav)


@_retrying(name="render-anchor", cache_policy=RESUMABLE, timeout_seconds=4 * 3600, tags=[ANCHOR_TAG])
def render_anchor(story_id: str, speech: SpeechRef, portrait_key: str | None = None) -> str:
    """The lip-synced anchor video (default portrait unless the editor gave one)."""
    from newsroom.anchor import LandmarkAnchorRenderer

    with scratch_dir() as tmp:
        portrait = store().get_file(portrait_key, tmp / Path(portrait_key).name) if portrait_key else None
        renderer = LandmarkAnchorRenderer.load(portrait, workers=settings().anchor_workers)
        video = renderer.render(_load_speech(speech, tmp), tmp / "anchor.mp4",
                                progress=ProgressArtifact("Rendering the anchor"))
        asset = upload(Path(video.path), story_key(story_id, STAGE, "anchor.mp4"), step="anchor")
    record_assets(store(), story_id, STAGE, [asset], info={"anchor": {"portrait": portrait_key or "default"}})
    return asset.key


@dataclass(frozen=True, slots=True)
class SegmentResult:
    keys: list[str]
    loudness: dict
    subtitles: dict


@_retrying(name="assemble-segment", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def assemble(story_id: str, anchor_key: str, speech: SpeechRef, story_video_key: str,
             story_transcript_key: str | None, draft_key: str, decision: dict, loudness_profile: str) -> SegmentResult:
    """Anchor intro + highlight + lower thirds + subtitles (soft and burned), mastered to the profile."""
    from newsroom import subtitles

    draft = store().get_json(draft_key)
    language = draft["language"]
    target = loudness.profile(loudness_profile)
    with scratch_dir() as tmp:
        anchor = store().get_file(anchor_key, tmp / "anchor.mp4")
        story = store().get_file(story_video_key, tmp / "story.mp4")
        spoken = _load_speech(speech, tmp)
        anchor_s = media.probe(anchor).duration_s
        thirds = [segment.LowerThird(draft["headline"], 0.3, min(anchor_s, segment.HEADLINE_SHOW_S), "headline")]
        thirds += _name_thirds(draft, decision, offset_s=anchor_s)
        # Subtitles on the segment's timeline: the anchor's words, then the story's.
        lines = segment.speech_transcript(spoken)
        if story_transcript_key:
            lines = segment.join_transcripts(lines, Transcript.from_dict(store().get_json(story_transcript_key)),
                                             offset_s=anchor_s)
        fps = float(segment.SEGMENT_FPS)
        cues = subtitles.build_cues(lines, fps=fps)
        report = subtitles.summary(subtitles.validate_cues(cues, lines, fps=fps))
        srt = tmp / "broadcast.srt"
        srt.write_text(subtitles.write_subtitles(cues, "srt", language), "utf-8")
        final, final_burned = tmp / "broadcast.mp4", tmp / "broadcast-burned.mp4"
        # One pass renders both variants: soft subtitle track and burned in, mastered to the profile.
        rendered = segment.assemble_segment(
            anchor, story, final, lower_thirds=thirds, language=language, subtitles=srt if cues else None,
            burned=final_burned if cues else None, master_to=target,
            progress=ProgressArtifact("Assembling the broadcast segment"))
        if not cues:
            shutil.copyfile(final, final_burned)
        measured = rendered.loudness
        assert measured is not None  # master_to was given
        outputs = [(final, "master"), (final_burned, "master"), (srt, "subtitles")]
        assets = [upload(p, story_key(story_id, STAGE, p.name), step=step) for p, step in outputs]
    result = {"profile": target.name, "target_lufs": target.integrated_lufs, "integrated_lufs": measured.integrated_lufs,
              "true_peak_dbtp": measured.true_peak_dbtp, "lra_lu": measured.lra_lu, "ok": measured.meets(target)}
    record_assets(store(), story_id, STAGE, assets, info={"loudness": result, "subtitles": report})
    return SegmentResult([a.key for a in assets], result, report)


def _name_thirds(draft: dict, decision: dict, *, offset_s: float) -> list[segment.LowerThird]:
    """Speaker names when their quote is on screen: quote times mapped through the edit decision."""
    thirds = []
    fps = decision["fps"]
    for quote in draft.get("quotes", []):
        if not quote.get("speaker"):
            continue
        elapsed = 0.0
        for r in decision["ranges"]:
            start, end = r["start_frame"] / fps, r["end_frame"] / fps
            if start <= quote["start_s"] < end:
                at = offset_s + elapsed + quote["start_s"] - start
                thirds.append(segment.LowerThird(quote["speaker"], at, at + segment.NAME_SHOW_S, "name"))
                break
            elapsed += end - start
    return thirds


@dataclass(frozen=True, slots=True)
class BroadcastInputs:
    language: str
    transcript_key: str
    story_video_key: str
    story_transcript_key: str | None
    decision: dict
    draft_key: str | None


@_retrying(name="load-broadcast-inputs", cache_policy=NO_CACHE)
def load_broadcast_inputs(story_id: str, language: str = "auto") -> BroadcastInputs:
    """What the broadcast works from: the transcript and the finished edit (run the edit first)."""
    from newsroom.errors import ConfigError
    from newsroom.manifest import read_manifest

    manifest = read_manifest(store(), story_id)
    keys = {a["key"] for a in manifest["assets"]}

    def key(stage: str, name: str) -> str | None:
        k = story_key(story_id, stage, name)
        return k if k in keys else None

    transcript_key = key("ingest", "transcript.json")
    decision_key = key("edit", "edit-decision.json")
    video_key = key("edit", "upscaled.mp4") or key("edit", "edit-clean.mp4")
    if not transcript_key or not decision_key or not video_key:
        raise ConfigError(f"story {story_id} has no finished edit: run the edit flow (newsroom edit {story_id}) first")
    spoken = store().get_json(transcript_key)["language"]
    if language not in ("auto", spoken):
        raise ConfigError(f"story {story_id} is in {spoken!r}; drafts are written in the transcript's language "
                          "(translation is not supported): use language='auto'")
    return BroadcastInputs(spoken, transcript_key, video_key, key("edit", "transcript-edit.json"),
                           store().get_json(decision_key), key(STAGE, "draft.json"))
