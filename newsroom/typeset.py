"""On-screen text: what a renderer draws is the literal text, on one clean line, in glyphs the font has.

Text from editors, the CMS, transcripts and the LLM reaches three renderers: ffmpeg `drawtext` (lower
thirds of the broadcast segment), Pillow (cover headlines) and libass (burned-in subtitles, through the
subtitle writers). None of them may interpret it, and none may draw boxes ("tofu") instead of letters:

- `clean_line`: NFC; every run of whitespace (line breaks, tabs, line separators) becomes one space, since
  a headline or a name is one line; control and format characters (NUL, bidi overrides, BOM, soft hyphen)
  and code points with no meaning (lone surrogates, private use, non-characters) are removed. ZWJ/ZWNJ stay.
- `drawable`: characters the font has no glyph for are removed and reported. Noto Sans CJK has no emoji,
  and `drawtext` and Pillow draw with one face, without fallback: an emoji would be drawn as a box. (libass
  falls back through fontconfig - DejaVu Sans has the emoticons - so subtitle files keep them.)
- `fit_lines`: wrapped by words (by characters for CJK; closing punctuation never starts a line), shrunk
  from a start size down to a minimum until it fits, then the last line cut with an ellipsis: the text is
  never wider than the box it is fitted to.

The font is Noto Sans CJK Bold (Debian: fonts-noto-cjk), face by region: SC for English and Simplified
Chinese (its Latin glyphs are the same in every face), TC/HK/JP/KR for those languages.
"""

from __future__ import annotations

import logging
import math
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError, NewsroomError
from newsroom.lang import NO_LINE_END, NO_LINE_START, WIDE, font_region
from newsroom.media import process

log = logging.getLogger("newsroom.typeset")

# Noto Sans CJK Bold collection: the face index per region; the SC face carries Latin glyphs too.
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",  # Debian / Ubuntu fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",  # Arch noto-fonts-cjk
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Bold.ttc",  # Fedora
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Bold.ttc",
)
FONT_FACE_INDEX = {"JP": 0, "KR": 1, "SC": 2, "TC": 3, "HK": 4}

# Line breaking comes from the language tables (newsroom.lang.scripts): characters set solid (WIDE) are
# wrapped one by one; closing punctuation never starts a line, opening punctuation never ends one.
CJK_RE = WIDE.pattern
FONT_STEP = 0.92  # each try shrinks the font to 92% of the last
# Text past this many characters can never be shown on a line or three; it is cut before any work is done.
MAX_INPUT_CHARS = 10_000
_KEEP_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: they shape scripts and emoji sequences


# --- literal text -------------------------------------------------------------------------------


def _meaningless(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cf":
        return ch not in _KEEP_FORMAT
    if category in ("Cc", "Cs", "Co"):
        return True
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE  # Unicode non-characters


def clean_line(text: str) -> str:
    """`text` as one line of literal characters: NFC, whitespace runs as one space, no control or format
    characters, no surrogates, private-use or non-characters; stripped at both ends."""
    text = unicodedata.normalize("NFC", text[:MAX_INPUT_CHARS] if len(text) > MAX_INPUT_CHARS else text)
    kept = [" " if ch.isspace() else ch for ch in text if ch.isspace() or not _meaningless(ch)]
    return " ".join("".join(kept).split())


@lru_cache(maxsize=8)
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception as exc:  # fontTools raises TTLibError, OSError, struct errors for a broken file
        raise NewsroomError(f"cannot read the character map of {path} (face {index}): {exc}; "
                            "apt-get install fonts-noto-cjk") from exc


def drawable(text: str, path: str, index: int = 0) -> tuple[str, str]:
    """(`text` without the characters the font has no glyph for, the characters removed); spaces are
    normalised again so a removed word leaves no double space."""
    cmap = _cmap(path, index)
    kept, dropped = [], []
    for ch in text:
        (kept if ch == " " or ord(ch) in cmap else dropped).append(ch)
    if not dropped:
        return text, ""
    return " ".join("".join(kept).split()), "".join(dict.fromkeys(dropped))


# --- fonts --------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def headline_font(language: str = "en") -> tuple[str, int]:
    """(font file, face index) of Noto Sans CJK Bold for `language`. NewsroomError if not installed."""
    region = font_region(language)
    for path in FONT_FILES:
        if Path(path).is_file():
            return path, FONT_FACE_INDEX[region]
    fc_match = shutil.which("fc-match")
    if fc_match:
        result = process.run([fc_match, "-f", "%{file}|%{index}|%{family}", f"Noto Sans CJK {region}:bold"],
                             what="looking up the headline font", timeout_s=30, text=True)
        path, _, rest = str(result.stdout).partition("|")
        index, _, family = rest.partition("|")
        if result.returncode == 0 and "Noto Sans CJK" in family and Path(path).is_file():
            return path, int(index or 0)
    raise NewsroomError(
        "the headline font Noto Sans CJK Bold is not installed: apt-get install fonts-noto-cjk "
        "(or pass font_path= to draw_headline)"
    )


@lru_cache(maxsize=64)
def load_font(path: str, index: int, size_px: int, *, basic: bool = False) -> Any:
    """A Pillow font; `basic` lays text out as ffmpeg 5 `drawtext` does (kerning table, no shaping)."""
    from PIL import ImageFont

    engine = ImageFont.Layout.BASIC if basic else None
    try:
        return ImageFont.truetype(path, size_px, index=index, layout_engine=engine)
    except OSError as exc:
        raise NewsroomError(
            f"cannot load the headline font {path} (face {index}): {exc}; apt-get install fonts-noto-cjk"
        ) from exc


# --- measuring and wrapping ---------------------------------------------------------------------

Measure = Callable[[Any, str], int]


def ink(font: Any, text: str) -> tuple[int, int, int, int]:
    """Ink extent (left, top, right, bottom) of `text` drawn with its baseline-left at (0, 0)."""
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def ink_width(font: Any, text: str) -> int:
    left, _, right, _ = ink(font, text)
    return right - left


def box_width(font: Any, text: str) -> int:
    """What a renderer that places glyphs by their advances takes: from the origin (or the ink, if it
    starts left of it) to the end of the last advance (or the ink, if it reaches further)."""
    left, _, right, _ = ink(font, text)
    return max(math.ceil(font.getlength(text)), right) - min(0, left)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    space_before: bool


def tokens(text: str) -> list[Token]:
    """Words and single CJK characters; punctuation glued on so no line starts or ends badly."""
    raw: list[Token] = []
    word, word_space, space = "", False, False
    for ch in text:
        if ch.isspace() or CJK_RE.match(ch):
            if word:
                raw.append(Token(word, word_space))
                word = ""
            if ch.isspace():
                space = True
            else:
                raw.append(Token(ch, space))
                space = False
        else:
            if not word:
                word_space, space = space, False
            word += ch
    if word:
        raw.append(Token(word, word_space))
    glued: list[Token] = []
    opening: Token | None = None  # opening brackets/quotes wait for the token they open
    for tok in raw:
        if opening is not None:
            tok = Token(opening.text + tok.text, opening.space_before)
            opening = None
        if glued and not tok.space_before and all(c in NO_LINE_START for c in tok.text):
            glued[-1] = Token(glued[-1].text + tok.text, glued[-1].space_before)
        elif all(c in NO_LINE_END for c in tok.text):
            opening = tok
        else:
            glued.append(tok)
    if opening is not None:
        glued.append(opening)
    return glued


def _split_long(text: str, font: Any, max_w: int, measure: Measure) -> list[str]:
    """A token wider than a line, broken by characters (never before closing punctuation)."""
    pieces: list[str] = []
    current = ""
    for ch in text:
        if not current or measure(font, current + ch) <= max_w:
            current += ch
            continue
        if ch in NO_LINE_START and len(current) > 1:  # take the previous character along
            pieces.append(current[:-1])
            current = current[-1] + ch
        else:
            pieces.append(current)
            current = ch
    return [*pieces, current] if current else pieces


def wrap(toks: Sequence[Token], font: Any, max_w: int, limit: int, measure: Measure = ink_width) -> list[str]:
    """Greedy line filling; stops once there are more than `limit` lines (enough to know it won't fit)."""
    lines: list[str] = []
    current = ""
    for tok in toks:
        if len(lines) > limit:
            break
        candidate = f"{current}{' ' if tok.space_before else ''}{tok.text}" if current else tok.text
        if measure(font, candidate) <= max_w:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = [tok.text] if measure(font, tok.text) <= max_w else _split_long(tok.text, font, max_w, measure)
        lines += pieces[:-1]
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines


def ellipsize(text: str, font: Any, max_w: int, ellipsis: str, measure: Measure = ink_width) -> str | None:
    """`text` shortened (by words for Latin text, by characters otherwise) until text + ellipsis fits."""
    while text:
        candidate = text.rstrip(" ,.;:，、；：") + ellipsis
        if measure(font, candidate) <= max_w:
            return candidate
        last_word = text.rsplit(" ", 1)
        if len(last_word) == 2 and last_word[1] and not CJK_RE.search(last_word[1]):
            text = last_word[0]
        else:
            text = text[:-1]
    return None


def ellipsis_for(text: str) -> str:
    """"…" for CJK text (one character, centred in the em box), "..." otherwise."""
    return "…" if CJK_RE.search(text) else "..."


# --- fitting a box ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FittedText:
    """Text fitted to a box: `lines` is empty when nothing drawable was left."""

    lines: tuple[str, ...]
    font_size_px: int
    width_px: int  # the widest line, as `box_width` measures it
    truncated: bool  # the last line was cut with an ellipsis
    dropped: str = ""  # characters the font has no glyph for, removed

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def fit_lines(
    text: str, font: tuple[str, int], *, max_width_px: int, max_lines: int, start_px: int, min_px: int,
) -> FittedText:
    """`text` as at most `max_lines` lines no wider than `max_width_px` in the `font` (path, face index):
    the largest size from `start_px` down to `min_px` at which it fits, else `min_px` with the last line
    cut by an ellipsis. Measured as ffmpeg `drawtext` places glyphs (advances, kerning table)."""
    if max_lines < 1 or min_px < 1 or start_px < min_px or max_width_px < 1:
        raise ConfigError(f"cannot fit text with max_lines={max_lines}, sizes {start_px}..{min_px} px, width "
                          f"{max_width_px} px: pass max_lines >= 1, 1 <= min_px <= start_px and a positive width")
    path, index = font
    line, dropped = drawable(clean_line(text), path, index)
    if dropped:
        log.warning("%r: the font has no glyph for %r: left out", line, dropped)
    toks = tokens(line)
    if not toks:
        return FittedText((), start_px, 0, False, dropped)

    def fitted(lines: Sequence[str], size_px: int, truncated: bool) -> FittedText:
        face = load_font(path, index, size_px, basic=True)
        return FittedText(tuple(lines), size_px, max(box_width(face, x) for x in lines), truncated, dropped)

    size_px = start_px
    while True:
        face = load_font(path, index, size_px, basic=True)
        lines = wrap(toks, face, max_width_px, max_lines, box_width)
        if len(lines) <= max_lines:
            return fitted(lines, size_px, False)
        if size_px <= min_px:
            break
        size_px = max(min_px, min(size_px - 1, int(size_px * FONT_STEP)))
    last = ellipsize(lines[max_lines - 1], face, max_width_px, ellipsis_for(line), box_width)
    kept = [*lines[: max_lines - 1], last] if last else lines[: max_lines - 1]
    if not kept:  # not even one character and the ellipsis fit
        return FittedText((), size_px, 0, True, dropped)
    return fitted(kept, size_px, True)
