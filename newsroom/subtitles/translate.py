"""Subtitle cues translated by the news-draft language model, cue by cue, numbers and names checked.

    backend = load_backend(settings)                                 # once (newsroom.llm)
    translation = translate_cues(cues, "zh", "en", backend)          # per track
    translation.items[k].text, translation.held, translation.flags

The cues go to the model in small batches of numbered lines (`BATCH_CUES`), with the neighbouring cues as
context (`CONTEXT_CUES` either side, marked as not to be translated); the answer is one JSON object keyed
by cue number (the schema is built per batch, so a constrained decoder can only give those keys), so each
translation belongs to its cue by construction. Decoding is greedy (temperature 0) and seeded.

Every translated cue is checked against its source cue as drafts are checked against their transcript
(`newsroom.llm.grounding`):
- numbers are compared as values across languages (`number_values`: 三百 = 300, 百分之五 = 5%, 300万 = 3 million,
  二〇二六 = 2026; "one"/一 as a word is left out, being an article as often as a number);
- names written in Latin letters in the source ("WHO", "Smith") must be in the translation as written.
A cue that fails is sent back once, alone, with the problem named; a number still wrong after that is
*held*: the cue gets no translation (`CueTranslation.held` says why) rather than a wrong number on screen.
A name still missing is published but flagged for the editor (`Translation.flags`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from newsroom import lang
from newsroom.config import get_settings
from newsroom.errors import ConfigError
from newsroom.llm.ask import MAX_ATTEMPTS, ask_json
from newsroom.llm.errors import LLMOutputError
from newsroom.llm.grounding import unsupported_numbers
from newsroom.llm.prompts import load_prompt
from newsroom.subtitles.cues import Cue

log = logging.getLogger("newsroom.subtitles")

BATCH_CUES = 3  # cues per model call: small, so a weak model keeps the numbering straight
CONTEXT_CUES = 1  # neighbouring cues shown either side as context
TOKENS_PER_CHAR = 1.2  # answer budget per source character (a CJK character can become ~1.5 English tokens)
MIN_BATCH_TOKENS = 96
PROMPT_TASK = "translate"
NO_OWN_TRANSLATION = "no translation of its own: the model answered '...' (its words may be in the cue before)"
MIN_SCRIPT_SHARE = 0.5  # of a translation's letters (less the source's Latin names) in the target's script...
MIN_CHECKED_LETTERS = 3  # ...checked from this many letters on
LANGUAGES = lang.CODES  # any language with a profile and translate prompts


@dataclass(frozen=True, slots=True)
class CueTranslation:
    index: int  # the source cue's index
    source: str  # the source cue's text (lines joined by the source language's joiner)
    text: str  # the translation; "" when held
    held: str = ""  # why no translation is published (a number that does not match the source; NO_OWN_TRANSLATION)
    flags: tuple[str, ...] = ()  # what the editor should check (a name not kept as written)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.source, "text": self.text, "held": self.held,
                "flags": list(self.flags)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CueTranslation:
        return cls(int(data["index"]), data["source"], data["text"], data.get("held", ""),
                   tuple(data.get("flags", ())))


@dataclass(frozen=True, slots=True)
class Translation:
    source_language: str
    language: str  # the target language
    model: str  # backend + model + prompt id, e.g. "llama-cpp:qwen2.5-1.5b-instruct@...+translate.v1.en"
    items: tuple[CueTranslation, ...]

    @property
    def held(self) -> tuple[CueTranslation, ...]:
        return tuple(i for i in self.items if i.held)

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(f"cue {i.index}: {f}" for i in self.items for f in i.flags)

    def to_dict(self) -> dict[str, Any]:
        return {"source_language": self.source_language, "language": self.language, "model": self.model,
                "items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Translation:
        return cls(data["source_language"], data["language"], data["model"],
                   tuple(CueTranslation.from_dict(i) for i in data["items"]))


# --------------------------------------------------------------------------- numbers as values


_DIGITS_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_PERCENT_PREFIXES = ("百分之", "千分之")  # the numeral after it is the number ("百分之五" = 5%)
_WEEKDAY_RE = re.compile(r"(?:星期|礼拜|周)[一二三四五六日天]")  # a weekday, not a number
_SKIP_WORDS = frozenset({"one", "once", "first", "second", "half", "zero"})  # as often not a count as a count
_NUMBER_WORD_RE = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int], re.Pattern[str] | None, str]:
    """Word values, word scales, numeral values, numeral units (all profiles), the numeral-run regex, points."""
    words: dict[str, int] = {}
    scales: dict[str, int] = {}
    numerals: dict[str, int] = {}
    units: dict[str, int] = {}
    points = ""
    for numbers in (p.numbers for p in lang.PROFILES.values()):
        words.update({w: v for w, v in numbers.words.items() if w not in _SKIP_WORDS})
        scales.update({w: v for v, w in numbers.scales})
        if numbers.hundred:
            scales[numbers.hundred] = 100
        numerals.update(numbers.numerals)
        units.update(numbers.units)
        points += numbers.point
    chars = "".join(numerals) + "".join(units)
    run = re.compile(f"[{re.escape(chars)}]+(?:[{re.escape(points)}][{re.escape(''.join(numerals))}]+)?") if chars else None
    return words, scales, numerals, units, run, points


def _numeral_value(run: str, numerals: dict[str, int], units: dict[str, int]) -> int:
    total, section, digit = 0, 0, 0
    for char in run:
        if char in numerals:
            digit = digit * 10 + numerals[char] if digit and not section else numerals[char]
        else:
            unit = units[char]
            if unit >= 10_000:
                total += (section + digit) * unit
                section, digit = 0, 0
            else:
                section += (digit or 1) * unit
                digit = 0
    return total + section + digit


def number_values(text: str) -> set[Decimal]:
    """The numbers `text` says, as values, whatever the language: digits (1,200; 3.5), digits with a scale
    ("3 million", "300万", "1.5亿"), numerals (三百, 二〇二六, 三点五; 百分之五 is 5) and number words
    ("three hundred", "twenty-five"). A lone "one"/一 as a word, weekdays (星期三) and runs of unit
    characters alone (百姓, 千万, 十分) are left out: they are not counts often enough to check."""
    words, scales, numerals, units, numeral_run, points = _tables()
    text = unicodedata.normalize("NFKC", text)
    text = _WEEKDAY_RE.sub(" ", text)
    for prefix in _PERCENT_PREFIXES:
        text = text.replace(prefix, " ")
    found: set[Decimal] = set()
    # 1. digits, with a scale word or unit character right after them
    big_units = {c: v for c, v in units.items() if v >= 1000}
    scale_re = "|".join(sorted((re.escape(w) for w in scales if scales[w] >= 1000), key=len, reverse=True))
    pattern = re.compile(_DIGITS_RE.pattern + rf"(?:\s*({scale_re})\b|\s*([{''.join(big_units)}]))?", re.IGNORECASE)
    rest = []
    at = 0
    for match in pattern.finditer(text):
        try:
            value = Decimal(match.group(1).replace(",", "") + (match.group(2) or ""))
        except InvalidOperation:
            continue
        if match.group(3):
            value *= scales[match.group(3).lower()]
        elif match.group(4):
            value *= big_units[match.group(4)]
        found.add(value.normalize())
        rest.append(text[at:match.start()])
        at = match.end()
    rest.append(text[at:])
    text = " ".join(rest)
    # 2. numeral runs (Chinese, Japanese)
    if numeral_run is not None:
        for match in numeral_run.finditer(text):
            run = match.group()
            whole, _, fraction = next(((run.partition(p)) for p in points if p in run), (run, "", ""))
            if not any(c in numerals for c in whole):
                continue  # unit characters alone: 百姓, 千万, 十分
            value = Decimal(_numeral_value(whole, numerals, units))
            if fraction:
                value += Decimal("0." + "".join(str(numerals[c]) for c in fraction))
            elif value == 1 and len(whole) == 1:
                continue  # 一: "a", "one", 统一, 一起
            found.add(value.normalize())
    # 3. month names (capitalised: "May 7" is 5 and 7, like 5月7日)
    for months in (p.spoken.months for p in lang.PROFILES.values() if p.spoken.months):
        for n, month in enumerate(months, 1):
            if re.search(rf"\b{re.escape(month)}\b", text):
                found.add(Decimal(n))
    # 4. number words ("three hundred and five", "twenty-five", "a dozen")
    current, total, any_word = 0, 0, False
    for token in [*_NUMBER_WORD_RE.findall(text.replace("-", " ")), ""]:
        word = token.lower()
        if word in scales and (any_word or scales[word] >= 1000):
            scale = scales[word]
            if scale == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * scale
                current = 0
            any_word = True
        elif word in words:
            current += words[word]
            any_word = True
        elif word == "and" and any_word:
            continue
        else:
            if any_word:
                found.add(Decimal(total + current).normalize())
            current, total, any_word = 0, 0, False
    return found


def number_problems(source: str, translation: str) -> list[str]:
    """Numbers that differ between a source cue and its translation (compared as values); [] when they match.
    A number the translation writes with digits that the source has as digits or number words also passes
    `newsroom.llm.grounding.unsupported_numbers`' check (the drafts' rule)."""
    have, want = number_values(translation) - {_ONE}, number_values(source) - {_ONE}
    problems = []
    missing = sorted(want - have)
    extra = sorted(v for v in have - want if unsupported_numbers([_show(v)], source))
    if missing:
        problems.append(f"the number(s) {', '.join(_show(v) for v in missing)} of the source are missing")
    if extra:
        problems.append(f"the number(s) {', '.join(_show(v) for v in extra)} are not in the source")
    return problems


_ONE = Decimal(1)  # "1", "one", 一: as often "a" as a count in one language or the other, so never compared


def _show(value: Decimal) -> str:
    return format(value, "f")


# --------------------------------------------------------------------------- names

_LATIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’.&-]*[A-Za-z]|[A-Z]")
_NOT_NAMES = frozenset({
    "i", "the", "a", "an", "in", "on", "at", "and", "but", "or", "as", "for", "of", "to", "this", "that", "it", "he",
    "she", "they", "we", "our", "his", "her", "their", "mr", "ms", "mrs", "dr", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday",
})


def latin_names(text: str, language: str) -> list[str]:
    """Names written in Latin letters in `text`: in a language written without Latin letters, every Latin word
    ("WHO", "Smith"); in one written with them, capitalised words that do not open a sentence, less weekdays,
    months and function words."""
    profile = lang.profile(language)
    months = {m.lower() for m in profile.spoken.months}
    latin_script = profile.script.matches("a")
    found: dict[str, None] = {}
    for sentence in re.split(r"(?<=[.!?。！？])\s*", text):
        words = _LATIN_WORD_RE.findall(sentence)
        if latin_script:
            words = [w for w in words[1:] if w[0].isupper()]
        for word in words:
            word = word.rstrip(".")
            if word.lower() not in _NOT_NAMES and word.lower() not in months and len(word) > 1:
                found[word] = None
    return list(found)


def name_problems(source: str, translation: str, source_language: str) -> list[str]:
    missing = [n for n in latin_names(source, source_language) if n not in translation]
    return [f"the name(s) {', '.join(missing)} must be kept as written"] if missing else []


# --------------------------------------------------------------------------- asking the model


def _cue_text(cue: Cue, language: str) -> str:
    return lang.joiner(language).join(line.strip() for line in cue.lines)


@lru_cache(maxsize=64)
def _batch_model(numbers: tuple[int, ...]) -> type[BaseModel]:
    """A pydantic model with one required string per cue number (the JSON keys are the numbers)."""
    fields: dict[str, Any] = {f"cue_{n}": (str, Field(alias=str(n), min_length=1)) for n in numbers}
    return create_model(f"Batch_{'_'.join(map(str, numbers))}", __config__=ConfigDict(
        extra="ignore", str_strip_whitespace=True, populate_by_name=True), **fields)


def _ask(backend: Any, language: str, source_language: str, batch: Sequence[tuple[int, str]],
         before: Sequence[str], after: Sequence[str], *, seed: int, attempts: int, note: str = "") -> dict[int, str]:
    profile, source_profile = lang.profile(language), lang.profile(source_language)
    prompt = load_prompt(PROMPT_TASK, profile.code)
    numbers = tuple(n for n, _ in batch)
    output = _batch_model(numbers)
    cues = "\n".join(f"{n}. {text}" for n, text in batch)
    if note:
        cues += f"\n({note})"
    example = "{" + ", ".join(f'"{n}": "..."' for n in numbers) + "}"
    chars = sum(len(text) for _, text in batch)
    max_tokens = max(MIN_BATCH_TOKENS, round(chars * TOKENS_PER_CHAR * 2) + 12 * len(batch))
    values = {"source_name": source_profile.name, "before": " / ".join(before) or "-", "cues": cues,
              "after": " / ".join(after) or "-", "example": example}
    sources = dict(batch)

    def check(answer: BaseModel) -> None:
        for n in numbers:
            text = getattr(answer, f"cue_{n}")
            for name in latin_names(sources[n], source_language):
                text = text.replace(name, "")
            letters = sum(ch.isalpha() for ch in text)
            if letters >= MIN_CHECKED_LETTERS and profile.script.count(text) < MIN_SCRIPT_SHARE * letters:
                raise ValueError(f"line {n} is not translated into {profile.name}: write every line in {profile.name}")

    answer = ask_json(backend, prompt, output, values, max_tokens=max_tokens, seed=seed, attempts=attempts,
                      check=check)
    return {n: getattr(answer, f"cue_{n}") for n in numbers}


def _wordless(text: str, source: str) -> bool:
    """Whether a translation has no letter or digit where its source has words ("...", "-")."""
    return not any(ch.isalnum() for ch in text) and any(ch.isalpha() for ch in source)


def _problems(source: str, text: str, source_language: str) -> tuple[list[str], list[str]]:
    return number_problems(source, text), name_problems(source, text, source_language)


def translate_cues(
    cues: Sequence[Cue], source_language: str, language: str, backend: Any, *,
    batch_cues: int = BATCH_CUES, context_cues: int = CONTEXT_CUES, seed: int | None = None,
    attempts: int = MAX_ATTEMPTS, progress: Callable[[float], None] | None = None,
) -> Translation:
    """Each cue translated into `language` by `backend` (see the module docstring); numbers and names checked,
    a cue with a wrong number held back."""
    source_profile = lang.profile(source_language)
    profile = lang.find(language)
    if profile is None:
        raise ConfigError(f"cannot translate subtitles into {language!r}: choose one of {', '.join(LANGUAGES)}")
    if profile.code == source_profile.code:
        raise ConfigError(f"the subtitles are already in {profile.name}: choose another language to translate into "
                          f"(one of {', '.join(c for c in LANGUAGES if c != profile.code)})")
    if batch_cues < 1 or context_cues < 0:
        raise ConfigError(f"batch_cues must be at least 1 and context_cues not negative (got {batch_cues}, "
                          f"{context_cues})")
    seed = get_settings().llm_seed if seed is None else seed
    load_prompt(PROMPT_TASK, profile.code)  # a missing template fails before any model call
    texts = [_cue_text(c, source_profile.code) for c in cues]
    out: list[CueTranslation] = []
    for start in range(0, len(cues), batch_cues):
        batch = [(k + 1, texts[k]) for k in range(start, min(start + batch_cues, len(cues)))]
        stop = start + len(batch)
        before, after = texts[max(0, start - context_cues):start], texts[stop:stop + context_cues]
        try:
            answers = _ask(backend, profile.code, source_profile.code, batch, before, after, seed=seed,
                           attempts=attempts)
        except LLMOutputError as exc:  # one bad batch holds its cues back; the rest of the track goes on
            log.warning("cues %d-%d not translated: %s", cues[start].index, cues[stop - 1].index, exc)
            out.extend(CueTranslation(cues[n - 1].index, source, "", f"the model gave no usable translation ({exc})")
                       for n, source in batch)
            continue
        for n, source in batch:
            k = n - 1
            text = " ".join(answers[n].split()) if profile.spaced else "".join(answers[n].split())
            if _wordless(text, source):
                # "..." (the prompt's placeholder), as models answer the second half of a sentence over two cues:
                # asked once more, alone and without context (given the cue before, the 1.5B model translated that
                # one again); nothing again, or a neighbour's translation, it shows nothing and the editor is told.
                log.info("cue %d: no translation of its own (%r): asked again, alone", cues[k].index, text)
                try:
                    again = _ask(backend, profile.code, source_profile.code, [(n, source)], (), (), seed=seed + 1,
                                 attempts=attempts, note=f"translate this line on its own into {profile.name}")
                    text = " ".join(again[n].split()) if profile.spaced else "".join(again[n].split())
                except LLMOutputError as exc:
                    log.warning("cue %d: no usable answer to the retry (%s)", cues[k].index, exc)
                if _wordless(text, source) or any(text == done.text for done in out[-1:]):
                    out.append(CueTranslation(cues[k].index, source, "", NO_OWN_TRANSLATION))
                    continue
            numbers, names = _problems(source, text, source_profile.code)
            if numbers or names:
                problem = "; ".join([*numbers, *names])
                log.info("cue %d translation sent back: %s", cues[k].index, problem)
                try:
                    again = _ask(backend, profile.code, source_profile.code, [(n, source)], texts[max(0, k - 1):k],
                                 texts[k + 1:k + 2], seed=seed + 1, attempts=attempts,
                                 note=f"{problem}: keep every number's value and every Latin name exactly")
                except LLMOutputError as exc:
                    log.warning("cue %d: no usable answer to the retry (%s)", cues[k].index, exc)
                    again = {n: text}
                retry = " ".join(again[n].split()) if profile.spaced else "".join(again[n].split())
                numbers2, names2 = _problems(source, retry, source_profile.code)
                if len(numbers2) + len(names2) <= len(numbers) + len(names):
                    text, numbers, names = retry, numbers2, names2
            held = "; ".join(numbers)
            if held:
                log.warning("cue %d: translation held back (%s): %r -> %r", cues[k].index, held, source, text)
            out.append(CueTranslation(cues[k].index, source, "" if held else text, held, tuple(names)))
        if progress:
            progress(stop / len(cues))
    model = f"{backend.name}+{load_prompt(PROMPT_TASK, profile.code).id}"
    return Translation(source_profile.code, profile.code, model, tuple(out))


__all__ = [
    "BATCH_CUES",
    "CONTEXT_CUES",
    "LANGUAGES",
    "CueTranslation",
    "Translation",
    "latin_names",
    "name_problems",
    "number_problems",
    "number_values",
    "translate_cues",
]
