"""Article-story tasks: receive the article and its pictures, narrate, render the pictures, the anchor's
intro/outro, assemble the mastered video (soft, burned, 9:16) with subtitles and timeline, and covers."""

from __future__ import annotations

import json
import logging
import posixpath
from dataclasses import asdict
from functools import cache
from pathlib import Path

from prefect.cache_policies import NO_CACHE

from newsroom import media
from newsroom.article import (
    Article,
    ArticleError,
    ArticleImage,
    Narration,
    article_story_id,
    parse_article,
    plan_narration,
    speak_narration,
)
from newsroom.article.narration import trim_plan
from newsroom.article.source import MAX_ARTICLE_BYTES, ArticleRefusedError
from newsroom.article.video import (
    article_timeline,
    caption_thirds,
    gate_images,
    plan_shots,
    programme_transcript,
    render_pictures,
)
from newsroom.audio import loudness
from newsroom.errors import SourceError
from newsroom.lang.spoken import speakable
from newsroom.layout import ARTICLE, StoryLayout
from newsroom.models.registry import MODELS
from newsroom.results import (
    AnchorRead,
    ArticlePictures,
    ArticleSource,
    Covers,
    LoudnessReport,
    NarrationRef,
    Programme,
    SubtitleReport,
    Subtitles,
)
from newsroom.sources import parse_source
from newsroom.storage.base import sha256_file
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

log = logging.getLogger("newsroom.tasks.article")
STAGE = ARTICLE
ANCHOR_TAG = "newsroom-anchor"
FPS = 25.0
WIDE = (1280, 720)
VERTICAL = (720, 1280)
VERTICAL_SUBTITLE_MARGIN = 0.2  # of the height: above the platforms' buttons and captions


def _fetch(spec, folder: Path, name: str) -> Path:
    if spec.kind == "path":
        return Path(spec.value)
    return store().get_file(spec.value, folder / name)


def _image_sources(article: Article, images: list[str], article_spec) -> list[tuple[ArticleImage, object]]:
    """Each picture's entry (caption, credit) and where it is: `images` (paths or keys) replace the front
    matter's files in order; a front-matter `file` is relative to the article (a key's folder in the store)."""
    entries = list(article.images)
    if len(images) > len(entries):
        entries += [ArticleImage(file=source) for source in images[len(entries):]]
    out = []
    for n, entry in enumerate(entries):
        try:
            if n < len(images):
                spec = parse_source(images[n], store())
            elif entry.key is not None:
                spec = parse_source(entry.key, store())
            elif article_spec.kind == "path":
                spec = parse_source(str(Path(article_spec.value).parent / entry.file), store())
            else:
                spec = parse_source(posixpath.normpath(posixpath.join(posixpath.dirname(article_spec.value),
                                                                      entry.file)), store())
        except SourceError as exc:
            raise ArticleError(f"image {n + 1} of the article ({images[n] if n < len(images) else entry.where}) "
                               f"cannot be found: {exc}") from None
        out.append((entry, spec))
    return out


@retrying_task(name="receive-article", cache_policy=NO_CACHE)  # the article behind a name may change
def receive_article(source: str, images: list[str] | None = None, language: str = "auto") -> ArticleSource:
    """Read the article (a path or a key), gate and hash its pictures, store them under the story the
    content hash names, and record the article in the manifest."""
    images = list(images or [])
    spec = parse_source(source, store())
    if spec.kind == "key" and store().stat(spec.value).size_bytes > MAX_ARTICLE_BYTES:
        raise ArticleRefusedError(f"{spec.name} is over the {MAX_ARTICLE_BYTES:,}-byte limit for an article")
    with scratch_dir() as tmp:
        path = _fetch(spec, tmp, "article" + Path(spec.value).suffix)
        if path.stat().st_size > MAX_ARTICLE_BYTES:
            raise ArticleRefusedError(f"{spec.name} is over the {MAX_ARTICLE_BYTES:,}-byte limit for an article")
        data = path.read_bytes()
        article = parse_article(data, name=spec.name, language=language)
        sources = _image_sources(article, images, spec)
        if not sources:
            raise ArticleError("the article has no images: list them in the front matter (`images:`) or give them "
                               "with --image / image_keys")
        local = [_fetch(s, tmp, f"image-{n:02d}{Path(s.value).suffix.lower()}") for n, (_, s) in enumerate(sources)]
        gate_images(local, settings())
        article = article.with_images(tuple(entry for entry, _ in sources))
        story_id = article_story_id(article, [sha256_file(p) for p in local])
        layout = StoryLayout(story_id)
        suffix = ".json" if data.lstrip().startswith(b"{") else ".md"
        canonical = tmp / StoryLayout.article_json.name
        canonical.write_text(json.dumps(article.to_dict(), indent=2, ensure_ascii=False), "utf-8")
        keys = [layout.article_image(n + 1, p.suffix.lower() or ".img") for n, p in enumerate(local)]
        outputs = [Output(path, layout.article_original(suffix), "article-receive", metadata={"filename": spec.name}),
                   Output(canonical, layout.article_json, "article-read"),
                   *(Output(p, k, "article-receive") for p, k in zip(local, keys, strict=True))]
        store_outputs(story_id, STAGE, *outputs, info={"article": {
            "title": article.title, "language": article.language, "paragraphs": len(article.paragraphs),
            "images": len(article.images), "source": source}})
    log.info("article %r is story %s (%d paragraphs, %d pictures)", article.title, story_id, len(article.paragraphs),
             len(keys))
    return ArticleSource(story_id, article, tuple(keys))


@cache
def _voice(language: str):
    from newsroom.tts import load_voice

    return load_voice(language, settings())


def _voice_ref(voice) -> ModelRef | None:
    registry_id = getattr(voice, "model_id", None)
    return ModelRef(registry_id, MODELS[registry_id].version) if registry_id in MODELS else None


@retrying_task(name="narrate-article", cache_policy=RESUMABLE, timeout_seconds=3600)
def narrate(source: ArticleSource, target_s: float | None, condense: bool = False) -> NarrationRef:
    """narration.wav and its timings: the article's paragraphs (trimmed by whole sentences to `target_s`; with
    `condense`, first shortened by the draft model where every number and name stays the article's), read by
    the language's anchor voice."""
    layout = StoryLayout(source.story_id)
    voice = _voice(source.article.language)
    plan = plan_narration(source.article, None if condense else target_s)
    if condense and target_s is not None and plan.estimated_s > target_s:
        from newsroom.article.narration import condense as shorten
        from newsroom.article.narration import llm_condenser
        from tasks.broadcast import _backend

        plan = shorten(plan, source.article, llm_condenser(_backend(), seed=settings().llm_seed), target_s)
        if plan.estimated_s > target_s:  # still long: trim what is left by whole sentences
            plan = trim_plan(plan, source.article, target_s)
    with scratch_dir() as tmp:
        narration = speak_narration(plan, voice, tmp / StoryLayout.narration_wav.name, workdir=tmp,
                                    progress=ProgressArtifact("Reading the article"))
        timings = tmp / StoryLayout.narration_speech.name
        timings.write_text(json.dumps(narration.to_dict(), ensure_ascii=False), "utf-8")
        ref = _voice_ref(voice)
        store_outputs(source.story_id, STAGE, Output(Path(narration.speech.path), layout.narration_wav, "narrate", ref),
                      Output(timings, layout.narration_speech, "narrate", ref),
                      info={"narration": {"duration_s": round(narration.speech.duration_s, 3), "parts": len(plan.parts),
                                          "condensed": plan.condensed, "engine": narration.speech.engine}})
    return NarrationRef(layout.narration_wav, layout.narration_speech, narration.speech.duration_s)


def load_narration(ref: NarrationRef, folder: Path) -> Narration:
    wav = store().get_file(ref.wav_key, folder / StoryLayout.narration_wav.name)
    return Narration.from_dict(store().get_json(ref.timings_key), wav)


@retrying_task(name="article-anchor", cache_policy=RESUMABLE, timeout_seconds=4 * 3600, tags=[ANCHOR_TAG])
def anchor_read(source: ArticleSource, part: str, portrait_key: str | None = None) -> AnchorRead | None:
    """The digital anchor reading the standfirst (`intro`; the title when there is none) or the article's
    outro (`outro`; None when the article has none)."""
    from newsroom.anchor import presenter_renderer

    article = source.article
    text = (article.standfirst or article.title) if part == "intro" else article.outro
    if not text:
        log.info("the article has no %s text: no anchor %s", part, part)
        return None
    layout = StoryLayout(source.story_id)
    key = layout.article_anchor_intro if part == "intro" else layout.article_anchor_outro
    timings_key = layout.article_intro_speech if part == "intro" else layout.article_outro_speech
    with scratch_dir() as tmp:
        voice = _voice(article.language)
        speech = voice.synthesize(speakable(text, article.language), tmp / "anchor.wav")
        portrait = store().get_file(portrait_key, tmp / Path(portrait_key).name) if portrait_key else None
        renderer = presenter_renderer(portrait, workers=settings().anchor_workers)
        video = renderer.render(speech, tmp / "anchor.mp4", progress=ProgressArtifact(f"Rendering the anchor {part}"))
        timings = tmp / "anchor-speech.json"
        timings.write_text(json.dumps(speech.to_dict(), ensure_ascii=False), "utf-8")
        store_outputs(source.story_id, STAGE, Output(Path(video.path), key, "anchor", _voice_ref(voice)),
                      Output(timings, timings_key, "tts", _voice_ref(voice)),
                      info={f"anchor_{part}": {"duration_s": round(video.duration_s, 3), "portrait": portrait_key or
                                               "default"}})
        return AnchorRead(key, timings_key, video.duration_s)


@retrying_task(name="article-pictures", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def pictures(source: ArticleSource, narration: NarrationRef) -> ArticlePictures:
    """The picture tracks, 16:9 and 9:16: each paragraph's picture while it is read, moving without cutting a
    face, cross-faded where the picture changes; shots.json records what was drawn."""
    layout = StoryLayout(source.story_id)
    with scratch_dir() as tmp:
        paths = [store().get_file(k, tmp / Path(k).name) for k in source.image_keys]
        spoken = load_narration(narration, tmp)
        shots = plan_shots(source.article, spoken)
        duration = spoken.speech.duration_s
        progress = ProgressArtifact("Rendering the pictures")
        wide = render_pictures(paths, shots, tmp / StoryLayout.article_pictures.name, size=WIDE, fps=FPS,
                               duration_s=duration, progress=lambda f: progress(f / 2))
        tall = render_pictures(paths, shots, tmp / StoryLayout.article_pictures_vertical.name, size=VERTICAL, fps=FPS,
                               duration_s=duration, progress=lambda f: progress(0.5 + f / 2))
        plan = tmp / StoryLayout.article_shots.name
        plan.write_text(json.dumps({"wide": wide.to_dict(), "vertical": tall.to_dict()}, indent=1), "utf-8")
        store_outputs(source.story_id, STAGE,
                      Output(tmp / StoryLayout.article_pictures.name, layout.article_pictures, "pictures"),
                      Output(tmp / StoryLayout.article_pictures_vertical.name, layout.article_pictures_vertical,
                             "pictures"),
                      Output(plan, layout.article_shots, "pictures"),
                      info={"pictures": {"shots": len(shots), "faces": sum(1 for f in wide.faces if f)}})
    return ArticlePictures(layout.article_pictures, layout.article_pictures_vertical, layout.article_shots)


def _anchor_crop(video: Path) -> tuple:
    """Filters that make the 16:9 anchor a 9:16 picture: a crop around the face."""
    from newsroom.media.frames import read_frame
    from newsroom.media.graph import Filter
    from newsroom.video.faces import FaceDetector

    info = media.probe(video)
    w, h = info.video.width, info.video.height
    faces = FaceDetector.load().detect(read_frame(video, min(1.0, info.duration_s / 2), width=w, height=h))
    crop_w = min(w, round(h * VERTICAL[0] / VERTICAL[1] / 2) * 2)
    centre = faces[0].center[0] if faces else w / 2
    x = int(min(max(0, centre - crop_w / 2), w - crop_w))
    return (Filter("crop", crop_w, h, x, 0),)


def _reads(reads: list[tuple[AnchorRead | None, str]], folder: Path) -> list[tuple[Path, Speech, str]]:
    out = []
    for read, name in reads:
        if read is None:
            continue
        video = store().get_file(read.video_key, folder / f"{name}.mp4")
        wav = folder / f"{name}.wav"  # the speech's words only (the sound is in the video)
        out.append((video, Speech.from_dict(store().get_json(read.timings_key), wav), name))
    return out


def _said(narration: Speech, intro: tuple[Speech, float] | None, outro: tuple[Speech, float] | None,
          language: str) -> tuple[Transcript, tuple[float, float, float]]:
    """What the video says, on its clock (the anchor's intro, the narration, the outro; each (speech, length of
    its part) lasting whole frames): the words its subtitles are built from, and the three parts' lengths."""
    intro_s = round((intro[1] if intro else 0.0) * FPS) / FPS
    outro_s = round((outro[1] if outro else 0.0) * FPS) / FPS
    narration_s = round(narration.duration_s * FPS) / FPS
    parts = [(narration, intro_s)]
    if intro:
        parts.insert(0, (intro[0], 0.0))
    if outro:
        parts.append((outro[0], intro_s + narration_s))
    return programme_transcript(parts, language, intro_s + narration_s + outro_s), (intro_s, narration_s, outro_s)


@retrying_task(name="article-lines", cache_policy=RESUMABLE)
def spoken_lines(source: ArticleSource, narration: NarrationRef, intro: AnchorRead | None,
                 outro: AnchorRead | None) -> Transcript:
    """The article video's words on its clock, as its subtitles are built from them (`assemble`): what
    `translate_to` translates. Reads the voices' timings only."""
    with scratch_dir() as tmp:
        spoken = Narration.from_dict(store().get_json(narration.timings_key), tmp / StoryLayout.narration_wav.name)

        def part(read: AnchorRead | None, name: str) -> tuple[Speech, float] | None:
            return None if read is None else (Speech.from_dict(store().get_json(read.timings_key), tmp / name),
                                              read.duration_s)

        lines, _ = _said(spoken.speech, part(intro, "intro.wav"), part(outro, "outro.wav"), source.article.language)
    return lines


@retrying_task(name="assemble-article", cache_policy=RESUMABLE, timeout_seconds=4 * 3600)
def assemble(source: ArticleSource, narration: NarrationRef, drawn: ArticlePictures, intro: AnchorRead | None,
             outro: AnchorRead | None, loudness_profile: str = "broadcast") -> Programme:
    """article.mp4 (soft subtitles), article-burned.mp4, article-vertical.mp4, subtitles (SRT, WebVTT,
    EBU-TT-D) from the voices' own timings, captions as lower thirds, mastered; article.otio/.edl."""
    from newsroom import subtitles
    from newsroom.broadcast.programme import Part, assemble_programme
    from newsroom.video import timeline

    article, layout = source.article, StoryLayout(source.story_id)
    target = loudness.profile(loudness_profile)
    with scratch_dir() as tmp:
        spoken = load_narration(narration, tmp)
        pictures_wide = store().get_file(drawn.wide_key, tmp / "pictures.mp4")
        pictures_tall = store().get_file(drawn.vertical_key, tmp / "pictures-vertical.mp4")
        shots = plan_shots(article, spoken)
        anchors = _reads([(intro, "intro")], tmp), _reads([(outro, "outro")], tmp)
        lines, (intro_s, narration_s, outro_s) = _said(
            spoken.speech, (anchors[0][0][1], intro.duration_s) if intro else None,
            (anchors[1][0][1], outro.duration_s) if outro else None, article.language)
        total = intro_s + narration_s + outro_s
        cues = subtitles.build_cues(lines, fps=FPS)
        violations = subtitles.validate_cues(cues, lines, fps=FPS)
        summary = subtitles.summary(violations)
        report = SubtitleReport.from_dict({**summary, "cues": len(cues)})
        outputs = []
        for fmt, file in StoryLayout.ARTICLE_SUBTITLES.items():
            path = tmp / file.name
            path.write_text(subtitles.write_subtitles(cues, fmt, article.language), "utf-8")
            outputs.append(Output(path, layout.key(file), "subtitles"))
        report_path = tmp / StoryLayout.article_subtitles_report.name
        report_path.write_text(json.dumps({**summary, "cues": len(cues), "violations": [asdict(v) for v in violations]},
                                          indent=2, ensure_ascii=False), "utf-8")
        outputs.append(Output(report_path, layout.article_subtitles_report, "subtitles-validate"))
        srt = tmp / StoryLayout.article_srt.name

        wide, tall = [], []
        for reads, pictured in ((anchors[0], False), ([], True), (anchors[1], False)):
            if pictured:
                wide.append(Part(pictures_wide, Path(spoken.speech.path)))
                tall.append(Part(pictures_tall, Path(spoken.speech.path)))
            for video, _, _ in reads:
                wide.append(Part(video))
                tall.append(Part(video, filters=_anchor_crop(video)))
        thirds = caption_thirds(article, shots, offset_s=intro_s)
        progress = ProgressArtifact("Assembling the article video")
        video, burned = tmp / StoryLayout.article_mp4.name, tmp / StoryLayout.article_burned.name
        made = assemble_programme(wide, out=video, burned=burned, subtitles=srt, language=article.language,
                                  lower_thirds=thirds, master_to=target, size=WIDE, fps=FPS,
                                  progress=lambda f: progress(0.7 * f))
        vertical = tmp / StoryLayout.article_vertical.name
        assemble_programme(tall, burned=vertical, subtitles=srt, language=article.language, master_to=target,
                           size=VERTICAL, fps=FPS, burn_margin_v_px=round(VERTICAL[1] * VERTICAL_SUBTITLE_MARGIN),
                           progress=lambda f: progress(0.7 + 0.3 * f))
        measured = made.loudness
        assert measured is not None
        checked = LoudnessReport(target.name, target.integrated_lufs, measured.integrated_lufs,
                                 measured.true_peak_dbtp, measured.lra_lu, measured.meets(target))
        names = [posixpath.relpath(k, posixpath.dirname(layout.article_json)) for k in source.image_keys]
        tl = article_timeline(article, shots, fps=FPS, image_names=names, narration_name=StoryLayout.narration_wav.name,
                              narration_s=narration_s,
                              intro=(StoryLayout.article_anchor_intro.name, intro_s) if intro else None,
                              outro=(StoryLayout.article_anchor_outro.name, outro_s) if outro else None)
        otio_path = timeline.write_otio(tl, tmp / StoryLayout.article_otio.name)
        edl_path = timeline.write_edl(tl, tmp / StoryLayout.article_edl.name)
        outputs += [Output(video, layout.article_mp4, "article-master"),
                    Output(burned, layout.article_burned, "article-master"),
                    Output(vertical, layout.article_vertical, "article-vertical"),
                    Output(otio_path, layout.article_otio, "article-timeline"),
                    Output(edl_path, layout.article_edl, "article-timeline")]
        store_outputs(source.story_id, STAGE, *outputs, info={
            "loudness": checked.to_dict(), "subtitles": report.to_dict(),
            "video": {"duration_s": round(total, 3), "intro_s": intro_s, "narration_s": narration_s, "outro_s": outro_s}})
    subs = Subtitles(layout.article_srt, layout.article_vtt, layout.article_ttml, layout.article_subtitles_report, report)
    return Programme(layout.article_mp4, layout.article_burned, layout.article_vertical, subs, layout.article_otio,
                     layout.article_edl, checked, total)


@retrying_task(name="article-covers", cache_policy=RESUMABLE)
def covers(source: ArticleSource, drawn: ArticlePictures, narration: NarrationRef | None = None) -> Covers:
    """Covers in three shapes from the best frame of the pictures, with the article's title; with the
    `narration` (on the pictures' clock), from the pictures shown while the title's and the standfirst's
    words are read (newsroom.covers.story)."""
    from newsroom import covers as cover_art
    from newsroom.broadcast.segment import speech_transcript

    layout = StoryLayout(source.story_id)
    with scratch_dir() as tmp:
        video = store().get_file(drawn.wide_key, tmp / "pictures.mp4")
        spans = ()
        if narration is not None:
            said = speech_transcript(Speech.from_dict(store().get_json(narration.timings_key)["speech"],
                                                      tmp / "narration.wav"))
            spans = cover_art.story_spans(said, headline=source.article.title, lede=source.article.standfirst)
        paths = cover_art.make_covers(video, source.article.title, tmp / "covers", language=source.article.language,
                                      spans=spans)
        assets = store_outputs(source.story_id, STAGE, *(Output(path, layout.key(StoryLayout.ARTICLE_COVERS[aspect]),
                                                                "cover") for aspect, path in paths.items()),
                               info={"cover_headline": source.article.title})
    return Covers(tuple(a.key for a in assets), source.article.title, False)

