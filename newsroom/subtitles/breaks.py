"""Where a cue or a line may break and how good a place it is (`_boundary_kind`, `_ends_weak`); `rewrap`
breaks a cue's lines again for a narrower picture, judging break points the same way. What each kind of
boundary costs the cue builder is in `newsroom.subtitles.plan`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from newsroom.errors import ConfigError
from newsroom.subtitles.rules import _EPS, CueRules
from newsroom.subtitles.speech import SpeechUnit

_CLOSERS = "\"'”’)]）」』》"
_OPENERS = "\"'“‘(（「『《"
# The kinds of boundary, from the best place for a break to the worst: after a sentence (or at a speaker
# change), after a clause mark, before a conjunction, any other word boundary, inside a run of a profile's
# `word_scripts` (two kanji: likely one word), inside a word that was cut to fit a line.
_SENTENCE, _CLAUSE, _CONJUNCTION, _PLAIN, _IN_RUN, _INSIDE_WORD = range(6)


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


def rewrap(lines: Sequence[str], rules: CueRules, chars_per_line: int) -> tuple[str, ...]:
    """A cue's `lines` broken again into lines of at most `chars_per_line` characters (`rules.width`), in as few
    lines as that allows, as even as possible (`newsroom.covers.headline.balance`, the covers' balanced
    wrapping): at spaces for a spaced language, never a one-word last line where another break fits, a line
    ending on the profile's `line_end_avoid` words only where that buys balance; between the segmenter's words
    (jieba for Mandarin) otherwise; Japanese (no segmenter) between characters, preferring a break after a
    particle (`break_after`) or punctuation and avoiding one inside a run of kanji or katakana (`word_scripts`),
    as the cue builder does. The text is unchanged apart from the line breaks; a dialogue cue (each line
    starting with the profile's dash) keeps each speaker on lines of their own. A word longer than a line is cut
    between characters, as the cue builder does. For a vertical picture's shorter lines (`vertical_rule`),
    same cues, same timings."""
    from newsroom.covers.headline import balance, word_tokens
    from newsroom.typeset import wrap

    if chars_per_line < 1:
        raise ConfigError(f"cannot break lines of {chars_per_line} characters: pass chars_per_line >= 1")
    dash = rules.dialogue_dash
    lines = [line for line in lines if line.strip()]
    dialogue = len(lines) > 1 and bool(dash.strip()) and all(line.startswith(dash) for line in lines)
    paragraphs = lines if dialogue else [rules.joiner.join(line.strip() for line in lines)]

    def measure(_font: object, text: str) -> int:
        return math.ceil(rules.width(text) - _EPS)

    out: list[str] = []
    for text in paragraphs:
        toks = word_tokens(text, rules.language)
        if not toks:
            continue
        units = [SpeechUnit(0.0, 0.0, t.text) for t in toks]
        # A poor place for a line break, as the cue builder judges one: after a word a line should not end on
        # (`line_end_avoid`), inside a run of one of `word_scripts` (likely one word), and, for a language whose
        # good breaks follow particles (`break_after`), anywhere else than after one or at punctuation.
        poor = [False] + [_ends_weak(units[k - 1], rules) or _boundary_kind(units[k - 1], units[k], rules) in (
            (_PLAIN, _IN_RUN) if rules.break_after else (_IN_RUN,)) for k in range(1, len(units))] + [False]
        greedy = wrap(toks, None, chars_per_line, len(toks), measure)
        even = balance(toks, None, chars_per_line, len(greedy), spaced=bool(rules.joiner), measure=measure,
                       poor=poor)
        out.extend(even or greedy)
    return tuple(out)
