"""A second subtitle track in another language, timed to the first: files, a second soft track, a burned
two-language version.

    translation = translate_cues(cues, "zh", "en", backend)         # newsroom.subtitles.translate
    track = translated_track(cues, translation, fps=25.0)           # cues in English, each on its source cue
    track.cues, track.sources, track.violations
    write_track(track.cues, "vtt", "en")                            # WebVTT with a Language header
    mux_subtitle_tracks(video, [(srt, "zh"), (srt_en, "en")], out)  # two soft tracks, tagged chi / eng
    burn_bilingual(video, cues, "zh", track.cues, "en", out)        # source above, translation below

Timing. Each translation is laid out and timed by the same cue builder and checked by the same validator as
any subtitles, under the target language's rules (`newsroom.subtitles.cues`): the translations become the
"speech" of a transcript in the target language, each spread over its source cue's time, with a hard
boundary at every source cue's start. So a translated cue starts with its source cue and never runs into
the next one; it is split into two cues only where the translation does not fit the target's lines, and
its end runs on into the following silence where the target's reading speed needs more time (English
takes about twice the screen time of the Mandarin it translates). Where even that is not enough, the
boundary to the next source cue is dropped and the two translations merged into one cue, if that keeps
more rules. `validate_cues` against that transcript reports what is still broken.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsroom import lang
from newsroom.errors import MediaError
from newsroom.media import probe, run_ffmpeg
from newsroom.media.graph import Filter
from newsroom.media.inputs import input_args, own_input_args
from newsroom.subtitles.burn import MARGIN_V_FRACTION, default_font_size, font_family, language_tag
from newsroom.subtitles.cues import Cue, build_cues
from newsroom.subtitles.plan import _Plan
from newsroom.subtitles.rules import DEFAULT_FPS, CueRules, rules_for
from newsroom.subtitles.speech import speech_units
from newsroom.subtitles.translate import Translation
from newsroom.subtitles.validate import Violation, summary, validate_cues
from newsroom.subtitles.writers import srt_text, write_subtitles
from newsroom.types import Segment, Transcript

log = logging.getLogger("newsroom.subtitles")

MAX_MERGES = 20  # attempts to merge two translations that cannot be read in their own cues' time
BILINGUAL_FONT_SCALE = 0.85  # each language's usual size, a little smaller: two languages share the picture
LINE_HEIGHT_EM = 1.05  # the height libass gives a line of the style's size (measured: 31 px at size 30)
LINE_SPACING_EM = 0.4  # between the translation's block and the source's


@dataclass(frozen=True, slots=True)
class BilingualTrack:
    """The translated cues, which source cues each one translates, and the rules they break."""

    language: str
    cues: tuple[Cue, ...]
    sources: tuple[tuple[int, ...], ...]  # per translated cue: the indices of the source cues it translates
    violations: tuple[Violation, ...]
    translation: Translation

    def report(self) -> dict[str, Any]:
        """For the editor: rule counts, merges and splits, cues held back and names to check."""
        split = sorted({s[0] for s in self.sources if len(s) == 1 and self.sources.count(s) > 1})
        return {
            **summary(list(self.violations)),
            "language": self.language,
            "source_language": self.translation.source_language,
            "model": self.translation.model,
            "cues": len(self.cues),
            "source_cues": len(self.translation.items),
            "merged": [list(s) for s in dict.fromkeys(self.sources) if len(s) > 1],
            "split": split,
            "held": [{"cue": i.index, "source": i.source, "reason": i.held} for i in self.translation.held],
            "flags": list(self.translation.flags),
            "violations": [{"cue_index": v.cue_index, "rule": v.rule, "message": v.message} for v in self.violations],
        }


def _as_transcript(source_cues: Sequence[Cue], translation: Translation, duration_s: float) -> tuple[Transcript, list[int]]:
    """The published translations as a transcript in the target language: one segment per source cue, over its
    time; and the source cue index of each segment."""
    texts = {i.index: i.text for i in translation.items if i.text and not i.held}
    segments, owners = [], []
    for cue in source_cues:
        text = texts.get(cue.index, "")
        if text.strip():
            segments.append(Segment(cue.start_s, cue.end_s, text))
            owners.append(cue.index)
    end = max([duration_s, *(c.end_s for c in source_cues)])
    return Transcript(translation.language, end, f"translation:{translation.model}", tuple(segments)), owners


def translated_track(
    source_cues: Sequence[Cue], translation: Translation, fps: float = DEFAULT_FPS, *,
    shot_changes_s: Sequence[float] = (), duration_s: float = 0.0,
) -> BilingualTrack:
    """The translation laid out and timed as cues on the source cues (see the module docstring)."""
    rules = rules_for(translation.language)
    transcript, owners = _as_transcript(source_cues, translation, duration_s)
    starts = {cue.index: cue.start_s for cue in source_cues}
    bounds = [starts[o] for o in owners[1:]]

    def build(boundaries: list[float]) -> tuple[list[Cue], list[Violation]]:
        cues = build_cues(transcript, fps, rules, shot_changes_s=shot_changes_s, boundaries_s=boundaries)
        return cues, validate_cues(cues, transcript, fps, rules, shot_changes_s=shot_changes_s, boundaries_s=boundaries)

    cues, violations = build(bounds) if transcript.segments else ([], [])
    for _ in range(MAX_MERGES):
        slow = {v.cue_index for v in violations if v.rule in ("reading_speed", "min_duration")}
        if not slow:
            break
        improved = False
        for cue in (c for c in cues if c.index in slow):
            # Merge the translation with the next one (or, for the last, the one before).
            after = [b for b in bounds if b > cue.start_s + 1e-6]
            before = [b for b in bounds if b <= cue.start_s + 1e-6]
            drop = after[0] if after else (before[-1] if before else None)
            if drop is None:
                continue
            trial = [b for b in bounds if b != drop]
            merged, broken = build(trial)
            if len(broken) < len(violations):
                bounds, cues, violations, improved = trial, merged, broken, True
                log.info("translated cue at %.3f s merged with its neighbour: %s reading time", cue.start_s,
                         translation.language)
                break
        if not improved:
            break
    cues, violations = _unsplit(cues, violations, transcript, fps, rules, shot_changes_s, bounds)
    sources = tuple(tuple(c.index for c in source_cues if c.start_s < cue.end_s and cue.start_s < c.end_s
                          and c.index in set(owners)) for cue in cues)
    if violations:
        log.warning("%d rule(s) broken by the %s translation: see the track's report", len(violations),
                    translation.language)
    return BilingualTrack(translation.language, tuple(cues), sources, tuple(violations), translation)


def _unsplit(cues: list[Cue], violations: list[Violation], transcript: Transcript, fps: float, rules: CueRules,
             shot_changes_s: Sequence[float], bounds: list[float]) -> tuple[list[Cue], list[Violation]]:
    """Translations the builder cut into several cues (at a sentence end, say) put back into one cue wherever
    they fit its lines and that breaks no more rules: a translation is split only where the rules demand."""
    for segment in transcript.segments:
        group = [k for k, c in enumerate(cues) if segment.start - 1e-6 <= c.start_s < segment.end - 1e-6
                 and not any(c.start_s - 1e-6 <= b < c.end_s for b in bounds if b > segment.start + 1e-6)]
        if len(group) < 2 or group != list(range(group[0], group[-1] + 1)):
            continue
        alone = Transcript(transcript.language, transcript.duration_s, transcript.model, (segment,))
        units = speech_units(alone, rules)
        plan = _Plan(units, rules, fps)
        laid = plan.layout(0, len(units)) if units else None
        if laid is None:
            continue
        starts, _, dialogue = laid
        first, last = cues[group[0]], cues[group[-1]]
        one = Cue(first.index, first.start_s, last.end_s, plan.lines(len(units), starts, dialogue))
        trial = [*cues[: group[0]], one, *cues[group[-1] + 1 :]]
        trial = [Cue(n, c.start_s, c.end_s, c.lines) for n, c in enumerate(trial, 1)]
        broken = validate_cues(trial, transcript, fps, rules, shot_changes_s=shot_changes_s, boundaries_s=bounds)
        if len(broken) <= len(violations):
            cues, violations = trial, broken
    return cues, violations


# --------------------------------------------------------------------------- files


def track_name(stem: str, language: str, fmt: str) -> str:
    """The file name of a track in `language`: "subtitles.en.srt" (the language tag before the extension,
    as players pick side-car tracks)."""
    return f"{stem}.{lang.base_code(language)}.{fmt.lower().lstrip('.')}"


def write_track(cues: Sequence[Cue], fmt: str, language: str) -> str:
    """`write_subtitles`, with the language said in the file: TTML's xml:lang, a WebVTT `Language:` header."""
    text = write_subtitles(cues, fmt, language)
    if fmt.lower().lstrip(".") == "vtt":
        text = text.replace("WEBVTT\n", f"WEBVTT\nLanguage: {language}\n", 1)
    return text


# --------------------------------------------------------------------------- video


def mux_subtitle_tracks(video: str | Path, tracks: Sequence[tuple[str | Path, str]], out: str | Path) -> Path:
    """`video` with each (SRT file, language) of `tracks` as a mov_text subtitle track tagged with its language
    (ISO 639-2: "chi", "eng", "jpn") and titled with its name; the first is the default (MP4, stream copy)."""
    video, out = Path(video), Path(out)
    if not tracks:
        raise MediaError("no subtitle tracks to add: pass at least one (SRT file, language) pair")
    for path, _ in tracks:
        if not Path(path).is_file():
            raise MediaError(f"subtitle file {path} does not exist or is not a file")
    info = probe(video)
    if not info.has_video:
        raise MediaError(f"{video.name} has no video stream: soft subtitles need a video to ride on")
    args = [*input_args(video)]
    for path, _ in tracks:
        args += own_input_args(path, "srt")
    args += ["-map", "0:v:0", "-map", "0:a?"]
    for n in range(len(tracks)):
        args += ["-map", f"{n + 1}:0"]
    args += ["-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text"]
    for n, (_, language) in enumerate(tracks):
        found = lang.find(language)
        args += [f"-metadata:s:s:{n}", f"language={language_tag(language)}",
                 f"-metadata:s:s:{n}", f"title={found.name if found else language}",
                 f"-disposition:s:{n}", "default" if n == 0 else "0"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    tags = "+".join(language_tag(language) for _, language in tracks)
    run_ffmpeg(args, duration_s=info.duration_s, output=out, what=f"adding {tags} subtitle tracks to {video.name}")
    log.info("muxed %s subtitles into %s", tags, out)
    return out


def _ass_time(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    hours, cs = divmod(cs, 360_000)
    minutes, cs = divmod(cs, 6000)
    secs, cs = divmod(cs, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_colour(rgb: str) -> str:
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    return f"&H00{b}{g}{r}".upper()


SOURCE_COLOUR = "FFFFFF"
TRANSLATION_COLOUR = "FFE680"  # a pale yellow: the eye finds its own language's line at once


def bilingual_ass(source_cues: Sequence[Cue], source_language: str, cues: Sequence[Cue], language: str,
                  width: int, height: int) -> str:
    """An ASS script for libass: the translation at the bottom, the source above it (lifted, cue by cue, by
    as many lines as the translation on screen with it has), each in its language's face and size."""
    margin = round(MARGIN_V_FRACTION * height)
    sizes = {which: max(8, round(BILINGUAL_FONT_SCALE * default_font_size(width, height, code)))
             for which, code in (("Source", source_language), ("Translation", language))}
    styles = []
    for name, code, colour in (("Source", source_language, SOURCE_COLOUR), ("Translation", language, TRANSLATION_COLOUR)):
        size = sizes[name]
        styles.append(f"Style: {name},{font_family(code)},{size},{_ass_colour(colour)},&H000000FF,&H00000000,"
                      f"&H80000000,0,0,0,0,100,100,0,0,1,{max(1, round(size / 16))},0,2,{round(width * 0.05)},"
                      f"{round(width * 0.05)},{margin},1")
    line_px = LINE_HEIGHT_EM * sizes["Translation"]
    events = []
    for cue in cues:
        text = r"\N".join(srt_text(line) for line in cue.lines)
        events.append(f"Dialogue: 0,{_ass_time(cue.start_s)},{_ass_time(cue.end_s)},Translation,,0,0,0,,{text}")
    for cue in source_cues:
        below = max((len(c.lines) for c in cues if c.start_s < cue.end_s and cue.start_s < c.end_s), default=0)
        lift = margin + (round(below * line_px + LINE_SPACING_EM * sizes["Translation"]) if below else 0)
        text = r"\N".join(srt_text(line) for line in cue.lines)
        events.append(f"Dialogue: 1,{_ass_time(cue.start_s)},{_ass_time(cue.end_s)},Source,,0,0,{lift},,{text}")
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}", "WrapStyle: 2",
        "ScaledBorderAndShadow: yes", "", "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding", *styles, "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text", *events, "",
    ])


def burn_bilingual(video: str | Path, source_cues: Sequence[Cue], source_language: str, cues: Sequence[Cue],
                   language: str, out: str | Path) -> Path:
    """`video` re-encoded (H.264, audio copied) with both languages drawn in: source above, translation below."""
    video, out = Path(video), Path(out)
    info = probe(video)
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{video.name} has no video stream to burn subtitles into")
    script = out.with_name(f"{out.stem}.{lang.base_code(source_language)}-{lang.base_code(language)}.ass")
    script.write_text(bilingual_ass(source_cues, source_language, cues, language, v.width, v.height), "utf-8")
    try:
        args = [
            *input_args(video), "-map", "0:v:0", "-map", "0:a?", "-vf", Filter("subtitles", filename=script),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(out),
        ]
        run_ffmpeg(args, duration_s=info.duration_s, output=out,
                   what=f"burning {source_language}+{language} subtitles into {video.name}")
    finally:
        script.unlink(missing_ok=True)
    log.info("burned %s and %s subtitles into %s", source_language, language, out)
    return out


__all__ = [
    "BilingualTrack",
    "bilingual_ass",
    "burn_bilingual",
    "mux_subtitle_tracks",
    "track_name",
    "translated_track",
    "write_track",
]
