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
2. Fixing near-misses after recognition, conservatively (`fix`, done by `newsroom.asr.nearmiss`): a run of
   words that is spelt almost like a term (English: letters, edit distance; Mandarin: the same pinyin, read
   by pypinyin) and that Whisper was not sure of is rewritten as the term. A heard-as -> written-as entry is
   applied wherever it is heard. Every change is returned as a `Fix` (and logged), so the editor can see it.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from newsroom import lang
from newsroom.asr.nearmiss import Fix, Matcher, locate_words
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile
from newsroom.params import MAX_GLOSSARY_TERM_CHARS as MAX_TERM_CHARS
from newsroom.types import Segment, Transcript

log = logging.getLogger("newsroom.asr")

__all__ = ["PROMPT_BUDGET_TOKENS", "Fix", "Glossary", "GlossaryError", "load_glossary", "locate_words"]

COMMENT = "#"
ARROW = "->"
MAX_ENTRIES = 10_000
# Whisper's decoder context is 448 tokens: half for the previous text (where hotwords go), half for the
# text it writes. The glossary keeps well inside the first half, so the language's own prompt fits beside it.
PROMPT_BUDGET_TOKENS = 150

class GlossaryError(ConfigError):
    """A glossary file cannot be read or has a line that is no term."""


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
        matcher = Matcher(glossary, profile)
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
