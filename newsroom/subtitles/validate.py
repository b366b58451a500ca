"""Check cues against every subtitle rule and against the speech they subtitle.

`validate_cues` returns one `Violation` per broken rule per cue (an empty list means broadcast-ready);
`summary` turns them into counts for a report. Rule names:

    empty          a cue without text, or with an empty line
    line_length    a line longer than the language's limit (42 en, 16 zh; see newsroom.lang), counted
                   as the profile says (half-width characters as half where it counts full-width ones)
    line_count     more lines than allowed (2)
    spaces         a space inside Mandarin text
    min_duration   shorter than 5/6 s
    max_duration   longer than 7 s
    reading_speed  more characters per second than the limit (17 en, 9 zh)
    gap            less than 2 frames between a cue and the next
    overlap        a cue starting before the previous one ends
    order          cue indices not 1, 2, 3... or starts going backwards
    frame          a time not on a frame boundary
    sync_start     the start more than 3 frames from its first word's start
    sync_end       the end more than 3 frames before its last word's end, or later after the speech
                   than the duration and reading-speed rules need
    text           cue text that is not the transcript's words in order (missing, extra or changed
                   words; cue_index 0 for words left out after the last cue)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsroom.errors import ConfigError
from newsroom.subtitles.cues import DEFAULT_FPS, Cue, CueRules, SpeechUnit, rules_for, speech_units
from newsroom.types import Transcript

RULE_NAMES = (
    "empty", "line_length", "line_count", "spaces", "min_duration", "max_duration", "reading_speed",
    "gap", "overlap", "order", "frame", "sync_start", "sync_end", "text",
)
_EPS = 1e-6
_FRAME_TOLERANCE_S = 0.0015  # times read back from millisecond formats are within 0.5 ms of a frame


@dataclass(frozen=True, slots=True)
class Violation:
    cue_index: int  # Cue.index; 0 when the problem is not one cue's (words after the last cue)
    rule: str
    message: str


def _squash(text: str) -> str:
    return "".join(text.split())


def _align(cue: Cue, units: list[SpeechUnit], at: int) -> tuple[int, int] | None:
    """Units at..k-1 whose text makes up the cue's text (whitespace aside), as (at, k); None if not."""
    target = _squash(cue.text)
    if not target:
        return None
    acc = ""
    k = at
    while k < len(units) and len(acc) < len(target):
        acc += _squash(units[k].text)
        k += 1
        if not target.startswith(acc):
            return None
    return (at, k) if acc == target else None


def validate_cues(
    cues: Sequence[Cue], transcript: Transcript, fps: float = DEFAULT_FPS, rules: CueRules | None = None
) -> list[Violation]:
    """Every rule broken by `cues` as subtitles of `transcript` at `fps`; [] when all are kept."""
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps!r}: pass the video's frame rate")
    rules = rules or rules_for(transcript.language)
    units = speech_units(transcript, rules)
    frame_s = 1.0 / fps
    tolerance_s = rules.sync_tolerance_frames * frame_s
    gap_s = rules.min_gap_frames * frame_s
    out: list[Violation] = []
    at = 0
    previous: Cue | None = None
    for cue in cues:
        i = cue.index

        def add(rule: str, message: str, i: int = i) -> None:
            out.append(Violation(i, rule, message))

        # -- text and layout
        if not cue.lines or any(not line.strip() for line in cue.lines):
            add("empty", f"cue {i} has no text or an empty line: {cue.lines!r}")
        for n, line in enumerate(cue.lines, 1):
            if rules.width(line) > rules.max_chars_per_line + _EPS:
                add("line_length", f"cue {i} line {n} has {rules.width(line):g} characters "
                    f"(max {rules.max_chars_per_line}): {line!r}")
            if not rules.joiner and any(ch.isspace() for ch in line):
                add("spaces", f"cue {i} line {n} has a space in {rules.language} text: {line!r}")
        if len(cue.lines) > rules.max_lines:
            add("line_count", f"cue {i} has {len(cue.lines)} lines (max {rules.max_lines})")
        # -- duration and reading speed
        duration = cue.end_s - cue.start_s
        if duration < rules.min_duration_s - _EPS:
            add("min_duration", f"cue {i} lasts {duration:.3f}s (min {rules.min_duration_s:.3f}s)")
        if duration > rules.max_duration_s + _EPS:
            add("max_duration", f"cue {i} lasts {duration:.3f}s (max {rules.max_duration_s:g}s)")
        chars = rules.reading_chars(cue.lines)
        if chars > rules.max_chars_per_s * max(duration, 0.0) + _EPS:
            speed = chars / duration if duration > 0 else float("inf")
            add("reading_speed", f"cue {i} needs {speed:.1f} characters/s "
                f"(max {rules.max_chars_per_s:g}): {chars:g} characters in {duration:.3f}s")
        for name, t in (("start", cue.start_s), ("end", cue.end_s)):
            if abs(t * fps - round(t * fps)) > _FRAME_TOLERANCE_S * fps:
                add("frame", f"cue {i} {name} {t:.4f}s is not on a frame boundary at {fps:g} fps")
        # -- order, overlap, gap
        if previous is not None:
            if i != previous.index + 1 or cue.start_s < previous.start_s - _EPS:
                add("order", f"cue {i} (at {cue.start_s:.3f}s) follows cue {previous.index} "
                    f"(at {previous.start_s:.3f}s)")
            if cue.start_s < previous.end_s - _EPS:
                add("overlap", f"cue {i} starts at {cue.start_s:.3f}s before cue {previous.index} "
                    f"ends at {previous.end_s:.3f}s")
            elif cue.start_s - previous.end_s < gap_s - _EPS:
                add("gap", f"cue {i} starts {(cue.start_s - previous.end_s) * fps:.1f} frames after "
                    f"cue {previous.index} (min {rules.min_gap_frames})")
        elif i != 1:
            add("order", f"the first cue has index {i}, not 1")
        previous = cue
        # -- against the speech
        span = _align(cue, units, at)
        if span is None:
            found = next((k for k in range(at + 1, len(units)) if _align(cue, units, k)), None)
            here = repr(units[at].text) if at < len(units) else "the end of the transcript"
            if found is None:
                add("text", f"cue {i} text {cue.text!r} is not the transcript's next words (at {here})")
                continue
            add("text", f"{found - at} word(s) before cue {i} are in no cue, from {here}")
            span = _align(cue, units, found)
            assert span is not None
        first, last = units[span[0]], units[span[1] - 1]
        at = span[1]
        if abs(cue.start_s - first.start) > tolerance_s + _EPS:
            add("sync_start", f"cue {i} starts at {cue.start_s:.3f}s, {abs(cue.start_s - first.start) * fps:.1f} "
                f"frames from its first word at {first.start:.3f}s (max {rules.sync_tolerance_frames})")
        if cue.end_s < last.end - tolerance_s - _EPS:
            add("sync_end", f"cue {i} ends at {cue.end_s:.3f}s, before its last word ends at {last.end:.3f}s")
        needed_end = max(last.end + tolerance_s, cue.start_s + rules.min_display_frames(cue.lines, fps) / fps)
        if cue.end_s > needed_end + _EPS:
            add("sync_end", f"cue {i} stays {cue.end_s - last.end:.3f}s after its last word; the rules "
                f"need it only until {needed_end:.3f}s")
    if at < len(units):
        out.append(Violation(0, "text", f"{len(units) - at} word(s) after the last cue are in no cue, "
                             f"from {units[at].text!r} at {units[at].start:.3f}s"))
    return out


def summary(violations: Sequence[Violation]) -> dict[str, Any]:
    """{"ok": bool, "violations": total, "by_rule": {rule: count, ... every rule, zeros included}}."""
    by_rule = dict.fromkeys(RULE_NAMES, 0)
    for v in violations:
        by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
    return {"ok": not violations, "violations": len(violations), "by_rule": by_rule}
