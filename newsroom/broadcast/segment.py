"""Assemble the broadcast segment: the anchor intro, then the highlight edit, at one size and rate,
with lower thirds drawn by ffmpeg (`drawtext`, Noto Sans CJK Bold: the file and face the covers use).

Lower-third text is always literal: `drawtext` reads it from a UTF-8 file with `expansion=none`, so a
headline such as "Prices up 5% in May" or "%{pts}" is drawn as written, never expanded or cut short.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from newsroom import lang
from newsroom.audio import loudness
from newsroom.audio.loudness import Loudness, LoudnessTarget
from newsroom.errors import MediaError
from newsroom.graphics import (
    STRAP_COLOUR,
    STRAP_KINDS,
    LowerThird,
    PlacedStrap,
    fit_strap,
    place_straps,
    place_subtitles,
    strap_text_width_px,
)
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.graph import Filter, FilterGraph
from newsroom.media.inputs import input_args, own_input_args
from newsroom.subtitles.burn import burn_in_filter, language_tag, place_cues
from newsroom.types import MediaInfo, Segment, Speech, Transcript, Word
from newsroom.typeset import FittedText, headline_font, load_font

log = logging.getLogger("newsroom.broadcast.segment")

SEGMENT_SIZE = (1280, 720)
SEGMENT_FPS = 25
AUDIO_RATE_HZ = 48_000
# Lower thirds: laid out by newsroom.graphics (inside EBU R95's graphics-safe area, straps shown together
# stacked, subtitles moved above them while they are on screen); drawn here as a `drawbox` and a `drawtext`.
LOWER_THIRD_STYLES = STRAP_KINDS
LOWER_THIRD_TEXT_MAX_W_PX = strap_text_width_px(SEGMENT_SIZE)  # at most this much text in the 1280x720 frame
HEADLINE_SHOW_S = 6.0
NAME_SHOW_S = 4.0


def _scale_pad() -> list[Filter]:
    """Any picture into the segment's frame: fitted, letterboxed, at its rate, square pixels, yuv420p."""
    w, h = SEGMENT_SIZE
    return [Filter("scale", w, h, force_original_aspect_ratio="decrease"), Filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2"),
            Filter("fps", SEGMENT_FPS), Filter("setsar", 1), Filter("format", "yuv420p")]


def fit_lower_third(text: str, kind: str = "headline", language: str = "en",
                    size: tuple[int, int] = SEGMENT_SIZE) -> FittedText:
    """`text` as the lines a lower third of `kind` draws: one clean line of literal text (`typeset`), wrapped
    to at most two lines (a name: one), shrunk and then cut with an ellipsis so the strap stays inside
    the graphics-safe area of a frame of `size`; characters the font cannot draw (emoji) are left out."""
    return fit_strap(text, kind, language, size)


def strap_filters(strap: PlacedStrap, language: str, folder: Path, name: str) -> list[Filter]:
    """The filters that draw one placed strap: its box (`drawbox`) and its text (`drawtext`, in
    `folder`/`name`.txt), both only while it is shown. The text is literal: read from a UTF-8 file (no
    filter-graph escaping involved) with `expansion=none` (no `%{...}` expansion, no backslash escapes)."""
    fitted = strap.fitted
    if fitted.truncated:
        log.info("lower third cut to fit the frame at %d px: %r", fitted.font_size_px, fitted.lines[-1])
    textfile = folder / f"{name}.txt"
    textfile.write_text(fitted.text, "utf-8")
    enable = f"between(t,{strap.start_s:.3f},{strap.end_s:.3f})"
    box, text = strap.box, strap.text_box
    return [
        Filter("drawbox", x=box.x, y=box.y, w=box.w, h=box.h, color=STRAP_COLOUR, t="fill", enable=enable),
        Filter("drawtext", fontfile=_drawtext_font(language), textfile=textfile, expansion="none",
               fontsize=fitted.font_size_px, fontcolor="white", line_spacing=strap.line_spacing_px,
               x=text.x, y=f"{text.y}+({text.h}-th)/2", enable=enable),
    ]


def lower_third_filters(thirds: Sequence[LowerThird], language: str, folder: Path,
                        size: tuple[int, int] = SEGMENT_SIZE) -> tuple[list[Filter], tuple[PlacedStrap, ...]]:
    """The straps of `thirds` laid out in a frame of `size` (newsroom.graphics.place_straps) and the filters
    drawing them; a third with nothing left to draw is left out (logged)."""
    placed = place_straps(thirds, size, language)
    drawn = {id(p.third) for p in placed}
    for third in thirds:
        if id(third) not in drawn:
            log.warning("lower third %r at %.1f s has nothing to draw: left out", third.text[:80], third.start_s)
    filters = [f for i, strap in enumerate(placed) for f in strap_filters(strap, language, folder, f"third{i}")]
    return filters, placed


def lower_third_filter(third: LowerThird, language: str, folder: Path, name: str,
                       size: tuple[int, int] = SEGMENT_SIZE) -> list[Filter] | None:
    """The filters for one lower third on its own (`strap_filters` of its placed strap); None if nothing is
    left to draw."""
    placed = place_straps([third], size, language)
    return strap_filters(placed[0], language, folder, name) if placed else None


def _drawtext_font(language: str) -> str:
    """A fontconfig pattern for the face `headline_font` picks (the one the text was measured in): family,
    style and file. (drawtext has no face-index option, and a pattern with `index=` still gets face 0 - the
    Japanese one - of a collection; family and style within the file select the face.)"""
    path, index = headline_font(language)
    family, style = load_font(path, index, 12).getname()
    return f"{_fontconfig_escape(family)}:style={_fontconfig_escape(style)}:file={_fontconfig_escape(path)}"


def _fontconfig_escape(value: str) -> str:
    for ch in "\\-:,=":
        value = value.replace(ch, "\\" + ch)
    return value


@dataclass(frozen=True, slots=True)
class AssembledSegment:
    """The rendered segment: `path` (soft subtitle track when subtitles were given), the burned-in copy, and
    the measured loudness when it was mastered."""

    path: Path
    burned: Path | None = None
    loudness: Loudness | None = None


def assemble_segment(
    anchor: str | Path, story: str | Path, out: str | Path, *, lower_thirds: Sequence[LowerThird] = (),
    language: str = "en", subtitles: str | Path | None = None, burned: str | Path | None = None,
    master_to: LoudnessTarget | None = None, progress: Progress | None = None,
) -> AssembledSegment:
    """anchor.mp4 + story.mp4 -> one 1280x720/25 fps H.264 + 48 kHz stereo AAC file with lower thirds.

    One decode, one filter graph, one encode per output: with `subtitles` (SRT on the segment's timeline)
    `out` carries them as a soft mov_text track and `burned` (if given) gets them drawn into the picture;
    with `master_to` the audio is loudness-normalised in the same pass (two-pass loudnorm: the analysis
    reads only the audio) and verified with ebur128, corrected by an audio-only re-master if it misses.
    """
    anchor_info, story_info = probe(anchor), probe(story)
    for info in (anchor_info, story_info):
        if not info.has_video:
            raise MediaError(f"{Path(info.path).name} has no video stream for the broadcast segment")
    if burned is not None and subtitles is None:
        raise MediaError("a burned-in copy of the segment needs subtitles: pass the SRT as `subtitles`")
    out = Path(out)
    duration = anchor_info.duration_s + story_info.duration_s
    with tempfile.TemporaryDirectory(prefix="newsroom-segment-") as tmp:
        inputs = [*input_args(anchor), *input_args(story)]
        sounds = [_audio_source(i, info, inputs) for i, info in enumerate((anchor_info, story_info))]
        measured = measure_mix(inputs, sounds, master_to, "the broadcast segment's audio")
        graph = FilterGraph()
        graph.chain("0:v", _scale_pad(), "av")
        graph.chain("1:v", _scale_pad(), "sv")
        graph.chain(["av", "sv"], Filter("concat", n=2, v=1, a=0), "cv")
        join_audio(graph, sounds)
        if measured is not None:
            graph.chain("ca", [loudness.second_pass_filter(measured, master_to), Filter("aresample", AUDIO_RATE_HZ),
                               Filter("asetpts", "N/SR/TB")], "ma")
        else:
            graph.chain("ca", Filter("anull"), "ma")
        drawn, straps = lower_third_filters(lower_thirds, language, Path(tmp))
        graph.chain("cv", drawn or [Filter("null")], "v")
        video_args = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
        audio_args = ["-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE_HZ), "-ac", "2"]
        outputs: list[str] = []
        if burned is not None:
            graph.chain("v", Filter("split", 2), ["v0", "v1"])
            cues = place_subtitles(SEGMENT_SIZE, language, straps)  # above the straps while they are shown
            placed = place_cues(subtitles, Path(tmp) / "cues.ass", cues)
            graph.chain("v1", burn_in_filter(placed, *SEGMENT_SIZE, language, layout=cues), "vb")
            graph.chain("ma", Filter("asplit", 2), ["a0", "a1"])
            streams = [("v0", "a0"), ("vb", "a1")]
        else:
            streams = [("v", "ma")]
        subtitle_input = sum(1 for a in inputs if a == "-i")
        if subtitles is not None:
            inputs += own_input_args(subtitles, "srt")
        for i, (video, sound) in enumerate(streams):
            outputs += ["-map", graph.output(video), "-map", graph.output(sound), *video_args, *audio_args]
            if i == 0 and subtitles is not None:
                outputs += ["-map", f"{subtitle_input}:0", "-c:s", "mov_text",
                            "-metadata:s:s:0", f"language={language_tag(language)}", "-disposition:s:0", "default"]
            outputs += ["-movflags", "+faststart", "-f", "mp4", str(out if i == 0 else burned)]
        try:
            run_ffmpeg([*inputs, "-filter_complex", graph.text(), *outputs], duration_s=duration,
                       progress=progress, what="assembling the broadcast segment", output=out)
        except MediaError:
            if burned is not None:
                Path(burned).unlink(missing_ok=True)
            raise
    result = None
    if master_to is not None:
        result = loudness.measure(out)
        if not result.meets(master_to, tolerance_lu=0.5):
            # loudnorm left linear mode (peaks): re-master the audio only, the pictures are copied.
            log.info("segment at %.1f LUFS / %.1f dBTP misses %s: re-mastering the audio", result.integrated_lufs,
                     result.true_peak_dbtp, master_to.name)
            fixed = out.with_name(f".{out.stem}.master{out.suffix}")
            result = loudness.master(out, fixed, master_to)
            fixed.replace(out)
            if burned is not None:  # the same sound: its re-mastered track is copied over, not worked out again
                burned = Path(burned)
                joined = burned.with_name(f".{burned.stem}.master{burned.suffix}")
                run_ffmpeg([*input_args(burned), *input_args(out), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                            "-movflags", "+faststart", "-f", "mp4", str(joined)],
                           what="copying the re-mastered sound into the burned-in segment", output=joined)
                joined.replace(burned)
    return AssembledSegment(out, Path(burned) if burned is not None else None, result)


def _audio_source(index: int, info: MediaInfo, inputs: list[str]) -> tuple[str, list[Filter]]:
    """(stream, filters) for input `index`'s sound: its audio at 48 kHz stereo, exactly as long as the input
    (padded or trimmed, so the audio and video concatenations stay in step), or, when it has none, silence
    of that length from an input added to `inputs`."""
    if info.has_audio:
        return f"{index}:a", [Filter("aresample", AUDIO_RATE_HZ), Filter("aformat", channel_layouts="stereo"),
                              Filter("apad", whole_dur=f"{info.duration_s:.3f}"),
                              Filter("atrim", duration=f"{info.duration_s:.3f}")]
    silent_input = sum(1 for a in inputs if a == "-i")
    inputs += ["-f", "lavfi", "-t", f"{info.duration_s:.3f}", "-i", str(Filter("anullsrc", r=AUDIO_RATE_HZ, cl="stereo"))]
    return f"{silent_input}:a", [Filter("anull")]


def join_audio(graph: FilterGraph, sounds: Sequence[tuple[str, list[Filter]]]) -> None:
    """Into `graph`: [ca], the parts' sounds (input stream, its filters) one after the other."""
    labels = []
    for i, (stream, filters) in enumerate(sounds):
        graph.chain(stream, filters, f"sound{i}")
        labels.append(f"sound{i}")
    graph.chain(labels, Filter("concat", n=len(labels), v=0, a=1), "ca")


def measure_mix(inputs: list[str], sounds: Sequence[tuple[str, list[Filter]]], master_to: LoudnessTarget | None,
                what: str) -> dict | None:
    """The first loudnorm pass over the joined sounds (None when nothing is mastered)."""
    if master_to is None:
        return None
    analysis = FilterGraph()
    join_audio(analysis, sounds)
    analysis.chain("ca", loudness.first_pass_filter(master_to), "m")
    mapped = analysis.output("m")
    return loudness.analyse([*inputs, "-filter_complex", analysis.text(), "-map", mapped, "-f", "null", "-"], what)


def speech_transcript(speech: Speech, model: str = "tts") -> Transcript:
    """The anchor's speech as a transcript (for subtitles): words with their synthesis timings."""
    if not speech.words:
        return Transcript(speech.language, speech.duration_s, model)
    words = tuple(Word(w.start_s, max(w.end_s, w.start_s), w.word, 1.0) for w in speech.words)
    text = lang.joiner(speech.language).join(w.word for w in words)
    return Transcript(speech.language, speech.duration_s, model, (Segment(words[0].start, words[-1].end, text, words),))


def join_transcripts(first: Transcript, second: Transcript, *, offset_s: float) -> Transcript:
    """`second` shifted by `offset_s` after `first`: subtitles for the anchor intro followed by the story."""
    shifted = tuple(
        replace(s, start=s.start + offset_s, end=s.end + offset_s,
                words=tuple(replace(w, start=w.start + offset_s, end=w.end + offset_s) for w in s.words))
        for s in second.segments
    )
    return Transcript(first.language, offset_s + second.duration_s, first.model, first.segments + shifted)
