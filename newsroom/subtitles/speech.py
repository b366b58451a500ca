"""Transcript words as the cue builder sees them (`SpeechUnit`): cleaned text, monotonic times, at most a
line long; a segmenter's words (jieba for Mandarin) never split. See `newsroom.subtitles.cues` ("Words")."""

from __future__ import annotations

import math
from dataclasses import dataclass

from newsroom.lang.words import segmenter
from newsroom.subtitles.rules import CueRules
from newsroom.types import Transcript


@dataclass(frozen=True, slots=True)
class SpeechUnit:
    """One word as the cue builder sees it: cleaned text, monotonic times, at most a line long."""

    start: float
    end: float
    text: str
    glue: bool = False  # a later piece of a word that was cut to fit a line: no space before it
    speaker: str | None = None


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
