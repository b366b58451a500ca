"""Quote verification: a quote is published only if the transcript contains it, word for word.

Quotes are taken from the transcript's numbered sentences (`newsroom.llm.selection`), so they are verbatim
by construction; this check stays as the safety net every published quote passes.

Both sides are normalised the same way before comparing: Unicode NFKC (full-width forms -> ASCII), case
folded, apostrophes and quotation marks removed (don't = don’t = dont), every other punctuation mark
(ASCII and Chinese: ，。、！？；：「」《》…) and all whitespace removed. Removing whitespace makes the
comparison blind to ASR spacing (Whisper's leading spaces, "Lo" + "pez", Chinese with or without
spaces). For space-separated languages a match must still start at the start of a transcript word and
end at the end of one, so "ride to school" never matches inside "override to schools".

The time span of a kept quote comes from the transcript words it matched: start of the first, end of the
last (segments without word timings get times spread over the segment by character position).
Quotes shorter than the profile's `draft.min_quote` (4 words in English, 6 characters in Chinese) are
not meaningful quotes and are dropped.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from newsroom import lang
from newsroom.lang import CJK
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

MIN_QUOTE_WORDS = 4  # for languages without a profile
_QUOTE_MARKS = "'\"`´‘’‚‛“”„‟‹›«»「」『』〝〞＂＇"
_STRIP_QUOTE_MARKS = str.maketrans("", "", _QUOTE_MARKS)


class _QuoteLike(Protocol):
    text: str
    speaker: str | None


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote: `text` occurs verbatim in the transcript between `start_s` and `end_s`, said by `speaker` (the
    name the transcript gives, or None: unnamed). `sentences` are the ids of the transcript sentences it was
    taken from (`newsroom.llm.sentences`; empty in drafts written before quotes were taken)."""

    text: str
    speaker: str | None
    start_s: float
    end_s: float
    sentences: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "speaker": self.speaker, "start_s": self.start_s, "end_s": self.end_s,
                "sentences": list(self.sentences)}

    @classmethod
    def from_dict(cls, data: dict) -> Quote:
        """The quote of `to_dict` (drafts without "sentences" load with none)."""
        return cls(data["text"], data.get("speaker"), float(data["start_s"]), float(data["end_s"]),
                   tuple(int(i) for i in data.get("sentences", ())))


def _fold(text: str) -> str:
    """NFKC, case folded, quote marks removed, other punctuation and symbols-as-punctuation -> spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_STRIP_QUOTE_MARKS)
    return "".join(" " if unicodedata.category(c)[0] in "PZC" else c for c in text)


def normalise(text: str) -> str:
    """Words of `text` for comparison, separated by single spaces (e.g. "Don’t, STOP!" -> "dont stop")."""
    return " ".join(_fold(text).split())


def compact(text: str) -> str:
    """`normalise` without any spaces: the form quotes are matched in."""
    return "".join(_fold(text).split())


def quote_size(text: str, language: str) -> int:
    """Words (space-separated languages) or characters (languages written without spaces) of a quote,
    after normalisation."""
    return len(normalise(text).split()) if lang.joiner(language) else len(compact(text))


def clean_quote(text: str) -> str:
    """Whitespace and wrapping quotation marks removed (what gets published)."""
    return text.strip().strip(_QUOTE_MARKS + " \t\n").strip()


@dataclass(frozen=True, slots=True)
class QuoteCheck:
    """The verdict on one candidate: `quote` when kept, else the `reason` it was dropped."""

    text: str
    quote: Quote | None
    reason: str = ""


class TranscriptIndex:
    """The transcript as one compact string, each character knowing the word (and times) it came from."""

    def __init__(self, transcript: Transcript) -> None:
        self.language = transcript.language
        self.spaced = bool(lang.joiner(transcript.language))
        found = lang.find(transcript.language)
        self.min_quote = found.draft.min_quote if found else MIN_QUOTE_WORDS
        chars: list[str] = []
        owner: list[int] = []
        spans: list[tuple[float, float]] = []
        starts: set[int] = set()
        ends: set[int] = set()
        for word_text, start, end in self._words(transcript):
            folded = compact(word_text)
            if not folded:
                continue
            index = len(spans)
            spans.append((start, end))
            starts.add(len(chars))
            chars.extend(folded)
            owner.extend([index] * len(folded))
            ends.add(len(chars))
        self.stream = "".join(chars)
        self.owner = owner
        self.spans = spans
        self.starts = starts
        self.ends = ends

    def _words(self, transcript: Transcript) -> Iterable[tuple[str, float, float]]:
        for segment in transcript.segments:
            if segment.words:
                for w in segment.words:
                    yield w.word, w.start, w.end
                continue
            # No word timings: spread the segment's time over its words by character position.
            text = segment.text or ""
            pieces = list(text) if not self.spaced else [m for m in re.finditer(r"\S+", text)]
            length = max(1, len(text))
            duration = max(0.0, segment.end - segment.start)
            offset = 0
            for piece in pieces:
                if isinstance(piece, str):
                    word, first, last = piece, offset, offset + 1
                    offset += 1
                else:
                    word, first, last = piece.group(), piece.start(), piece.end()
                yield (word, segment.start + duration * first / length, segment.start + duration * last / length)

    def find(self, text: str) -> tuple[float, float] | None:
        """(start_s, end_s) of the first verbatim occurrence of `text`, or None."""
        needle = compact(text)
        if not needle:
            return None
        position = self.stream.find(needle)
        while position != -1:
            end = position + len(needle)
            if not self.spaced or (position in self.starts and end in self.ends):
                first, last = self.owner[position], self.owner[end - 1]
                return round(self.spans[first][0], 3), round(self.spans[last][1], 3)
            position = self.stream.find(needle, position + 1)
        return None

    def contains(self, text: str) -> bool:
        """Whether the compact form of `text` occurs anywhere (no word-boundary rule): for names."""
        needle = compact(text)
        return bool(needle) and needle in self.stream


def check_quote(text: str, speaker: str | None, index: TranscriptIndex) -> QuoteCheck:
    cleaned = clean_quote(text)
    size = quote_size(cleaned, index.language)
    if size < index.min_quote:
        unit = "words" if index.spaced else "characters"
        return QuoteCheck(cleaned, None, f"too short to be a meaningful quote ({size} {unit}; at least "
                                         f"{index.min_quote})")
    span = index.find(cleaned)
    if span is None:
        return QuoteCheck(cleaned, None, "not found verbatim in the transcript")
    speaker = (speaker or "").strip() or None
    return QuoteCheck(cleaned, Quote(cleaned, speaker, span[0], span[1]))


def check_quotes(candidates: Sequence[str | _QuoteLike], transcript: Transcript | TranscriptIndex) -> list[QuoteCheck]:
    """A verdict for every candidate; repeats of an earlier candidate (after normalisation) are skipped.
    A `Quote` taken from the transcript's sentences that passes keeps its own times and sentence ids (the
    check is the safety net: it fails only if the taking went wrong)."""
    index = transcript if isinstance(transcript, TranscriptIndex) else TranscriptIndex(transcript)
    seen: set[str] = set()
    checks = []
    for candidate in candidates:
        text, speaker = (candidate, None) if isinstance(candidate, str) else (candidate.text, candidate.speaker)
        key = compact(text)
        if key in seen:
            continue
        seen.add(key)
        check = check_quote(text, speaker, index)
        if check.quote is not None and isinstance(candidate, Quote) and candidate.sentences:
            check = QuoteCheck(check.text, Quote(check.text, check.quote.speaker, candidate.start_s, candidate.end_s,
                                                 candidate.sentences))
        if check.quote is None:
            log.info("dropped quote %r: %s", check.text, check.reason)
        checks.append(check)
    return checks


def verify_quotes(
    candidates: Sequence[str | _QuoteLike], transcript: Transcript
) -> tuple[list[Quote], list[str]]:
    """(kept quotes with their time spans, texts of the dropped ones). Candidates are strings or objects
    with `text` and `speaker` (e.g. the LLM's quotes)."""
    checks = check_quotes(candidates, transcript)
    kept = [c.quote for c in checks if c.quote is not None]
    dropped = [c.text for c in checks if c.quote is None]
    return kept, dropped


def has_cjk(text: str) -> bool:
    """Whether `text` has Han, kana or Hangul letters."""
    return CJK.search(text)


def cjk_count(text: str) -> int:
    return CJK.count(text)
