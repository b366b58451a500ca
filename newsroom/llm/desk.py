"""The desk's edit of a valid draft answer: the style rules (`newsroom.llm.style`), invented claims out of the
body and script (`newsroom.llm.support`), every prose sentence held to the transcript (`grounding.Grounder`),
and one repair call for what breaks a rule; rewrites that still break it are dropped or flagged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from newsroom import lang
from newsroom.lang import LanguageProfile
from newsroom.llm import style
from newsroom.llm.errors import LLMError
from newsroom.llm.grounding import Grounder
from newsroom.llm.quotes import compact
from newsroom.llm.schema import DraftOutput, text_size
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

class _RepairLine(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


@cache
def _repair_output(count: int) -> type[BaseModel]:
    """{"lines": [...]} with exactly `count` lines (the schema tells a constrained decoder the count)."""
    return create_model("RepairOutput", __base__=_RepairLine,
                        lines=(list[str], Field(min_length=count, max_length=count)))


@dataclass(slots=True)
class _Line:
    field: str  # the DraftOutput field
    index: int  # the sentence's place in the field (0 for one-line fields)
    text: str
    problem: str  # for the model
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeskResult:
    out: DraftOutput
    warnings: tuple[str, ...] = field(default=())
    repair_calls: int = 0


_DROPPABLE = ("body", "anchor_script")  # several sentences: an ungrounded one can go
_PROSE = ("headline", "lede", "body", "summary", "anchor_script")
REPAIR_TOKENS_PER_LINE = 90
REPAIR_MAX_TOKENS = 700


def desk(out: DraftOutput, transcript: Transcript, backend: Any, source: str, *, seed: int) -> DeskResult:
    """The desk's edit of a valid answer (see the module docstring): style, grounding, one repair call for
    what breaks either, then drops and flags."""
    profile = lang.profile(transcript.language)
    rules = profile.draft
    grounder = Grounder(transcript.text, profile)
    warnings: list[str] = []
    fields = {name: getattr(out, name) for name in _PROSE}

    headline = style.fix_headline(fields["headline"], profile, transcript.text)
    warnings += headline.changes
    fields["headline"] = headline.text
    script = style.clean_script(fields["anchor_script"], profile)
    if script.removed:
        warnings.append(f"anchor_script: removed what a voice must not read: {', '.join(script.removed)}")
    fields["anchor_script"] = script.text
    _drop_claims(fields, grounder, profile, warnings)
    body_target, anchor_target = rules.targets(text_size(transcript.text, profile))
    for name, (_low, high) in (("body", body_target), ("anchor_script", anchor_target)):
        trimmed = style.trim_to(fields[name], high, profile)
        if trimmed != fields[name]:
            warnings.append(f"{name} cut to {text_size(trimmed, profile)} {profile.unit} at a sentence end "
                            f"(target {_low}-{high})")
            fields[name] = trimmed

    split = {name: ([fields[name]] if name in ("headline",) else style.sentences(fields[name], profile) or
                    [fields[name]]) for name in _PROSE}
    lines: list[_Line] = []
    for name, parts in split.items():
        for i, sentence in enumerate(parts):
            missing = grounder.missing(sentence)
            problems = [f"not in the source: {', '.join(missing)}"] if missing else []
            if name == "headline" and headline.problem:
                problems.append(headline.problem)
            if problems:
                lines.append(_Line(name, i, sentence, "; ".join(problems), missing))

    calls = 0
    if lines:
        calls = 1
        rewrites = _repair(lines, profile, backend, source, seed=seed)
        for line, rewrite in zip(lines, rewrites, strict=True):
            _apply(line, rewrite, split, grounder, profile, transcript.text, warnings)
    for name in _PROSE:
        parts = [p for p in split[name] if p is not None]
        fields[name] = style.join(parts, profile) if parts else fields[name]
    if calls:  # a rewritten script sentence is spoken prose too
        fields["anchor_script"] = style.clean_script(fields["anchor_script"], profile).text

    for name, (low, high) in (("body", body_target), ("anchor_script", anchor_target)):
        n = text_size(fields[name], profile)
        if not low <= n <= high:
            warnings.append(f"{name} has {n} {profile.unit} (target {low}-{high} for a transcript of "
                            f"{text_size(transcript.text, profile)} {profile.unit})")
    unattributed = style.unattributed_quotes(fields["anchor_script"], profile)
    if unattributed:
        warnings.append(f"anchor_script quotes words without saying who said them: {', '.join(unattributed)}")
    return DeskResult(out.model_copy(update=fields), tuple(warnings), calls)


def _drop_claims(fields: dict[str, str], grounder: Grounder, profile: LanguageProfile, warnings: list[str]) -> None:
    """Sentences of the body and the anchor script that are invented claims (background nobody in the story
    said) go before anything else, with no model call: there is nothing to rewrite them from, and a script cut
    to length afterwards keeps what the story says. A script with nothing else left reads the lede, when the
    lede is grounded."""
    for name in _DROPPABLE:
        parts = style.sentences(fields[name], profile) or [fields[name]]
        kept = []
        for sentence in parts:
            claim = grounder.claim(sentence)
            if claim:  # its words, names aside, are mostly not the source's: nothing in it to repair
                warnings.append(f"{name}: dropped a sentence the transcript does not support (not in the source: "
                                f"{', '.join(claim)}): {sentence!r}")
            else:
                kept.append(sentence)
        if len(kept) == len(parts):
            continue
        if kept:
            fields[name] = style.join(kept, profile)
        elif name == "anchor_script" and not grounder.missing(fields["lede"]):
            fields[name] = style.clean_script(fields["lede"], profile).text
            warnings.append("anchor_script: nothing the transcript supports was left; it reads the lede")
        elif name == "body" and not grounder.missing(fields["lede"]):
            fields[name] = fields["lede"]
            warnings.append("body: nothing the transcript supports was left; it repeats the lede")


def _repair(lines: list[_Line], profile: LanguageProfile, backend: Any, source: str, *, seed: int) -> list[str | None]:
    """One call: every line that breaks a rule, rewritten; None for each line when the answer is unusable."""
    from newsroom.llm.ask import ask_json
    from newsroom.llm.prompts import load_prompt

    prompt = load_prompt("repair", profile.draft.prompt)
    listing = "\n".join(f"{n}. [{line.field}] {line.text}\n   ({line.problem})" for n, line in enumerate(lines, 1))
    low, high = profile.draft.headline
    try:
        answer = ask_json(backend, prompt, _repair_output(len(lines)),
                          {"source": source, "lines": listing, "count": len(lines), "headline_min": low,
                           "headline_max": high},
                          max_tokens=min(REPAIR_MAX_TOKENS, 40 + REPAIR_TOKENS_PER_LINE * len(lines)), seed=seed,
                          attempts=1)
    except LLMError as exc:
        log.warning("the repair call gave no usable answer: %s", exc)
        return [None] * len(lines)
    return list(answer.lines)  # type: ignore[attr-defined]


def _apply(line: _Line, rewrite: str | None, split: dict[str, list[str | None]], grounder: Grounder,
           profile: LanguageProfile, transcript_text: str, warnings: list[str]) -> None:
    """Take a rewrite that is grounded (and, for the headline, in style); else drop or flag the line."""
    if rewrite:
        candidate = rewrite
        fits = True
        if line.field == "headline":
            fixed = style.fix_headline(rewrite, profile, transcript_text)
            candidate, fits = fixed.text, fixed.problem is None
        # One sentence for one (the model has answered a line with the whole source), not much longer.
        if line.field != "headline" and (len(style.sentences(candidate, profile)) > 1
                                         or text_size(candidate, profile) > 2 * text_size(line.text, profile) + 8):
            fits = False
        if fits and not grounder.missing(candidate) and compact(candidate):
            split[line.field][line.index] = candidate
            warnings.append(f"{line.field} rewritten ({line.problem}): {line.text!r} -> {candidate!r}")
            return
    parts = split[line.field]
    if line.field in _DROPPABLE and sum(p is not None for p in parts) > 1:
        parts[line.index] = None
        warnings.append(f"{line.field}: dropped a sentence ({line.problem}): {line.text!r}")
        return
    if line.missing:
        warnings.append(f"{line.field} says what the transcript does not ({', '.join(line.missing)}) - check it "
                        f"against the source: {line.text!r}")
    else:
        warnings.append(f"{line.field}: {line.problem} - edit it: {line.text!r}")
