"""Where in the footage the story is told: the time spans a cover's picture should come from.

A cover shows the story, not the prettiest frame: the headline and the lede each rest on a few sentences of
the transcript, and every verified quote carries its own time span (newsroom.llm.quotes.Quote). Those spans
are sampled first and their frames score higher (newsroom.covers.score); a face found while a quote is
spoken is taken for the speaker's and beats any other face.

The headline and the lede are located in the transcript by their words: per transcript segment, the share
of the text's content words it contains (English: words of three letters or more, compared on their first
five letters, so "votes" finds "voted" and "lanes" finds "lane", without the profile's articles,
prepositions and conjunctions; languages written without spaces: the profile's word segmenter, e.g. jieba
for Mandarin, else character pairs). A segment sharing at least `MIN_OVERLAP` of them is a span: the
picture shown while that segment is said.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.llm.quotes import normalise
from newsroom.types import Transcript

log = logging.getLogger("newsroom.covers")

MIN_OVERLAP = 0.4  # of the text's content words a segment must share to be one of its spans
MAX_SPANS_PER_TEXT = 2  # the best-matching segments of a headline or a lede
STEM_CHARS = 5  # English-like words compare on their first five letters
MIN_WORD_CHARS = 3  # shorter words ("a", "to", "of") carry no story
SPAN_WEIGHTS = {"headline": 1.0, "lede": 0.8, "quote": 0.5}  # a frame of the span is worth (see score.py)
_WIDE_RE = re.compile(lang.WIDE.pattern)


@dataclass(frozen=True, slots=True)
class StorySpan:
    """A stretch of the source (seconds) the story relies on: what relies on it (`kind`: "headline", "lede",
    "quote") and, for a quote, who speaks."""

    start_s: float
    end_s: float
    kind: str
    speaker: str | None = None

    @property
    def weight(self) -> float:
        return SPAN_WEIGHTS[self.kind]

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s <= self.end_s


def _units(text: str, language: str) -> list[str]:
    """The content units of `text`: word stems, or Mandarin words / character pairs for unspaced scripts."""
    words = normalise(text).split()
    profile = lang.find(language)
    if lang.joiner(language) or not any(_WIDE_RE.search(w) for w in words):
        stop = profile.subtitles.line_end_avoid if profile is not None else frozenset()
        return [w[:STEM_CHARS] for w in words if (len(w) >= MIN_WORD_CHARS and w not in stop) or w.isdigit()]
    joined = "".join(words)
    name = profile.subtitles.segmenter if profile is not None else ""
    if name:
        from newsroom.lang.words import segmenter

        return [w for w in segmenter(name)(joined) if len(w) >= 2]
    return [joined[i: i + 2] for i in range(len(joined) - 1)]


def locate(text: str, transcript: Transcript, kind: str) -> list[StorySpan]:
    """The spans of `transcript` that `text` rests on (at most `MAX_SPANS_PER_TEXT`, best first)."""
    wanted = set(_units(text, transcript.language))
    if not wanted:
        return []
    scored = []
    for seg in transcript.segments:
        found = wanted & set(_units(seg.text, transcript.language))
        share = len(found) / len(wanted)
        if share >= MIN_OVERLAP:
            scored.append((share, seg, found))
    spans = []
    for _, seg, _found in sorted(scored, key=lambda x: -x[0])[:MAX_SPANS_PER_TEXT]:
        spans.append(StorySpan(seg.start, max(seg.end, seg.start), kind))  # the picture while it is said
    return spans


def story_spans(transcript: Transcript | None, *, headline: str = "", lede: str = "",
                quotes: Iterable[object] = ()) -> tuple[StorySpan, ...]:
    """The spans the story relies on: every quote's own span (anything with `start_s`, `end_s` and `speaker`,
    e.g. a verified `Quote`), then where the headline and the lede are said, in time order."""
    spans = [StorySpan(float(q.start_s), float(q.end_s), "quote", getattr(q, "speaker", None))  # type: ignore[attr-defined]
             for q in quotes if float(q.end_s) > float(q.start_s)]  # type: ignore[attr-defined]
    if transcript is not None:
        spans += locate(headline, transcript, "headline") + locate(lede, transcript, "lede")
    spans.sort(key=lambda s: (s.start_s, -s.weight))
    if spans:
        log.info("cover: the story rests on %s", ", ".join(f"{s.kind} {s.start_s:.1f}-{s.end_s:.1f}s" for s in spans))
    return tuple(spans)


def weight_at(spans: Sequence[StorySpan], t_s: float) -> tuple[float, StorySpan | None]:
    """The highest weight of the spans covering `t_s` and that span (0.0, None when none does)."""
    best = max((s for s in spans if s.covers(t_s)), key=lambda s: s.weight, default=None)
    return (best.weight, best) if best is not None else (0.0, None)
