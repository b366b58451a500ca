"""The headline on a cover: white bold text on a dark band in the lower part of the picture, wrapped and
sized so it always stays inside the 5% safe area.

Line breaking, fonts and glyph checks are `newsroom.typeset`'s (shared with lower thirds and subtitle
burn-in); the language's rules (no-line-start/end characters, font region, word segmenter) come from its
profile. Two things a designer would do on top:

- **Balanced lines** (`balance`): the greedy fill decides how many lines the headline needs at a size; the
  breaks are then chosen so the lines are as even as possible (the widest line as short as it can be, as
  CSS `text-wrap: balance` does), and in a language written with spaces the last line never holds a single
  word when the headline has more than one line. A language written without spaces breaks only between
  its segmenter's words (jieba for Mandarin), never inside one.
- **Readable contrast** (`contrast_ratio`): the WCAG 2 contrast of the white text against its backing (the
  band over the picture, measured at the brightest 5% of the pixels behind the text) must reach
  `MIN_CONTRAST` (WCAG AA for body text, 4.5:1); where a bright picture shows through, the band is darkened
  until it does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsroom import lang
from newsroom.typeset import (
    CJK_RE,
    FONT_FACE_INDEX,
    FONT_STEP,
    Measure,
    clean_line,
    drawable,
    ellipsis_for,
    ellipsize,
    font_region,
    headline_font,
    ink,
    ink_width,
    load_font,
    tokens,
    wrap,
)
from newsroom.typeset import Token as _Token
from newsroom.video.faces import Box

if TYPE_CHECKING:
    from PIL import Image as PILImage

log = logging.getLogger("newsroom.covers")

SAFE_MARGIN = 0.05  # of width / height, each side
MAX_LINES = 3
MAX_TEXT_HEIGHT = 0.4  # of image height: the headline stays in the lower part
START_FONT_OF_HEIGHT = 0.075
START_FONT_OF_WIDTH = 0.085
MIN_FONT_OF_SHORT_SIDE = 0.035
MIN_FONT_PX = 10
LINE_PITCH = 1.25  # of font size
BAND_PADDING = 0.5  # of font size, above the text
BAND_ALPHA = 160  # 0-255
MAX_BAND_ALPHA = 235  # the darkest band a bright picture gets (the picture still shows through a little)
BAND_ALPHA_STEP = 15
MIN_CONTRAST = 4.5  # WCAG 2 AA (body text); the headline is large text, for which 3:1 would pass
BACKING_PERCENTILE = 95.0  # the backing's luminance: its brightest 5% (thin bright details under a letter)
TEXT_RGB = (255, 255, 255)
AVOID_END_PENALTY = 0.15  # of the line width: a line ending on "of" or "the" must buy that much balance


@dataclass(frozen=True, slots=True)
class HeadlineLayout:
    lines: tuple[str, ...]
    font_size_px: int
    origins: tuple[tuple[int, int], ...]  # each line's left end of the baseline (Pillow anchor "ls")
    box: Box  # ink of all lines; inside `safe_area`. Box(0, 0, 0, 0) when nothing is drawn
    safe_area: Box
    band_top: int  # the dark band runs from here to the bottom of the image
    truncated: bool
    font_path: str
    font_index: int


def _place(lines: Sequence[str], font: Any, size_px: int, safe: Box) -> tuple[list[tuple[int, int]], Box, bool]:
    """Centre the lines in the safe area's width, bottom of the ink on the safe area's bottom."""
    pitch = round(size_px * LINE_PITCH)
    centre = safe.x + safe.w / 2
    origins, inks = [], []
    fits = True
    for i, line in enumerate(lines):
        left, top, right, bottom = ink(font, line)
        fits = fits and right - left <= safe.w
        x = round(centre - (left + right) / 2)
        x = min(max(x, safe.x - left), safe.right - right)
        origins.append((x, i * pitch))
        inks.append((x + left, i * pitch + top, x + right, i * pitch + bottom))
    x0, y0 = min(b[0] for b in inks), min(b[1] for b in inks)
    x1, y1 = max(b[2] for b in inks), max(b[3] for b in inks)
    dy = safe.bottom - y1
    return [(x, y + dy) for x, y in origins], Box(x0, y0 + dy, x1 - x0, y1 - y0), fits


def layout_headline(
    image_size: tuple[int, int], headline: str, language: str = "en", *,
    font_path: str | Path | None = None, font_index: int | None = None, max_lines: int = MAX_LINES,
) -> HeadlineLayout:
    """Where the headline goes on an image of `image_size` (width, height): lines, size and ink box.

    Wrapping is by words, and by characters for CJK text (closing punctuation never starts a line);
    the font shrinks from ~7.5% of the height until at most `max_lines` lines fit the safe area's width
    and the lower 40% of the image; at the minimum size the last line is cut with an ellipsis instead.
    The headline is drawn as literal text on one logical line (`typeset.clean_line`: line breaks become
    spaces, control characters go); characters the font has no glyph for (emoji) are left out, not boxed.
    """
    width, height = image_size
    if font_path is None:
        path, index = headline_font(language)
    else:
        path = str(font_path)
        index = font_index if font_index is not None else (
            FONT_FACE_INDEX[font_region(language)] if path.lower().endswith((".ttc", ".otc")) else 0
        )
    mx, my = math.ceil(width * SAFE_MARGIN), math.ceil(height * SAFE_MARGIN)
    safe = Box(mx, my, max(0, width - 2 * mx), max(0, height - 2 * my))
    max_h = min(safe.h, round(height * MAX_TEXT_HEIGHT))
    empty = HeadlineLayout((), 0, (), Box(0, 0, 0, 0), safe, height, False, path, index)
    headline, dropped = drawable(clean_line(headline or ""), path, index)
    if dropped:
        log.warning("headline %r: the font has no glyph for %r: left out", headline, dropped)
    toks = word_tokens(headline, language)
    if not toks or safe.w <= 0 or max_h <= 0:
        return empty
    min_px = max(MIN_FONT_PX, round(min(width, height) * MIN_FONT_OF_SHORT_SIDE))
    size_px = max(min_px, round(min(height * START_FONT_OF_HEIGHT, width * START_FONT_OF_WIDTH)))

    def layout(lines: Sequence[str], font: Any, px: int, truncated: bool) -> HeadlineLayout | None:
        origins, box, fits = _place(lines, font, px, safe)
        if not fits or box.h > max_h:
            return None
        band_top = max(0, box.y - round(px * BAND_PADDING))
        return HeadlineLayout(tuple(lines), px, tuple(origins), box, safe, band_top, truncated, path, index)

    while True:
        font = load_font(path, index, size_px)
        lines = wrap(toks, font, safe.w, max_lines)
        if len(lines) <= max_lines:
            profile = lang.find(language)
            avoid = profile.subtitles.line_end_avoid if profile is not None else frozenset()
            lines = balance(toks, font, safe.w, len(lines), spaced=bool(lang.joiner(language)), avoid_end=avoid) or lines
        if len(lines) <= max_lines and (found := layout(lines, font, size_px, False)):
            return found
        if size_px <= min_px:
            break
        size_px = max(min_px, min(size_px - 1, int(size_px * FONT_STEP)))
    ellipsis = ellipsis_for(headline)
    for keep in range(min(max_lines, len(lines)), 0, -1):
        last = ellipsize(lines[keep - 1], font, safe.w, ellipsis)
        if last is not None and (found := layout([*lines[: keep - 1], last], font, size_px, True)):
            log.info("headline cut to %d lines at %d px: %r", keep, size_px, found.lines[-1])
            return found
    log.warning("no room for the headline on a %dx%d image: drawn without text", width, height)
    return empty


def draw_headline(
    image: PILImage.Image, headline: str, language: str = "en", *,
    font_path: str | Path | None = None, max_lines: int = MAX_LINES,
) -> tuple[PILImage.Image, Box]:
    """A copy of `image` (RGB) with `headline` in white bold on a dark band in its lower part.

    Returns the ink box of the text, always inside the 5% safe area (Box(0, 0, 0, 0) for an empty
    headline, which leaves the picture as it was).
    """
    from PIL import Image, ImageDraw

    base = image.convert("RGB")
    layout = layout_headline(base.size, headline, language, font_path=font_path, max_lines=max_lines)
    if not layout.lines:
        return base, layout.box
    box = layout.box
    behind = np.asarray(base)[max(0, box.y): box.bottom, max(0, box.x): box.right]
    alpha = band_alpha_for(behind)
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, layout.band_top, base.width, base.height), fill=(0, 0, 0, alpha))
    composed = Image.alpha_composite(base.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(composed)
    font = load_font(layout.font_path, layout.font_index, layout.font_size_px)
    for line, origin in zip(layout.lines, layout.origins, strict=True):
        draw.text(origin, line, font=font, fill=TEXT_RGB, anchor="ls")
    return composed.convert("RGB"), layout.box


# --- contrast ---------------------------------------------------------------------------------------


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB uint8 pixels (..., 3) -> (...), 0..1."""
    c = rgb.astype(np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def contrast_ratio(text_rgb: tuple[int, int, int], backing: np.ndarray) -> float:
    """WCAG 2 contrast of `text_rgb` against `backing` (RGB pixels), taken at the backing's brightest
    `BACKING_PERCENTILE` (the worst case for light text)."""
    if backing.size == 0:
        return 21.0
    text = float(relative_luminance(np.array(text_rgb, dtype=np.uint8)))
    back = float(np.percentile(relative_luminance(backing.reshape(-1, 3)), BACKING_PERCENTILE))
    light, dark = max(text, back), min(text, back)
    return (light + 0.05) / (dark + 0.05)


def band_alpha_for(behind: np.ndarray) -> int:
    """The band's opacity (0-255) for the picture `behind` the text (RGB): `BAND_ALPHA`, darkened in steps
    until the text's contrast reaches `MIN_CONTRAST` (at most `MAX_BAND_ALPHA`)."""
    alpha = BAND_ALPHA
    while True:
        backed = behind.astype(np.float32) * (1 - alpha / 255.0)
        ratio = contrast_ratio(TEXT_RGB, backed.round().astype(np.uint8))
        if ratio >= MIN_CONTRAST or alpha >= MAX_BAND_ALPHA:
            break
        alpha = min(MAX_BAND_ALPHA, alpha + BAND_ALPHA_STEP)
    if alpha > BAND_ALPHA:
        log.info("cover headline: band darkened to %d/255 for a contrast of %.1f:1", alpha, ratio)
    if ratio < MIN_CONTRAST:
        log.warning("cover headline contrast %.1f:1 is below %.1f:1 even on the darkest band", ratio, MIN_CONTRAST)
    return alpha


# --- line breaking ------------------------------------------------------------------------------------


def word_tokens(text: str, language: str) -> list[_Token]:
    """`typeset.tokens(text)`, with the characters of one word of a language written without spaces joined
    into one token (the profile's segmenter, jieba for Mandarin), so no line breaks inside a word."""
    toks = tokens(text)
    profile = lang.find(language)
    name = profile.subtitles.segmenter if profile is not None else ""
    if not name or not CJK_RE.search(text):
        return toks
    from newsroom.lang.words import segmenter

    starts, pos = set(), 0
    for word in segmenter(name)(text):
        starts.add(pos)
        pos += len(word)
    out: list[_Token] = []
    pos = 0
    for tok in toks:
        start = pos
        while start < len(text) and text[start].isspace():
            start += 1
        pos = start + len(tok.text)
        joins = out and not tok.space_before and start not in starts and CJK_RE.search(tok.text[0]) \
            and CJK_RE.search(out[-1].text[-1])
        if joins:
            out[-1] = _Token(out[-1].text + tok.text, out[-1].space_before)
        else:
            out.append(tok)
    return out


def _joined(toks: Sequence[_Token]) -> str:
    return "".join((" " if t.space_before and i else "") + t.text for i, t in enumerate(toks))


def balance(toks: Sequence[_Token], font: Any, max_w: int, lines: int, *, spaced: bool,
            avoid_end: frozenset[str] = frozenset(), measure: Measure = ink_width,
            poor: Sequence[bool] | None = None) -> list[str] | None:
    """`toks` in exactly `lines` lines no wider than `max_w`, the widest as narrow as possible; with `spaced`
    (a language written with spaces) a last line of one word only when nothing else fits. A line ending on
    one of `avoid_end` (articles, prepositions: the profile's `line_end_avoid`) counts `AVOID_END_PENALTY` of
    the width wider. None when the tokens cannot be set in that many lines (a token wider than a line: the
    greedy fill splits it). `measure(font, text)`: a line's width (default: its ink in `font`, pixels; the
    vertical subtitles count characters). `poor[j]`, where given, replaces `avoid_end`: whether a line ending
    before `toks[j]` is a poor break (the subtitle rules' own judgement, a Japanese particle for one)."""
    penalty = round(AVOID_END_PENALTY * max_w)
    n = len(toks)
    if lines <= 1 or n < lines:
        return [_joined(toks)] if lines == 1 and n and measure(font, _joined(toks)) <= max_w else None
    width: dict[tuple[int, int], int] = {}

    def ends_badly(j: int) -> bool:  # a line ending before toks[j]
        if poor is not None:
            return j < n and poor[j]
        return j < n and toks[j - 1].text.lower().strip(",.;:") in avoid_end

    def w(i: int, j: int) -> int:
        if (i, j) not in width:
            width[(i, j)] = measure(font, _joined(toks[i:j]))
        return width[(i, j)]

    def solve(lone_last: bool) -> list[str] | None:
        # best[k][j]: the narrowest widest line setting toks[:j] in k lines, and where its last line starts.
        inf = float("inf")
        best = [[(inf, -1)] * (n + 1) for _ in range(lines + 1)]
        best[0][0] = (0, -1)
        for k in range(1, lines + 1):
            for j in range(k, n + 1):
                for i in range(k - 1, j):
                    if best[k - 1][i][0] == inf or w(i, j) > max_w:
                        continue
                    if k == lines and j == n and not lone_last and j - i < 2:
                        continue
                    cost = max(best[k - 1][i][0], w(i, j) + (penalty if ends_badly(j) else 0))
                    if cost < best[k][j][0]:
                        best[k][j] = (cost, i)
        widest = best[lines][n][0]
        if widest == inf:
            return None
        # Among the settings whose widest line is that narrow, the fewest lines ending on an `avoid_end` word, then
        # the most even lines (least sum of squared widths): the minimax alone leaves the other lines' breaks to chance.
        even: list[list[tuple[float, float, int]]] = [[(inf, inf, -1)] * (n + 1) for _ in range(lines + 1)]
        even[0][0] = (0, 0, -1)
        for k in range(1, lines + 1):
            for j in range(k, n + 1):
                for i in range(k - 1, j):
                    bad, squares, _ = even[k - 1][i]
                    if bad == inf or w(i, j) + (penalty if ends_badly(j) else 0) > widest:
                        continue
                    if k == lines and j == n and not lone_last and j - i < 2:
                        continue
                    cost = (bad + ends_badly(j), squares + w(i, j) ** 2, i)
                    if cost[:2] < even[k][j][:2]:
                        even[k][j] = cost
        cuts, j = [], n
        for k in range(lines, 0, -1):
            i = even[k][j][2]
            cuts.append((i, j))
            j = i
        return [_joined(toks[i:j]) for i, j in reversed(cuts)]

    return (solve(lone_last=False) if spaced else None) or solve(lone_last=True)
