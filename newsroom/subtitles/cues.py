"""Transcript words grouped into broadcast subtitle cues.

The rules (`RULES`, one `CueRules` per language, made from the language profiles in `newsroom.lang`)
follow common broadcast practice (BBC/EBU subtitle guidelines, Netflix timed-text style guides):

    rule                      en                          zh (Mandarin, Simplified)
    characters per line       42                          16
    lines per cue             2                           2
    duration                  5/6 s .. 7 s                5/6 s .. 7 s
    reading speed             17 characters/s             9 characters/s
    gap between cues          >= 2 frames                 >= 2 frames
    start vs speech           within 3 frames of the first word's start

Reading speed counts every character a viewer reads: for English the cue text with its line break
replaced by a space (letters, punctuation and spaces); for Mandarin every non-space character (CJK
characters, full-width punctuation, digits, Latin letters). 9 characters/s is the adult-programme
limit of Netflix's Simplified Chinese timed-text guide, which also sets the 16 characters per line;
Mandarin news is read at about 5 characters/s, so it fits with room to spare.

Timing. A cue starts on the frame nearest its first word's start and ends on the frame nearest its
last word's end. (Only where that cannot keep every rule does a start move, up to 3 frames either
way, to lend a neighbouring cue a little reading time.) Where the rules need more time - the 5/6 s
minimum duration or the reading speed - the end is extended into the following silence, never beyond
the next cue's start minus the 2-frame gap and never beyond 7 s. This is how the conflict between
"minimum duration" and "within 3 frames of the speech" is resolved: the 3-frame rule binds the start
always, and the end only from below (a cue may end up to 3 frames before its last word ends, which is
what makes room for the gap when words run back to back); above, the end may run past the speech only
as far as the duration and reading-speed rules need. `validate_cues` checks exactly that.

Grouping. Choosing cue boundaries one at a time (greedily) can paint itself into a corner - a short
last cue that can no longer reach its minimum duration, or a fast passage that no longer fits the
reading speed - so `build_cues` picks the segmentation with the fewest rule violations by dynamic
programming over word boundaries (linear in the number of words: a cue holds at most ~85 characters),
and among those the one with the best break points: sentence ends, then clause punctuation, then before
a conjunction, then pauses in the speech. Lines break at the same kind of points; failing those, at
the space (English) or word boundary (Mandarin) that balances the two lines best. Mandarin lines never
get spaces. A word longer than a line is cut into line-sized pieces (a URL in English, a run of
characters without a word boundary in Mandarin).
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.errors import ConfigError, NewsroomError
from newsroom.lang import LanguageProfile, Script
from newsroom.types import Transcript

log = logging.getLogger("newsroom.subtitles")

DEFAULT_FPS = 25.0
_EPS = 1e-6


class SubtitleError(NewsroomError):
    """Cues that cannot be written or rendered as given."""


@dataclass(frozen=True, slots=True)
class Cue:
    index: int  # 1-based, in display order
    start_s: float
    end_s: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class CueRules:
    language: str
    max_chars_per_line: int
    max_chars_per_s: float
    max_lines: int = 2
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    min_gap_frames: int = 2
    sync_tolerance_frames: int = 3
    joiner: str = " "  # between words on a line: " " for English, "" for Mandarin
    sentence_marks: str = ".?!…"
    clause_marks: str = ",;:—–"
    conjunctions: frozenset[str] = frozenset()
    break_after: frozenset[str] = frozenset()  # a break after a word ending in one of these is a good one
    word_scripts: tuple[Script, ...] = ()  # a boundary inside a run of one of these scripts is a poor one
    half_width_counts_half: bool = False  # half-width (and narrow) characters count as half a character

    def width(self, text: str) -> float:
        """How many characters `text` counts as on a line."""
        if not self.half_width_counts_half:
            return len(text)
        return sum(0.5 if unicodedata.east_asian_width(ch) in ("Na", "H") else 1.0 for ch in text)

    def reading_chars(self, lines: Sequence[str]) -> float:
        """Characters a viewer reads: the text with line breaks as spaces (English) or nothing (Mandarin)."""
        if self.joiner:
            return self.width(self.joiner.join(lines))
        return sum(self.width(ch) for line in lines for ch in line if not ch.isspace())

    def min_display_frames(self, lines: Sequence[str], fps: float) -> int:
        """Frames a cue must stay on screen: the minimum duration or the reading time, whichever is longer."""
        reading_s = self.reading_chars(lines) / self.max_chars_per_s
        return _ceil_frames(max(self.min_duration_s, reading_s), fps)

    @classmethod
    def from_profile(cls, profile: LanguageProfile) -> CueRules:
        limits = profile.subtitles
        return cls(language=profile.code, max_chars_per_line=limits.chars_per_line, max_chars_per_s=limits.chars_per_s,
                   max_lines=limits.lines, joiner=profile.joiner, sentence_marks=profile.sentence_marks,
                   clause_marks=profile.clause_marks, conjunctions=limits.conjunctions,
                   break_after=limits.break_after, word_scripts=limits.word_scripts,
                   half_width_counts_half=limits.half_width_counts_half)


RULES: dict[str, CueRules] = {code: CueRules.from_profile(p) for code, p in lang.PROFILES.items()}

_CLOSERS = "\"'”’)]）」』》"


def rules_for(language: str) -> CueRules:
    """The rules for a language code ("en", "en-GB", "zh", "zh-Hans", ...); ConfigError if unknown."""
    base = lang.base_code(language)
    if base not in RULES:
        raise ConfigError(
            f"no subtitle rules for language {language!r}: use one of {', '.join(sorted(RULES))} "
            "or pass CueRules(...) explicitly"
        )
    return RULES[base]


# --------------------------------------------------------------------------- speech units


@dataclass(frozen=True, slots=True)
class SpeechUnit:
    """One word as the cue builder sees it: cleaned text, monotonic times, at most a line long."""

    start: float
    end: float
    text: str
    glue: bool = False  # a later piece of a word that was cut to fit a line: no space before it


def _frame(t: float, fps: float) -> int:
    return math.floor(t * fps + 0.5)


def _ceil_frames(seconds: float, fps: float) -> int:
    return math.ceil(seconds * fps - _EPS)


def speech_units(transcript: Transcript, rules: CueRules) -> list[SpeechUnit]:
    """The transcript's words, ready for grouping (also what `validate_cues` checks timing against).

    Whisper sometimes returns a word that starts before the previous one ends: starts are made
    non-decreasing and each word ends no later than the next starts. A segment without word timings
    is split on spaces (English) or into characters (Mandarin) with times spread by length.
    """
    raw: list[tuple[float, float, str]] = []
    for seg in transcript.segments:
        if seg.words:
            raw.extend((w.start, w.end, _clean(w.word, rules)) for w in seg.words)
        elif seg.text.strip():
            tokens = seg.text.split() if rules.joiner else [ch for ch in seg.text if not ch.isspace()]
            raw.extend(_spread(seg.start, seg.end, [_clean(t, rules) for t in tokens]))
    raw = [r for r in raw if r[2]]
    units: list[SpeechUnit] = []
    last_start = -math.inf
    for start, end, text in raw:
        start = max(float(start), last_start, 0.0)
        end = max(float(end), start)
        last_start = start
        units.append(SpeechUnit(start, end, text))
    for k in range(len(units) - 1):
        if units[k].end > units[k + 1].start:
            units[k] = SpeechUnit(units[k].start, units[k + 1].start, units[k].text)
    out: list[SpeechUnit] = []
    width = rules.max_chars_per_line
    for u in units:
        if len(u.text) <= width:
            out.append(u)
            continue
        pieces = [u.text[k : k + width] for k in range(0, len(u.text), width)]
        for n, (start, end, text) in enumerate(_spread(u.start, u.end, pieces)):
            out.append(SpeechUnit(start, end, text, glue=n > 0))
    return out


def _clean(text: str, rules: CueRules) -> str:
    return rules.joiner.join(text.split())


def _spread(start: float, end: float, tokens: list[str]) -> list[tuple[float, float, str]]:
    total = sum(len(t) for t in tokens) or 1
    out, at = [], 0
    for t in tokens:
        a = start + (end - start) * at / total
        at += len(t)
        out.append((a, start + (end - start) * at / total, t))
    return out


# --------------------------------------------------------------------------- grouping

# Cost of ending a cue (or a line) at a boundary, by kind: after a sentence, after a clause mark,
# before a conjunction, any other word boundary, inside a word that was cut to fit.
# A boundary inside a run of a profile's `word_scripts` (two kanji: likely one word) costs between a plain
# boundary and one inside a word cut to fit.
_SENTENCE, _CLAUSE, _CONJUNCTION, _PLAIN, _IN_RUN, _INSIDE_WORD = range(6)
_CUE_BREAK_COST = (0.0, 0.6, 1.2, 2.0, 3.5, 6.0)
_LINE_BREAK_COST = (0.0, 0.1, 0.2, 0.4, 1.0, 2.0)
_CUE_COST = 1.0  # per cue: fewer, fuller cues unless a better break point pays for another
_TWO_LINE_COST = 0.3
_SENTENCE_INSIDE_COST = 0.8  # a sentence ending mid-cue, the next one starting in the same cue
_PAUSE_INSIDE_COST_PER_S = 3.0  # a pause inside a cue shows text long before it is spoken...
_PAUSE_INSIDE_FREE_S = 0.5  # ...beyond this much
_VIOLATION_COST = 1000.0
_SHORTFALL_COST_PER_S = 100.0  # among equally many violations, the smallest ones
_SHIFT_COST_PER_FRAME = 0.05  # a start off the frame nearest the speech, when that keeps a rule


class _Plan:
    """Per-boundary facts and prefix sums so each candidate cue costs O(words in it)."""

    def __init__(self, units: list[SpeechUnit], rules: CueRules, fps: float) -> None:
        self.units, self.rules, self.fps = units, rules, fps
        n = len(units)
        space = 1 if rules.joiner == " " else 0
        self.len_sum = [0] * (n + 1)
        self.space_sum = [0] * (n + 1)  # space_sum[k]: spaces before units 1..k-1
        for k, u in enumerate(units):
            self.len_sum[k + 1] = self.len_sum[k] + rules.width(u.text)
            self.space_sum[k + 1] = self.space_sum[k] + (space if k > 0 and not u.glue else 0)
        # kind[k]: the boundary before unit k (k = 1..n-1)
        self.kind = [_PLAIN] * (n + 1)
        self.pause = [0.0] * (n + 1)
        inside = [0.0] * (n + 1)
        for k in range(1, n):
            self.kind[k] = _boundary_kind(units[k - 1], units[k], rules)
            self.pause[k] = max(0.0, units[k].start - units[k - 1].end)
            inside[k] = _PAUSE_INSIDE_COST_PER_S * max(0.0, self.pause[k] - _PAUSE_INSIDE_FREE_S)
            if self.kind[k] == _SENTENCE:
                inside[k] += _SENTENCE_INSIDE_COST
        self.inside_sum = [0.0] * (n + 1)
        for k in range(1, n + 1):
            self.inside_sum[k] = self.inside_sum[k - 1] + inside[k - 1]
        self.start_f = [_frame(u.start, fps) for u in units]

    def width(self, a: int, b: int) -> int:
        """Characters of units a..b-1 on one line."""
        return self.len_sum[b] - self.len_sum[a] + self.space_sum[b] - self.space_sum[a + 1]

    def line(self, a: int, b: int) -> str:
        parts = []
        for k in range(a, b):
            u = self.units[k]
            if k > a and not u.glue:
                parts.append(self.rules.joiner)
            parts.append(u.text)
        return "".join(parts)

    def layout(self, a: int, b: int) -> tuple[tuple[int, ...], float] | None:
        """Line starts for units a..b-1 and the layout's cost, or None if they do not fit."""
        limit = self.rules.max_chars_per_line
        if self.width(a, b) <= limit:
            return (a,), 0.0
        if self.rules.max_lines < 2:
            return None
        best: tuple[int, int, int] | None = None
        for k in range(a + 1, b):
            w1 = self.width(a, k)
            if w1 > limit:
                break
            w2 = self.width(k, b)
            if w2 > limit:
                continue
            key = (self.kind[k], abs(w1 - w2), k)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        return (a, best[2]), _TWO_LINE_COST + _LINE_BREAK_COST[best[0]]

    def lines(self, a: int, b: int, starts: tuple[int, ...]) -> tuple[str, ...]:
        ends = (*starts[1:], b)
        return tuple(self.line(s, e) for s, e in zip(starts, ends, strict=True))

    def start_frames(self, a: int, shift: bool) -> list[int]:
        """Frames a cue starting at unit a may start on: the nearest, or any within the sync tolerance."""
        nearest = self.start_f[a]
        if not shift:
            return [nearest]
        exact = self.units[a].start * self.fps
        tol = self.rules.sync_tolerance_frames
        lo, hi = math.ceil(exact - tol - _EPS), math.floor(exact + tol + _EPS)
        return sorted(range(max(lo, 0), hi + 1), key=lambda f: (abs(f - nearest), f))

    def timing(self, b: int, start: int, next_start: int | None, need: int,
               chars: int) -> tuple[int, int, float]:
        """End frame for a cue of units ..b-1 starting on `start`, the rules it breaks and by how much."""
        rules, fps = self.rules, self.fps
        max_frames = math.floor(rules.max_duration_s * fps + _EPS)
        speech_end = self.units[b - 1].end * fps
        end = max(_frame(self.units[b - 1].end, fps), start + need)
        if next_start is not None:
            end = min(end, next_start - rules.min_gap_frames)
        end = max(min(end, start + max_frames), start + 1)
        violations, shortfall = 0, 0.0
        duration = end - start
        if duration < _ceil_frames(rules.min_duration_s, fps):
            violations += 1
            shortfall += rules.min_duration_s - duration / fps
        if chars > rules.max_chars_per_s * duration / fps + _EPS:
            violations += 1
            shortfall += chars / rules.max_chars_per_s - duration / fps
        if end < speech_end - rules.sync_tolerance_frames - _EPS:
            violations += 1
            shortfall += (speech_end - end) / fps
        if next_start is not None and next_start - end < rules.min_gap_frames:
            violations += 1
            shortfall += (rules.min_gap_frames - next_start + end) / fps
        return end, violations, shortfall


def _boundary_kind(before: SpeechUnit, after: SpeechUnit, rules: CueRules) -> int:
    if after.glue:
        return _INSIDE_WORD
    tail = before.text.rstrip(_CLOSERS)
    if tail and tail[-1] in rules.sentence_marks:
        return _SENTENCE
    if tail and tail[-1] in rules.clause_marks:
        return _CLAUSE
    head = after.text.strip(_CLOSERS + "\"'“‘(（「『《").rstrip(rules.sentence_marks + rules.clause_marks)
    if head.lower() in rules.conjunctions:
        return _CONJUNCTION
    if rules.break_after and tail.endswith(tuple(rules.break_after)):
        return _CONJUNCTION
    if tail and head and any(s.matches(tail[-1]) and s.matches(head[0]) for s in rules.word_scripts):
        return _IN_RUN
    return _PLAIN


def build_cues(transcript: Transcript, fps: float = DEFAULT_FPS, rules: CueRules | None = None) -> list[Cue]:
    """Group the transcript's words into cues that keep every rule of `rules` (default: by language).

    Times are on frame boundaries of `fps`. Where the speech is too fast to keep every rule (more
    characters per second than anyone can read), the result breaks as few rules as possible, by as
    little as possible, and `validate_cues` says which.
    """
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps!r}: pass the video's frame rate")
    rules = rules or rules_for(transcript.language)
    units = speech_units(transcript, rules)
    if not units:
        return []
    plan = _Plan(units, rules, fps)
    # Cues start on the frame nearest their first word; only if that cannot keep every rule, try
    # every start within the sync tolerance (slower: ~7x the candidates), which can move a few
    # frames of reading time from one cue to its neighbour.
    cues, broken = _segment(plan, shift=False)
    if broken:
        cues, broken = _segment(plan, shift=True)
    media_end_f = math.floor(transcript.duration_s * fps + _EPS)
    if cues and transcript.duration_s > 0 and cues[-1].end_s * fps > media_end_f + _EPS:
        # Never run past the end of the media: a subtitle track must not lengthen the video.
        last = cues[-1]
        cues[-1] = Cue(last.index, last.start_s, max(media_end_f / fps, last.start_s + 1 / fps), last.lines)
    if broken:
        log.warning("%d subtitle rule(s) could not be kept (speech faster than the reading speed?): "
                    "run validate_cues for details", broken)
    log.debug("built %d %s cues from %d words at %g fps", len(cues), rules.language, len(units), fps)
    return cues


def _segment(plan: _Plan, *, shift: bool) -> tuple[list[Cue], int]:
    """The cheapest segmentation (dynamic programming from the last word back) and its violations."""
    units, rules, fps = plan.units, plan.rules, plan.fps
    n = len(units)
    max_width = rules.max_lines * rules.max_chars_per_line + (rules.max_lines - 1)
    max_span_f = math.floor(rules.max_duration_s * fps + _EPS) + rules.sync_tolerance_frames
    frames = [plan.start_frames(a, shift) for a in range(n)]
    # best[a][f]: cost of units a.. when the cue at unit a starts on frame f; pick: how
    best: list[dict[int, float]] = [{} for _ in range(n)] + [{-1: 0.0}]
    pick: list[dict[int, tuple[int, int, tuple[int, ...], int, int]]] = [{} for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        row = dict.fromkeys(frames[a], math.inf)
        for b in range(a + 1, n + 1):
            if b > a + 1 and (plan.width(a, b) > max_width or units[b - 1].end * fps - plan.start_f[a] > max_span_f):
                break
            laid = plan.layout(a, b)
            if laid is None:
                if b > a + 1:
                    break
                laid = ((a,), 0.0)  # not reached: units are at most a line long
            starts, layout_cost = laid
            lines = plan.lines(a, b, starts)
            need = rules.min_display_frames(lines, fps)
            chars = rules.reading_chars(lines)
            fixed = _CUE_COST + layout_cost + plan.inside_sum[b] - plan.inside_sum[a + 1]
            if b < n:
                fixed += _CUE_BREAK_COST[plan.kind[b]] - min(1.0, plan.pause[b])
            nexts = best[b].items()
            for start in frames[a]:
                here = fixed + _SHIFT_COST_PER_FRAME * abs(start - plan.start_f[a])
                for next_start, rest in nexts:
                    end, violations, shortfall = plan.timing(b, start, next_start if b < n else None, need, chars)
                    total = here + violations * _VIOLATION_COST + shortfall * _SHORTFALL_COST_PER_S + rest
                    if total < row[start]:
                        row[start] = total
                        pick[a][start] = (b, next_start, starts, end, violations)
        best[a] = row
    cues: list[Cue] = []
    broken = 0
    a, start = 0, min(best[0], key=best[0].__getitem__)
    while a < n:
        b, next_start, starts, end, violations = pick[a][start]
        broken += violations
        cues.append(Cue(len(cues) + 1, start / fps, end / fps, plan.lines(a, b, starts)))
        a, start = b, next_start
    return cues, broken
