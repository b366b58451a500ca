"""The transcript's sentences, numbered: what a quote is taken from.

    sentences = number_sentences(transcript)   # (Sentence(id=1, text=..., start_s, end_s, speaker="S1"), ...)
    text, start_s, end_s = sentences[2].part(0, 40)

A sentence is a verbatim slice of one segment's text (or of consecutive segments' texts of one speaker
turn, joined as the language joins words), cut after the language profile's sentence marks
(`LanguageProfile.sentence_marks`; in spaced languages only where a space or the end follows, and not after
an abbreviation such as "Dr."). A segment boundary ends a sentence too, unless the segment ends with a clause
mark or (spaced languages) without punctuation before a word in lower case: Whisper cuts segments mid-sentence
by time, and Mandarin segments often end without a full stop. A change of speaker always ends one, so a
sentence has one `speaker` (the transcript's "S1", "S2"... of `newsroom.asr.speakers`; None when turns were
not computed). Times come from the sentence's words (segments without word timings: spread over the
segment by character position). Ids count from 1 in transcript order. A run-on (ASR leaves out full stops,
Whisper's Mandarin above all) is cut at clause marks into parts (see `_clauses`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsroom import lang
from newsroom.lang import LanguageProfile
from newsroom.types import Segment, Transcript

_CLOSERS = "\"'”’」』）)]】"
LONG_SENTENCE = 5  # a sentence longer than this many minimal quotes (profile.draft.min_quote) is a run-on...
CLAUSE_PART = 2  # ...cut at clause marks into parts of at least this many


@dataclass(frozen=True, slots=True)
class Sentence:
    """One numbered sentence. `words` are (first char, last char + 1, start_s, end_s) within `text`."""

    id: int
    text: str
    start_s: float
    end_s: float
    speaker: str | None
    words: tuple[tuple[int, int, float, float], ...] = ()

    def part(self, first: int, last: int) -> tuple[str, float, float]:
        """The text between characters `first` and `last` (stripped) with the times of the words in it."""
        inside = [w for w in self.words if w[1] > first and w[0] < last]
        text = self.text[first:last].strip()
        if not inside:
            return text, self.start_s, self.end_s
        return text, inside[0][2], inside[-1][3]


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    speaker: str | None
    words: tuple[tuple[int, int, float, float], ...]
    start_s: float
    end_s: float


def _word_spans(segment: Segment, spaced: bool) -> list[tuple[int, int, float, float]]:
    text = segment.text
    if segment.words:
        spans, at = [], 0
        for word in segment.words:
            token = word.word.strip()
            found = text.find(token, at) if token else -1
            if found < 0:
                continue  # a word the text spells otherwise: its neighbours carry the times
            spans.append((found, found + len(token), word.start, word.end))
            at = found + len(token)
        if spans:
            return spans
    # No word timings: the segment's time spread by character position.
    pieces = [(m.start(), m.end()) for m in re.finditer(r"\S+" if spaced else r"\S", text)]
    length, duration = max(1, len(text)), max(0.0, segment.end - segment.start)
    return [(a, b, segment.start + duration * a / length, segment.start + duration * b / length) for a, b in pieces]


def _ends(text: str, profile: LanguageProfile) -> list[int]:
    """Character offsets just after each sentence end inside `text` (not counting its very end)."""
    marks = re.escape(profile.sentence_marks)
    follow = r"(?=\s|$)" if profile.spaced else ""
    ends = []
    for match in re.finditer(rf"[{marks}]+[{re.escape(_CLOSERS)}]*{follow}", text):
        if profile.spaced and match.group().startswith("."):
            before = re.search(r"(\S+)$", text[: match.start()])
            if before and before.group(1).casefold() in profile.voice.abbreviations:
                continue
        if match.end() < len(text.rstrip()):
            ends.append(match.end())
    return ends


def _size(text: str, profile: LanguageProfile) -> int:
    return len(text.split()) if profile.spaced else len(re.sub(r"\W", "", text))


def _clauses(text: str, first: int, last: int, profile: LanguageProfile) -> list[int]:
    """Where the sentence `text[first:last]` starts, plus clause cuts when it is a run-on: longer than
    LONG_SENTENCE quotes' minimum (ASR often leaves out full stops, Whisper's Mandarin above all), it is cut
    after clause marks into parts of at least CLAUSE_PART minimums; a clause that leads into reported speech
    ("据张伟介绍，", `AttributionRules.leads`) is a part of its own, so the speech after it can be quoted."""
    minimum = profile.draft.min_quote
    if _size(text[first:last], profile) <= LONG_SENTENCE * minimum:
        return [first]
    marks = re.escape(profile.clause_marks)
    follow = r"(?=\s)" if profile.spaced else ""
    ends = [first + m.end() for m in re.finditer(rf"[{marks}]+{follow}", text[first:last])]
    clauses = [(a, b) for a, b in zip([first, *ends], [*ends, last], strict=True) if text[a:b].strip()]
    leads = profile.attribution.leads
    cuts, start = [first], first
    for (a, b), following in zip(clauses, [*clauses[1:], None], strict=True):
        lead = any(re.search(p, text[a:b].strip(), re.IGNORECASE) for p in leads)
        next_lead = following is not None and any(
            re.search(p, text[following[0]:following[1]].strip(), re.IGNORECASE) for p in leads)
        if following is None:
            break
        if lead or next_lead or (_size(text[start:b], profile) >= CLAUSE_PART * minimum
                                 and _size(text[b:last], profile) >= minimum):
            cuts.append(b)
            start = b
    return cuts


def _continues(previous: _Piece, segment: Segment, profile: LanguageProfile) -> bool:
    """Whether `segment` goes on with the sentence `previous` ended without finishing."""
    if segment.speaker != previous.speaker:
        return False
    tail, head = previous.text.rstrip()[-1:], segment.text.lstrip()[:1]
    if not tail or tail in profile.sentence_marks or tail in _CLOSERS:
        return False
    if tail in profile.clause_marks:
        return True
    return profile.spaced and head.islower()


def number_sentences(transcript: Transcript) -> tuple[Sentence, ...]:
    """The transcript's sentences with ids from 1, times and speakers (see the module docstring)."""
    profile = lang.find(transcript.language) or lang.profile(lang.CODES[0])
    # Join segments that continue a sentence into pieces; then cut every piece at its sentence ends.
    pieces: list[_Piece] = []
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        spans = _word_spans(segment, profile.spaced)
        if pieces and _continues(pieces[-1], segment, profile):
            last = pieces[-1]
            offset = len(last.text) + len(profile.joiner)
            pieces[-1] = _Piece(f"{last.text}{profile.joiner}{segment.text}", last.speaker,
                                last.words + tuple((a + offset, b + offset, s, e) for a, b, s, e in spans),
                                last.start_s, segment.end)
        else:
            pieces.append(_Piece(segment.text, segment.speaker, tuple(spans), segment.start, segment.end))
    sentences: list[Sentence] = []
    for piece in pieces:
        cuts = [0, *_ends(piece.text, profile), len(piece.text)]
        cuts = [cut for first, last in zip(cuts, cuts[1:], strict=False)
                for cut in _clauses(piece.text, first, last, profile)] + [len(piece.text)]
        for first, last in zip(cuts, cuts[1:], strict=False):
            raw = piece.text[first:last]
            text = raw.strip()
            if not text:
                continue
            lead = first + len(raw) - len(raw.lstrip())
            words = tuple((a - lead, b - lead, s, e) for a, b, s, e in piece.words if first <= a < last)
            start = words[0][2] if words else piece.start_s
            end = words[-1][3] if words else piece.end_s
            sentences.append(Sentence(len(sentences) + 1, text, round(start, 3), round(end, 3), piece.speaker, words))
    return tuple(sentences)


def turns(sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    """Consecutive sentences of one speaker, in order (all one turn when speakers were not computed)."""
    out: list[list[Sentence]] = []
    for sentence in sentences:
        if out and out[-1][-1].speaker == sentence.speaker:
            out[-1].append(sentence)
        else:
            out.append([sentence])
    return out
