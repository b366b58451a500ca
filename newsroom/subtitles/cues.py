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
    words                     never split                 never split (jieba's words)
    speakers                  a new cue at each speaker change; two speakers share a cue only with one
                              line each, each line starting with the profile's dash ("- " en, "-" zh)
    shot changes              a cue ends at least 2 frames before a cut or starts at it
    boundaries                a cue never spans one (the anchor intro | the story in the broadcast segment)

Reading speed counts what the profile says (`SubtitleRules.count_spaces`): for English every character
a viewer reads, spaces included, the line break read as a space (Netflix and the BBC count this way);
for Mandarin every non-space character (CJK characters, full-width punctuation, digits, Latin letters).
9 characters/s is the adult-programme limit of Netflix's Simplified Chinese timed-text guide, which also
sets the 16 characters per line; Mandarin news is read at about 5 characters/s.

Words. Spaced languages break at spaces. Languages with a `segmenter` (Mandarin: jieba) have their ASR
tokens merged into the segmenter's words first, so a break can only fall between two words ("省教育厅",
never "省教 / 育"; a word longer than a line is cut between tokens, and a pause of a second inside a word
is a boundary too: the speaker stopped there); a space that Whisper leaves between two clauses of Mandarin
text becomes the profile's `clause_space` ("，") on the word before it. Languages without one (Japanese) keep their own heuristics
(a poor break inside a run of kanji, a good one after a particle).

Timing. A cue starts on the frame nearest its first word's start and ends on the frame nearest its
last word's end. (Only where that cannot keep every rule does a start move, up to 3 frames either
way, to lend a neighbouring cue a little reading time.) Where the rules need more time - the 5/6 s
minimum duration or the reading speed - the end is extended into the following silence, never beyond
the next cue's start minus the 2-frame gap and never beyond 7 s. This is how the conflict between
"minimum duration" and "within 3 frames of the speech" is resolved: the 3-frame rule binds the start
always, and the end only from below (a cue may end up to 3 frames before its last word ends, which is
what makes room for the gap when words run back to back); above, the end may run past the speech only
as far as the duration and reading-speed rules need. `validate_cues` checks exactly that.

Shot changes (`shot_changes_s`: the scene cuts on the subtitles' timeline). A subtitle that appears or
disappears a few frames from a cut makes the eye jump twice, so (Netflix timed-text practice, 12 frames):
an end within 12 frames after a cut, or less than 2 frames before it, moves to 2 frames before the cut;
an end within 12 frames before a cut is extended to 2 frames before it (the cues chain with the
picture); a start within 12 frames of a cut moves onto the cut - up to 12 frames ahead of the speech,
the one exception to the 3-frame rule. Each move is made only where it keeps the duration, reading-speed,
gap and sync rules; where none can, the cue keeps its timing. `boundaries_s` are hard: no cue holds words
from both sides of one or is on screen across it (they also count as shot changes).

Grouping. Choosing cue boundaries one at a time (greedily) can paint itself into a corner - a short
last cue that can no longer reach its minimum duration, or a fast passage that no longer fits the
reading speed - so `build_cues` picks the segmentation with the fewest rule violations by dynamic
programming over word boundaries (linear in the number of words: a cue holds at most ~85 characters),
and among those the one with the best break points: sentence ends and speaker changes, then clause
punctuation, then before a conjunction, then pauses in the speech. A line or cue that would end on the
first word of a sentence that goes on after it ("...relief to hear. You") costs as much as a broken
rule short of the hard ones; one ending on an article, preposition or conjunction (the profile's
`line_end_avoid`) costs a little. Lines break at the same kind of points; failing those, at the space
(English) or word boundary (Mandarin) that balances the two lines best. Mandarin lines never get spaces.
A word longer than a line is cut into line-sized pieces (a URL in English, a run of characters without
a word boundary in Mandarin).
"""

from __future__ import annotations

import bisect
import logging
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.errors import ConfigError, NewsroomError
from newsroom.lang import LanguageProfile, Script
from newsroom.lang.words import segmenter
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
    count_spaces: bool = True  # reading speed: every character with spaces, or every non-space character
    line_end_avoid: frozenset[str] = frozenset()  # a line ending on one of these words is a poor one
    abbreviations: frozenset[str] = frozenset()  # "dr" in "Dr. Jones": a full stop that ends no sentence
    segmenter: str = ""  # newsroom.lang.words segmenter: ASR tokens merged into its words, never split
    clause_space: str = ""  # a space in the ASR text between two characters of `script`: this mark instead
    script: Script | None = None
    dialogue_dash: str = "- "  # before each speaker's line when two speakers share a cue
    shot_change_gap_frames: int = 2  # a cue ending near a cut ends this many frames before it...
    shot_change_window_frames: int = 12  # ..."near": this many frames either side (a start snaps onto the cut)

    def width(self, text: str) -> float:
        """How many characters `text` counts as on a line."""
        if not self.half_width_counts_half:
            return len(text)
        return sum(0.5 if unicodedata.east_asian_width(ch) in ("Na", "H") else 1.0 for ch in text)

    def reading_chars(self, lines: Sequence[str]) -> float:
        """Characters a viewer reads: with spaces (the line break read as one) or every non-space one."""
        if self.count_spaces:
            return self.width(" ".join(lines))
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
                   half_width_counts_half=limits.half_width_counts_half, count_spaces=limits.count_spaces,
                   line_end_avoid=limits.line_end_avoid, abbreviations=profile.voice.abbreviations,
                   segmenter=limits.segmenter, clause_space=limits.clause_space, script=profile.script,
                   dialogue_dash=limits.dialogue_dash)


RULES: dict[str, CueRules] = {code: CueRules.from_profile(p) for code, p in lang.PROFILES.items()}

_CLOSERS = "\"'”’)]）」』》"
_OPENERS = "\"'“‘(（「『《"


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
    speaker: str | None = None


def _frame(t: float, fps: float) -> int:
    return math.floor(t * fps + 0.5)


def _ceil_frames(seconds: float, fps: float) -> int:
    return math.ceil(seconds * fps - _EPS)


def speech_units(transcript: Transcript, rules: CueRules) -> list[SpeechUnit]:
    """The transcript's words, ready for grouping (also what `validate_cues` checks timing against).

    Whisper sometimes returns a word that starts before the previous one ends: starts are made
    non-decreasing and each word ends no later than the next starts. A segment without word timings
    is split on spaces (English) or into characters (Mandarin) with times spread by length. With a
    `segmenter`, the tokens of each run of one speaker in one segment are merged into its words.
    """
    tokens: list[list] = []  # [start, end, text, speaker, segment number]
    for number, seg in enumerate(transcript.segments):
        if seg.words:
            toks = [[w.start, w.end, _clean(w.word, rules), w.speaker or seg.speaker] for w in seg.words]
        elif seg.text.strip():
            parts = seg.text.split() if rules.joiner else [ch for ch in seg.text if not ch.isspace()]
            toks = [[a, b, t, seg.speaker] for a, b, t in _spread(seg.start, seg.end, [_clean(p, rules) for p in parts])]
        else:
            continue
        toks = [t for t in toks if t[2]]
        if rules.clause_space and rules.script is not None:
            _mark_clause_spaces(seg.text, toks, rules)
        tokens.extend([*t, number] for t in toks)
    last_start = -math.inf
    for t in tokens:
        t[0] = max(float(t[0]), last_start, 0.0)
        t[1] = max(float(t[1]), t[0])
        last_start = t[0]
    for k in range(len(tokens) - 1):
        tokens[k][1] = min(tokens[k][1], tokens[k + 1][0])
    if rules.segmenter:
        units = _merge_into_words(tokens, rules)
    else:
        units = [SpeechUnit(t[0], t[1], t[2], speaker=t[3]) for t in tokens]
    out: list[SpeechUnit] = []
    width = rules.max_chars_per_line
    for u in units:
        if len(u.text) <= width:
            out.append(u)
            continue
        pieces = [u.text[k : k + width] for k in range(0, len(u.text), width)]
        for n, (start, end, text) in enumerate(_spread(u.start, u.end, pieces)):
            out.append(SpeechUnit(start, end, text, glue=n > 0 or u.glue, speaker=u.speaker))
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


def _mark_clause_spaces(text: str, toks: list[list], rules: CueRules) -> None:
    """Where the segment's text has a space between two tokens that are both in the script (Whisper's
    clause break in Mandarin: "本台消息 昨天下午"), end the first with `rules.clause_space`. The tokens'
    text is the segment's text without its spaces; where the two disagree, nothing is marked."""
    script = rules.script
    assert script is not None
    pos, n = 0, len(text)
    spaced_before: list[bool] = []
    for tok in toks:
        spaced = False
        while pos < n and text[pos].isspace():
            spaced, pos = True, pos + 1
        for ch in tok[2]:
            while pos < n and text[pos].isspace():
                pos += 1
            if pos >= n or text[pos] != ch:
                return
            pos += 1
        spaced_before.append(spaced)
    for k in range(1, len(toks)):
        before, after = toks[k - 1][2], toks[k][2]
        if spaced_before[k] and script.matches(before[-1]) and script.matches(after[0]):
            toks[k - 1][2] = before + rules.clause_space


_WORD_PAUSE_S = 1.0  # tokens this far apart are two utterances, even inside one of the segmenter's words


def _merge_into_words(tokens: list[list], rules: CueRules) -> list[SpeechUnit]:
    """ASR tokens merged where the segmenter's words cross their boundaries: a unit boundary is where
    both a token and a word end, or where the speaker paused for `_WORD_PAUSE_S`. Runs of one speaker in
    one segment are segmented separately."""
    cut = segmenter(rules.segmenter)
    units: list[SpeechUnit] = []
    k = 0
    while k < len(tokens):
        end = k + 1
        while end < len(tokens) and tokens[end][4] == tokens[k][4] and tokens[end][3] == tokens[k][3]:
            end += 1
        run = tokens[k:end]
        word_ends, at = set(), 0
        for word in cut("".join(t[2] for t in run)):
            at += len(word)
            word_ends.add(at)
        first, at = 0, 0
        for j, tok in enumerate(run):
            at += len(tok[2])
            if at in word_ends or j == len(run) - 1 or run[j + 1][0] - tok[1] >= _WORD_PAUSE_S:
                units.extend(_word_unit(run[first : j + 1], rules.max_chars_per_line))
                first = j + 1
        k = end
    return units


def _word_unit(group: list[list], width: int) -> list[SpeechUnit]:
    """One unit for a word made of these tokens; a word longer than a line (jieba's HMM can join a long run of
    unknown characters) in line-sized pieces cut between tokens, the later ones glued to the first."""
    pieces: list[list[list]] = [[]]
    for tok in group:
        if pieces[-1] and sum(len(t[2]) for t in pieces[-1]) + len(tok[2]) > width:
            pieces.append([])
        pieces[-1].append(tok)
    return [SpeechUnit(p[0][0], p[-1][1], "".join(t[2] for t in p), glue=n > 0, speaker=p[0][3])
            for n, p in enumerate(pieces)]


# --------------------------------------------------------------------------- grouping

# Cost of ending a cue (or a line) at a boundary, by kind: after a sentence (or at a speaker change),
# after a clause mark, before a conjunction, any other word boundary, inside a word that was cut to fit.
# A boundary inside a run of a profile's `word_scripts` (two kanji: likely one word) costs between a plain
# boundary and one inside a word cut to fit.
_SENTENCE, _CLAUSE, _CONJUNCTION, _PLAIN, _IN_RUN, _INSIDE_WORD = range(6)
_CUE_BREAK_COST = (0.0, 0.6, 1.2, 2.0, 3.5, 6.0)
_LINE_BREAK_COST = (0.0, 0.1, 0.2, 0.4, 1.0, 2.0)
_CUE_COST = 1.0  # per cue: fewer, fuller cues unless a better break point pays for another
_TWO_LINE_COST = 0.3
_DIALOGUE_COST = 2.5  # two speakers sharing a cue: only where separate cues would cost more
_SENTENCE_INSIDE_COST = 0.8  # a sentence ending mid-cue, the next one starting in the same cue
_PAUSE_INSIDE_COST_PER_S = 3.0  # a pause inside a cue shows text long before it is spoken...
_PAUSE_INSIDE_FREE_S = 0.5  # ...beyond this much
_DANGLING_CUE_COST = 50.0  # a cue ending on the first word of a sentence that goes on in the next one
_DANGLING_LINE_COST = 5.0  # the same at a line break (outranks every other kind of line break)
_WEAK_CUE_COST = 2.5  # a cue ending on an article, preposition or conjunction
_WEAK_LINE_COST = 0.5
_SHOT_COST = 1.5  # a cue starting or ending next to a cut where no move could fix it
_VIOLATION_COST = 1000.0
_SHORTFALL_COST_PER_S = 100.0  # among equally many violations, the smallest ones
_SHIFT_COST_PER_FRAME = 0.05  # a start off the frame nearest the speech, when that keeps a rule


class _Plan:
    """Per-boundary facts and prefix sums so each candidate cue costs O(words in it); the shot changes and
    boundaries in frames. `validate_cues` asks the same object what the builder was allowed to do."""

    def __init__(self, units: list[SpeechUnit], rules: CueRules, fps: float, shot_changes_s: Sequence[float] = (),
                 boundaries_s: Sequence[float] = ()) -> None:
        self.units, self.rules, self.fps = units, rules, fps
        n = len(units)
        space = 1 if rules.joiner == " " else 0
        self.len_sum = [0.0] * (n + 1)
        self.space_sum = [0] * (n + 1)  # space_sum[k]: spaces before units 1..k-1
        for k, u in enumerate(units):
            self.len_sum[k + 1] = self.len_sum[k] + rules.width(u.text)
            self.space_sum[k + 1] = self.space_sum[k] + (space if k > 0 and not u.glue else 0)
        # Which side of a boundary a word is on goes by its start in seconds; the cues' limits are frames.
        bounds = sorted(set(boundaries_s))
        self.boundaries_f = [_frame(b, fps) for b in bounds]
        self.cuts_f = sorted({_frame(c, fps) for c in (*shot_changes_s, *boundaries_s)} - {0})
        self._cut_set = set(self.cuts_f)
        # Facts about the boundary before unit k (k = 1..n-1)
        self.kind = [_PLAIN] * (n + 1)
        self.pause = [0.0] * (n + 1)
        self.change = [False] * (n + 1)  # a speaker change
        self.hard = [False] * (n + 1)  # one of `boundaries_s`
        for k in range(1, n):
            before, after = units[k - 1], units[k]
            self.change[k] = bool(before.speaker and after.speaker and before.speaker != after.speaker)
            self.hard[k] = any(before.start < b - _EPS <= after.start for b in bounds)
            self.kind[k] = _SENTENCE if self.change[k] or self.hard[k] else _boundary_kind(before, after, rules)
            self.pause[k] = max(0.0, after.start - before.end)
        # first[j]: unit j starts a sentence; dangling[k]: a break before unit k leaves the first word of a
        # sentence that goes on at the end of a line or cue (a fault when the line holds words before it).
        self.first = [j == 0 or self.kind[j] == _SENTENCE for j in range(n)]
        self.dangling = [False] * (n + 1)
        self.weak = [False] * (n + 1)
        for k in range(1, n):
            self.dangling[k] = self.first[k - 1] and self.kind[k] not in (_SENTENCE, _INSIDE_WORD)
            self.weak[k] = _ends_weak(units[k - 1], rules)
        self.line_cost = [_LINE_BREAK_COST[self.kind[k]] + _WEAK_LINE_COST * self.weak[k] for k in range(n + 1)]
        self.cue_cost = [_CUE_BREAK_COST[self.kind[k]] + _WEAK_CUE_COST * self.weak[k] for k in range(n + 1)]
        self.change_sum = [0] * (n + 1)
        inside = [0.0] * (n + 1)
        for k in range(1, n):
            inside[k] = _PAUSE_INSIDE_COST_PER_S * max(0.0, self.pause[k] - _PAUSE_INSIDE_FREE_S)
            if self.kind[k] == _SENTENCE:
                inside[k] += _SENTENCE_INSIDE_COST
        self.inside_sum = [0.0] * (n + 1)
        for k in range(1, n + 1):
            self.inside_sum[k] = self.inside_sum[k - 1] + inside[k - 1]
            self.change_sum[k] = self.change_sum[k - 1] + self.change[k - 1]
        self.start_f = [_frame(u.start, fps) for u in units]
        # floor_f[a]: the latest boundary at or before unit a (a cue starting there starts no earlier);
        # cap_f[b]: the first boundary after unit b-1 starts (a cue ending with it ends no later).
        self.floor_f = [max((f for b, f in zip(bounds, self.boundaries_f, strict=True) if u.start >= b - _EPS),
                            default=0) for u in units]
        self.cap_f: list[int | None] = [None] + [
            min((f for b, f in zip(bounds, self.boundaries_f, strict=True) if u.start < b - _EPS), default=None)
            for u in units]

    def width(self, a: int, b: int) -> float:
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

    def layout(self, a: int, b: int) -> tuple[tuple[int, ...], float, bool] | None:
        """Line starts for units a..b-1, the layout's cost and whether it is a two-speaker dialogue cue; None if
        they do not fit (or hold more than one speaker change, or one that cannot be a dialogue cue)."""
        rules = self.rules
        limit = rules.max_chars_per_line
        changes = self.change_sum[b] - self.change_sum[a + 1]
        if changes:
            # Two speakers share a cue only with whole sentences: one line each, starting with the dash.
            if changes > 1 or rules.max_lines < 2 or not self.whole_sentences(a, b):
                return None
            m = next(k for k in range(a + 1, b) if self.change[k])
            dash = rules.width(rules.dialogue_dash)
            if self.width(a, m) + dash > limit + _EPS or self.width(m, b) + dash > limit + _EPS:
                return None
            return (a, m), _DIALOGUE_COST, True
        if self.width(a, b) <= limit + _EPS:
            return (a,), 0.0, False
        if rules.max_lines < 2:
            return None
        best: tuple[float, float, int] | None = None
        for k in range(a + 1, b):
            w1 = self.width(a, k)
            if w1 > limit + _EPS:
                break
            w2 = self.width(k, b)
            if w2 > limit + _EPS:
                continue
            key = (self.line_cost[k] + _DANGLING_LINE_COST * self.dangles(a, k), abs(w1 - w2), k)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        return (a, best[2]), _TWO_LINE_COST + best[0], False

    def dangles(self, a: int, b: int) -> bool:
        """Whether a line of units a..b-1 ends on the first word of a sentence that goes on after it."""
        return b - 1 > a and self.dangling[b]

    def whole_sentences(self, a: int, b: int) -> bool:
        """Whether units a..b-1 start a sentence and end one (or the transcript)."""
        return self.first[a] and (b == len(self.units) or self.kind[b] == _SENTENCE)

    def lines(self, b: int, starts: tuple[int, ...], dialogue: bool) -> tuple[str, ...]:
        ends = (*starts[1:], b)
        dash = self.rules.dialogue_dash if dialogue else ""
        return tuple(dash + self.line(s, e) for s, e in zip(starts, ends, strict=True))

    # -- shot changes

    def _near_cut(self, frame: int) -> bool:
        window = self.rules.shot_change_window_frames
        k = bisect.bisect_left(self.cuts_f, frame - window)
        return k < len(self.cuts_f) and self.cuts_f[k] <= frame + window

    def start_conflict(self, start: int) -> bool:
        """A start within the window of a cut but not on one."""
        return bool(self.cuts_f) and start not in self._cut_set and self._near_cut(start)

    def end_conflict(self, end: int) -> int | None:
        """The cut an end is too close to: less than the gap before it, or within the window after it."""
        gap, window = self.rules.shot_change_gap_frames, self.rules.shot_change_window_frames
        k = bisect.bisect_left(self.cuts_f, end - window)
        while k < len(self.cuts_f) and self.cuts_f[k] - gap < end:
            if end <= self.cuts_f[k] + window:
                return self.cuts_f[k]
            k += 1
        return None

    def pull_before_cut(self, end: int, lo: int, hi: int) -> int | None:
        """An end `gap` frames before the cut `end` is too close to (or an earlier one, if that is too close to
        another), within [lo, hi]; None when there is none."""
        gap = self.rules.shot_change_gap_frames
        cut = self.end_conflict(end)
        while cut is not None:
            moved = cut - gap
            if moved < lo:
                return None
            cut = self.end_conflict(moved)
            if cut is None and moved <= hi:
                return moved
        return None

    def chain_to_cut(self, end: int, hi: int) -> int:
        """An end within the window before a cut, moved to `gap` frames before it where that keeps the rules."""
        gap, window = self.rules.shot_change_gap_frames, self.rules.shot_change_window_frames
        k = bisect.bisect_right(self.cuts_f, end + gap)
        if k < len(self.cuts_f) and self.cuts_f[k] - gap <= min(end + window, hi):
            moved = self.cuts_f[k] - gap
            if self.end_conflict(moved) is None:
                return moved
        return end

    def snap_starts(self, a: int) -> list[int]:
        """Cuts a cue starting with unit a may start on: up to the window ahead of its speech, or within the sync
        tolerance after it."""
        exact = self.units[a].start * self.fps
        lo = bisect.bisect_left(self.cuts_f, exact - self.rules.shot_change_window_frames - _EPS)
        hi = bisect.bisect_right(self.cuts_f, exact + self.rules.sync_tolerance_frames + _EPS)
        return [c for c in self.cuts_f[lo:hi] if c >= self.floor_f[a]]

    # -- timing

    def start_frames(self, a: int, shift: bool) -> list[int]:
        """Frames a cue starting at unit a may start on: the nearest (or any within the sync tolerance), and cuts
        it may snap onto; never before the boundary it follows."""
        nearest = self.start_f[a]
        if shift:
            exact = self.units[a].start * self.fps
            tol = self.rules.sync_tolerance_frames
            lo, hi = math.ceil(exact - tol - _EPS), math.floor(exact + tol + _EPS)
            frames = sorted(range(max(lo, 0), hi + 1), key=lambda f: (abs(f - nearest), f))
        else:
            frames = [nearest]
        frames += [c for c in self.snap_starts(a) if c not in frames]
        floor = self.floor_f[a]
        return [f for f in frames if f >= floor] or [max(floor, nearest)]

    def end_limits(self, b: int, start: int, next_start: int | None, need: int) -> tuple[int, int]:
        """(lo, hi): the earliest end that keeps the duration, reading-speed and sync rules for a cue of units
        ..b-1 starting on `start`, and the latest that keeps the maximum duration, the gap and the boundary."""
        rules, fps = self.rules, self.fps
        hi = start + math.floor(rules.max_duration_s * fps + _EPS)
        if next_start is not None:
            hi = min(hi, next_start - rules.min_gap_frames)
        cap = self.cap_f[b]
        if cap is not None:
            hi = min(hi, cap)
        lo = max(start + need, math.ceil(self.units[b - 1].end * fps - rules.sync_tolerance_frames - _EPS))
        return lo, hi

    def end_frame(self, b: int, start: int, next_start: int | None, need: int) -> int:
        """Where a cue of units ..b-1 starting on `start` ends: on its last word's end, or later as far as the
        minimum duration and reading time need; then clear of a cut where the rules allow."""
        lo, hi = self.end_limits(b, start, next_start, need)
        end = max(min(max(_frame(self.units[b - 1].end, self.fps), start + need), hi), start + 1)
        if self.cuts_f:
            moved = self.pull_before_cut(end, lo, hi)
            end = self.chain_to_cut(end, hi) if moved is None else moved
        return end

    def timing(self, b: int, start: int, next_start: int | None, need: int,
               chars: float) -> tuple[int, int, float, float]:
        """End frame for a cue of units ..b-1 starting on `start`, the rules it breaks, by how much, and the
        soft cost of a start or end next to a cut."""
        rules, fps = self.rules, self.fps
        speech_end = self.units[b - 1].end * fps
        end = self.end_frame(b, start, next_start, need)
        soft = 0.0
        if self.cuts_f:
            soft += _SHOT_COST * (self.end_conflict(end) is not None) + _SHOT_COST * self.start_conflict(start)
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
        cap = self.cap_f[b]
        if cap is not None and end > cap:
            violations += 1
            shortfall += (end - cap) / fps
        return end, violations, shortfall, soft


def _abbreviation(tail: str, rules: CueRules) -> bool:
    return tail.endswith(".") and tail[:-1].lstrip(_OPENERS).lower() in rules.abbreviations


def _ends_weak(unit: SpeechUnit, rules: CueRules) -> bool:
    """Whether `unit` is a word a line should not end on: one of `line_end_avoid` without punctuation that ends
    anything, or a conjunction that opens a clause ("另外，", "However,")."""
    text = unit.text.lstrip(_OPENERS)
    if text[-1] in _CLOSERS or text[-1] in rules.sentence_marks:
        return False
    if text[-1] in rules.clause_marks:
        return text.rstrip(rules.clause_marks).lower() in rules.conjunctions
    return text.lower() in rules.line_end_avoid


def _boundary_kind(before: SpeechUnit, after: SpeechUnit, rules: CueRules) -> int:
    if after.glue:
        return _INSIDE_WORD
    tail = before.text.rstrip(_CLOSERS)
    if tail and tail[-1] in rules.sentence_marks and not _abbreviation(tail, rules):
        return _SENTENCE
    if tail and tail[-1] in rules.clause_marks:
        return _CLAUSE
    head = after.text.strip(_CLOSERS + _OPENERS).rstrip(rules.sentence_marks + rules.clause_marks)
    if head.lower() in rules.conjunctions:
        return _CONJUNCTION
    if rules.break_after and tail.endswith(tuple(rules.break_after)):
        return _CONJUNCTION
    if tail and head and any(s.matches(tail[-1]) and s.matches(head[0]) for s in rules.word_scripts):
        return _IN_RUN
    return _PLAIN


def build_cues(transcript: Transcript, fps: float = DEFAULT_FPS, rules: CueRules | None = None, *,
               shot_changes_s: Sequence[float] = (), boundaries_s: Sequence[float] = ()) -> list[Cue]:
    """Group the transcript's words into cues that keep every rule of `rules` (default: by language).

    Times are on frame boundaries of `fps`. `shot_changes_s` are the picture's cuts and `boundaries_s`
    the points no cue may span (the anchor intro | the story), both in seconds on the transcript's
    timeline. Where the speech is too fast to keep every rule (more characters per second than anyone
    can read), the result breaks as few rules as possible, by as little as possible, and `validate_cues`
    says which.
    """
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps!r}: pass the video's frame rate")
    rules = rules or rules_for(transcript.language)
    units = speech_units(transcript, rules)
    if not units:
        return []
    plan = _Plan(units, rules, fps, shot_changes_s, boundaries_s)
    # Cues start on the frame nearest their first word (or a cut just before it); only if that cannot keep
    # every rule, try every start within the sync tolerance (slower: ~7x the candidates), which can move a
    # few frames of reading time from one cue to its neighbour.
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
    pick: list[dict[int, tuple[int, int, tuple[int, ...], bool, int, int]]] = [{} for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        row = dict.fromkeys(frames[a], math.inf)
        for b in range(a + 1, n + 1):
            if b > a + 1 and (plan.hard[b - 1] or plan.width(a, b) > max_width
                              or units[b - 1].end * fps - plan.start_f[a] > max_span_f):
                break
            changes = plan.change_sum[b] - plan.change_sum[a + 1]
            if changes > 1 or (changes and not plan.first[a]):
                break
            if changes and not plan.whole_sentences(a, b):
                continue  # a dialogue cue must end where a sentence does: try the next word
            laid = plan.layout(a, b)
            if laid is None:
                if b > a + 1:
                    break
                laid = ((a,), 0.0, False)  # not reached: units are at most a line long
            starts, layout_cost, dialogue = laid
            lines = plan.lines(b, starts, dialogue)
            need = rules.min_display_frames(lines, fps)
            chars = rules.reading_chars(lines)
            fixed = _CUE_COST + layout_cost + plan.inside_sum[b] - plan.inside_sum[a + 1]
            if b < n:
                fixed += plan.cue_cost[b] + _DANGLING_CUE_COST * plan.dangles(starts[-1], b) - min(1.0, plan.pause[b])
            nexts = best[b].items()
            for start in frames[a]:
                here = fixed + _SHIFT_COST_PER_FRAME * abs(start - plan.start_f[a])
                for next_start, rest in nexts:
                    end, violations, shortfall, soft = plan.timing(b, start, next_start if b < n else None, need, chars)
                    total = here + soft + violations * _VIOLATION_COST + shortfall * _SHORTFALL_COST_PER_S + rest
                    if total < row[start]:
                        row[start] = total
                        pick[a][start] = (b, next_start, starts, dialogue, end, violations)
        best[a] = row
    cues: list[Cue] = []
    broken = 0
    a, start = 0, min(best[0], key=best[0].__getitem__)
    while a < n:
        b, next_start, starts, dialogue, end, violations = pick[a][start]
        broken += violations
        cues.append(Cue(len(cues) + 1, start / fps, end / fps, plan.lines(b, starts, dialogue)))
        a, start = b, next_start
    return cues, broken
