"""A programme of several parts in one pass: anchor reads, picture tracks, stings, one after another.

The broadcast segment (`segment.assemble_segment`) joins an anchor intro and a highlight; an article video
joins an optional anchor intro, the narrated pictures and an optional outro, and a bulletin joins anchor
reads with stings between them. Each part is a video with its own sound, or a silent video with a sound
file beside it (the narration). One decode and one filter graph: every part fitted to the frame, joined,
lower thirds laid out by `newsroom.graphics` and drawn (literal text, `segment.lower_third_filters`), the joined sound mastered to a loudness
profile (two-pass loudnorm, verified with ebur128, re-mastered audio-only if it misses); outputs are the
soft-subtitled file and/or a copy with the subtitles burned in, both from the same pass.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsroom.audio import loudness
from newsroom.audio.loudness import Loudness, LoudnessTarget
from newsroom.broadcast.segment import (
    AUDIO_RATE_HZ,
    SEGMENT_FPS,
    SEGMENT_SIZE,
    LowerThird,
    join_audio,
    lower_third_filters,
    measure_mix,
)
from newsroom.errors import ConfigError, MediaError
from newsroom.graphics import place_subtitles
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.graph import Filter, FilterGraph
from newsroom.media.inputs import input_args, own_input_args
from newsroom.subtitles.burn import burn_in_filter, language_tag, place_cues

log = logging.getLogger("newsroom.broadcast.programme")

VIDEO_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE_HZ), "-ac", "2"]


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a programme: `video` (its own sound, unless `audio` names a sound file to use instead;
    silence when it has neither), shown for the video's duration; `filters` prepare its picture first
    (e.g. a crop of a 16:9 anchor for a 9:16 programme)."""

    video: Path
    audio: Path | None = None
    filters: tuple[Filter, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RenderedProgramme:
    """The rendered programme: the soft-subtitled file and/or the burned copy, their measured loudness, and
    where each part starts (seconds on the programme's clock)."""

    path: Path | None
    burned: Path | None
    loudness: Loudness | None
    starts_s: tuple[float, ...]
    duration_s: float


def _fit(size: tuple[int, int], fps: float) -> list[Filter]:
    w, h = size
    return [Filter("scale", w, h, force_original_aspect_ratio="decrease"), Filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2"),
            Filter("fps", fps), Filter("setsar", 1), Filter("format", "yuv420p")]


def _sounds(parts: Sequence[Part], durations: Sequence[float], inputs: list[str]) -> list[tuple[str, list[Filter]]]:
    """(stream, filters) per part: its sound at 48 kHz stereo, exactly as long as its picture."""
    out = []
    video_inputs = len(parts)
    for i, (part, duration) in enumerate(zip(parts, durations, strict=True)):
        fit = [Filter("aresample", AUDIO_RATE_HZ), Filter("aformat", channel_layouts="stereo"),
               Filter("apad", whole_dur=f"{duration:.3f}"), Filter("atrim", duration=f"{duration:.3f}"),
               Filter("asetpts", "N/SR/TB")]
        if part.audio is not None:
            index = sum(1 for a in inputs if a == "-i")
            inputs += input_args(part.audio)
            out.append((f"{index}:a", fit))
        elif probe(part.video).has_audio:
            out.append((f"{i}:a", fit))
        else:
            index = sum(1 for a in inputs if a == "-i")
            inputs += ["-f", "lavfi", "-t", f"{duration:.3f}", "-i", str(Filter("anullsrc", r=AUDIO_RATE_HZ, cl="stereo"))]
            out.append((f"{index}:a", [Filter("anull")]))
    assert video_inputs <= sum(1 for a in inputs if a == "-i")
    return out


def assemble_programme(
    parts: Sequence[Part], *, out: str | Path | None = None, burned: str | Path | None = None,
    subtitles: str | Path | None = None, language: str = "en", lower_thirds: Sequence[LowerThird] = (),
    master_to: LoudnessTarget | None = None, size: tuple[int, int] = SEGMENT_SIZE, fps: float = SEGMENT_FPS,
    burn_margin_v_px: int | None = None, progress: Progress | None = None,
) -> RenderedProgramme:
    """`parts` one after another at `size` and `fps`, H.264 + 48 kHz stereo AAC. `out` gets the subtitles
    (SRT on the programme's clock) as a soft mov_text track, `burned` has them drawn in; give either or both."""
    if not parts:
        raise ConfigError("a programme needs at least one part")
    if out is None and burned is None:
        raise ConfigError("give `out`, `burned` or both: where the programme goes")
    if burned is not None and subtitles is None:
        raise MediaError("a burned-in programme needs subtitles: pass the SRT as `subtitles`")
    infos = [probe(p.video) for p in parts]
    for info in infos:
        if not info.has_video:
            raise MediaError(f"{Path(info.path).name} has no video stream for the programme")
    durations = [round(info.duration_s * fps) / fps for info in infos]
    starts = [sum(durations[:i]) for i in range(len(parts))]
    total = sum(durations)
    with tempfile.TemporaryDirectory(prefix="newsroom-programme-") as tmp:
        inputs: list[str] = []
        for part in parts:
            inputs += input_args(part.video)
        sounds = _sounds(parts, durations, inputs)
        measured = measure_mix(inputs, sounds, master_to, "the programme's sound")
        graph = FilterGraph()
        labels = []
        for i, (part, duration) in enumerate(zip(parts, durations, strict=True)):
            graph.chain(f"{i}:v", [*part.filters, *_fit(size, fps), Filter("trim", duration=f"{duration:.4f}"),
                                   Filter("setpts", "PTS-STARTPTS")], f"part{i}")
            labels.append(f"part{i}")
        graph.chain(labels, Filter("concat", n=len(labels), v=1, a=0), "cv")
        join_audio(graph, sounds)
        if measured is not None:
            graph.chain("ca", [loudness.second_pass_filter(measured, master_to), Filter("aresample", AUDIO_RATE_HZ),
                               Filter("asetpts", "N/SR/TB")], "ma")
        else:
            graph.chain("ca", Filter("anull"), "ma")
        drawn, straps = lower_third_filters(lower_thirds, language, Path(tmp), size)
        graph.chain("cv", drawn or [Filter("null")], "v")
        if subtitles is not None and burned is not None:  # the cues stand above the straps while they are shown
            cues = place_subtitles(size, language, straps)
            burn = burn_in_filter(place_cues(subtitles, Path(tmp) / "cues.ass", cues), *size, language,
                                  margin_v_px=burn_margin_v_px, layout=cues)
        targets: list[tuple[str, str, Path, bool]] = []
        if out is not None and burned is not None:
            graph.chain("v", Filter("split", 2), ["v0", "v1"])
            graph.chain("v1", burn, "vb")
            graph.chain("ma", Filter("asplit", 2), ["m0", "m1"])
            targets = [("v0", "m0", Path(out), True), ("vb", "m1", Path(burned), False)]
        elif out is not None:
            targets = [("v", "ma", Path(out), True)]
        else:
            graph.chain("v", burn, "vb")
            targets = [("vb", "ma", Path(burned), False)]
        subtitle_input = sum(1 for a in inputs if a == "-i")
        soft = subtitles is not None and out is not None
        if soft:
            inputs += own_input_args(subtitles, "srt")
        outputs: list[str] = []
        for video, sound, path, with_track in targets:
            outputs += ["-map", graph.output(video), "-map", graph.output(sound), *VIDEO_ARGS, *AUDIO_ARGS]
            if with_track and soft:
                outputs += ["-map", f"{subtitle_input}:0", "-c:s", "mov_text",
                            "-metadata:s:s:0", f"language={language_tag(language)}", "-disposition:s:0", "default"]
            outputs += ["-t", f"{total:.4f}", "-movflags", "+faststart", "-f", "mp4", str(path)]
        try:
            run_ffmpeg([*inputs, "-filter_complex", graph.text(), *outputs], duration_s=total, progress=progress,
                       what="assembling the programme", output=targets[0][2])
        except MediaError:
            for _, _, path, _ in targets:
                path.unlink(missing_ok=True)
            raise
    result = None
    if master_to is not None:
        first = targets[0][2]
        result = loudness.measure(first)
        if not result.meets(master_to, tolerance_lu=0.5):
            log.info("programme at %.1f LUFS / %.1f dBTP misses %s: re-mastering the audio", result.integrated_lufs,
                     result.true_peak_dbtp, master_to.name)
            fixed = first.with_name(f".{first.stem}.master{first.suffix}")
            result = loudness.master(first, fixed, master_to)
            fixed.replace(first)
            for _, _, other, _ in targets[1:]:
                joined = other.with_name(f".{other.stem}.master{other.suffix}")
                run_ffmpeg([*input_args(other), *input_args(first), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                            "-movflags", "+faststart", "-f", "mp4", str(joined)],
                           what="copying the re-mastered sound into the burned-in programme", output=joined)
                joined.replace(other)
    return RenderedProgramme(Path(out) if out is not None else None, Path(burned) if burned is not None else None, result,
                     tuple(starts), total)
