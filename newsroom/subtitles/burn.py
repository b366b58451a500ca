"""Subtitles into video: a soft mov_text track (stream copy) or burned-in text (libass, re-encode).

Burn-in renders with ffmpeg's `subtitles` filter (libass) in Noto Sans CJK, in the face of the language
profile's region ("Noto Sans CJK SC" for English and Simplified Chinese; Debian: fonts-noto-cjk). The style is forced with the script resolution set
to the video's own size, so `font_size` and `margin_v_px` are real pixels of the output: a vertical
9:16 cut can lift the text above the app controls with `margin_v_px`.

Where cues go beside other graphics is `newsroom.graphics`' business: `place_subtitles` gives a
`SubtitleLayout` (font size, margins, and the spans during which the cues stand above a lower third).
`burn_in_filter(..., layout=)` draws with its size and margins; `place_cues(subtitles, out, layout)` first
writes the cues as an ASS script in which a cue shown while a strap is on screen stands above it (the cue is
split where a strap comes or goes, each part with its own bottom margin), the one API change for that.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from newsroom import lang
from newsroom.errors import ConfigError, MediaError
from newsroom.media import probe, process, run_ffmpeg
from newsroom.media.graph import Filter, escape_value
from newsroom.media.inputs import input_args, own_input_args
from newsroom.subtitles.rules import rules_for

if TYPE_CHECKING:
    from newsroom.graphics import Raised, SubtitleLayout

log = logging.getLogger("newsroom.subtitles")

FONT_FAMILY = "Noto Sans CJK SC"  # for languages without a profile
BURN_FORMATS = (".srt", ".vtt", ".ass", ".ssa")
FONT_HEIGHT_FRACTION = 0.05  # font size as a fraction of the frame height, before the width check
LINE_WIDTH_FRACTION = 0.9  # a full line may take this much of the frame width
MARGIN_V_FRACTION = 0.06  # bottom margin as a fraction of the height (inside the 5% graphics-safe area)


def language_tag(language: str) -> str:
    """ISO 639-2 code for a track's language tag ("en" -> "eng", "zh" -> "chi"; 3 letters pass through)."""
    found = lang.find(language)
    if found is not None:
        return found.iso639_2
    code = lang.base_code(language)
    if len(code) == 3 and code.isalpha():
        return code
    raise ConfigError(f"no track language tag for {language!r}: use one of {', '.join(lang.CODES)} "
                      "or a 3-letter ISO 639-2 code")


def font_family(language: str) -> str:
    """The Noto Sans CJK family libass draws `language` in (the profile's regional face)."""
    found = lang.find(language)
    return found.font_family if found else FONT_FAMILY


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise MediaError(f"{what} {path} does not exist or is not a file")


def _require_burnable(path: Path) -> None:
    _require_file(path, "subtitle file")
    if path.suffix.lower() not in BURN_FORMATS:
        raise MediaError(f"cannot burn {path.name}: libass reads {', '.join(BURN_FORMATS)} files "
                         "(write the cues as srt or vtt for burn-in)")


def mux_soft_subtitles(video: str | Path, srt_path: str | Path, out: str | Path, language: str) -> Path:
    """`video` with `srt_path` added as a mov_text subtitle track tagged with `language` (MP4, stream copy)."""
    video, srt_path, out = Path(video), Path(srt_path), Path(out)
    _require_file(srt_path, "subtitle file")
    info = probe(video)
    if not info.has_video:
        raise MediaError(f"{video.name} has no video stream: soft subtitles need a video to ride on")
    tag = language_tag(language)
    args = [
        *input_args(video), *own_input_args(srt_path, "srt"),
        "-map", "0:v:0", "-map", "0:a?", "-map", "1:0",
        "-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text",
        "-metadata:s:s:0", f"language={tag}", "-disposition:s:0", "default",
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ]
    run_ffmpeg(args, duration_s=info.duration_s, output=out,
               what=f"adding {srt_path.name} as a {tag} subtitle track to {video.name}")
    log.info("muxed %s subtitles into %s", tag, out)
    return out


def escape_filter_value(value: str) -> str:
    """`value` escaped for a filter option inside an ffmpeg filter graph (both escaping levels); build
    whole filters with `newsroom.media.graph.Filter`, which escapes every value this way."""
    return escape_value(value)


def default_font_size(width: int, height: int, language: str) -> int:
    """A readable size in pixels: 5% of the height, smaller if a full line would not fit the width."""
    rules = rules_for(language)
    by_height = FONT_HEIGHT_FRACTION * height
    by_width = LINE_WIDTH_FRACTION * width / (rules.max_chars_per_line * lang.profile(rules.language).glyph_em)
    return max(8, round(min(by_height, by_width)))


def subtitles_filter(
    subtitle_path: str | Path, width: int, height: int, language: str, *,
    margin_v_px: int | None = None, font_size: int | None = None, layout: SubtitleLayout | None = None,
) -> Filter:
    """The `subtitles=` filter (libass) that `burn_subtitles` applies, escaped for a filter graph. With `layout`
    (newsroom.graphics) its font size and margins are used (`font_size` and `margin_v_px` still win)."""
    if layout is not None:
        font_size = font_size if font_size is not None else layout.font_size_px
        margin_v_px = margin_v_px if margin_v_px is not None else layout.margin_v_px
    size = font_size if font_size is not None else default_font_size(width, height, language)
    margin = margin_v_px if margin_v_px is not None else round(MARGIN_V_FRACTION * height)
    if size <= 0 or margin < 0:
        raise ConfigError(f"font_size must be positive and margin_v_px not negative (got {size}, {margin})")
    sides = [f"MarginL={layout.margin_l_px}", f"MarginR={layout.margin_r_px}"] if layout is not None else []
    style = ",".join([
        f"PlayResX={width}", f"PlayResY={height}", f"FontName={font_family(language)}", f"FontSize={size}",
        "PrimaryColour=&H00FFFFFF", "OutlineColour=&H00000000", "BorderStyle=1",
        f"Outline={max(1, round(size / 16))}", "Shadow=0", "Alignment=2", f"MarginV={margin}", *sides,
    ])
    return Filter("subtitles", filename=subtitle_path, force_style=style)


def _font_installed(family: str) -> bool | None:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return None
    result = process.run([fc_list, f":family={family}", "family"], what="listing fonts", timeout_s=30, text=True)
    return bool(str(result.stdout).strip())


def burn_in_filter(
    subtitle_path: str | Path, width: int, height: int, language: str, *,
    margin_v_px: int | None = None, font_size: int | None = None, layout: SubtitleLayout | None = None,
) -> Filter:
    """`subtitles_filter` for a file that libass can read, checked first (MediaError if it cannot be
    burned); warns when the font is missing. For any graph that burns subtitles in: this module's
    `burn_subtitles`, the vertical version, the broadcast segment."""
    subtitle_path = Path(subtitle_path)
    _require_burnable(subtitle_path)
    family = font_family(language)
    if _font_installed(family) is False:
        log.warning("font %r is not installed (apt-get install fonts-noto-cjk): libass falls back to "
                    "another font and CJK text may render as boxes", family)
    return subtitles_filter(subtitle_path, width, height, language, margin_v_px=margin_v_px, font_size=font_size,
                            layout=layout)


# --- cues placed around other graphics -------------------------------------------------------------

_SRT_TIME_RE = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")
_ASS_TIME_RE = re.compile(r"(\d+):(\d{2}):(\d{2})\.(\d{2})")
_ASS_EVENTS = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"


def _ass_clock(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _srt_events(text: str) -> list[tuple[float, float, str]]:
    """(start s, end s, ASS text) per SubRip cue; the writers already neutralised markup and libass escapes."""
    events = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if m := _SRT_TIME_RE.search(line):
                g = [int(x) for x in m.groups()]
                start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
                end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
                body = [x for x in lines[i + 1:] if x.strip()]
                if body:
                    events.append((start, end, "\\N".join(body)))
                break
    return events


def _split(start: float, end: float, raised: Sequence[Raised]) -> list[tuple[float, float, int]]:
    """[start, end) cut where a raised span begins or ends: (from, to, bottom margin or 0 for the style's)."""
    cuts = sorted({start, end, *(t for r in raised for t in (r.start_s, r.end_s) if start < t < end)})
    parts: list[tuple[float, float, int]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        margin = next((r.margin_v_px for r in raised if r.start_s <= a < r.end_s), 0)
        if parts and parts[-1][2] == margin:
            parts[-1] = (parts[-1][0], b, margin)
        else:
            parts.append((a, b, margin))
    return parts


def place_cues(subtitle_path: str | Path, out: str | Path, layout: SubtitleLayout) -> Path:
    """`subtitle_path` (SRT, or an ASS script) as an ASS script `out` in which every cue shown during one of
    `layout.raised`'s spans stands that span's margin above the bottom edge: a cue is split where a span
    begins or ends, each part with its own MarginV (0 elsewhere: the style's, forced by `burn_in_filter`). Burn
    `out` with `burn_in_filter(out, ..., layout=layout)`.

    Where the layout has a line rule of its own (a 9:16 frame: `layout.chars_per_line`), each SubRip cue's text
    is re-broken for it and set in the size `newsroom.graphics.fit_cue` chose (an `\\fs` override where that is
    below the style's): the same cues at the same times, in shorter lines. An ASS script keeps its lines."""
    from newsroom.graphics import fit_cue

    subtitle_path, out = Path(subtitle_path), Path(out)
    _require_burnable(subtitle_path)
    text = subtitle_path.read_text("utf-8-sig")
    dialogue: list[str] = []
    if subtitle_path.suffix.lower() in (".ass", ".ssa"):
        head: list[str] = []
        section, fields = "", None
        for line in text.splitlines():
            if line.strip().startswith("["):
                section = line.strip().lower()
            if section == "[events]" and line.startswith("Format:"):
                fields = [f.strip() for f in line[7:].split(",")]
            elif section == "[events]" and fields is not None and line.startswith("Dialogue:"):
                values = [v.strip() for v in line[9:].split(",", len(fields) - 1)]
                row = dict(zip(fields, values, strict=False))
                for a, b, margin in _split(_ass_seconds(row["Start"]), _ass_seconds(row["End"]), layout.raised):
                    part = {**row, "Start": _ass_clock(a), "End": _ass_clock(b)}
                    if margin:
                        part["MarginV"] = str(margin)
                    dialogue.append("Dialogue: " + ",".join(part.get(f, "") for f in fields))
                continue
            head.append(line)
        out.write_text("\n".join([*head, *dialogue]) + "\n", "utf-8")
        return out
    for start, end, body in _srt_events(text):
        if layout.chars_per_line:
            lines, size = fit_cue(body.split("\\N"), layout)
            body = (f"{{\\fs{size}}}" if size != layout.font_size_px else "") + "\\N".join(lines)
        for a, b, margin in _split(start, end, layout.raised):
            dialogue.append(f"Dialogue: 0,{_ass_clock(a)},{_ass_clock(b)},Default,,0,0,{margin},,{body}")
    out.write_text("\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {layout.width}", f"PlayResY: {layout.height}",
        "ScaledBorderAndShadow: yes", "WrapStyle: 0", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Default,{FONT_FAMILY},{layout.font_size_px},&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,"
        f"100,100,0,0,1,1,0,2,{layout.margin_l_px},{layout.margin_r_px},{layout.margin_v_px},1", "",
        "[Events]", _ASS_EVENTS, *dialogue,
    ]) + "\n", "utf-8")
    return out


def _ass_seconds(clock: str) -> float:
    m = _ASS_TIME_RE.fullmatch(clock.strip())
    if not m:
        raise MediaError(f"cannot read the ASS time {clock!r}: write times as H:MM:SS.cc")
    h, mi, s, cs = (int(x) for x in m.groups())
    return h * 3600 + mi * 60 + s + cs / 100


def burn_subtitles(
    video: str | Path, subtitle_path: str | Path, out: str | Path, language: str, *,
    margin_v_px: int | None = None, font_size: int | None = None,
) -> Path:
    """`video` re-encoded (H.264, audio copied) with the subtitles drawn into the picture."""
    video, subtitle_path, out = Path(video), Path(subtitle_path), Path(out)
    _require_file(subtitle_path, "subtitle file")
    info = probe(video)
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{video.name} has no video stream to burn subtitles into")
    vf = burn_in_filter(subtitle_path, v.width, v.height, language, margin_v_px=margin_v_px, font_size=font_size)
    args = [
        *input_args(video), "-map", "0:v:0", "-map", "0:a?", "-vf", vf,
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]
    run_ffmpeg(args, duration_s=info.duration_s, output=out,
               what=f"burning {subtitle_path.name} into {video.name}")
    log.info("burned %s subtitles into %s", language, out)
    return out
