"""Edit-stage tasks: scenes, restoration, chunked upscaling, highlight edit, subtitles, covers, vertical."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from functools import cache
from pathlib import Path

from prefect.cache_policies import NO_CACHE

from newsroom import lang, media
from newsroom.layout import EDIT, StoryLayout
from newsroom.llm import Draft
from newsroom.models.registry import MODELS
from newsroom.results import Covers, Highlight, SubtitleReport, Subtitles, TranslatedSubtitles
from newsroom.types import ModelRef, Transcript
from newsroom.video import highlight, restore, scenes, timeline, upscale, vertical
from tasks.broadcast import LLM_TAG
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

log = logging.getLogger("newsroom.tasks.edit")
STAGE = EDIT
UPSCALE_TAG = "newsroom-upscale"


@retrying_task(name="detect-scenes", cache_policy=RESUMABLE)
def detect_scenes(story_id: str, video_key: str) -> scenes.SceneList:
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        found = scenes.detect_scenes(video, progress=ProgressArtifact("Detecting scene cuts"))
        path = tmp / StoryLayout.scenes.name
        path.write_text(json.dumps(found.to_dict(), indent=2))
        store_outputs(story_id, STAGE, Output(path, StoryLayout(story_id).scenes, "detect-scenes"),
                      info={"cuts": len(found.cuts_s)})
    return found


@retrying_task(name="restore-video", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def restore_video(story_id: str, video_key: str, preset: str = "auto") -> str:
    """Restored video key (the input key itself when nothing needs doing)."""
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        plan = restore.plan_restoration(video, preset)
        info_record = {"restore": {"preset": plan.preset, "reason": plan.reason, "filters": list(plan.filters),
                                   "noise_sigma": plan.noise_sigma, "stabilize": plan.stabilize,
                                   "shake_px": plan.shake_px}}
        if plan.is_noop:
            store_outputs(story_id, STAGE, info=info_record)
            return video_key
        out = restore.restore(video, tmp / StoryLayout.restored.name, plan,
                              progress=ProgressArtifact(f"Restoring ({plan.preset})"))
        restored = store_outputs(story_id, STAGE, Output(out, StoryLayout(story_id).restored, "restore"),
                                 info=info_record)
    return restored[0].key


@retrying_task(name="plan-upscale", cache_policy=NO_CACHE)
def plan_upscale(video_key: str, cut_frames: list[int], chunk_s: float = upscale.DEFAULT_CHUNK_S) -> list[upscale.Chunk]:
    with scratch_dir() as tmp:
        info = media.probe(store().get_file(video_key, tmp / "video.mp4"))
    fps = info.video.avg_fps or info.video.fps or 25.0
    return upscale.plan_chunks(upscale.frame_count(info), fps, chunk_s=chunk_s, cut_frames=cut_frames)


@cache
def _upscaler(method: str, scale: int) -> upscale.FrameUpscaler:
    return upscale.FrameUpscaler.load(method, scale, settings=settings())


@retrying_task(name="upscale-chunk", cache_policy=RESUMABLE, timeout_seconds=6 * 3600, tags=[UPSCALE_TAG])
def upscale_chunk(story_id: str, video_key: str, chunk: upscale.Chunk, scale: int, method: str) -> str:
    """One chunk: decode -> upscale -> encode -> store. Independent, so any worker can take it."""
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        info = media.probe(video)
        engine = _upscaler(method, scale) if method == "esrgan" else None
        out = upscale.upscale_chunk(video, tmp / f"chunk-{chunk.index:04d}.mp4", chunk, scale=scale, method=method,
                                    info=info, upscaler=engine)
        key = StoryLayout(story_id).upscale_chunk(chunk.index)
        store().put_file(key, out)  # scratch shared between workers, not an output: join-upscaled removes it
    return key


@retrying_task(name="join-upscaled", cache_policy=RESUMABLE)
def join_upscaled(story_id: str, chunk_keys: list[str], audio_key: str, method: str, scale: int) -> str:
    """Join the chunks with the audio and record the result, naming the chunks it used up: the flow deletes
    them only after this task's result is recorded (`remove_objects`), so a retry or a re-run never finds its
    inputs gone (the resume cache counts a consumed chunk with the etag recorded here)."""
    with scratch_dir() as tmp:
        consumed = {k: store().stat(k).etag or "?" for k in chunk_keys}
        paths = [store().get_file(k, tmp / Path(k).name) for k in chunk_keys]
        audio = store().get_file(audio_key, tmp / "audio-source.mp4")
        out = upscale.concat_chunks(paths, tmp / StoryLayout.upscaled.name, audio_src=audio)
        model = ModelRef("realesrgan-animevideov3", MODELS["realesrgan-animevideov3"].version) if method == "esrgan" else None
        joined = store_outputs(story_id, STAGE,
                               Output(out, StoryLayout(story_id).upscaled, f"upscale-{method}-x{scale}", model),
                               info={"upscale": {"method": method, "scale": scale, "chunks": len(chunk_keys)}},
                               consumed=consumed)
    return joined[0].key


@retrying_task(name="highlight-edit", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def highlight_edit(story_id: str, video_key: str, transcript: Transcript | None, found: scenes.SceneList,
                   target_s: float, headline: str | None = None, sentence_ids: list[int] | None = None,
                   time_ranges: list[tuple[float, float]] | None = None) -> Highlight:
    """Choose, render and export the highlight: edit-clean.mp4, .otio, .edl, decision and retimed transcript."""
    layout = StoryLayout(story_id)
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        decision = highlight.plan_highlight(transcript, found, target_s=target_s, headline=headline,
                                            sentence_ids=sentence_ids, time_ranges=time_ranges)
        info = media.probe(video)
        clean = highlight.render_edit(video, tmp / StoryLayout.edit_clean.name, decision, info=info,
                                      progress=ProgressArtifact("Rendering the highlight edit"))
        tl = timeline.to_timeline(decision, f"{Path(video_key).name}", media_duration_s=info.duration_s,
                                  has_audio=info.has_audio)
        otio_path = timeline.write_otio(tl, tmp / StoryLayout.otio.name)
        edl_path = timeline.write_edl(tl, tmp / StoryLayout.edl.name)
        decision_path = tmp / StoryLayout.edit_decision.name
        decision_path.write_text(json.dumps(decision.to_dict(), indent=2))
        outputs = [Output(clean, layout.edit_clean, "highlight-render"),
                   Output(otio_path, layout.otio, "highlight-export"), Output(edl_path, layout.edl, "highlight-export"),
                   Output(decision_path, layout.edit_decision, "highlight-plan")]
        retimed = None
        if transcript is not None and not transcript.is_empty:
            retimed = highlight.retime_transcript(transcript, decision)
            retimed_path = tmp / StoryLayout.edit_transcript.name
            retimed_path.write_text(retimed.to_json())
            outputs.append(Output(retimed_path, layout.edit_transcript, "highlight-retime"))
        store_outputs(story_id, STAGE, *outputs, info={"highlight": {"note": decision.note,
                                                                     "duration_s": decision.duration_s}})
    return Highlight(layout.edit_clean, decision, retimed)


@retrying_task(name="make-subtitles", cache_policy=RESUMABLE)
def make_subtitles(story_id: str, transcript: Transcript, fps: float,
                   shot_changes_s: tuple[float, ...] = ()) -> Subtitles:
    """SRT, WebVTT and EBU-TT-D from the edit's transcript, timed around the edit's shot changes, plus the
    validation report."""
    from newsroom import subtitles
    from newsroom.asr.confidence import low_confidence

    layout = StoryLayout(story_id)
    cues = subtitles.build_cues(transcript, fps=fps, shot_changes_s=shot_changes_s)
    violations = subtitles.validate_cues(cues, transcript, fps=fps, shot_changes_s=shot_changes_s)
    summary = subtitles.summary(violations)
    unsure = low_confidence(transcript, known=story_terms(story_id, transcript.language))  # times in the edit
    report = SubtitleReport.from_dict({**summary, "cues": len(cues),
                                       "possible_mishearings": [flag.describe() for flag in unsure]})
    with scratch_dir() as tmp:
        outputs = []
        for fmt, file in StoryLayout.SUBTITLES.items():
            path = tmp / file.name
            path.write_text(subtitles.write_subtitles(cues, fmt, transcript.language), "utf-8")
            outputs.append(Output(path, layout.key(file), "subtitles"))
        report_path = tmp / StoryLayout.subtitles_report.name
        report_path.write_text(json.dumps({**summary, "cues": len(cues), "violations": [asdict(v) for v in violations],
                                           "possible_mishearings": [flag.to_dict() for flag in unsure]},
                                          indent=2, ensure_ascii=False))
        outputs.append(Output(report_path, layout.subtitles_report, "subtitles-validate"))
        store_outputs(story_id, STAGE, *outputs, info={"subtitles": report.to_dict()})
    return Subtitles(layout.subtitles_srt, layout.subtitles_vtt, layout.subtitles_ttml, layout.subtitles_report, report)


@retrying_task(name="translate-subtitles", cache_policy=RESUMABLE, timeout_seconds=3600, tags=[LLM_TAG])
def translate_subtitles(story_id: str, transcript: Transcript, fps: float, shot_changes_s: tuple[float, ...],
                        language: str, stage: str = STAGE) -> TranslatedSubtitles:
    """The stage's cues (the edit's by default; an article's or a bulletin's read) translated into `language` by
    the draft model, cue by cue, timed on the source cues: subtitles.<language>.srt/.vtt/.ttml beside the stage's
    own subtitles, both languages' cues (for the burned bilingual version) and the report. `transcript`, `fps`
    and `shot_changes_s` must be those the stage's own subtitles were built from."""
    from newsroom import subtitles
    from newsroom.subtitles.bilingual import translated_track, write_track
    from newsroom.subtitles.translate import translate_cues
    from tasks.broadcast import _backend

    layout = StoryLayout(story_id)
    cues_file, report_file = StoryLayout.TRANSLATION_FILES[stage]
    cues = subtitles.build_cues(transcript, fps=fps, shot_changes_s=shot_changes_s)
    translation = translate_cues(cues, transcript.language, language, _backend(), seed=settings().llm_seed)
    track = translated_track(cues, translation, fps, shot_changes_s=shot_changes_s, duration_s=transcript.duration_s)
    report = track.report()
    keys = {fmt: layout.translated_subtitles(track.language, fmt, stage) for fmt in StoryLayout.SUBTITLES}
    with scratch_dir() as tmp:
        outputs = []
        for fmt, key in keys.items():
            path = tmp / key.rsplit("/", 1)[-1]
            path.write_text(write_track(track.cues, fmt, track.language), "utf-8")
            outputs.append(Output(path, key, "translate-subtitles"))
        both = tmp / cues_file.name
        both.write_text(json.dumps({"source_language": transcript.language, "language": track.language,
                                    "source": [asdict(c) for c in cues], "translation": [asdict(c) for c in track.cues]},
                                   ensure_ascii=False, indent=1), "utf-8")
        report_path = tmp / report_file.name
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
        outputs += [Output(both, layout.key(cues_file), "translate-subtitles"),
                    Output(report_path, layout.key(report_file), "translate-subtitles")]
        store_outputs(story_id, stage, *outputs, info={"translated_subtitles": {
            k: report[k] for k in ("language", "model", "cues", "source_cues", "ok", "held", "flags", "by_rule")
            if k in report}})
    return TranslatedSubtitles(track.language, keys["srt"], keys["vtt"], keys["ttml"], layout.key(cues_file),
                               layout.key(report_file), len(report["held"]))


def _cues(data: list[dict]) -> list:
    from newsroom.subtitles import Cue

    return [Cue(int(c["index"]), float(c["start_s"]), float(c["end_s"]), tuple(c["lines"])) for c in data]


@retrying_task(name="finish-edit-video", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def finish_edit_video(story_id: str, clean_key: str, srt_key: str | None, language: str, burn: bool,
                      translated: TranslatedSubtitles | None = None) -> list[str]:
    """edit.mp4 (soft mov_text subtitles; a second track in the translation's language when there is one),
    edit-burned.mp4 (burned in) and edit-bilingual.mp4 (both languages burned in); the clean edit when no speech."""
    from newsroom import subtitles
    from newsroom.subtitles.bilingual import burn_bilingual, mux_subtitle_tracks

    with scratch_dir() as tmp:
        clean = store().get_file(clean_key, tmp / "edit-clean.mp4")
        layout = StoryLayout(story_id)
        if srt_key is None:
            outputs = [Output(clean.rename(tmp / StoryLayout.edit.name), layout.edit, "subtitle-video")]
        else:
            srt = store().get_file(srt_key, tmp / "subtitles.srt")
            if translated is None:
                soft = subtitles.mux_soft_subtitles(clean, srt, tmp / StoryLayout.edit.name, language)
            else:
                second = store().get_file(translated.srt_key, tmp / f"subtitles.{translated.language}.srt")
                soft = mux_subtitle_tracks(clean, [(srt, language), (second, translated.language)],
                                           tmp / StoryLayout.edit.name)
            outputs = [Output(soft, layout.edit, "subtitle-video")]
            if burn:
                burned = subtitles.burn_subtitles(clean, srt, tmp / StoryLayout.edit_burned.name, language)
                outputs.append(Output(burned, layout.edit_burned, "subtitle-video"))
            if burn and translated is not None:
                both = json.loads(store().get_file(translated.cues_key, tmp / "bilingual.json").read_text("utf-8"))
                bilingual = burn_bilingual(clean, _cues(both["source"]), language, _cues(both["translation"]),
                                           translated.language, tmp / StoryLayout.edit_bilingual.name)
                outputs.append(Output(bilingual, layout.edit_bilingual, "subtitle-video"))
        assets = store_outputs(story_id, STAGE, *outputs)
    return [a.key for a in assets]


@retrying_task(name="vertical-version", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def vertical_version(story_id: str, clean_key: str, srt_key: str | None, language: str) -> str:
    """9:16 edit: bars removed, the subject followed shot by shot (blurred fill where it cannot be kept),
    subtitles burned inside the safe zone, in one encode."""
    with scratch_dir() as tmp:
        clean = store().get_file(clean_key, tmp / "edit-clean.mp4")
        srt = store().get_file(srt_key, tmp / "subtitles.srt") if srt_key is not None else None
        info = media.probe(clean)
        plan = vertical.plan_vertical(clean, info=info)
        out = vertical.make_vertical(clean, tmp / StoryLayout.edit_vertical.name, plan=plan, info=info,
                                     subtitles=srt, language=language,
                                     progress=ProgressArtifact("Rendering the vertical version"))
        stored = store_outputs(story_id, STAGE, Output(out, StoryLayout(story_id).edit_vertical, "vertical"),
                               info={"vertical": plan.to_dict()})
    return stored[0].key


COVER_SUPERRES_MAX_SIDE_PX = 240  # x4plus is ~40x slower than the video model: only for really small sources


@retrying_task(name="make-covers", cache_policy=RESUMABLE)
def make_covers(story_id: str, video_key: str, headline: str, language: str, found: scenes.SceneList,
                transcript: Transcript | None = None, draft: Draft | None = None) -> Covers:
    """Covers in three sizes; small sources go through Real-ESRGAN x4plus first (settings.cover_superres). With
    the `transcript` (and the `draft`: its lede and verified quotes) the picture comes from where the story is
    told (newsroom.covers.story)."""
    from newsroom import covers

    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        info = media.probe(video)
        small = min(info.video.width, info.video.height) <= COVER_SUPERRES_MAX_SIDE_PX
        mode = settings().cover_superres
        upscaler = model = None
        if mode == "always" or (mode == "auto" and small):
            upscaler = upscale.FrameUpscaler.load("esrgan", 4, still=True, settings=settings())
            model = ModelRef("realesrgan-x4plus", MODELS["realesrgan-x4plus"].version)
        spans = covers.story_spans(transcript, headline=headline, lede=draft.lede if draft else "",
                                   quotes=draft.quotes if draft else ())
        paths = covers.make_covers(video, headline, tmp / "covers", language=language, scenes=found, upscaler=upscaler,
                                   spans=spans)
        layout = StoryLayout(story_id)
        assets = store_outputs(story_id, STAGE, *(Output(path, layout.cover(aspect), "cover", model)
                                                  for aspect, path in paths.items()),
                               info={"cover_headline": headline, "cover_superres": model is not None})
    return Covers(tuple(a.key for a in assets), headline, model is not None)


@retrying_task(name="pick-headline", cache_policy=NO_CACHE)
def pick_headline(transcript: Transcript | None) -> tuple[str, str]:
    """Until a draft exists: the first sentence of the transcript (shortened) and the language."""
    if transcript is None:
        return "", "en"
    sentences = highlight.split_sentences(transcript)
    if not sentences:
        return "", transcript.language
    return lang.profile(transcript.language).stand_in_headline(sentences[0].text), transcript.language

