"""Bulletin-story tasks: read the items, have the digital anchor read each one, and assemble the bulletin
(stings between items, headlines as lower thirds, subtitles from the voice's timings, mastered; OTIO/EDL)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from functools import cache
from pathlib import Path

from newsroom import lang
from newsroom.audio import loudness
from newsroom.bulletin import BulletinItem, bulletin_story_id, parse_items, render_sting
from newsroom.errors import ConfigError
from newsroom.lang.spoken import speakable
from newsroom.layout import BULLETIN, StoryLayout
from newsroom.media import probe
from newsroom.models.registry import MODELS
from newsroom.results import AnchorRead, BulletinSource, LoudnessReport, Programme, SubtitleReport, Subtitles
from newsroom.types import ModelRef, Speech, Transcript
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

log = logging.getLogger("newsroom.tasks.bulletin")
STAGE = BULLETIN
ANCHOR_TAG = "newsroom-anchor"
FPS = 25.0
SIZE = (1280, 720)
HEADLINE_DELAY_S = 0.4
HEADLINE_SHOW_S = 6.0
STING_REEL = "STING"


@retrying_task(name="receive-bulletin", cache_policy=RESUMABLE)
def receive_bulletin(items: list[str], language: str) -> BulletinSource:
    """The items as read (headline, text), stored as the story's items.json; the story id is their hash."""
    if language == "auto":
        language = lang.detect(" ".join(items)).code
    read = parse_items(list(items), language)
    story_id = bulletin_story_id(read, language)
    with scratch_dir() as tmp:
        path = tmp / StoryLayout.bulletin_items.name
        path.write_text(json.dumps({"language": language, "items": [i.to_dict() for i in read]}, indent=2,
                                   ensure_ascii=False), "utf-8")
        store_outputs(story_id, STAGE, Output(path, StoryLayout(story_id).bulletin_items, "bulletin-read"),
                      info={"bulletin": {"language": language, "items": len(read),
                                         "headlines": [i.headline for i in read]}})
    return BulletinSource(story_id, language, tuple(read))


@cache
def _voice(language: str):
    from newsroom.tts import load_voice

    return load_voice(language, settings())


@cache
def _renderer(portrait_key: str | None):
    from newsroom.anchor import presenter_renderer

    if portrait_key is None:
        return presenter_renderer(None, workers=settings().anchor_workers)
    folder = Path(settings().model_cache) / "portraits"
    folder.mkdir(parents=True, exist_ok=True)
    return presenter_renderer(store().get_file(portrait_key, folder / Path(portrait_key).name),
                              workers=settings().anchor_workers)


@retrying_task(name="bulletin-item", cache_policy=RESUMABLE, timeout_seconds=4 * 3600, tags=[ANCHOR_TAG])
def read_item(story_id: str, number: int, item: BulletinItem, language: str, portrait_key: str | None = None
              ) -> AnchorRead:
    """The anchor reading one item: its text made speakable (dates, abbreviations, units; the voice reads
    numbers), voiced, lip-synced; items/<nn>.mp4 and its timings items/<nn>.json."""
    layout = StoryLayout(story_id)
    voice = _voice(language)
    with scratch_dir() as tmp:
        speech = voice.synthesize(speakable(item.text, language), tmp / "item.wav")
        video = _renderer(portrait_key).render(speech, tmp / "item.mp4",
                                               progress=ProgressArtifact(f"Rendering item {number}"))
        timings = tmp / "item.json"
        timings.write_text(json.dumps(speech.to_dict(), ensure_ascii=False), "utf-8")
        registry_id = getattr(voice, "model_id", None)
        ref = ModelRef(registry_id, MODELS[registry_id].version) if registry_id in MODELS else None
        video_key, timings_key = layout.bulletin_item(number, ".mp4"), layout.bulletin_item(number, ".json")
        store_outputs(story_id, STAGE, Output(Path(video.path), video_key, "anchor", ref),
                      Output(timings, timings_key, "tts", ref))
    return AnchorRead(video_key, timings_key, video.duration_s)


def _starts(reads: list[AnchorRead], sting_s: float) -> tuple[list[float], float]:
    """Where each item's read starts on the bulletin's clock (each read lasting whole frames, a sting of
    `sting_s` between each two), and where the bulletin ends."""
    starts, at = [], 0.0
    for n, read in enumerate(reads):
        at += sting_s if n else 0.0
        starts.append(at)
        at += round(read.duration_s * FPS) / FPS
    return starts, at


@retrying_task(name="bulletin-lines", cache_policy=RESUMABLE)
def spoken_lines(source: BulletinSource, reads: list[AnchorRead]) -> Transcript:
    """The assembled bulletin's words on its clock, as its subtitles were built from them (`assemble`, whose
    sting it reads): what `translate_to` translates."""
    from newsroom.article.video import programme_transcript

    with scratch_dir() as tmp:
        sting = store().get_file(StoryLayout(source.story_id).bulletin_sting, tmp / StoryLayout.bulletin_sting.name)
        starts, end_s = _starts(reads, round(probe(sting).duration_s * FPS) / FPS)
        spoken = [(Speech.from_dict(store().get_json(read.timings_key), tmp / f"item-{n:02d}.wav"), at)
                  for n, (read, at) in enumerate(zip(reads, starts, strict=True), 1)]
    return programme_transcript(spoken, source.language, end_s)


@retrying_task(name="assemble-bulletin", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def assemble(source: BulletinSource, reads: list[AnchorRead], loudness_profile: str = "broadcast") -> Programme:
    """bulletin.mp4 (soft subtitles) and bulletin-burned.mp4: the items with a sting between each two,
    each item's headline as a lower third, subtitles from the voice's timings, mastered; .otio/.edl."""
    from newsroom import subtitles
    from newsroom.article.video import programme_transcript
    from newsroom.broadcast.programme import Part, assemble_programme
    from newsroom.broadcast.segment import LowerThird
    from newsroom.video import timeline

    story_id, items, language = source.story_id, source.items, source.language
    if len(items) != len(reads) or not items:
        raise ConfigError("assemble-bulletin needs one anchor read per item")
    layout = StoryLayout(story_id)
    target = loudness.profile(loudness_profile)
    with scratch_dir() as tmp:
        sting = render_sting(tmp / StoryLayout.bulletin_sting.name, size=SIZE, fps=FPS)
        sting_s = round(probe(sting).duration_s * FPS) / FPS
        parts, spoken, thirds = [], [], []
        video_clips, audio_clips = [], []
        starts, end_s = _starts(reads, sting_s)
        for n, (item, read, at) in enumerate(zip(items, reads, starts, strict=True), 1):
            if n > 1:
                parts.append(Part(sting))
                frames = round(sting_s * FPS)
                video_clips.append(timeline.TimelineClip("sting", StoryLayout.bulletin_sting.name, STING_REEL,
                                                         round(at * FPS) - frames, frames))
                audio_clips.append(timeline.TimelineClip("sting", StoryLayout.bulletin_sting.name, STING_REEL,
                                                         round(at * FPS) - frames, frames))
            video = store().get_file(read.video_key, tmp / f"item-{n:02d}.mp4")
            speech = Speech.from_dict(store().get_json(read.timings_key), tmp / f"item-{n:02d}.wav")
            seconds = round(read.duration_s * FPS) / FPS
            parts.append(Part(video))
            spoken.append((speech, at))
            thirds.append(LowerThird(item.headline, at + HEADLINE_DELAY_S,
                                     at + min(HEADLINE_SHOW_S, max(1.0, seconds - 0.2)), "caption"))
            name = Path(read.video_key).name
            meta = {"item": n, "headline": item.headline}
            video_clips.append(timeline.TimelineClip(f"item {n}", f"items/{name}", f"ITEM{n:02d}", round(at * FPS),
                                                     round(seconds * FPS), metadata=meta))
            audio_clips.append(timeline.TimelineClip(f"item {n}", f"items/{name}", f"ITEM{n:02d}", round(at * FPS),
                                                     round(seconds * FPS), metadata=meta))
        lines = programme_transcript(spoken, language, end_s)
        cues = subtitles.build_cues(lines, fps=FPS)
        violations = subtitles.validate_cues(cues, lines, fps=FPS)
        summary = subtitles.summary(violations)
        report = SubtitleReport.from_dict({**summary, "cues": len(cues)})
        outputs = []
        for fmt, file in StoryLayout.BULLETIN_SUBTITLES.items():
            path = tmp / file.name
            path.write_text(subtitles.write_subtitles(cues, fmt, language), "utf-8")
            outputs.append(Output(path, layout.key(file), "subtitles"))
        report_path = tmp / StoryLayout.bulletin_subtitles_report.name
        report_path.write_text(json.dumps({**summary, "cues": len(cues), "violations": [asdict(v) for v in violations]},
                                          indent=2, ensure_ascii=False), "utf-8")
        outputs.append(Output(report_path, layout.bulletin_subtitles_report, "subtitles-validate"))
        video, burned = tmp / StoryLayout.bulletin_mp4.name, tmp / StoryLayout.bulletin_burned.name
        made = assemble_programme(parts, out=video, burned=burned, subtitles=tmp / StoryLayout.bulletin_srt.name,
                                  language=language, lower_thirds=thirds, master_to=target, size=SIZE, fps=FPS,
                                  progress=ProgressArtifact("Assembling the bulletin"))
        measured = made.loudness
        assert measured is not None
        checked = LoudnessReport(target.name, target.integrated_lufs, measured.integrated_lufs,
                                 measured.true_peak_dbtp, measured.lra_lu, measured.meets(target))
        tl = timeline.programme_timeline(f"bulletin {story_id}", FPS, video_clips, [audio_clips],
                                         audio_channels=["A"])
        otio_path = timeline.write_otio(tl, tmp / StoryLayout.bulletin_otio.name)
        edl_path = timeline.write_edl(tl, tmp / StoryLayout.bulletin_edl.name)
        outputs += [Output(sting, layout.bulletin_sting, "sting"),
                    Output(video, layout.bulletin_mp4, "bulletin-master"),
                    Output(burned, layout.bulletin_burned, "bulletin-master"),
                    Output(otio_path, layout.bulletin_otio, "bulletin-timeline"),
                    Output(edl_path, layout.bulletin_edl, "bulletin-timeline")]
        store_outputs(story_id, STAGE, *outputs, info={
            "loudness": checked.to_dict(), "subtitles": report.to_dict(),
            "video": {"duration_s": round(made.duration_s, 3), "items": len(items), "starts_s": list(made.starts_s)}})
    subs = Subtitles(layout.bulletin_srt, layout.bulletin_vtt, layout.bulletin_ttml, layout.bulletin_subtitles_report,
                     report)
    return Programme(layout.bulletin_mp4, layout.bulletin_burned, None, subs, layout.bulletin_otio, layout.bulletin_edl,
                     checked, made.duration_s)
