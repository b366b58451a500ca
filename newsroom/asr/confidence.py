"""Words Whisper was not sure of: "possible mis-hearing: Okonkwo at 0:03", for the editor to check.

    flags = low_confidence(transcript)          # the language profile's threshold
    [f.describe() for f in flags]                # "possible mis-hearing: 天罩 at 0:03"
    mentioned(flags, [draft.body, ...], "zh")    # those a draft repeats (its checks list them)

A word is flagged when Whisper's probability for it (the mean of its tokens' probabilities, as faster-whisper
reports it) is below the language's `AsrRules.min_word_probability`. Neighbouring flagged words of one segment
are one flag (a misheard name is often two or three low words), with the lowest probability among them.
The thresholds are measured in bench/glossary.py: see the language profiles for the figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from newsroom import lang
from newsroom.types import Segment, Transcript, Word


@dataclass(frozen=True, slots=True)
class LowConfidence:
    """A word (or run of neighbouring words) heard with a probability below the language's threshold."""

    word: str
    start_s: float
    end_s: float
    probability: float

    def describe(self) -> str:
        minutes, seconds = divmod(int(self.start_s), 60)
        return f"possible mis-hearing: {self.word} at {minutes}:{seconds:02d}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.describe()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LowConfidence:
        return cls(data["word"], float(data["start_s"]), float(data["end_s"]), float(data["probability"]))


def _core(word: str) -> str:
    """The word without the punctuation Whisper attaches to it."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def low_confidence(transcript: Transcript, threshold: float | None = None, known: Iterable[str] = ()
                   ) -> tuple[LowConfidence, ...]:
    """The words of `transcript` below `threshold` (default: the language profile's), neighbours merged.

    Words of a `known` term (the glossary's, written exactly so) are not flagged: Whisper gives a rare name a
    low probability even when it writes it right, and the glossary is the newsroom's word for its spelling
    (measured: left in, they made most English flags false alarms once a glossary steered Whisper)."""
    profile = lang.find(transcript.language)
    if threshold is None:
        threshold = profile.asr.min_word_probability if profile else lang.profile("en").asr.min_word_probability
    joiner = profile.joiner if profile else " "
    terms = tuple(t for t in known if t)
    found: list[LowConfidence] = []
    for segment in transcript.segments:
        spared = _in_terms(segment, terms, bool(joiner)) if terms else set()
        run: list[Word] = []
        for index, word in enumerate((*segment.words, None)):
            if word is not None and not _core(word.word):
                continue  # punctuation alone neither flags nor breaks a run
            if word is not None and word.probability < threshold and index not in spared:
                run.append(word)
                continue
            if run:
                text = _core(joiner.join(w.word for w in run))
                found.append(LowConfidence(text, round(run[0].start, 3), round(run[-1].end, 3),
                                           round(min(w.probability for w in run), 4)))
                run = []
    return tuple(found)


def _in_terms(segment: Segment, terms: tuple[str, ...], spaced: bool) -> set[int]:
    """Indices of the segment's words that lie inside an occurrence of one of `terms` in its text."""
    from newsroom.asr.glossary import locate_words

    spans = locate_words(segment.text, segment.words)
    if spans is None:
        return set()
    inside: set[int] = set()
    for term in terms:
        if term not in segment.text:
            continue
        pattern = rf"(?<!\w){re.escape(term)}(?!\w)" if spaced else re.escape(term)
        for match in re.finditer(pattern, segment.text):
            inside.update(i for i, (a, b) in enumerate(spans) if a < match.end() and b > match.start()
                          and _core(segment.text[max(a, match.start()):min(b, match.end())]))
    return inside


def mentioned(flags: tuple[LowConfidence, ...], texts: list[str], language: str) -> tuple[LowConfidence, ...]:
    """The flags whose words appear in `texts` (a draft's prose): what a text presents that Whisper was unsure
    of. Whole words, any case, in spaced languages; the characters anywhere in the others."""
    profile = lang.find(language)
    spaced = profile.spaced if profile else True
    haystack = "\n".join(texts)
    if spaced:
        words = set(re.findall(r"\w+(?:['’-]\w+)*", haystack.casefold()))
        return tuple(f for f in flags if set(re.findall(r"\w+(?:['’-]\w+)*", f.word.casefold())) & words)
    return tuple(f for f in flags if f.word and f.word in haystack)
