"""Check cues against every subtitle rule and against the speech they subtitle.

`validate_cues` returns one `Violation` per broken rule per cue (an empty list means broadcast-ready);
`summary` turns them into counts for a report. Rule names:

    empty           a cue without text, or with an empty line
    line_length     a line longer than the language's limit (42 en, 16 zh; see newsroom.lang), counted
                    as the profile says (half-width characters as half where it counts full-width ones)
    line_count      more lines than allowed (2)
    spaces          a space inside Mandarin text
    min_duration    shorter than 5/6 s
    max_duration    longer than 7 s
    reading_speed   more characters per second than the limit (17 en, 9 zh), counted as the profile says
                    (`SubtitleRules.count_spaces`: English with spaces, Mandarin without)
    gap             less than 2 frames between a cue and the next
    overlap         a cue starting before the previous one ends
    order           cue indices not 1, 2, 3... or starts going backwards
    frame           a time not on a frame boundary
    sync_start      the start more than 3 frames from its first word's start (a start on a shot change
                    may lead the speech by up to the shot-change window)
    sync_end        the end more than 3 frames before its last word's end, or later after the speech
                    than the duration and reading-speed rules need (or than the next shot change, less
                    the gap, within the window)
    text            cue text that is not the transcript's words in order (missing, extra or changed
                    words; cue_index 0 for words left out after the last cue)
    word_split      a line or cue ending inside a word (a word as the profile's segmenter cuts the text;
                    a word longer than a line may be cut)
    sentence_start  a line ending on the first word of a sentence that goes on after it ("...hear. You")
    speaker         a cue holding two speakers' words other than as a dialogue cue (a new cue starts at
                    each speaker change)
    dialogue        two speakers sharing a cue without the dialogue form (two lines, one per speaker, each
                    starting with the profile's dash), or dashes in a cue of one speaker
    shot_change     a cue ending less than 2 frames before a shot change or within the window after it,
                    or starting within the window of one but not on it, where a move would keep the rules
    boundary        a cue on screen across a boundary (the anchor intro | the story) or holding words
                    from both sides
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsroom.errors import ConfigError
from newsroom.subtitles.cues import Cue
from newsroom.subtitles.plan import _Plan
from newsroom.subtitles.rules import DEFAULT_FPS, CueRules, rules_for
from newsroom.subtitles.speech import speech_units
from newsroom.types import Transcript

RULE_NAMES = (
    "empty", "line_length", "line_count", "spaces", "min_duration", "max_duration", "reading_speed",
    "gap", "overlap", "order", "frame", "sync_start", "sync_end", "text", "word_split", "sentence_start",
    "speaker", "dialogue", "shot_change", "boundary",
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


def _dialogue(cue: Cue, rules: CueRules) -> bool:
    """Whether the cue is laid out as a dialogue: two lines, each starting with the profile's dash."""
    dash = rules.dialogue_dash.strip()
    return bool(dash) and len(cue.lines) == 2 and all(line.startswith(dash) for line in cue.lines)


def validate_cues(
    cues: Sequence[Cue], transcript: Transcript, fps: float = DEFAULT_FPS, rules: CueRules | None = None, *,
    shot_changes_s: Sequence[float] = (), boundaries_s: Sequence[float] = (),
) -> list[Violation]:
    """Every rule broken by `cues` as subtitles of `transcript` at `fps`; [] when all are kept.

    `shot_changes_s` and `boundaries_s` are what `build_cues` was given (seconds on the transcript's timeline).
    """
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps!r}: pass the video's frame rate")
    rules = rules or rules_for(transcript.language)
    units = speech_units(transcript, rules)
    plan = _Plan(units, rules, fps, shot_changes_s, boundaries_s)
    frame_s = 1.0 / fps
    tolerance_s = rules.sync_tolerance_frames * frame_s
    gap_s = rules.min_gap_frames * frame_s
    window = rules.shot_change_window_frames
    # The transcript as one string without spaces: where each unit starts, and which unit each character is in.
    squashed = [_squash(u.text) for u in units]
    starts_at = [0]
    for s in squashed:
        starts_at.append(starts_at[-1] + len(s))
    speech = "".join(squashed)
    ends_at = set(starts_at[1:])

    def unit_at(pos: int) -> int:
        return bisect.bisect_right(starts_at, pos) - 1

    out: list[Violation] = []
    at = 0
    previous: Cue | None = None
    for position, cue in enumerate(cues):
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
            counted = "spaces included" if rules.count_spaces else "spaces not counted"
            add("reading_speed", f"cue {i} needs {speed:.1f} characters/s "
                f"(max {rules.max_chars_per_s:g}): {chars:g} characters ({counted}) in {duration:.3f}s")
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
        # -- against the speech
        dialogue = _dialogue(cue, rules)
        dash = rules.dialogue_dash.strip()
        texts = [_squash(line)[len(dash):] if dialogue else _squash(line) for line in cue.lines]
        target = "".join(texts)
        prior, previous = previous, cue
        if not target:
            add("text", f"cue {i} has no words")
            continue
        begin = at if speech.startswith(target, at) else None
        if begin is None:
            begin = next((starts_at[k] for k in range(unit_at(at) + 1, len(units))
                          if starts_at[k] > at and speech.startswith(target, starts_at[k])), None)
            here = repr(units[unit_at(at)].text) if at < len(speech) else "the end of the transcript"
            if begin is None:
                add("text", f"cue {i} text {cue.text!r} is not the transcript's next words (at {here})")
                continue
            add("text", f"{unit_at(begin) - unit_at(at)} word(s) before cue {i} are in no cue, from {here}")
        at = begin + len(target)
        # Each line's units; a line ending inside a unit splits a word.
        line_units: list[tuple[int, int]] = []
        pos = begin
        for n, text in enumerate(texts, 1):
            if not text:
                continue
            line_units.append((unit_at(pos), unit_at(pos + len(text) - 1)))
            pos += len(text)
            if pos not in ends_at:
                word = units[unit_at(pos)].text
                add("word_split", f"cue {i} line {n} ends inside the word {word!r}: break before or after it")
            else:
                last = unit_at(pos - 1)
                if last + 1 < len(units) and plan.dangles(line_units[-1][0], last + 1):
                    add("sentence_start", f"cue {i} line {n} ends on {units[last].text!r}, the first word of a "
                        "sentence that goes on after it: move it to the next line")
        first, last = units[unit_at(begin)], units[unit_at(at - 1)]
        first_k, last_k = unit_at(begin), unit_at(at - 1)
        start_f, end_f = round(cue.start_s * fps), round(cue.end_s * fps)
        on_cut = start_f in plan.cuts_f and first.start * fps - window - _EPS <= start_f
        if abs(cue.start_s - first.start) > tolerance_s + _EPS and not (on_cut and cue.start_s <= first.start + tolerance_s + _EPS):
            add("sync_start", f"cue {i} starts at {cue.start_s:.3f}s, {abs(cue.start_s - first.start) * fps:.1f} "
                f"frames from its first word at {first.start:.3f}s (max {rules.sync_tolerance_frames})")
        if cue.end_s < last.end - tolerance_s - _EPS:
            add("sync_end", f"cue {i} ends at {cue.end_s:.3f}s, before its last word ends at {last.end:.3f}s")
        need = rules.min_display_frames(cue.lines, fps)
        needed_end = max(last.end + tolerance_s, cue.start_s + need / fps)
        chained = end_f + rules.shot_change_gap_frames in plan.cuts_f and end_f <= needed_end * fps + window + _EPS
        if cue.end_s > needed_end + _EPS and not chained:
            add("sync_end", f"cue {i} stays {cue.end_s - last.end:.3f}s after its last word; the rules "
                f"need it only until {needed_end:.3f}s")
        # -- speakers
        speakers = [{units[k].speaker for k in range(a, b + 1)} - {None} for a, b in line_units]
        heard = set().union(*speakers) if speakers else set()
        one_each = len(speakers) == 2 and all(len(s) == 1 for s in speakers) and speakers[0] != speakers[1]
        if len(heard) > 1 and not one_each:
            add("speaker", f"cue {i} holds the words of {', '.join(sorted(heard))}: start a new cue where the "
                "speaker changes (or give each speaker one line of a dialogue cue)")
        elif one_each and not dialogue:
            add("dialogue", f"two speakers share cue {i}: start each line with {rules.dialogue_dash!r}")
        elif one_each and not (plan.first[first_k] and (last_k + 1 == len(units) or plan.first[last_k + 1])):
            add("dialogue", f"cue {i} shares a cue between two speakers with a sentence cut short: give each "
                "speaker whole sentences, or each turn its own cues")
        elif dialogue and len(heard) < 2 and any(u.speaker for u in units):
            add("dialogue", f"cue {i} has dialogue dashes but holds one speaker's words")
        # -- boundaries and shot changes
        for b in plan.boundaries_f:
            inside = start_f < b < end_f
            if inside or any(plan.hard[k] for k in range(first_k + 1, last_k + 1)):
                add("boundary", f"cue {i} ({cue.start_s:.3f}-{cue.end_s:.3f}s) spans the boundary at {b / fps:.3f}s")
                break
        if plan.cuts_f:
            following = cues[position + 1] if position + 1 < len(cues) else None
            next_f = round(following.start_s * fps) if following is not None else None
            lo, hi = plan.end_limits(last_k + 1, start_f, next_f, need)
            cut = plan.end_conflict(end_f)
            if cut is not None and plan.pull_before_cut(end_f, lo, hi) is not None:
                add("shot_change", f"cue {i} ends {end_f - cut:+d} frames from the shot change at {cut / fps:.3f}s: "
                    f"end it {rules.shot_change_gap_frames} frames before the cut")
            if plan.start_conflict(start_f):
                prior_f = round(prior.end_s * fps) + rules.min_gap_frames if prior is not None else 0
                # A start that could sit on a cut, the end the builder would give it keeping every rule, clear of cuts.
                movable = [c for c in plan.snap_starts(first_k) if c >= prior_f
                           and plan.timing(last_k + 1, c, next_f, need, chars)[1:] == (0, 0.0, 0.0)]
                if movable:
                    add("shot_change", f"cue {i} starts {abs(start_f - movable[0])} frames from the shot change at "
                        f"{movable[0] / fps:.3f}s: start it on the cut")
    if at < len(speech):
        k = unit_at(at)
        out.append(Violation(0, "text", f"{len(units) - k} word(s) after the last cue are in no cue, "
                             f"from {units[k].text!r} at {units[k].start:.3f}s"))
    return out


def summary(violations: Sequence[Violation]) -> dict[str, Any]:
    """{"ok": bool, "violations": total, "by_rule": {rule: count, ... every rule, zeros included}}."""
    by_rule = dict.fromkeys(RULE_NAMES, 0)
    for v in violations:
        by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
    return {"ok": not violations, "violations": len(violations), "by_rule": by_rule}
