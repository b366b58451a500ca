"""A newsroom glossary: the names, places, organisations and jargon a desk expects to hear.

    glossary = load_glossary(settings.glossary, "zh", extra=["詹晓彤", "篁岭"])  # the newsroom's + the run's
    transcript = transcriber.transcribe(wav, "zh", glossary=glossary)    # steers Whisper, fixes near-misses

The file format (UTF-8, one entry a line; what follows a `#` is a comment):

    Amara Okonkwo
    Kilbarrack
    Shivon -> Siobhan        # heard-as -> written-as: whole words, any case, always written so

`NEWSROOM_GLOSSARY` is one such file (used for every language: each language takes the entries written in
its script) or a folder of `<lang>.txt` files (`en.txt`, `zh.txt`); a run adds its own entries (`newsroom
transcribe --glossary FILE`, the flows' `glossary` parameter, the CMS webhook's `glossary` field).

Two uses, both measured in bench/glossary.py:
1. Steering. The terms go to Whisper as `hotwords`: faster-whisper puts them in the decoder's previous-text
   context of every 30 s window (the `initial_prompt` reaches only the first window when, as here, decoding
   is not conditioned on previous text). The context holds at most `PROMPT_BUDGET_TOKENS`; terms are taken
   in order (the run's first, then the newsroom's) until it is full, and the rest still serve step 2.
2. Fixing near-misses after recognition, conservatively (`fix`): a run of words that is spelt almost like
   a term (English: letters, edit distance; Mandarin: the same pinyin, read by pypinyin) and that Whisper
   was not sure of is rewritten as the term. A heard-as -> written-as entry is applied wherever it is heard.
   Every change is returned as a `Fix` (and logged), so the editor can see it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate
from pathlib import Path

from newsroom import lang
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile
from newsroom.params import MAX_GLOSSARY_TERM_CHARS as MAX_TERM_CHARS
from newsroom.types import Segment, Transcript, Word

log = logging.getLogger("newsroom.asr")

COMMENT = "#"
ARROW = "->"
MAX_ENTRIES = 10_000
# Whisper's decoder context is 448 tokens: half for the previous text (where hotwords go), half for the
# text it writes. The glossary keeps well inside the first half, so the language's own prompt fits beside it.
PROMPT_BUDGET_TOKENS = 150
# Near-miss fixing (see `fix`): the least similarity of the letters (English) or syllables (Mandarin) of a
# heard run of words and a term, and how much better the best term must be than the next one. A run that is
# not spelt exactly as the term is rewritten only when Whisper was unsure of one of its words (a probability
# below the language's `min_word_probability`): a common word heard clearly is never turned into a name.
MIN_SIMILARITY = {True: 0.75, False: 0.8}  # by `LanguageProfile.spaced`: letters / syllables
MIN_MARGIN = 0.1
MIN_FUZZY_LETTERS = 5  # shorter terms are fixed only when their letters match exactly (spacing, case, hyphens)
MIN_FUZZY_SYLLABLES = 2
# ...except that three or more syllables sounding as a term's (Mandarin) need only some doubt: a rare name's
# exact sound is no coincidence (measured: the name 禤国栋 heard as 选国动, every character at 0.83-0.99).
LONG_MATCH_UNITS = 3
LONG_MATCH_DOUBT = 0.9
MAX_RUN_WORDS = 8  # words (Mandarin: Whisper's word pieces) in one heard run


class GlossaryError(ConfigError):
    """A glossary file cannot be read or has a line that is no term."""


@dataclass(frozen=True, slots=True)
class Fix:
    """One near-miss rewritten as a glossary term."""

    heard: str
    written: str
    start_s: float
    end_s: float
    similarity: float  # 1.0 for a heard-as -> written-as entry or a difference of case/spacing only

    def describe(self) -> str:
        return f"heard {self.heard!r}, written {self.written!r} (glossary) at {_clock(self.start_s)}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Glossary:
    """Terms as they are written, and heard-as -> written-as corrections (`(heard, written)` pairs)."""

    terms: tuple[str, ...] = ()
    corrections: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.corrections)

    def __add__(self, other: Glossary) -> Glossary:
        """Both glossaries' entries, this one's first (its terms win the prompt's room), duplicates once."""
        return Glossary(tuple(dict.fromkeys(self.terms + other.terms)),
                        tuple(dict.fromkeys(self.corrections + other.corrections)))

    @classmethod
    def parse(cls, lines: str | Iterable[str], source: str = "the glossary") -> Glossary:
        """Entries from the file format above (a text, or its lines: a flow's list of terms)."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        terms: list[str] = []
        corrections: list[tuple[str, str]] = []
        for number, raw in enumerate((part for line in lines for part in str(line).splitlines()), 1):
            line = unicodedata.normalize("NFC", raw.split(COMMENT, 1)[0]).strip()
            if not line:
                continue
            heard, arrow, written = (part.strip() for part in line.partition(ARROW))
            if arrow and not (heard and written):
                raise GlossaryError(f"{source} line {number}: {raw.strip()!r} needs text on both sides of "
                                    f"'{ARROW}' (heard-as {ARROW} written-as)")
            for part in (heard, written):
                if len(part) > MAX_TERM_CHARS:
                    raise GlossaryError(f"{source} line {number} has {len(part)} characters (at most "
                                        f"{MAX_TERM_CHARS}): one name or term a line")
            if arrow:
                corrections.append((heard, written))
                terms.append(written)
            else:
                terms.append(heard)
            if len(terms) > MAX_ENTRIES:
                raise GlossaryError(f"{source} has more than {MAX_ENTRIES} entries: split it by language or desk")
        return cls(tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(corrections)))

    @classmethod
    def read(cls, path: str | Path) -> Glossary:
        path = Path(path)
        try:
            text = path.read_text("utf-8-sig")
        except FileNotFoundError:
            raise GlossaryError(f"glossary {path} does not exist: give a UTF-8 text file, one term a line") from None
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            raise GlossaryError(f"glossary {path} cannot be read as UTF-8 text ({exc}): save it as UTF-8, "
                                "one term a line") from None
        return cls.parse(text, source=str(path))

    def for_language(self, language: str) -> Glossary:
        """The entries written in the language's script (a shared file serves every language)."""
        script = lang.profile(language).script
        return Glossary(tuple(t for t in self.terms if script.search(t)),
                        tuple(c for c in self.corrections if script.search(c[1])))

    def hotwords(self, profile: LanguageProfile, count_tokens: Callable[[str], int],
                 budget_tokens: int = PROMPT_BUDGET_TOKENS) -> str | None:
        """The terms as one line for Whisper (in order, as many as fit `budget_tokens`); None when none."""
        separator = "、" if not profile.spaced else ", "
        end = profile.sentence_marks[0]  # a closed list: left open, Whisper goes on reading it after the speech
        taken: list[str] = []
        for term in self.terms:
            if count_tokens(separator.join([*taken, term]) + end) > budget_tokens:
                break
            taken.append(term)
        if len(taken) < len(self.terms):
            log.info("glossary: %d of %d terms fit Whisper's prompt (%d tokens); all are used to fix near-misses",
                     len(taken), len(self.terms), budget_tokens)
        return separator.join(taken) + end if taken else None

    def fix(self, transcript: Transcript) -> tuple[Transcript, tuple[Fix, ...]]:
        """The transcript with near-misses of the terms rewritten as the terms, and what was rewritten."""
        glossary = self.for_language(transcript.language)
        if not glossary or transcript.is_empty:
            return transcript, ()
        profile = lang.profile(transcript.language)
        matcher = _Matcher(glossary, profile)
        segments: list[Segment] = []
        fixes: list[Fix] = []
        for segment in transcript.segments:
            fixed, found = matcher.fix_segment(segment)
            segments.append(fixed)
            fixes.extend(found)
        for item in fixes:
            log.info("glossary: %s", item.describe())
        return replace(transcript, segments=tuple(segments)), tuple(fixes)


def load_glossary(path: str | Path | None, language: str | None = None,
                  extra: Glossary | str | Sequence[str] | None = None) -> Glossary:
    """The newsroom's glossary at `path` (NEWSROOM_GLOSSARY: a file, or a folder of `<language>.txt`) with
    the run's own entries first. With `language` None a folder contributes every language's file."""
    own = extra if isinstance(extra, Glossary) else Glossary.parse(extra or (), source="the run's glossary")
    if path is None or str(path) == "":
        return own
    path = Path(path).expanduser()
    if path.is_dir():
        files = [path / f"{language}.txt"] if language else sorted(path.glob("*.txt"))
        shared = Glossary()
        for file in files:
            if file.is_file():
                shared = shared + Glossary.read(file)
        return own + shared
    if not path.exists():
        raise GlossaryError(f"NEWSROOM_GLOSSARY={path} does not exist: give a UTF-8 text file or a folder of "
                            "<language>.txt files")
    return own + Glossary.read(path)


# --------------------------------------------------------------------------- fixing near-misses


def _letters(text: str) -> str:
    """Lower-case letters and digits, accents removed: what a spelling is compared on."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _levenshtein(a: Sequence, b: Sequence) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _similarity(a: Sequence, b: Sequence) -> float:
    longest = max(len(a), len(b))
    return 1.0 - _levenshtein(a, b) / longest if longest else 1.0


@cache
def _pinyin_reader() -> Callable[[str], list[str]] | None:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        log.warning("pypinyin is not installed: Mandarin glossary terms are matched by characters only "
                    "(pip install 'newsroom[asr]')")
        return None
    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors="default")


# Sounds Whisper (and many speakers) confuse: compared after this, zh/z, ch/c, sh/s, -ng/-n and l/n meet.
_NEAR_SOUNDS = ((re.compile(r"^([zcs])h"), r"\1"), (re.compile(r"ng$"), "n"), (re.compile(r"^n"), "l"))


def _near(syllable: str) -> str:
    for pattern, repl in _NEAR_SOUNDS:
        syllable = pattern.sub(repl, syllable)
    return syllable


def _syllable_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if _near(a) == _near(b):
        return 0.9
    return 0.5 * _similarity(a, b)


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    first: int  # the segment's words first..last (inclusive) were heard
    last: int
    term: str  # and are to be written so


class _Matcher:
    """Finds a segment's runs of words that are near-misses of glossary terms and rewrites them."""

    def __init__(self, glossary: Glossary, profile: LanguageProfile) -> None:
        self.profile = profile
        self.spaced = profile.spaced
        self.pinyin = None if self.spaced else _pinyin_reader()
        self.unsure = profile.asr.min_word_probability
        self.corrections = {"".join(self._keys(heard) or ()): written for heard, written in glossary.corrections}
        self.terms = [(term, keys, self._sounds(keys)) for term in glossary.terms if (keys := self._keys(term))]
        self.letters = {term: "".join(keys) for term, keys, _ in self.terms}

    def _keys(self, text: str) -> list[str] | None:
        """The units a spelling is compared on: words' letters (spaced languages) or the script's characters;
        None for text that holds other letters (digits, Latin words in Mandarin): no run crosses it."""
        if self.spaced:
            return [k for k in (_letters(w) for w in text.split()) if k]
        letters = _letters(text)
        keys = [ch for ch in letters if self.profile.script.matches(ch)]
        return keys if len(keys) == len(letters) else None

    def _sounds(self, keys: Sequence[str]) -> list[str]:
        if self.spaced or self.pinyin is None:
            return list(keys)
        sounds = self.pinyin("".join(keys))
        return sounds if len(sounds) == len(keys) else list(keys)

    def _score(self, keys: Sequence[str], sounds: Sequence[str], term_keys: Sequence[str],
               term_sounds: Sequence[str]) -> float:
        if self.spaced:
            if abs(len(keys) - len(term_keys)) > 1:
                return 0.0
            letters, term_letters = "".join(keys), "".join(term_keys)
            if letters == term_letters:
                return 1.0
            return _similarity(letters, term_letters) if len(term_letters) >= MIN_FUZZY_LETTERS else 0.0
        if len(keys) != len(term_keys) or len(keys) < MIN_FUZZY_SYLLABLES:
            return 0.0
        scores = [_syllable_similarity(a, b) for a, b in zip(sounds, term_sounds, strict=True)]
        if sum(s < 0.9 for s in scores) > (0 if len(scores) < 4 else 1):
            return 0.0  # short terms: every syllable sounds alike; longer ones: all but one
        return sum(scores) / len(scores)

    def fix_segment(self, segment: Segment) -> tuple[Segment, list[Fix]]:
        words = list(segment.words)
        spans = locate_words(segment.text, words)
        if not words or spans is None:
            return segment, []
        chosen: list[_Candidate] = []
        for found in sorted(self._candidates(words, spans, segment.text), key=lambda c: (-c.score, c.first)):
            if not any(found.first <= c.last and c.first <= found.last for c in chosen):
                chosen.append(found)
        text, fixes = segment.text, []
        for found in sorted(chosen, key=lambda c: -c.first):  # from the end: the spans before stay valid
            run = words[found.first:found.last + 1]
            new = self._rewrite(run, found.term)
            lead, trail = _punctuation(run[0].word)[0], _punctuation(run[-1].word)[1]
            new[0] = replace(new[0], word=lead + new[0].word)
            new[-1] = replace(new[-1], word=new[-1].word + trail)
            start, end = spans[found.first][0], spans[found.last][1]
            heard = self.profile.joiner.join(_strip_punctuation(w.word) for w in run)
            text = text[:start] + self.profile.joiner.join(w.word for w in new) + text[end:]
            words[found.first:found.last + 1] = new
            fixes.append(Fix(heard, found.term, run[0].start, run[-1].end, round(min(found.score, 1.0), 3)))
        if not fixes:
            return segment, []
        return replace(segment, text=text, words=tuple(words)), fixes[::-1]

    def _candidates(self, words: list[Word], spans: list[tuple[int, int]], text: str) -> list[_Candidate]:
        keys = [self._keys(w.word) for w in words]
        sounds = self._sounds([u for k in keys if k for u in k])
        offsets, at = [], 0
        for k in keys:
            offsets.append(at)
            at += len(k or ())
        windows = []  # (first word, last word, units)
        for first in range(len(words)):
            for last in range(first, min(len(words), first + MAX_RUN_WORDS)):
                run = keys[first:last + 1]
                if run[-1] is None:
                    break  # no run crosses other letters
                if run[0] and run[-1]:  # starts and ends on letters
                    windows.append((first, last, [u for k in run for u in (k or ())]))
        written = {t for t, _, _ in self.terms}
        exact = [(f, la) for f, la, _ in windows
                 if self.profile.joiner.join(_strip_punctuation(w.word) for w in words[f:la + 1]) in written]
        found: list[_Candidate] = []
        for first, last, window in windows:
            if any(first <= b and a <= last for a, b in exact):
                continue  # a term written right is left alone, and no fix may overlap it
            key = "".join(window)
            if key in self.corrections:
                found.append(_Candidate(1.0 + MIN_MARGIN, first, last, self.corrections[key]))
                continue
            if not self._plausible(words[first:last + 1], text[spans[first][0]:spans[last][1]]):
                continue
            heard = sounds[offsets[first]:offsets[first] + len(window)]
            scored = sorted(((self._score(window, heard, t_keys, t_sounds), term)
                             for term, t_keys, t_sounds in self.terms), reverse=True)
            if not scored or scored[0][0] < MIN_SIMILARITY[self.spaced]:
                continue
            best, term = scored[0]
            doubt = LONG_MATCH_DOUBT if not self.spaced and len(window) >= LONG_MATCH_UNITS and best >= 0.9 \
                else self.unsure
            if key != self.letters[term] and min(w.probability for w in words[first:last + 1]) >= doubt:
                continue  # heard clearly as something else (the same sound is not enough): not ours to change
            if any(score > best - MIN_MARGIN for score, _ in scored[1:2]):
                continue  # two terms fit about as well: leave it to the editor
            found.append(_Candidate(best, first, last, term))
        return found

    def _plausible(self, run: list[Word], text: str) -> bool:
        """Whether a run of words may be one name Whisper misheard: no sentence or clause break inside it, and
        in spaced scripts written with a capital, as Whisper writes the names it hears."""
        marks = self.profile.sentence_marks + self.profile.clause_marks
        if any(w.word.rstrip()[-1:] in marks for w in run[:-1]):
            return False
        if not self.spaced:  # a pause (Whisper's space) may fall inside a long name, a mark may not
            return not any(ch in marks for ch in _strip_punctuation(text))
        return _strip_punctuation(run[0].word)[:1].isupper()

    def _rewrite(self, run: list[Word], term: str) -> list[Word]:
        """Words that write `term` over the time of `run`: each word of the term over the heard words whose
        letters it takes (cut where the letter counts agree best), or shares of the time by length when the
        term has more words than were heard; Whisper's lowest probability stays."""
        pieces = term.split() if self.spaced else [term]
        if len(pieces) == len(run):
            return [replace(w, word=p) for w, p in zip(run, pieces, strict=True)]
        probability = min(w.probability for w in run)
        if len(pieces) < len(run):
            heard = list(accumulate(len(_letters(w.word)) for w in run))
            wanted = list(accumulate(len(_letters(p)) for p in pieces))
            scale = heard[-1] / max(1, wanted[-1])
            cuts, at = [], 0
            for k, target in enumerate(wanted[:-1]):
                last_cut = len(run) - (len(pieces) - 1 - k)
                at = min(range(at + 1, last_cut), key=lambda c: abs(heard[c - 1] - target * scale))
                cuts.append(at)
            groups = [run[a:b] for a, b in zip([0, *cuts], [*cuts, len(run)], strict=True)]
            return [Word(g[0].start, g[-1].end, piece, probability, g[0].speaker)
                    for g, piece in zip(groups, pieces, strict=True)]
        span_s, total = run[-1].end - run[0].start, sum(len(p) for p in pieces)
        new, at = [], run[0].start
        for piece in pieces:
            length_s = span_s * len(piece) / total
            new.append(Word(at, at + length_s, piece, probability, run[0].speaker))
            at += length_s
        return new


def locate_words(text: str, words: Sequence[Word]) -> list[tuple[int, int]] | None:
    """Where each word is in the segment's text, in order; None when one is not found (nothing is fixed)."""
    spans, at = [], 0
    for word in words:
        found = text.find(word.word, at)
        if found < 0:
            return None
        spans.append((found, found + len(word.word)))
        at = found + len(word.word)
    return spans


def _punctuation(word: str) -> tuple[str, str]:
    """What stands before and after the letters of a word ("(", "),")."""
    core = _strip_punctuation(word)
    if not core:
        return word, ""
    start = word.index(core)
    return word[:start], word[start + len(core):]


def _strip_punctuation(word: str) -> str:
    return re.sub(r"^\W+|\W+$", "", word)
