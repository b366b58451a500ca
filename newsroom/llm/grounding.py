"""Grounding: what the draft may say is held to what the transcript says.

Two kinds of checks:
- `language_check`: refuses an answer (it is sent back to the model, `newsroom.llm.ask`) that is not in the
  transcript's language or carries template placeholders;
- `ground`: turns a valid answer into a `Draft`: quotes verified verbatim (`newsroom.llm.quotes`) with their
  time spans, failures dropped and listed, never published; speakers the transcript never names removed;
  numbers and names the transcript does not contain, invented greetings and missed length targets
  reported in `Draft.warnings` for the editor.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence

from newsroom import lang
from newsroom.lang import LanguageProfile
from newsroom.llm.quotes import Quote, TranscriptIndex, check_quotes, compact, normalise
from newsroom.llm.schema import MAX_KEYWORDS, MAX_QUOTES, Draft, DraftOutput, text_size
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

# --------------------------------------------------------------------------- checks that send an answer back

_PLACEHOLDER_RE = re.compile(r"\[[^\]]{1,40}\]|<[^>]{1,40}>|\{[^}]{1,40}\}|【[^】]{1,20}】")


def language_check(profile: LanguageProfile) -> Callable[[DraftOutput], None]:
    """A check for `ask_json`: the prose is in the profile's script (its share of letters in range), with no
    placeholders such as [name] or <date>; ValueError with a message for the model otherwise."""
    rules = profile.draft

    def check(out: DraftOutput) -> None:
        for name in ("headline", "lede", "body", "summary", "anchor_script"):
            placeholder = _PLACEHOLDER_RE.search(getattr(out, name))
            if placeholder:
                raise ValueError(f"{name} contains the placeholder {placeholder.group()!r}: write only what the "
                                 "source says, with no placeholders")
        prose = f"{out.headline} {out.lede} {out.body}"
        letters = len(compact(prose)) or 1
        share = rules.script.count(prose) / letters
        low, high = rules.script_share
        if not low <= share <= high or (rules.headline_in_script and not rules.script.search(out.headline)):
            raise ValueError(f"the draft must be written in {rules.written_as}, like the source")

    return check


# --------------------------------------------------------------------------- checks that warn the editor

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


def _digits(text: str) -> set[str]:
    text = unicodedata.normalize("NFKC", text)
    out = set()
    for match in _NUMBER_RE.finditer(text):
        value = match.group().replace(",", "")
        out.add(value.rstrip(".").removesuffix(".0") if "." in value else value.lstrip("0") or "0")
    return out


def _numbers_in_transcript(text: str) -> set[str]:
    """Digits, and numbers written in words or numerals of any language profile."""
    found = _digits(text)
    words = normalise(text).split()
    for profile in lang.PROFILES.values():
        numbers = profile.numbers
        found.update(str(numbers.words[w]) for w in words if w in numbers.words)
        if numbers.numeral_run is not None:
            for run in numbers.numeral_run.findall(text):
                found.add(str(numbers.numeral_value(run)))
                found.update(str(numbers.numerals[c]) for c in run if c in numbers.numerals)
    return found


def unsupported_numbers(texts: Sequence[str], transcript_text: str) -> list[str]:
    """Numbers written in `texts` that the transcript does not contain (as digits or number words)."""
    known = _numbers_in_transcript(transcript_text)
    missing: dict[str, None] = {}
    for text in texts:
        for number in sorted(_digits(text)):
            if number not in known:
                missing[number] = None
    return list(missing)


def _speaker_named(speaker: str, index: TranscriptIndex, vocabulary: set[str]) -> bool:
    if not index.spaced:
        return index.contains(speaker)
    names = [normalise(w) for w in speaker.split() if w[:1].isupper()] or normalise(speaker).split()
    return all(all(part in vocabulary for part in name.split()) for name in names if name)


_NOT_NAMES = {"i", "the", "a", "an", "in", "on", "at", "and", "but", "or", "as", "for", "of", "to", "this", "that",
              "these", "those", "it", "its", "he", "she", "they", "we", "our", "his", "her", "their", "mr", "ms",
              "mrs", "dr", "said", "says"}


def stage_phrases(anchor_script: str, transcript_text: str, language: str) -> list[str]:
    """Greetings and sign-offs in the anchor script that the transcript does not have (invented framing)."""
    profile = lang.profile(language)
    fold = normalise if profile.spaced else compact
    script, source = fold(anchor_script), fold(transcript_text)
    if profile.spaced:
        script, source = f" {script} ", f" {source} "
    found = []
    for phrase in profile.draft.stage_phrases:
        key = f" {fold(phrase)} " if profile.spaced else fold(phrase)
        if key in script and key not in source:
            found.append(phrase)
    return found


def unknown_names(texts: Sequence[str], vocabulary: set[str]) -> list[str]:
    """Capitalised words (not opening a sentence) that the transcript never uses: invented names/places.
    Title-case lines (headlines) are skipped; plural/singular forms of transcript words count as known."""
    found: dict[str, None] = {}
    for text in texts:
        for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", text):
            words = re.findall(r"[A-Za-z][A-Za-z'’.-]*", sentence)
            if len(words) > 3 and sum(w[0].isupper() for w in words) >= 0.6 * len(words):
                continue  # Title Case
            for word in words[1:]:
                key = normalise(word)
                if not word[0].isupper() or not key or key in _NOT_NAMES:
                    continue
                if not {key, f"{key}s", f"{key}es", key.removesuffix("s"), key.removesuffix("es")} & vocabulary:
                    found[word.rstrip(".")] = None
    return list(found)


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?。！？])\s*", text.strip()) if compact(s)])


def ground(out: DraftOutput, transcript: Transcript, index: TranscriptIndex, *, model: str) -> Draft:
    """The `Draft` of a valid answer: quotes verified, unnamed speakers removed, limits applied, the
    checks' findings in `warnings` (logged too)."""
    language = transcript.language
    profile = lang.profile(language)
    warnings: list[str] = []
    checks = check_quotes(out.quotes, index)
    vocabulary = set(normalise(transcript.text).split())
    kept: list[Quote] = []
    for check in checks:
        if check.quote is None:
            warnings.append(f"quote dropped, {check.reason}: \"{check.text}\"")
            continue
        quote = check.quote
        if quote.speaker and not _speaker_named(quote.speaker, index, vocabulary):
            warnings.append(f"speaker {quote.speaker!r} is not named in the transcript: removed from \"{quote.text}\"")
            quote = Quote(quote.text, None, quote.start_s, quote.end_s)
        kept.append(quote)
    if len(kept) > MAX_QUOTES:
        warnings.append(f"{len(kept)} verified quotes: published the first {MAX_QUOTES}")
        kept = kept[:MAX_QUOTES]
    keywords = out.keywords
    if len(keywords) > MAX_KEYWORDS:
        warnings.append(f"{len(keywords)} keywords: kept the first {MAX_KEYWORDS}")
        keywords = keywords[:MAX_KEYWORDS]
    if len(kept) < 3:
        warnings.append(f"only {len(kept)} verified quote(s) (target 3-5)")
    prose = [out.headline, out.lede, out.body, out.summary, out.anchor_script]
    missing = unsupported_numbers(prose, transcript.text)
    if missing:
        warnings.append(f"numbers not in the transcript: {', '.join(missing)} - check them against the source")
    if profile.draft.check_names:
        # Keywords are a list, not sentences: every capitalised word in them counts.
        names = unknown_names([*prose, *(f"x {k}" for k in keywords)], vocabulary)
        if names:
            warnings.append(f"names not in the transcript: {', '.join(names)} - check them against the source")
    framing = stage_phrases(out.anchor_script, transcript.text, language)
    if framing:
        warnings.append(f"anchor_script adds greetings/sign-offs the story does not have: {', '.join(framing)}")
    targets = profile.draft
    for name, value, (low, high) in (("body", out.body, targets.body), ("anchor_script", out.anchor_script,
                                                                         targets.anchor)):
        size = text_size(value, profile)
        if not low <= size <= high:
            warnings.append(f"{name} has {size} {profile.unit} (target {low}-{high})")
    if _sentences(out.summary) != 2:
        warnings.append(f"summary has {_sentences(out.summary)} sentence(s) (target 2)")
    for warning in warnings:
        log.info("draft check: %s", warning)
    return Draft(
        language=language,
        headline=out.headline,
        lede=out.lede,
        body=out.body,
        summary=out.summary,
        keywords=tuple(keywords),
        anchor_script=out.anchor_script,
        quotes=tuple(kept),
        dropped_quotes=tuple(c.text for c in checks if c.quote is None),
        model=model,
        warnings=tuple(warnings),
    )
