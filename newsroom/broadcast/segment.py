"""Assemble the broadcast segment: the anchor intro, then the highlight edit, at one size and rate,
with lower thirds drawn by ffmpeg (`drawtext`, Noto Sans CJK through fontconfig)."""

from __future__ import annotations

import logging
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from newsroom.errors import MediaError
from newsroom.media import Progress, probe, run_ffmpeg
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
    width = 28 if language == "zh" else 52
    text = " ".join(text.split())
    if language == "zh":
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


def assemble_segment(
    anchor: str | Path, story: str | Path, out: str | Path, *, lower_thirds: list[LowerThird] = (),
    language: str = "en", progress: Progress | None = None,
) -> Path:
    """anchor.mp4 + story.mp4 -> one 1280x720/25 fps H.264 + 48 kHz stereo AAC file with lower thirds."""
    anchor_info, story_info = probe(anchor), probe(story)
    for info in (anchor_info, story_info):
        if not info.has_video:
            raise MediaError(f"{Path(info.path).name} has no video stream for the broadcast segment")
    duration = anchor_info.duration_s + story_info.duration_s
    with tempfile.TemporaryDirectory(prefix="newsroom-segment-") as tmp:
        inputs = ["-i", str(anchor), "-i", str(story)]
        graph = [_scale_pad("0:v", "av"), _scale_pad("1:v", "sv")]
        graph.append(_audio("0", anchor_info, "aa", inputs, 2))
        graph.append(_audio("1", story_info, "sa", inputs, 3 if not anchor_info.has_audio else 2))
        graph.append("[av][aa][sv][sa]concat=n=2:v=1:a=1[cv][ca]")
        chain = []
        for i, third in enumerate(t for t in lower_thirds if t.text.strip()):
            textfile = Path(tmp) / f"third{i}.txt"
            textfile.write_text(wrap_lower_third(third.text, language), "utf-8")
            chain.append(_drawtext(third, textfile))
        graph.append(f"[cv]{','.join(chain) or 'null'}[v]")
        run_ffmpeg(
            [*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[ca]",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE_HZ), "-ac", "2", "-movflags", "+faststart", str(out)],
            duration_s=duration, progress=progress, what="assembling the broadcast segment", output=out,
        )
    return Path(out)


def _audio(index: str, info: MediaInfo, label: str, inputs: list[str], silent_input: int) -> str:
    """The input's audio at 48 kHz stereo, or silence of the same length when it has none."""
    if info.has_audio:
        return f"[{index}:a]aresample={AUDIO_RATE_HZ},aformat=channel_layouts=stereo[{label}]"
    inputs += ["-f", "lavfi", "-t", f"{info.duration_s:.3f}", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
    return f"[{silent_input}:a]anull[{label}]"


def speech_transcript(speech: Speech, model: str = "tts") -> Transcript:
    """The anchor's speech as a transcript (for subtitles): words with their synthesis timings."""
    if not speech.words:
        return Transcript(speech.language, speech.duration_s, model)
    words = tuple(Word(w.start_s, max(w.end_s, w.start_s), w.word, 1.0) for w in speech.words)
    joiner = "" if speech.language == "zh" else " "
    return Transcript(speech.language, speech.duration_s, model,
                      (Segment(words[0].start, words[-1].end, joiner.join(w.word for w in words), words),))


def join_transcripts(first: Transcript, second: Transcript, *, offset_s: float) -> Transcript:
    """`second` shifted by `offset_s` after `first`: subtitles for the anchor intro followed by the story."""
    shifted = tuple(
        Segment(s.start + offset_s, s.end + offset_s, s.text,
                tuple(Word(w.start + offset_s, w.end + offset_s, w.word, w.probability) for w in s.words))
        for s in second.segments
    )
    return Transcript(first.language, offset_s + second.duration_s, first.model, first.segments + shifted)
