"""Broadcast subtitles: cues from a transcript, rule checks, SRT/WebVTT/TTML files, mux and burn-in.

- `cues.py`: `Cue` and `build_cues` (the rules explained); `rules.py` the rules per language and reading
  speed; `speech.py` the transcript's words as the builder sees them; `breaks.py` break points and `rewrap`;
  `plan.py` the builder's per-boundary facts, layout, shot changes and timing;
- `validate.py` the rule checks; `writers.py` SRT/WebVTT/TTML; `burn.py` mux and burn-in; `translate.py` and
  `bilingual.py` the translated track.
"""

from newsroom.subtitles.breaks import rewrap
from newsroom.subtitles.burn import (
    FONT_FAMILY,
    burn_in_filter,
    burn_subtitles,
    escape_filter_value,
    language_tag,
    mux_soft_subtitles,
    subtitles_filter,
)
from newsroom.subtitles.cues import Cue, SubtitleError, build_cues
from newsroom.subtitles.rules import RULES, CueRules, rules_for
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
