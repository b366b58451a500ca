"""Edit-stage tasks: scenes, restoration, chunked upscaling, highlight edit, subtitles, covers, vertical."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from prefect.cache_policies import NO_CACHE

from newsroom import lang, media
from newsroom.errors import MediaError
from newsroom.manifest import read_manifest, record_assets
from newsroom.models.registry import MODELS
from newsroom.storage import story_key
from newsroom.types import ModelRef, Transcript
from newsroom.video import highlight, restore, scenes, timeline, upscale, vertical
from tasks.common import (
    RESUMABLE,
    ProgressArtifact,
    retrying_task,
    scratch_dir,
    settings,
    store,
    upload,
)

log = logging.getLogger("newsroom.tasks.edit")
STAGE = "edit"
UPSCALE_TAG = "newsroom-upscale"
SUBTITLE_FORMATS = ("srt", "vtt", "ttml")


_retrying = retrying_task


@dataclass(frozen=True, slots=True)
class EditInputs:
    story_id: str
    video_key: str
    transcript_key: str | None
    has_audio: bool
    fps: float
    width: int
    height: int
    duration_s: float


@_retrying(name="load-story", cache_policy=NO_CACHE)
def load_story(story_id: str) -> EditInputs:
    """The ingested assets the edit works from (a clear error when the story cannot be edited)."""
    manifest = read_manifest(store(), story_id)
    keys = {a["key"] for a in manifest["assets"]}
    video_key = story_key(story_id, "ingest", "mezzanine.mp4")
    if video_key not in keys:
        raise MediaError(f"story {story_id} has no video (audio-only source): the edit stage needs pictures")
    transcript_key = story_key(story_id, "ingest", "transcript.json")
    info = manifest["stages"].get("ingest", {}).get("media", {})
    return EditInputs(
        story_id=story_id, video_key=video_key,
        transcript_key=transcript_key if transcript_key in keys else None,
        has_audio=bool(info.get("has_audio")), fps=float(info.get("fps") or 25.0),
        width=int(info.get("width") or 0), height=int(info.get("height") or 0),
        duration_s=float(info.get("duration_s") or 0.0),
    )


@_retrying(name="detect-scenes", cache_policy=RESUMABLE)
def detect_scenes(story_id: str, video_key: str) -> scenes.SceneList:
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        found = scenes.detect_scenes(video, progress=ProgressArtifact("Detecting scene cuts"))
        path = tmp / "scenes.json"
        path.write_text(json.dumps(found.to_dict(), indent=2))
        asset = upload(path, story_key(story_id, STAGE, "scenes.json"), step="detect-scenes")
    record_assets(store(), story_id, STAGE, [asset], info={"cuts": len(found.cuts_s)})
    return found


@_retrying(name="restore-video", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def restore_video(story_id: str, video_key: str, preset: str = "auto") -> str:
    """Restored video key (the input key itself when nothing needs doing)."""
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        plan = restore.plan_restoration(video, preset)
        info_record = {"restore": {"preset": plan.preset, "reason": plan.reason, "filters": list(plan.filters),
                                   "noise_sigma": plan.noise_sigma}}
        if plan.is_noop:
            record_assets(store(), story_id, STAGE, [], info=info_record)
            return video_key
        out = restore.restore(video, tmp / "restored.mp4", plan, progress=ProgressArtifact(f"Restoring ({plan.preset})"))
        asset = upload(out, story_key(story_id, STAGE, "restored.mp4"), step="restore")
    record_assets(store(), story_id, STAGE, [asset], info=info_record)
    return asset.key


@_retrying(name="plan-upscale", cache_policy=NO_CACHE)
def plan_upscale(video_key: str, cut_frames: list[int], chunk_s: float = upscale.DEFAULT_CHUNK_S) -> list[upscale.Chunk]:
    with scratch_dir() as tmp:
        info = media.probe(store().get_file(video_key, tmp / "video.mp4"))
    fps = info.video.avg_fps or info.video.fps or 25.0
    return upscale.plan_chunks(upscale.frame_count(info), fps, chunk_s=chunk_s, cut_frames=cut_frames)


@cache
def _upscaler(method: str, scale: int) -> upscale.FrameUpscaler:
    return upscale.FrameUpscaler.load(method, scale, settings=settings())


@_retrying(name="upscale-chunk", cache_policy=RESUMABLE, timeout_seconds=6 * 3600, tags=[UPSCALE_TAG])
def upscale_chunk(story_id: str, video_key: str, chunk: upscale.Chunk, scale: int, method: str) -> str:
    """One chunk: decode -> upscale -> encode -> store. Independent, so any worker can take it."""
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        info = media.probe(video)
        engine = _upscaler(method, scale) if method == "esrgan" else None
        out = upscale.upscale_chunk(video, tmp / f"chunk-{chunk.index:04d}.mp4", chunk, scale=scale, method=method,
                                    info=info, upscaler=engine)
        key = story_key(story_id, STAGE, f"upscale/chunk-{chunk.index:04d}.mp4")
        store().put_file(key, out)
    return key


@_retrying(name="join-upscaled", cache_policy=RESUMABLE)
def join_upscaled(story_id: str, chunk_keys: list[str], audio_key: str, method: str, scale: int) -> str:
    with scratch_dir() as tmp:
        paths = [store().get_file(k, tmp / Path(k).name) for k in chunk_keys]
        audio = store().get_file(audio_key, tmp / "audio-source.mp4")
        out = upscale.concat_chunks(paths, tmp / "upscaled.mp4", audio_src=audio)
        model = ModelRef("realesrgan-animevideov3", MODELS["realesrgan-animevideov3"].version) if method == "esrgan" else None
        asset = upload(out, story_key(story_id, STAGE, "upscaled.mp4"), step=f"upscale-{method}-x{scale}", model=model)
    for key in chunk_keys:  # the chunks were scratch space shared between workers
        store().delete(key)
    record_assets(store(), story_id, STAGE, [asset], info={"upscale": {"method": method, "scale": scale,
                                                                        "chunks": len(chunk_keys)}})
    return asset.key


@dataclass(frozen=True, slots=True)
class HighlightResult:
    video_key: str
    transcript_key: str | None
    decision: dict


@_retrying(name="highlight-edit", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def highlight_edit(story_id: str, video_key: str, transcript_key: str | None, found: scenes.SceneList,
                   target_s: float, headline: str | None = None, sentence_ids: list[int] | None = None,
                   time_ranges: list[tuple[float, float]] | None = None) -> HighlightResult:
    """Choose, render and export the highlight: edit-clean.mp4, .otio, .edl, decision and retimed transcript."""
    with scratch_dir() as tmp:
        video = store().get_file(video_key, tmp / "video.mp4")
        transcript = Transcript.from_dict(store().get_json(transcript_key)) if transcript_key else None
        decision = highlight.plan_highlight(transcript, found, target_s=target_s, headline=headline,
                                            sentence_ids=sentence_ids, time_ranges=time_ranges)
        info = media.probe(video)
        clean = highlight.render_edit(video, tmp / "edit-clean.mp4", decision, info=info,
                                      progress=ProgressArtifact("Rendering the highlight edit"))
        tl = timeline.to_timeline(decision, f"{Path(video_key).name}", media_duration_s=info.duration_s,
                                  has_audio=info.has_audio)
        otio_path = timeline.write_otio(tl, tmp / "highlight.otio")
        edl_path = timeline.write_edl(tl, tmp / "highlight.edl")
        decision_path = tmp / "edit-decision.json"
        decision_path.write_text(json.dumps(decision.to_dict(), indent=2))
        outputs = [(clean, "highlight-render"), (otio_path, "highlight-export"), (edl_path, "highlight-export"),
                   (decision_path, "highlight-plan")]
        retimed_key = None
        if transcript is not None and not transcript.is_empty:
            retimed = highlight.retime_transcript(transcript, decision)
            retimed_path = tmp / "transcript-edit.json"
            retimed_path.write_text(retimed.to_json())
            outputs.append((retimed_path, "highlight-retime"))
            retimed_key = story_key(story_id, STAGE, retimed_path.name)
        assets = [upload(p, story_key(story_id, STAGE, p.name), step=step) for p, step in outputs]
    record_assets(store(), story_id, STAGE, assets, info={"highlight": {"note": decision.note,
                                                                         "duration_s": decision.duration_s}})
    return HighlightResult(story_key(story_id, STAGE, "edit-clean.mp4"), retimed_key, decision.to_dict())


@dataclass(frozen=True, slots=True)
class SubtitleResult:
    keys: dict[str, str]
    summary: dict


@_retrying(name="make-subtitles", cache_policy=RESUMABLE)
def make_subtitles(story_id: str, transcript_key: str, fps: float) -> SubtitleResult:
    """SRT, WebVTT and EBU-TT-D from the edit's transcript, plus the validation report."""
    from newsroom import subtitles

    transcript = Transcript.from_dict(store().get_json(transcript_key))
    cues = subtitles.build_cues(transcript, fps=fps)
    violations = subtitles.validate_cues(cues, transcript, fps=fps)
    report = subtitles.summary(violations)
    with scratch_dir() as tmp:
        assets = []
        for fmt in SUBTITLE_FORMATS:
            path = tmp / f"subtitles.{fmt}"
            path.write_text(subtitles.write_subtitles(cues, fmt, transcript.language), "utf-8")
            assets.append(upload(path, story_key(story_id, STAGE, path.name), step="subtitles"))
        report_path = tmp / "subtitles-report.json"
        report_path.write_text(json.dumps({**report, "cues": len(cues), "violations": [asdict(v) for v in violations]},
                                          indent=2, ensure_ascii=False))
        assets.append(upload(report_path, story_key(story_id, STAGE, report_path.name), step="subtitles-validate"))
    record_assets(store(), story_id, STAGE, assets, info={"subtitles": {"cues": len(cues), **report}})
    return SubtitleResult({a.key.rsplit(".", 1)[-1]: a.key for a in assets[:3]}, {**report, "cues": len(cues)})


@_retrying(name="finish-edit-video", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def finish_edit_video(story_id: str, clean_key: str, srt_key: str | None, language: str, burn: bool) -> list[str]:
    """edit.mp4 (soft mov_text subtitles) and edit-burned.mp4 (burned in); the clean edit when no speech."""
    from newsroom import subtitles

    with scratch_dir() as tmp:
        clean = store().get_file(clean_key, tmp / "edit-clean.mp4")
        outputs = []
        if srt_key is None:
            outputs.append(clean.rename(tmp / "edit.mp4"))
        else:
            srt = store().get_file(srt_key, tmp / "subtitles.srt")
            outputs.append(subtitles.mux_soft_subtitles(clean, srt, tmp / "edit.mp4", language))
            if burn:
                outputs.append(subtitles.burn_subtitles(clean, srt, tmp / "edit-burned.mp4", language))
        assets = [upload(p, story_key(story_id, STAGE, p.name), step="subtitle-video") for p in outputs]
    record_assets(store(), story_id, STAGE, assets)
    return [a.key for a in assets]


def _focus_x(video: Path, info) -> float | None:
    """Where a face is (fraction of the width) in a frame from the middle of the video, if any."""
    from newsroom.media.frames import read_frame
    from newsroom.video.faces import FaceDetector

    w, h = info.video.width, info.video.height
    frame = read_frame(video, info.duration_s / 2, width=w, height=h)
    faces = FaceDetector.load().detect(frame)
    return (faces[0].x + faces[0].w / 2) / w if faces else None


@_retrying(name="vertical-version", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def vertical_version(story_id: str, clean_key: str, srt_key: str | None, language: str) -> str:
    """9:16 edit (face-aware crop, else blurred fill) with subtitles burned inside the safe zone, in one encode."""
    with scratch_dir() as tmp:
        clean = store().get_file(clean_key, tmp / "edit-clean.mp4")
        srt = store().get_file(srt_key, tmp / "subtitles.srt") if srt_key is not None else None
        info = media.probe(clean)
        out = vertical.make_vertical(clean, tmp / "edit-vertical.mp4", focus_x=_focus_x(clean, info), info=info,
                                     subtitles=srt, language=language,
                                     progress=ProgressArtifact("Rendering the vertical version"))
        asset = upload(out, story_key(story_id, STAGE, "edit-vertical.mp4"), step="vertical")
    record_assets(store(), story_id, STAGE, [asset])
    return asset.key


COVER_SUPERRES_MAX_SIDE_PX = 240  # x4plus is ~40x slower than the video model: only for really small sources


@_retrying(name="make-covers", cache_policy=RESUMABLE)
def make_covers(story_id: str, video_key: str, headline: str, language: str, found: scenes.SceneList) -> list[str]:
    """Covers in three sizes; small sources go through Real-ESRGAN x4plus first (settings.cover_superres)."""
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
        paths = covers.make_covers(video, headline, tmp / "covers", language=language, scenes=found, upscaler=upscaler)
        assets = [upload(p, story_key(story_id, STAGE, p.name), step="cover", model=model) for p in paths.values()]
    record_assets(store(), story_id, STAGE, assets, info={"cover_headline": headline,
                                                          "cover_superres": model is not None})
    return [a.key for a in assets]


@_retrying(name="pick-headline", cache_policy=NO_CACHE)
def pick_headline(transcript_key: str | None) -> tuple[str, str]:
    """Until a draft exists: the first sentence of the transcript (shortened) and the language."""
    if not transcript_key:
        return "", "en"
    transcript = Transcript.from_dict(store().get_json(transcript_key))
    sentences = highlight.split_sentences(transcript)
    if not sentences:
        return "", transcript.language
    return lang.profile(transcript.language).stand_in_headline(sentences[0].text), transcript.language



@_retrying(name="refresh-covers", cache_policy=RESUMABLE)
def refresh_covers(story_id: str, draft_key: str) -> list[str]:
    """Re-draw the covers with the draft's headline once it exists (the edit ran before the draft)."""
    draft = store().get_json(draft_key)
    found_data = store().get_json(story_key(story_id, STAGE, "scenes.json"))
    found = scenes.scenes_from_cuts(found_data["cuts_s"], found_data["fps"], found_data["duration_s"])
    restored = story_key(story_id, STAGE, "restored.mp4")
    video_key = restored if store().exists(restored) else story_key(story_id, "ingest", "mezzanine.mp4")
    return make_covers.fn(story_id, video_key, draft["headline"], draft["language"], found)
