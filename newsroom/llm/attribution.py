"""Who says a quote: names from the transcript's own words, mapped onto its speaker turns. Never guessed.

The language profile's `attribution` rules (`newsroom.lang.*`, `AttributionRules`) say how a language
attributes speech; this module applies them to numbered sentences (`newsroom.llm.sentences`):
- `reported`: a sentence that reports speech ("..., said Ana Lopez", "according to X, ...", "王明表示，...",
  "据张伟介绍，...") gives the words said (`content`, a span of the sentence) and who said them; a sentence
  that only leads into speech ("据张伟介绍，", cut off a run-on by `newsroom.llm.sentences`) gives the next;
- `speaker_names`: a turn label ("S2") gets a name when the turn before introduces it ("Joining us is Sam
  Reed", "今天我们请到了市交通局局长李华", "下面请王明厅长介绍") or the speaker names themself ("I'm X",
  "我是X"); a label named two different ways stays unnamed;
- `take`: the quote for a span of sentence ids: verbatim words and times from the transcript, the speaker
  from the reporting sentence, else from the turn's name, else None (published as unnamed).
A surname alone ("Lopez said") takes the full name the transcript gives elsewhere ("Ana Lopez").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from newsroom import lang
from newsroom.lang import AttributionRules, LanguageProfile
from newsroom.llm.quotes import Quote, compact, quote_size
from newsroom.llm.sentences import Sentence, turns

log = logging.getLogger("newsroom.llm")

MAX_QUOTE_SENTENCES = 3
QUESTION_MARKS = "?？"


@dataclass(frozen=True, slots=True)
class Reported:
    """Speech a sentence reports: `name` said the sentence's characters `first`..`last`."""

    name: str
    first: int
    last: int


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _name(caught: str, rules: AttributionRules) -> str | None:
    """The name in the words a pattern caught: the first match of `rules.name` of two words or more ("Police
    chief Mark Evans" -> "Mark Evans"), else the first match; never one of `rules.not_names`."""
    found = [m.group().strip(" \t,.;:!?，。、：；！？") for m in re.finditer(rules.name, caught.strip())]
    found = [n for n in found if n and n.casefold() not in rules.not_names and compact(n) not in rules.not_names]
    return next((n for n in found if " " in n), found[0] if found else None)


def reported(text: str, rules: AttributionRules) -> Reported | None:
    """The speech `text` reports (who, and where the words said are), or None."""
    for pattern in _compiled(rules.said):
        match = pattern.search(text)
        if not match:
            continue
        name = _name(match.group("name"), rules)
        first, last = match.span("content")
        content = text[first:last]
        # The words said, without the punctuation that joined them to the attribution.
        stripped = content.strip(" \t,;:，、：；\"'“”‘’「」")
        if name and stripped:
            first += content.index(stripped)
            return Reported(name, first, first + len(stripped))
    return None


def _first_name(text: str, patterns: tuple[str, ...], rules: AttributionRules) -> str | None:
    for pattern in _compiled(patterns):
        match = pattern.search(text)
        if match:
            name = _name(match.group("name"), rules)
            if name:
                return name
    return None


def leads(text: str, rules: AttributionRules) -> str | None:
    """Who speaks the words after `text` when `text` only leads into them ("据张伟介绍，" -> "张伟"), or None."""
    return _first_name(text.strip(), rules.leads, rules)


def introduced(text: str, rules: AttributionRules) -> str | None:
    """The name `text` introduces the next speaker by ("Joining us is Sam Reed" -> "Sam Reed"), or None."""
    return _first_name(text, rules.introduces, rules)


def self_named(text: str, rules: AttributionRules) -> str | None:
    """The name the speaker of `text` gives themself ("My name is Sam Reed"), or None."""
    return _first_name(text, rules.self_names, rules)


def _same(a: str, b: str) -> bool:
    x, y = compact(a), compact(b)
    return x in y or y in x


def speaker_names(sentences: Sequence[Sentence], rules: AttributionRules) -> dict[str, str]:
    """Turn label -> name, for the labels the transcript names (see the module docstring)."""
    found: dict[str, list[str]] = {}
    runs = turns(sentences)
    for i, run in enumerate(runs):
        speaker = run[0].speaker
        if speaker is None:
            continue
        for sentence in run:
            name = self_named(sentence.text, rules)
            if name:
                found.setdefault(speaker, []).append(name)
        following = runs[i + 1][0].speaker if i + 1 < len(runs) else None
        if following is None or following == speaker:
            continue
        for sentence in run[-2:]:  # an introduction closes its turn
            name = introduced(sentence.text, rules)
            if name:
                found.setdefault(following, []).append(name)
    names = {}
    for speaker, candidates in found.items():
        if all(_same(c, candidates[0]) for c in candidates):
            names[speaker] = max(candidates, key=len)
        else:
            log.info("speaker %s is named %s: left unnamed", speaker, " and ".join(sorted(set(candidates))))
    return names


def full_name(name: str, known: Sequence[str]) -> str:
    """`name`, or the longest known name that contains it ("Lopez" -> "Ana Lopez")."""
    longer = [k for k in known if compact(name) in compact(k) and len(compact(k)) > len(compact(name))]
    return max(longer, key=len) if longer else name


@dataclass(frozen=True, slots=True)
class Attribution:
    """The transcript's attributions, computed once: turn names, reported speech, who narrates."""

    profile: LanguageProfile
    sentences: tuple[Sentence, ...]
    names: dict[str, str]
    reports: dict[int, Reported]  # sentence id -> the speech it reports
    narrators: frozenset[str | None]  # speakers who introduce others or report speech

    @classmethod
    def of(cls, sentences: Sequence[Sentence], language: str) -> Attribution:
        profile = lang.profile(language)
        rules = profile.attribution
        sentences = tuple(sentences)
        names = speaker_names(sentences, rules)
        reports = {s.id: r for s in sentences if (r := reported(s.text, rules))}
        for before, sentence in zip(sentences, sentences[1:], strict=False):
            name = leads(before.text, rules)
            if name and sentence.speaker == before.speaker and sentence.id not in reports:
                reports[sentence.id] = Reported(name, 0, len(sentence.text))
        known = [*names.values(), *(r.name for r in reports.values())]
        reports = {i: Reported(full_name(r.name, known), r.first, r.last) for i, r in reports.items()}
        narrators = {sentences[i - 1].speaker for i in reports}
        runs = turns(sentences)
        for i, run in enumerate(runs[:-1]):
            if any(introduced(s.text, rules) for s in run[-2:]) and runs[i + 1][0].speaker != run[0].speaker:
                narrators.add(run[0].speaker)
        return cls(profile, sentences, names, reports, frozenset(narrators))

    def by_id(self, sentence_id: int) -> Sentence | None:
        return self.sentences[sentence_id - 1] if 1 <= sentence_id <= len(self.sentences) else None

    def speaker_of(self, sentence: Sentence) -> str | None:
        """The name a sentence's words are published under (None: unnamed)."""
        report = self.reports.get(sentence.id)
        if report is not None:
            return report.name
        return self.names.get(sentence.speaker) if sentence.speaker else None

    def quotable(self, sentence: Sentence) -> bool:
        """Whether a sentence may be (part of) a quote: long enough, no question, greeting or introduction,
        and not the narration of someone who introduces others or reports speech (unless it reports it)."""
        rules = self.profile.attribution
        report = self.reports.get(sentence.id)
        text = sentence.text[report.first:report.last] if report else sentence.text
        if quote_size(text, self.profile.code) < self.profile.draft.min_quote:
            return False
        if report is None and (sentence.speaker in self.narrators or introduced(sentence.text, rules)
                               or self_named(sentence.text, rules)):
            return False
        if sentence.text.rstrip()[-1:] in QUESTION_MARKS:
            return False
        folded = compact(sentence.text)
        return not any(compact(phrase) in folded for phrase in self.profile.draft.stage_phrases)

    def take(self, first: int, last: int) -> Quote | None:
        """The quote for sentences `first`..`last` (ids), trimmed to the quotable sentences of one speaker and
        at most MAX_QUOTE_SENTENCES; a sentence that reports speech is a quote on its own (its words said)."""
        span = [s for i in range(first, last + 1) if (s := self.by_id(i))]
        while span and not self.quotable(span[0]):
            span.pop(0)
        if not span:
            return None
        kept = [span[0]]
        for sentence in span[1:MAX_QUOTE_SENTENCES]:
            if (sentence.speaker != kept[0].speaker or not self.quotable(sentence) or sentence.id in self.reports
                    or kept[0].id in self.reports):
                break
            kept.append(sentence)
        head = kept[0]
        report = self.reports.get(head.id)
        if report is not None:
            text, start, end = head.part(report.first, report.last)
            return Quote(text.rstrip(self.profile.clause_marks + " "), report.name, start, end, (head.id,))
        text = self.profile.join(s.text for s in kept).rstrip(self.profile.clause_marks + " ")
        return Quote(text, self.speaker_of(head), head.start_s, kept[-1].end_s, tuple(s.id for s in kept))
