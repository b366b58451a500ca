"""Commands on local files, one capability each, with no store and no Prefect: probe, transcribe, scenes,
subtitles, restore, upscale, cover, draft, speak, anchor."""

from __future__ import annotations

import json
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from newsroom.cli.common import (
    AsrModelChoice,
    GlossaryOption,
    LanguageChoice,
    RestoreChoice,
    TranslateLanguage,
    TtsLanguage,
    UpscaleMethodChoice,
    err,
    load_transcript,
    log,
    progress,
    read_text,
)
from newsroom.errors import NewsroomError
from newsroom.subtitles.writers import WRITERS

SubtitleFormat = Enum("SubtitleFormat", {name: name for name in WRITERS}, type=str)  # the writers' table


def probe(
    file: Annotated[Path, typer.Argument(help="A media file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print MediaInfo as JSON.")] = False,
) -> None:
    """Show a media file's duration, streams and codecs."""
    from newsroom.media import probe as probe_media

    info = probe_media(file)
    if as_json:
        typer.echo(json.dumps(info.to_dict(), indent=2))
        return
    typer.echo(f"{file}: {info.format_name}, {info.duration_s:.2f} s, {info.size_bytes:,} bytes")
    for s in info.streams:
        if s.kind == "video":
            typer.echo(f"  video #{s.index}: {s.codec} {s.width}x{s.height} @ {s.avg_fps or s.fps:g} fps")
        elif s.kind == "audio":
            typer.echo(f"  audio #{s.index}: {s.codec} {s.sample_rate_hz} Hz x{s.channels}")

def transcribe(
    file: Annotated[Path, typer.Argument(help="Audio or video file.")],
    language: Annotated[LanguageChoice, typer.Option(help="Spoken language.")] = LanguageChoice.auto,
    model: Annotated[AsrModelChoice, typer.Option(help="Whisper model.")] = AsrModelChoice.base,
    as_json: Annotated[bool, typer.Option("--json", help="Print the transcript JSON contract to stdout.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the transcript JSON here too.")] = None,
    glossary: GlossaryOption = None,
) -> None:
    """Transcribe a local file with word timestamps (no storage, no Prefect)."""
    from newsroom.asr import Transcriber
    from newsroom.asr.confidence import low_confidence
    from newsroom.asr.glossary import Glossary, load_glossary
    from newsroom.config import get_settings
    from newsroom.media import extract_audio
    from newsroom.media.gate import admit_media

    settings = get_settings()
    own = Glossary.read(glossary) if glossary else None
    terms = load_glossary(settings.glossary, None if language.value == "auto" else language.value, extra=own)
    info = admit_media(file, settings)
    with tempfile.TemporaryDirectory(prefix="newsroom-") as tmp, progress() as bar:
        step = bar.add_task("extracting audio", total=1.0)
        wav = extract_audio(file, Path(tmp) / "audio.wav", info, progress=lambda f: bar.update(step, completed=f))
        bar.update(step, description="loading model", completed=0)
        engine = Transcriber.load(model.value, settings)
        bar.update(step, description="transcribing")
        transcript = engine.transcribe(
            wav, language.value, allowed_languages=tuple(settings.languages),
            progress=lambda f: bar.update(step, completed=f), glossary=terms,
        )
    for flag in low_confidence(transcript, known=terms.for_language(transcript.language).terms):
        log.warning("%s", flag.describe())
    if out:
        out.write_text(transcript.to_json(), "utf-8")
    if as_json:
        typer.echo(transcript.to_json())
    else:
        typer.echo(transcript.to_text() or "(no speech found)", nl=False)

def scenes(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print cuts and scenes as JSON.")] = False,
    threshold: Annotated[float, typer.Option(help="scdet threshold (0-100); lower finds more cuts.")] = 10.0,
) -> None:
    """Detect scene cuts (frame-exact times)."""
    from newsroom.video.scenes import detect_scenes

    with progress() as bar:
        step = bar.add_task("detecting scenes", total=1.0)
        found = detect_scenes(video, threshold=threshold, progress=lambda f: bar.update(step, completed=f))
    if as_json:
        typer.echo(json.dumps(found.to_dict()))
        return
    typer.echo(f"{video}: {len(found.scenes)} scenes at {found.fps:g} fps")
    for i, scene in enumerate(found.scenes):
        typer.echo(f"  {i + 1:3d}  {scene.start_s:8.3f} -> {scene.end_s:8.3f}  ({scene.duration_s:.2f} s)")

def subtitles(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON (newsroom transcribe --json).")],
    fmt: Annotated[SubtitleFormat, typer.Option("--format", help="Subtitle format.")] = SubtitleFormat.srt,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    fps: Annotated[float, typer.Option(help="Frame rate the cue timing snaps to.")] = 25.0,
    video: Annotated[Path | None, typer.Option(
        help="The video the transcript is of: cues are timed around its shot changes (and at its frame rate).")] = None,
    translate: Annotated[TranslateLanguage | None, typer.Option(
        help="Write the subtitles translated into this language instead (the draft model, cue by cue, on the "
        "original cues' timing; numbers and names checked).")] = None,
) -> None:
    """Broadcast-rule subtitles from word timestamps; rule violations are reported on stderr."""
    from newsroom.subtitles import build_cues, validate_cues, write_subtitles

    data = load_transcript(transcript)
    cuts: tuple[float, ...] = ()
    if video is not None:
        from newsroom.video.scenes import detect_scenes

        found = detect_scenes(video)
        fps, cuts = found.fps, found.cuts_s
        err.print(f"{len(cuts)} shot changes in {video.name} at {fps:g} fps")
    cues = build_cues(data, fps=fps, shot_changes_s=cuts)
    for violation in validate_cues(cues, data, fps=fps, shot_changes_s=cuts):
        log.warning("cue %s breaks %s: %s", violation.cue_index, violation.rule, violation.message)
    text = write_subtitles(cues, fmt.value, data.language)
    if translate is not None:
        cues, text = _translated_subtitles(data, cues, translate.value, fmt.value, fps, cuts)
    if out:
        out.write_text(text, "utf-8")
        err.print(f"wrote {len(cues)} cues to {out}")
    else:
        typer.echo(text, nl=False)


def _translated_subtitles(data, cues, language: str, fmt: str, fps: float, cuts: tuple[float, ...]):
    """The cues translated into `language` as a track in `fmt`; held cues and broken rules on stderr."""
    from newsroom.llm import load_backend
    from newsroom.subtitles.bilingual import translated_track, write_track
    from newsroom.subtitles.translate import translate_cues

    with progress() as bar:
        step = bar.add_task(f"translating {len(cues)} cues into {language}", total=1.0)
        backend = load_backend()
        translation = translate_cues(cues, data.language, language, backend,
                                     progress=lambda f: bar.update(step, completed=f))
    track = translated_track(cues, translation, fps, shot_changes_s=cuts, duration_s=data.duration_s)
    for item in translation.held:
        err.print(f"cue {item.index} NOT translated (numbers do not match: {item.held}): {item.source}")
    for flag in translation.flags:
        err.print(f"check {flag}")
    for violation in track.violations:
        log.warning("translated cue %s breaks %s: %s", violation.cue_index, violation.rule, violation.message)
    return list(track.cues), write_track(track.cues, fmt, language)

def restore(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    out: Annotated[Path, typer.Option(help="Output MP4.")],
    preset: Annotated[RestoreChoice, typer.Option(help="auto, or a named preset.")] = RestoreChoice.auto,
) -> None:
    """Denoise / deinterlace / deband / stabilise with a named or automatically chosen preset."""
    from newsroom.video.restore import plan_restoration
    from newsroom.video.restore import restore as run_restore

    plan = plan_restoration(video, preset.value)
    err.print(f"preset {plan.preset}: {plan.reason}")
    with progress() as bar:
        step = bar.add_task(f"restoring ({plan.preset})", total=1.0)
        run_restore(video, out, plan, progress=lambda f: bar.update(step, completed=f))
    typer.echo(str(out))

def upscale(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    out: Annotated[Path, typer.Option(help="Output MP4.")],
    scale: Annotated[int, typer.Option(help="2, 3 or 4.")] = 2,
    method: Annotated[UpscaleMethodChoice, typer.Option(help="Real-ESRGAN or Lanczos.")] = UpscaleMethodChoice.esrgan,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the chunks.")] = 1,
    chunk_s: Annotated[float, typer.Option(help="Seconds per chunk.")] = 4.0,
) -> None:
    """Super-resolution in chunks across worker processes, audio kept."""
    from newsroom.video.upscale import upscale_video

    with progress() as bar:
        step = bar.add_task(f"upscaling x{scale} ({method.value}, {workers} workers)", total=1.0)
        upscale_video(video, out, scale=scale, method=method.value, workers=workers, chunk_s=chunk_s,
                      progress=lambda f: bar.update(step, completed=f))
    typer.echo(str(out))

def cover(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    headline: Annotated[str, typer.Option(help="Headline drawn on the covers.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    language: Annotated[LanguageChoice, typer.Option(help="Headline language (font); auto: from its script.")] = (
        LanguageChoice.auto),
) -> None:
    """Covers in 16:9, 9:16 and 1:1 from the best frame, with the headline."""
    from newsroom.covers import make_covers
    from newsroom.lang import detect
    from newsroom.params import check_headline

    check_headline(headline)
    out.mkdir(parents=True, exist_ok=True)
    code = detect(headline).code if language.value == "auto" else language.value
    with err.status("choosing the best frame..."):
        paths = make_covers(video, headline, out, language=code)
    for path in paths.values():
        typer.echo(str(path))

def draft(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON (newsroom transcribe --json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the draft JSON instead of Markdown.")] = False,
) -> None:
    """Write a grounded news draft from a transcript (quotes verified against it)."""
    from newsroom.config import get_settings
    from newsroom.llm import load_backend, write_draft

    data = load_transcript(transcript)
    settings = get_settings()
    with progress() as bar:
        step = bar.add_task("loading the model", total=1.0)
        backend = load_backend(settings)
        bar.update(step, description="writing the draft")
        result = write_draft(data, backend, seed=settings.llm_seed, progress=lambda f: bar.update(step, completed=f))
    for warning in getattr(result, "warnings", ()):
        log.warning("check: %s", warning)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(result.to_markdown())

def speak(
    text: Annotated[str | None, typer.Argument(help="Text to read (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the text from this file.")] = None,
    language: Annotated[TtsLanguage, typer.Option(help="Voice language.")] = TtsLanguage.en,
    voice_name: Annotated[str | None, typer.Option(
        "--voice", help="engine:voice, e.g. ttskit:biaobei or kokoro:jm_kumo (default: the setting).")] = None,
    out: Annotated[Path, typer.Option(help="Output WAV.")] = Path("speech.wav"),
) -> None:
    """Read text with the anchor voice (WAV at a fixed rate; timings on stderr with -v)."""
    from newsroom.tts import load_voice

    script = read_text(text, file)
    with progress() as bar:
        step = bar.add_task("loading the voice", total=1.0)
        voice = load_voice(language.value, voice=voice_name)
        bar.update(step, description="speaking")
        speech = voice.synthesize(script, out, progress=lambda f: bar.update(step, completed=f))
    log.info("%d phonemes, %d words timed", len(speech.phonemes), len(speech.words))
    typer.echo(f"{out} ({speech.duration_s:.2f} s, {speech.sample_rate_hz} Hz, {speech.engine})")

def anchor(
    script: Annotated[str | None, typer.Option(help="Text the anchor reads.")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the script from this file.")] = None,
    language: Annotated[TtsLanguage, typer.Option(help="Voice language.")] = TtsLanguage.en,
    portrait: Annotated[Path | None, typer.Option(help="Portrait photo (default: the public-domain one; with "
                                                       "--reference, a still of the same presenter).")] = None,
    reference: Annotated[Path | None, typer.Option(help="Footage of the presenter speaking to the camera (at "
                                                        "least 30 s): the anchor speaks with their own mouth.")] = None,
    reference_transcript: Annotated[Path | None, typer.Option(help="The reference's transcript JSON (newsroom "
                                                                   "transcribe --json); default: transcribed now.")] = None,
    atlas: Annotated[Path | None, typer.Option(help="Mouth atlas .npz: reused if it exists, else built from "
                                                    "--reference and saved here.")] = None,
    out: Annotated[Path, typer.Option(help="Output MP4.")] = Path("anchor.mp4"),
) -> None:
    """Render the lip-synced digital anchor reading a script (optionally with a presenter's own mouth)."""
    from newsroom.anchor import LandmarkAnchorRenderer
    from newsroom.config import get_settings
    from newsroom.tts import load_voice

    text = read_text(script, file)
    workers = get_settings().anchor_workers
    with progress() as bar, tempfile.TemporaryDirectory(prefix="newsroom-") as tmp:
        step = bar.add_task("finding the face", total=1.0)
        if reference is not None or atlas is not None:
            from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer, transcribe_reference

            if atlas is not None and atlas.is_file():
                mouths = MouthAtlas.load(atlas)
            elif reference is None:
                raise NewsroomError(f"{atlas} does not exist: give --reference footage to build it")
            else:
                from newsroom.media.gate import admit_media

                admit_media(reference)  # readable, an allowed container, within every limit
                if reference_transcript is not None:
                    timings = load_transcript(reference_transcript)
                else:
                    bar.update(step, description="transcribing the reference")
                    timings = transcribe_reference(reference, language.value)
                bar.update(step, description="reading the presenter's mouth", completed=0)
                mouths = MouthAtlas.build(reference, transcript=timings, progress=lambda f: bar.update(step, completed=f))
                if atlas is not None:
                    mouths.save(atlas)
            renderer = ReferenceAnchorRenderer.load(mouths, portrait, workers=workers)
        else:
            renderer = LandmarkAnchorRenderer.load(portrait, workers=workers)
        bar.update(step, description="speaking", completed=0)
        speech = load_voice(language.value).synthesize(text, Path(tmp) / "speech.wav")
        bar.update(step, description="rendering", completed=0)
        video = renderer.render(speech, out, progress=lambda f: bar.update(step, completed=f))
    typer.echo(f"{out} ({video.duration_s:.2f} s, {video.width}x{video.height} @ {video.fps:g} fps, {video.renderer})")
