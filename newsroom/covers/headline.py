"""The headline on a cover: white bold text on a dark band in the lower part of the picture, wrapped and
sized so it always stays inside the 5% safe area.

Line breaking, fonts and glyph checks are `newsroom.typeset`'s (shared with lower thirds and subtitle
burn-in); the language's rules (no-line-start/end characters, font region) come from its profile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsroom.typeset import (
    FONT_FACE_INDEX,
    FONT_STEP,
    clean_line,
    drawable,
    ellipsis_for,
    ellipsize,
    font_region,
    headline_font,
    ink,
    load_font,
    tokens,
    wrap,
)
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
TEXT_RGB = (255, 255, 255)


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
    toks = tokens(headline)
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
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, layout.band_top, base.width, base.height), fill=(0, 0, 0, BAND_ALPHA))
    composed = Image.alpha_composite(base.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(composed)
    font = load_font(layout.font_path, layout.font_index, layout.font_size_px)
    for line, origin in zip(layout.lines, layout.origins, strict=True):
        draw.text(origin, line, font=font, fill=TEXT_RGB, anchor="ls")
    return composed.convert("RGB"), layout.box
