"""What the cue builder may do and what it costs: per-boundary facts and prefix sums (`_Plan`) so each
candidate cue costs O(words in it), its line layout, the shot changes and boundaries in frames, and a cue's
timing against every rule. `build_cues` searches over it; `validate_cues` asks it what the builder was
allowed to do. See `newsroom.subtitles.cues` ("Timing", "Shot changes", "Grouping").
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from newsroom.subtitles.breaks import _INSIDE_WORD, _PLAIN, _SENTENCE, _boundary_kind, _ends_weak
from newsroom.subtitles.rules import _EPS, CueRules, _ceil_frames, _frame
from newsroom.subtitles.speech import SpeechUnit

# Cost of ending a cue (or a line) at a boundary, by kind: after a sentence (or at a speaker change),
# after a clause mark, before a conjunction, any other word boundary, inside a word that was cut to fit.
# A boundary inside a run of a profile's `word_scripts` (two kanji: likely one word) costs between a plain
# boundary and one inside a word cut to fit.
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
