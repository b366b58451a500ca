"""Where on-screen graphics go: safe areas, lower-third straps and burned-in subtitles, laid out together.

One module places every graphic the pipeline burns into a picture, so nothing collides and nothing leaves
the area a viewer is sure to see:

- **Safe areas** (`safe_area`). A 16:9 (or any landscape) frame uses EBU R95 ("Safe areas for 16:9
  television production", EBU Tech R95, 2008/2017): the *action-safe* area is the central 93% of the width
  and height (3.5% margins), the *graphics-safe* (title-safe) area the central 90% (5% margins). Text - straps
  and subtitles - stays inside graphics-safe. A 9:16 (portrait) frame is seen inside a platform's app, whose
  own interface covers parts of the picture; its graphics zone is the *UI-safe* zone: the top 14% (status bar,
  account name, "Following / For you" tabs), the bottom 20% (caption, audio line, progress bar) and the right
  12% (like / comment / share column) are left free, and the left keeps the 5% graphics-safe margin. The
  figures are those of the platforms' own safe-zone guides for 1080x1920 creative: Meta's Reels guide keeps
  "roughly the top 14%" (250 px) free of text, TikTok's creative centre marks about 12% on the right (130 px)
  for the action buttons and the bottom ~20% for the caption and music line. Chosen to be safe on both.
- **Straps** (`place_straps`): a lower third's text is fitted to the graphics-safe width (newsroom.typeset),
  its box measured as `drawtext` will draw it, and stood on the bottom of the graphics zone; straps on screen
  at the same time stack upwards (a picture credit under its caption).
- **Subtitles** (`place_subtitles`): a cue's box stands on the bottom of the graphics zone, as wide as the
  zone, as tall as the language's lines (libass scales Noto Sans CJK so one line is `font_size` pixels).
  While a strap is on screen, the cues move above it (`SubtitleLayout.raised`), as broadcasters do; they go
  back down when it is gone (a couple of frames early and late: `RAISE_MARGIN_S`). `newsroom.subtitles.burn.place_cues` applies those spans to a subtitle file.
  A portrait frame's cues are the same cues re-broken for its own line rule (the profile's
  `SubtitleRules.vertical`: ~22 Latin / 12 CJK characters, 3 lines) in a larger font, 4.3% of the height, shrunk
  towards 3% for a cue that needs it (`fit_cue`), since 42 characters across the narrow UI-safe zone would be
  ~2% of the height: unreadable on a phone.

All sizes are output pixels; boxes are (x, y, width, height) with y down from the top edge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.errors import ConfigError
from newsroom.types import Box
from newsroom.typeset import FittedText, fit_lines, headline_font, ink, load_font

log = logging.getLogger("newsroom.graphics")

# EBU R95: action-safe 93%, graphics-safe 90% of the width and height (margins of 3.5% and 5% per side).
ACTION_SAFE_FRACTION = 0.93
GRAPHICS_SAFE_FRACTION = 0.90
# 9:16: the platforms' UI covers these fractions of the frame (Meta Reels and TikTok safe-zone guides).
UI_TOP_FRACTION = 0.14
UI_BOTTOM_FRACTION = 0.20
UI_RIGHT_FRACTION = 0.12
UI_LEFT_FRACTION = (1 - GRAPHICS_SAFE_FRACTION) / 2  # no UI on the left: the graphics-safe margin
# Straps: padding around the text (the box's border), the gap between stacked straps and between a strap and
# the subtitles above it, as fractions of the frame height (18 px, 8 px and 10 px at 720 lines).
STRAP_PAD_FRACTION = 0.025
STRAP_LINE_SPACING_PX = 8
GAP_FRACTION = 0.014
# The cues go up this long before a strap comes and come down this long after it goes. A strap is drawn by
# ffmpeg (`between(t, start, end)`, inclusive, times to the millisecond) and a cue by libass (half-open, times
# to the centisecond): on the very frame a strap ends, a cue split exactly there was drawn low, across the
# strap (seen in the sample's broadcast, one frame at 6.00 s). Two frames at 25 fps cover both roundings.
RAISE_MARGIN_S = 0.08
STRAP_COLOUR = "0x0a2a5a@0.85"  # dark blue, 85% opaque
# Per kind: start and smallest font size in px at 720 lines (scaled with the frame's short side), lines, and the
# stacking rank (lower ranks stand lower: a credit sits under the caption it belongs to).
STRAP_KINDS: dict[str, tuple[int, int, int, int]] = {
    "headline": (40, 30, 2, 1),
    "name": (34, 26, 1, 1),
    "caption": (32, 24, 2, 1),  # an article picture's caption...
    "credit": (22, 18, 1, 0),  # ...and its credit, under it
}
REFERENCE_SHORT_SIDE_PX = 720
# Ink that sets a strap line's height even when the text has no ascenders or descenders, so straps of one kind
# are one height.
STRAP_REFERENCE_INK = "Hgy国"
# Subtitles: a readable size is 5% of the height, smaller when a full line would not fit the zone's width.
SUBTITLE_HEIGHT_FRACTION = 0.05
# libass sets a font's ascent + descent to the font size (a line is `font_size` px tall): Noto Sans CJK's are
# 1.160 + 0.288 em, so one em (what the profiles' `glyph_em` advances are measured in) is the size / 1.448.
EM_PER_FONT_SIZE = 1 / 1.448
# 9:16: the cues are re-broken into the profile's shorter vertical lines (`SubtitleRules.vertical`), set at
# 4.3% of the height (55 px at 1280: social practice is 3.5-4.5%); a cue that does not fit its lines at that size
# shrinks, down to 3% of the height, before it takes another line.
VERTICAL_SUBTITLE_HEIGHT_FRACTION = 0.043
VERTICAL_SUBTITLE_MIN_FRACTION = 0.03


@dataclass(frozen=True, slots=True)
class SafeArea:
    """A frame's safe areas: `action` (EBU R95 93%), and `graphics`, where text goes: EBU R95's 90% for a
    landscape frame, the platforms' UI-safe zone for a portrait one (`portrait`)."""

    width: int
    height: int
    action: Box
    graphics: Box
    portrait: bool


def _central(width: int, height: int, fraction: float) -> Box:
    mx, my = round(width * (1 - fraction) / 2), round(height * (1 - fraction) / 2)
    return Box(mx, my, width - 2 * mx, height - 2 * my)


def safe_area(width: int, height: int) -> SafeArea:
    """The safe areas of a `width` x `height` frame (portrait when taller than wide)."""
    if width <= 0 or height <= 0:
        raise ConfigError(f"a frame of {width}x{height} has no safe area: pass a positive width and height")
    action = _central(width, height, ACTION_SAFE_FRACTION)
    if height > width:
        left, right = round(width * UI_LEFT_FRACTION), round(width * UI_RIGHT_FRACTION)
        top, bottom = round(height * UI_TOP_FRACTION), round(height * UI_BOTTOM_FRACTION)
        return SafeArea(width, height, action, Box(left, top, width - left - right, height - top - bottom), True)
    return SafeArea(width, height, action, _central(width, height, GRAPHICS_SAFE_FRACTION), False)


# --- straps ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LowerThird:
    """A strap to show: its text, when (seconds on the programme's clock), and its kind (`STRAP_KINDS`)."""

    text: str
    start_s: float
    end_s: float
    kind: str = "headline"  # "headline" | "name" | "caption" | "credit"


@dataclass(frozen=True, slots=True)
class PlacedStrap:
    """A lower third laid out: the fitted text, its box (background included) and the text's own box inside
    it (`text_box`: where `drawtext` puts the ink, centred in it vertically)."""

    third: LowerThird
    fitted: FittedText
    box: Box
    text_box: Box
    line_spacing_px: int

    @property
    def start_s(self) -> float:
        return self.third.start_s

    @property
    def end_s(self) -> float:
        return self.third.end_s


def _scale(size: tuple[int, int]) -> float:
    return min(size) / REFERENCE_SHORT_SIDE_PX


def strap_pad_px(size: tuple[int, int]) -> int:
    return round(STRAP_PAD_FRACTION * min(size))


def strap_text_width_px(size: tuple[int, int]) -> int:
    """The widest a strap's text may be in a frame of `size`: the graphics zone less the box's padding."""
    return safe_area(*size).graphics.w - 2 * strap_pad_px(size)


def fit_strap(text: str, kind: str, language: str, size: tuple[int, int]) -> FittedText:
    """`text` as the lines a strap of `kind` draws in a frame of `size` (wrapped, shrunk, then cut with an
    ellipsis: never wider than the graphics zone)."""
    if kind not in STRAP_KINDS:
        raise ConfigError(f"unknown lower third kind {kind!r}: use one of {', '.join(STRAP_KINDS)}")
    start_px, min_px, max_lines, _ = STRAP_KINDS[kind]
    scale = _scale(size)
    return fit_lines(text, headline_font(language), max_width_px=strap_text_width_px(size), max_lines=max_lines,
                     start_px=max(1, round(start_px * scale)), min_px=max(1, round(min_px * scale)))


def _text_height_px(fitted: FittedText, language: str, spacing_px: int) -> int:
    """The height `drawtext` gives `fitted`'s lines: every line as tall as the tallest glyph extent of the text
    (here at least that of `STRAP_REFERENCE_INK`), lines `spacing_px` apart."""
    path, index = headline_font(language)
    face = load_font(path, index, fitted.font_size_px, basic=True)
    tops, bottoms = zip(*((t, b) for _, t, _, b in (ink(face, x) for x in (*fitted.lines, STRAP_REFERENCE_INK))),
                        strict=True)
    line_px = max(bottoms) - min(tops)
    return len(fitted.lines) * line_px + (len(fitted.lines) - 1) * spacing_px


def place_straps(thirds: Sequence[LowerThird], size: tuple[int, int], language: str) -> tuple[PlacedStrap, ...]:
    """Every lower third with something to draw, laid out in a frame of `size`: left-aligned on the graphics
    zone, standing on its bottom; straps shown at the same time stack upwards by kind (`STRAP_KINDS`' rank),
    then in the order given. In the order given."""
    area = safe_area(*size)
    pad = strap_pad_px(size)
    gap = max(2, round(GAP_FRACTION * size[1]))
    spacing = max(2, round(STRAP_LINE_SPACING_PX * _scale(size)))
    fitted = [(i, t, fit_strap(t.text, t.kind, language, size)) for i, t in enumerate(thirds)]
    order = sorted((x for x in fitted if x[2].lines), key=lambda x: (STRAP_KINDS[x[1].kind][3], x[0]))
    placed: dict[int, PlacedStrap] = {}
    for i, third, fit in order:
        inner_h = _text_height_px(fit, language, spacing)
        bottom = area.graphics.bottom
        for other in placed.values():  # on screen together: stand on the one already placed
            if other.start_s < third.end_s and third.start_s < other.end_s:
                bottom = min(bottom, other.box.y - gap)
        box = Box(area.graphics.x, bottom - inner_h - 2 * pad, fit.width_px + 2 * pad, inner_h + 2 * pad)
        placed[i] = PlacedStrap(third, fit, box, Box(box.x + pad, box.y + pad, fit.width_px, inner_h), spacing)
    return tuple(placed[i] for i in sorted(placed))


# --- subtitles ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Raised:
    """From `start_s` to `end_s` the cues stand `margin_v_px` above the bottom edge (above a strap)."""

    start_s: float
    end_s: float
    margin_v_px: int


@dataclass(frozen=True, slots=True)
class SubtitleLayout:
    """Where burned-in cues go in a frame of `width` x `height`: libass's font size and margins (real pixels,
    the script's resolution being the frame's), the bottom margin in normal times and the spans during which
    the cues are raised above a strap; `lines` is the most lines a cue has (its box's height)."""

    width: int
    height: int
    font_size_px: int
    margin_l_px: int
    margin_r_px: int
    margin_v_px: int
    lines: int
    raised: tuple[Raised, ...] = ()
    # A portrait frame's cues are re-broken (`fit_cue`) into lines of `chars_per_line` characters of `language` at
    # `font_size_px`, more at smaller sizes down to `min_font_size_px`; 0: the cues' own lines, as written.
    language: str = ""
    chars_per_line: int = 0
    min_font_size_px: int = 0

    def box(self, margin_v_px: int | None = None) -> Box:
        """The box a cue of `lines` lines can take, standing `margin_v_px` (default: the normal margin) above the
        bottom edge: from margin to margin, `lines` x the font size tall, plus the outline above and below."""
        margin = self.margin_v_px if margin_v_px is None else margin_v_px
        outline = subtitle_outline_px(self.font_size_px)
        bottom = self.height - margin + outline
        top = self.height - margin - self.lines * self.font_size_px - outline
        return Box(self.margin_l_px, top, self.width - self.margin_l_px - self.margin_r_px, bottom - top)

    def margin_at(self, t_s: float) -> int:
        """The bottom margin of a cue shown at `t_s`."""
        for span in self.raised:
            if span.start_s <= t_s < span.end_s:
                return span.margin_v_px
        return self.margin_v_px

    def box_at(self, t_s: float) -> Box:
        return self.box(self.margin_at(t_s))


def subtitle_outline_px(font_size_px: int) -> int:
    """The outline libass draws around subtitle text of `font_size_px` (see burn.subtitles_filter)."""
    return max(1, round(font_size_px / 16))


def subtitle_font_size(width: int, language: str, height: int, *, zone_w_px: int | None = None) -> int:
    """A readable size: 5% of the height, smaller if a full line of the language would not fit `zone_w_px`
    (default: the graphics zone's width). A portrait frame's line is the profile's vertical one, at most
    `VERTICAL_SUBTITLE_HEIGHT_FRACTION` of the height."""
    from newsroom.subtitles.cues import rules_for

    rules = rules_for(language)
    portrait = height > width
    chars = rules.vertical_rule.chars_per_line if portrait else rules.max_chars_per_line
    cap = VERTICAL_SUBTITLE_HEIGHT_FRACTION if portrait else SUBTITLE_HEIGHT_FRACTION
    zone = zone_w_px if zone_w_px is not None else safe_area(width, height).graphics.w
    by_width = zone / (chars * lang.profile(rules.language).glyph_em * EM_PER_FONT_SIZE)
    return max(8, round(min(cap * height, by_width)))


def fit_cue(lines: Sequence[str], layout: SubtitleLayout) -> tuple[tuple[str, ...], int]:
    """A cue's `lines` as `layout` draws them, and the font size: re-broken (`newsroom.subtitles.cues.rewrap`)
    into `layout.chars_per_line` characters a line at `layout.font_size_px`; where that takes more than
    `layout.lines` lines, the font shrinks a pixel at a time (a line then holds proportionally more characters)
    down to `layout.min_font_size_px`, and only there does the cue take more lines. Unchanged where the layout
    keeps the cues' own lines (`chars_per_line` 0)."""
    from newsroom.subtitles.cues import rewrap, rules_for

    if not layout.chars_per_line:
        return tuple(lines), layout.font_size_px
    rules = rules_for(layout.language)
    wrapped: tuple[str, ...] = tuple(lines)
    px = layout.font_size_px
    for px in range(layout.font_size_px, min(layout.min_font_size_px, layout.font_size_px) - 1, -1):
        chars = max(layout.chars_per_line, int(layout.chars_per_line * layout.font_size_px / px + 1e-9))
        wrapped = rewrap(lines, rules, chars)
        if len(wrapped) <= layout.lines:
            return wrapped, px
    log.info("cue %r takes %d lines even at %d px", " ".join(lines), len(wrapped), px)
    return wrapped, px


def place_subtitles(size: tuple[int, int], language: str, straps: Sequence[PlacedStrap] = (), *,
                    lines: int | None = None) -> SubtitleLayout:
    """The cues' layout in a frame of `size`: standing on the graphics zone's bottom, as wide as the zone, and
    raised above the straps while any is on screen (above the highest one shown at that moment). `lines`: the
    most lines a cue holds (default: the language's subtitle rule)."""
    from newsroom.subtitles.cues import rules_for

    width, height = size
    area = safe_area(width, height).graphics
    rules = rules_for(language)
    portrait = height > width
    rule = rules.vertical_rule if portrait else None
    count = lines if lines is not None else (rule.lines if rule else rules.max_lines)
    font = subtitle_font_size(width, language, height)
    outline = subtitle_outline_px(font)
    margin_v = height - area.bottom + outline
    gap = max(2, round(GAP_FRACTION * height))
    # The moments the set of straps on screen changes; between two, the cues stand above the highest strap shown.
    # Each strap counts as shown from RAISE_MARGIN_S before it comes to RAISE_MARGIN_S after it goes.
    shows = [(max(0.0, s.start_s - RAISE_MARGIN_S), s.end_s + RAISE_MARGIN_S, s) for s in straps]
    times = sorted({t for a, b, _ in shows for t in (a, b)})
    spans: list[Raised] = []
    for start, end in zip(times, times[1:], strict=False):
        shown = [s for a, b, s in shows if a < end and start < b]
        if not shown:
            continue
        margin = max(margin_v, height - min(s.box.y for s in shown) + gap + outline)
        if spans and spans[-1].end_s == start and spans[-1].margin_v_px == margin:
            spans[-1] = Raised(spans[-1].start_s, end, margin)
        else:
            spans.append(Raised(start, end, margin))
    if rule is None:
        return SubtitleLayout(width, height, font, area.x, width - area.right, margin_v, count, tuple(spans))
    floor = min(font, max(8, round(VERTICAL_SUBTITLE_MIN_FRACTION * height)))
    return SubtitleLayout(width, height, font, area.x, width - area.right, margin_v, count, tuple(spans),
                          rules.language, rule.chars_per_line, floor)
