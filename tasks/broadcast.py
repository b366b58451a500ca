"""Broadcast-stage tasks: the news draft, the anchor's voice and face, the mastered segment."""

from __future__ import annotations

import json
import logging
import shutil
from functools import cache
from pathlib import Path

from newsroom import media
from newsroom.audio import loudness
from newsroom.broadcast import segment
from newsroom.layout import BROADCAST, StoryLayout
from newsroom.llm import Draft
from newsroom.models.registry import MODELS
from newsroom.results import BroadcastSegment, Cut, LoudnessReport, SpeechRef, SubtitleReport
from newsroom.types import ModelRef, Speech, Transcript
from newsroom.video.highlight import EditDecision
from tasks.common import (
    RESUMABLE,
    Output,
    ProgressArtifact,
    retrying_task,
    scratch_dir,
    settings,
    store,
    store_outputs,
    story_terms,
)

log = logging.getLogger("newsroom.tasks.broadcast")
STAGE = BROADCAST
LLM_TAG = "newsroom-llm"
ANCHOR_TAG = "newsroom-anchor"


@cache
def _backend():
    from newsroom.llm import load_backend

    return load_backend(settings())


@retrying_task(name="write-draft", cache_policy=RESUMABLE, timeout_seconds=3600, tags=[LLM_TAG])
def write_draft(story_id: str, transcript: Transcript) -> Draft:
    """draft.json + draft.md from the transcript (quotes verified against it)."""
    from newsroom.llm import write_draft as draft_story

    # Words Whisper was unsure of that the draft repeats join the editor's checks, with their times; the
    # story's glossary terms (written as the glossary writes them) are spared.
    draft = draft_story(transcript, _backend(), seed=settings().llm_seed,
                        known_terms=story_terms(story_id, transcript.language))
    model_id = settings().llm_model if settings().llm_backend in ("llama-cpp", "transformers") else None
    ref = ModelRef(model_id, MODELS[model_id].version) if model_id in MODELS else None
    layout = StoryLayout(story_id)
    with scratch_dir() as tmp:
        json_path, md_path = tmp / StoryLayout.draft_json.name, tmp / StoryLayout.draft_md.name
        json_path.write_text(json.dumps(draft.to_dict(), indent=2, ensure_ascii=False), "utf-8")
        md_path.write_text(draft.to_markdown(), "utf-8")
        # The editor's checks (dropped quotes with the reason, unsupported numbers and names, missed lengths)
        # are not part of draft.json: the manifest carries them for editors and the CMS.
        store_outputs(story_id, STAGE, Output(json_path, layout.draft_json, "draft", ref),
                      Output(md_path, layout.draft_md, "draft", ref), info={
                          "draft": {"key": layout.draft_json, "headline": draft.headline, "quotes": len(draft.quotes),
                                    "dropped_quotes": len(draft.dropped_quotes), "warnings": list(draft.warnings),
                                    "model": draft.model}})
    return draft


@cache
def _voice(language: str):
    from newsroom.tts import load_voice

    return load_voice(language, settings())


@retrying_task(name="speak-anchor-script", cache_policy=RESUMABLE, timeout_seconds=3600)
def speak(story_id: str, draft: Draft) -> SpeechRef:
    """anchor.wav (+ timings JSON) for the draft's anchor script."""
    voice = _voice(draft.language)
    layout = StoryLayout(story_id)
    with scratch_dir() as tmp:
        speech = voice.synthesize(draft.anchor_script, tmp / StoryLayout.anchor_wav.name)
        timings = tmp / StoryLayout.anchor_speech.name
        timings.write_text(json.dumps(speech.to_dict(), ensure_ascii=False), "utf-8")
        registry_id = getattr(voice, "model_id", None)
        ref = ModelRef(registry_id, MODELS[registry_id].version) if registry_id in MODELS else None
        store_outputs(story_id, STAGE, Output(Path(speech.path), layout.anchor_wav, "tts", ref),
                      Output(timings, layout.anchor_speech, "tts", ref),
                      info={"voice": {"engine": speech.engine, "duration_s": speech.duration_s}})
    return SpeechRef(layout.anchor_wav, layout.anchor_speech)


def _load_speech(ref: SpeechRef, folder: Path) -> Speech:
    wav = store().get_file(ref.wav_key, folder / StoryLayout.anchor_wav.name)
    return Speech.from_dict(store().get_json(ref.timings_key), wav)


@retrying_task(name="render-anchor", cache_policy=RESUMABLE, timeout_seconds=4 * 3600, tags=[ANCHOR_TAG])
def render_anchor(story_id: str, speech: SpeechRef, portrait_key: str | None = None) -> str:
    """The lip-synced anchor video (default portrait unless the editor gave one)."""
    from newsroom.anchor import presenter_renderer

    with scratch_dir() as tmp:
        portrait = store().get_file(portrait_key, tmp / Path(portrait_key).name) if portrait_key else None
        renderer = presenter_renderer(portrait, workers=settings().anchor_workers)
        video = renderer.render(_load_speech(speech, tmp), tmp / StoryLayout.anchor_mp4.name,
                                progress=ProgressArtifact("Rendering the anchor"))
        stored = store_outputs(story_id, STAGE, Output(Path(video.path), StoryLayout(story_id).anchor_mp4, "anchor"),
                               info={"anchor": {"portrait": portrait_key or "default"}})
    return stored[0].key


@retrying_task(name="assemble-segment", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def assemble(story_id: str, anchor_key: str, speech: SpeechRef, cut: Cut, draft: Draft,
             loudness_profile: str) -> BroadcastSegment:
    """Anchor intro + highlight + lower thirds + subtitles (soft and burned), mastered to the profile."""
    from newsroom import subtitles

    target = loudness.profile(loudness_profile)
    layout = StoryLayout(story_id)
    with scratch_dir() as tmp:
        anchor = store().get_file(anchor_key, tmp / "anchor.mp4")
        story = store().get_file(cut.video_key, tmp / "story.mp4")
        spoken = _load_speech(speech, tmp)
        anchor_s = media.probe(anchor).duration_s
        thirds = [segment.LowerThird(draft.headline, 0.3, min(anchor_s, segment.HEADLINE_SHOW_S), "headline")]
        thirds += _name_thirds(draft, cut.decision, offset_s=anchor_s)
        # Subtitles on the segment's timeline: the anchor's words, then the story's; no cue spans the cut from
        # the anchor to the story, and cues keep clear of the story's own shot changes.
        lines = segment.speech_transcript(spoken)
        if cut.transcript is not None:
            lines = segment.join_transcripts(lines, cut.transcript, offset_s=anchor_s)
        fps = float(segment.SEGMENT_FPS)
        timing = {"boundaries_s": (anchor_s,),
                  "shot_changes_s": tuple(anchor_s + t for t in cut.decision.shot_changes_s(cut.scenes))}
        cues = subtitles.build_cues(lines, fps=fps, **timing)
        report = SubtitleReport.from_dict(subtitles.summary(subtitles.validate_cues(cues, lines, fps=fps, **timing)))
        srt = tmp / StoryLayout.broadcast_srt.name
        srt.write_text(subtitles.write_subtitles(cues, "srt", draft.language), "utf-8")
        final, final_burned = tmp / StoryLayout.broadcast.name, tmp / StoryLayout.broadcast_burned.name
        # One pass renders both variants: soft subtitle track and burned in, mastered to the profile.
        rendered = segment.assemble_segment(
            anchor, story, final, lower_thirds=thirds, language=draft.language, subtitles=srt if cues else None,
            burned=final_burned if cues else None, master_to=target,
            progress=ProgressArtifact("Assembling the broadcast segment"))
        if not cues:
            shutil.copyfile(final, final_burned)
        measured = rendered.loudness
        assert measured is not None  # master_to was given
        checked = LoudnessReport(target.name, target.integrated_lufs, measured.integrated_lufs,
                                 measured.true_peak_dbtp, measured.lra_lu, measured.meets(target))
        store_outputs(story_id, STAGE, Output(final, layout.broadcast, "master"),
                      Output(final_burned, layout.broadcast_burned, "master"),
                      Output(srt, layout.broadcast_srt, "subtitles"),
                      info={"loudness": checked.to_dict(), "subtitles": report.to_dict()})
    return BroadcastSegment(layout.broadcast, layout.broadcast_burned, layout.broadcast_srt, checked, report)


def _name_thirds(draft: Draft, decision: EditDecision, *, offset_s: float) -> list[segment.LowerThird]:
    """Speaker names when their quote is on screen: quote times mapped through the edit decision."""
    thirds = []
    for quote in draft.quotes:
        if not quote.speaker:
            continue
        elapsed = 0.0
        for r in decision.ranges:
            start, end = r.start_s(decision.fps), r.end_s(decision.fps)
            if start <= quote.start_s < end:
                at = offset_s + elapsed + quote.start_s - start
                thirds.append(segment.LowerThird(quote.speaker, at, at + segment.NAME_SHOW_S, "name"))
                break
            elapsed += end - start
    return thirds
