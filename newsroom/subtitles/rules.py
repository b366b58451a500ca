"""Subtitle rules per language (`CueRules`, made from the language profiles in `newsroom.lang`) and frames.

What the rules are, where they come from and how reading speed is counted: `newsroom.subtitles.cues`.
`CueRules.width` and `reading_chars` count characters as the profile says; `min_display_frames` is how long a
cue must stay on screen for its text. Times become frames here (`_frame`, `_ceil_frames`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile, Script
from newsroom.lang.profile import LineRule

DEFAULT_FPS = 25.0
_EPS = 1e-6


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
    vertical: LineRule | None = None  # a 9:16 picture's line rule (None: max_chars_per_line x max_lines)

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
                   dialogue_dash=limits.dialogue_dash, vertical=limits.vertical_rule)

    @property
    def vertical_rule(self) -> LineRule:
        """The line rule of a 9:16 picture: the profile's (shorter lines, more of them), else this rule's."""
        return self.vertical or LineRule(self.max_chars_per_line, self.max_lines)


RULES: dict[str, CueRules] = {code: CueRules.from_profile(p) for code, p in lang.PROFILES.items()}


def rules_for(language: str) -> CueRules:
    """The rules for a language code ("en", "en-GB", "zh", "zh-Hans", ...); ConfigError if unknown."""
    base = lang.base_code(language)
    if base not in RULES:
        raise ConfigError(
            f"no subtitle rules for language {language!r}: use one of {', '.join(sorted(RULES))} "
            "or pass CueRules(...) explicitly"
        )
    return RULES[base]


def _frame(t: float, fps: float) -> int:
    return math.floor(t * fps + 0.5)


def _ceil_frames(seconds: float, fps: float) -> int:
    return math.ceil(seconds * fps - _EPS)
