"""Broadcast subtitles: cues from a transcript, rule checks, SRT/WebVTT/TTML files, mux and burn-in."""

from newsroom.subtitles.burn import (
    FONT_FAMILY,
    burn_in_filter,
    burn_subtitles,
    escape_filter_value,
    language_tag,
    mux_soft_subtitles,
    subtitles_filter,
)
from newsroom.subtitles.cues import RULES, Cue, CueRules, SubtitleError, build_cues, rewrap, rules_for
from newsroom.subtitles.validate import RULE_NAMES, Violation, summary, validate_cues
from newsroom.subtitles.writers import WRITERS, write_srt, write_subtitles, write_ttml, write_vtt

__all__ = [
    "FONT_FAMILY",
    "RULES",
    "RULE_NAMES",
    "WRITERS",
    "Cue",
    "CueRules",
    "SubtitleError",
    "Violation",
    "build_cues",
    "burn_in_filter",
    "burn_subtitles",
    "escape_filter_value",
    "language_tag",
    "mux_soft_subtitles",
    "rewrap",
    "rules_for",
    "subtitles_filter",
    "summary",
    "validate_cues",
    "write_srt",
    "write_subtitles",
    "write_ttml",
    "write_vtt",
]
