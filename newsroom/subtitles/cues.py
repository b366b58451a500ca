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

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom.errors import ConfigError, NewsroomError
from newsroom.subtitles.breaks import rewrap
from newsroom.subtitles.plan import (
    _CUE_COST,
    _DANGLING_CUE_COST,
    _SHIFT_COST_PER_FRAME,
    _SHORTFALL_COST_PER_S,
    _VIOLATION_COST,
    _Plan,
)
from newsroom.subtitles.rules import _EPS, DEFAULT_FPS, RULES, CueRules, rules_for
from newsroom.subtitles.speech import SpeechUnit, speech_units
from newsroom.types import Transcript

# The rules (rules.py), the words (speech.py), the break points and `rewrap` (breaks.py) and the builder's
# per-boundary plan (plan.py) have modules of their own; what callers imported from here still imports.
__all__ = ["DEFAULT_FPS", "RULES", "Cue", "CueRules", "SpeechUnit", "SubtitleError", "build_cues", "rewrap",
           "rules_for", "speech_units"]

log = logging.getLogger("newsroom.subtitles")

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
