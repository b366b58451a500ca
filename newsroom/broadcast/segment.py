"""Assemble the broadcast segment: the anchor intro, then the highlight edit, at one size and rate,
with lower thirds drawn by ffmpeg (`drawtext`, Noto Sans CJK through fontconfig)."""

from __future__ import annotations

import logging
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsroom import lang
from newsroom.audio import loudness
from newsroom.audio.loudness import Loudness, LoudnessTarget
from newsroom.errors import MediaError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.subtitles.burn import burn_in_filter, language_tag
from newsroom.types import MediaInfo, Segment, Speech, Transcript, Word

log = logging.getLogger("newsroom.broadcast.segment")

SEGMENT_SIZE = (1280, 720)
SEGMENT_FPS = 25
AUDIO_RATE_HZ = 48_000
LOWER_THIRD_FONT = r"Noto Sans CJK SC\:style=Bold"  # the colon escaped for drawtext's option parser
HEADLINE_SHOW_S = 6.0
NAME_SHOW_S = 4.0


@dataclass(frozen=True, slots=True)
class LowerThird:
    text: str
    start_s: float
    end_s: float
    kind: str = "headline"  # "headline" | "name"


def wrap_lower_third(text: str, language: str, *, max_lines: int = 2) -> str:
    """At most two lines that fit 1280 px at the lower-third size; an ellipsis rather than overflow."""
    profile = lang.profile(language)
    width = profile.lower_third_chars
    text = " ".join(text.split())
    if not profile.spaced:
        lines = [text[i:i + width] for i in range(0, len(text), width)]
    else:
        lines = textwrap.wrap(text, width=width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


def _scale_pad(label_in: str, label_out: str) -> str:
    w, h = SEGMENT_SIZE
    return (f"[{label_in}]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
            f"fps={SEGMENT_FPS},setsar=1,format=yuv420p[{label_out}]")


def _drawtext(third: LowerThird, textfile: Path) -> str:
    size = 40 if third.kind == "headline" else 34
    y = "h-th-90" if third.kind == "headline" else "h-th-150"
    return (
        f"drawtext=font='{LOWER_THIRD_FONT}':textfile='{textfile}':fontsize={size}:fontcolor=white:"
        f"line_spacing=8:box=1:boxcolor=0x0a2a5a@0.85:boxborderw=18:x=60:y={y}:"
        f"enable='between(t,{third.start_s:.3f},{third.end_s:.3f})'"
    )


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
        inputs = ["-i", str(anchor), "-i", str(story)]
        audio = [_audio("0", anchor_info, "aa", inputs, 2),
                 _audio("1", story_info, "sa", inputs, 3 if not anchor_info.has_audio else 2),
                 "[aa][sa]concat=n=2:v=0:a=1[ca]"]
        measured = None
        if master_to is not None:
            measured = loudness.analyse([*inputs, "-filter_complex", ";".join(audio) + f";[ca]"
                                         f"{loudness.first_pass_filter(master_to)}[m]", "-map", "[m]", "-f", "null", "-"],
                                        "the broadcast segment's audio")
            audio.append(f"[ca]{loudness.second_pass_filter(measured, master_to)},aresample={AUDIO_RATE_HZ},asetpts=N/SR/TB[ma]")
        else:
            audio.append("[ca]anull[ma]")
        graph = [_scale_pad("0:v", "av"), _scale_pad("1:v", "sv"), "[av][sv]concat=n=2:v=1:a=0[cv]", *audio]
        chain = []
        for i, third in enumerate(t for t in lower_thirds if t.text.strip()):
            textfile = Path(tmp) / f"third{i}.txt"
            textfile.write_text(wrap_lower_third(third.text, language), "utf-8")
            chain.append(_drawtext(third, textfile))
        graph.append(f"[cv]{','.join(chain) or 'null'}[v]")
        video_args = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
        audio_args = ["-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE_HZ), "-ac", "2"]
        outputs: list[str] = []
        if burned is not None:
            graph += ["[v]split=2[v0][v1]", f"[v1]{burn_in_filter(subtitles, *SEGMENT_SIZE, language)}[vb]",
                      "[ma]asplit=2[a0][a1]"]
            streams = [("[v0]", "[a0]"), ("[vb]", "[a1]")]
        else:
            streams = [("[v]", "[ma]")]
        subtitle_input = sum(1 for a in inputs if a == "-i")
        if subtitles is not None:
            inputs += ["-i", str(subtitles)]
        for i, (video, sound) in enumerate(streams):
            outputs += ["-map", video, "-map", sound, *video_args, *audio_args]
            if i == 0 and subtitles is not None:
                outputs += ["-map", f"{subtitle_input}:0", "-c:s", "mov_text",
                            "-metadata:s:s:0", f"language={language_tag(language)}", "-disposition:s:0", "default"]
            outputs += ["-movflags", "+faststart", "-f", "mp4", str(out if i == 0 else burned)]
        try:
            run_ffmpeg([*inputs, "-filter_complex", ";".join(graph), *outputs], duration_s=duration,
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
                run_ffmpeg(["-i", str(burned), "-i", str(out), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                            "-movflags", "+faststart", "-f", "mp4", str(joined)],
                           what="copying the re-mastered sound into the burned-in segment", output=joined)
                joined.replace(burned)
    return AssembledSegment(out, Path(burned) if burned is not None else None, result)


def _audio(index: str, info: MediaInfo, label: str, inputs: list[str], silent_input: int) -> str:
    """The input's audio at 48 kHz stereo, exactly as long as the input (padded or trimmed, so the audio
    and video concatenations stay in step), or silence of that length when it has none."""
    if info.has_audio:
        return (f"[{index}:a]aresample={AUDIO_RATE_HZ},aformat=channel_layouts=stereo,"
                f"apad=whole_dur={info.duration_s:.3f},atrim=duration={info.duration_s:.3f}[{label}]")
    inputs += ["-f", "lavfi", "-t", f"{info.duration_s:.3f}", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
    return f"[{silent_input}:a]anull[{label}]"


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
        Segment(s.start + offset_s, s.end + offset_s, s.text,
                tuple(Word(w.start + offset_s, w.end + offset_s, w.word, w.probability) for w in s.words))
        for s in second.segments
    )
    return Transcript(first.language, offset_s + second.duration_s, first.model, first.segments + shifted)
