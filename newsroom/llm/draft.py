"""Grounded news drafts: transcript in, `Draft` out, every published quote verified against the transcript.

`write_draft(transcript, backend)`:
1. refuses what it cannot write about honestly: a language without prompts (`ConfigError`), an empty or
   near-empty transcript (`EmptyTranscriptError`) - it never invents a story;
2. short transcripts go to the model whole; long ones are summarised chunk by chunk (split at segment
   boundaries into pieces that fit the context) into factual notes plus candidate quotes that are
   verified on the spot, and the draft is written from the notes - nothing is truncated;
3. the model's answer is parsed (`json.loads(strict=False)` semantics, code fences tolerated), validated
   with pydantic and checked for language; a bad answer is sent back with the error appended, at most
   `attempts` times in all, then `LLMOutputError`;
4. quotes are verified verbatim (`newsroom.llm.quotes`) with their time spans; failures are dropped and
   listed, never published; speakers the transcript never names are removed; numbers the transcript does
   not contain and length targets that were missed are reported in `Draft.warnings`.
Decoding is greedy (temperature 0) and seeded, so the same transcript and model give the same draft.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from newsroom import lang
from newsroom.config import get_settings
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile
from newsroom.llm.backends import DEFAULT_CONTEXT_TOKENS, LLMBackend
from newsroom.llm.errors import EmptyTranscriptError, LLMError, LLMOutputError
from newsroom.llm.prompts import PromptTemplate, load_prompt
from newsroom.llm.quotes import (
    Quote,
    TranscriptIndex,
    check_quotes,
    cjk_count,
    compact,
    normalise,
)
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

SUPPORTED_LANGUAGES = lang.CODES  # every language profile has its prompt templates
MAX_ATTEMPTS = 3
DRAFT_MAX_TOKENS = 1400  # a full draft is ~700-1000 tokens in either language
NOTES_MAX_TOKENS = 700
SAFETY_TOKENS = 96  # chat-template tokens and estimate error
MIN_CHUNK_TOKENS = 256
MAX_CHUNK_TOKENS = 3000  # small models take better notes from shorter parts
MAX_REDUCE_ROUNDS = 3
MAX_QUOTES = 5
MAX_KEYWORDS = 8
RETRY_TEMPERATURE = 0.4  # retries sample (seeded, so still reproducible) instead of repeating a greedy failure
MAX_NOTE_QUOTES = 10
# Per language (the profile's `draft` rules): the least content worth a story, length targets in words or
# characters, the anchor's reading speed, the headings of long-transcript notes, invented greetings.


# --------------------------------------------------------------------------- what the model must return

_NULL_SPEAKERS = {"", "null", "none", "unknown", "n/a", "na", "unnamed", "无", "未知", "不详"}


class QuoteCandidate(BaseModel):
    """A quote as the model proposes it (unverified)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: str = Field(min_length=1, description="copied word for word from the source")
    speaker: str | None = Field(None, description="the name the source gives, or null")

    @model_validator(mode="before")
    @classmethod
    def _bare_string(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("speaker", mode="before")
    @classmethod
    def _no_speaker(cls, value: Any) -> Any:
        if value is None:
            return None
        value = str(value).strip()
        return None if value.casefold() in _NULL_SPEAKERS else value


def _as_list(value: Any) -> Any:
    if isinstance(value, str):  # "a, b, c" or "a、b、c"
        value = re.split(r"[,;，、；]", value)
    if isinstance(value, list):
        seen: dict[str, str] = {}
        for item in value:
            item = str(item).strip()
            if item and item.casefold() not in seen:
                seen[item.casefold()] = item
        return list(seen.values())
    return value


class DraftOutput(BaseModel):
    """The JSON object the draft prompt asks for."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    headline: str = Field(min_length=3)
    lede: str = Field(min_length=8)
    body: str = Field(min_length=40)
    summary: str = Field(min_length=8)
    # More than MAX_KEYWORDS keywords or MAX_QUOTES quotes is not worth a new answer: the extra ones are cut
    # (with a warning) after verification; the schema still tells constrained decoders the limits.
    keywords: list[str] = Field(min_length=3, json_schema_extra={"maxItems": MAX_KEYWORDS})
    anchor_script: str = Field(min_length=20)
    quotes: list[QuoteCandidate] = Field(json_schema_extra={"maxItems": MAX_QUOTES})

    @field_validator("keywords", mode="before")
    @classmethod
    def _keyword_list(cls, value: Any) -> Any:
        return _as_list(value)


class NotesOutput(BaseModel):
    """The JSON object the summarise prompt asks for."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    facts: list[str] = Field(min_length=1, json_schema_extra={"maxItems": 15})
    quotes: list[QuoteCandidate] = Field(json_schema_extra={"maxItems": MAX_QUOTES})

    @field_validator("facts", mode="before")
    @classmethod
    def _fact_list(cls, value: Any) -> Any:
        return _as_list(value)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, inlined (no $ref), every property required, no titles and no string
    length bounds (a `maxLength` crashed llama.cpp's server; lengths are checked after parsing)."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return clean(defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {k: clean(v) for k, v in node.items() if k not in ("title", "default", "minLength", "maxLength")}
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
        return out

    return clean(raw)


# --------------------------------------------------------------------------- the draft


@dataclass(frozen=True, slots=True)
class Draft:
    language: str
    headline: str
    lede: str
    body: str
    summary: str
    keywords: tuple[str, ...]
    anchor_script: str
    quotes: tuple[Quote, ...]
    dropped_quotes: tuple[str, ...]
    model: str  # backend + model + prompt template versions, e.g. "...@gguf-q4_k_m-1+draft.v1.en"
    warnings: tuple[str, ...] = field(default=())  # grounding checks for the editor (not in to_dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "lede": self.lede,
            "body": self.body,
            "summary": self.summary,
            "keywords": list(self.keywords),
            "anchor_script": self.anchor_script,
            "quotes": [q.to_dict() for q in self.quotes],
            "dropped_quotes": list(self.dropped_quotes),
            "model": self.model,
            "language": self.language,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], warnings: Sequence[str] = ()) -> Draft:
        return cls(
            language=data["language"],
            headline=data["headline"],
            lede=data["lede"],
            body=data["body"],
            summary=data["summary"],
            keywords=tuple(data["keywords"]),
            anchor_script=data["anchor_script"],
            quotes=tuple(Quote(q["text"], q.get("speaker"), float(q["start_s"]), float(q["end_s"]))
                         for q in data["quotes"]),
            dropped_quotes=tuple(data.get("dropped_quotes", ())),
            model=data["model"],
            warnings=tuple(warnings),
        )

    @property
    def anchor_seconds(self) -> float:
        """Estimated reading time of the anchor script."""
        profile = lang.profile(self.language)
        return _size(self.anchor_script, profile) / profile.draft.units_per_s

    def to_markdown(self) -> str:
        lines = [f"# {self.headline}", "", f"**{self.lede}**", "", self.body, "", "## Summary", "", self.summary,
                 "", f"**Keywords:** {', '.join(self.keywords)}", "",
                 f"## Anchor script (about {self.anchor_seconds:.0f} s)", "", self.anchor_script, "",
                 "## Quotes (verified verbatim against the transcript)", ""]
        if self.quotes:
            for q in self.quotes:
                who = f" - {q.speaker}" if q.speaker else " - (speaker not named)"
                lines.append(f"- \"{q.text}\"{who} [verified, {_clock(q.start_s)}-{_clock(q.end_s)}]")
        else:
            lines.append("- none")
        if self.dropped_quotes:
            lines += ["", "## Dropped quotes - NOT published (not found verbatim in the transcript)", ""]
            lines += [f"- ~~\"{text}\"~~ NOT PUBLISHED" for text in self.dropped_quotes]
        if self.warnings:
            lines += ["", "## Checks for the editor", ""]
            lines += [f"- {w}" for w in self.warnings]
        lines += ["", "---", f"Written by {self.model}; language {self.language}.", ""]
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


# --------------------------------------------------------------------------- asking the model

M = TypeVar("M", bound=BaseModel)
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json(reply: str) -> dict[str, Any]:
    """The JSON object in a reply: bare, inside a ``` fence, or after some words. Control characters
    inside strings are allowed (`strict=False`). Raises ValueError with a message for the model."""
    text = reply.strip()
    fenced = _FENCE_RE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    start = text.find("{")
    if start == -1:
        raise ValueError("the answer contains no JSON object")
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(value, dict):
        raise ValueError("the answer must be a JSON object")
    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors()[:6]:
            where = ".".join(str(p) for p in error["loc"]) or "object"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return str(exc)


def ask_json(
    backend: LLMBackend,
    prompt: PromptTemplate,
    output: type[M],
    values: dict[str, object],
    *,
    max_tokens: int,
    seed: int,
    temperature: float = 0.0,
    attempts: int = MAX_ATTEMPTS,
    check: Callable[[M], None] | None = None,
) -> M:
    """Ask for JSON matching `output`; at most `attempts` answers in all. On a bad answer, ask again with
    the problem appended to the prompt (the bad answer itself is not sent back: it would cost prefill time
    and small models copy it) and `strict=True` (schema-constrained where the backend can); from the third
    attempt on, sample at RETRY_TEMPERATURE with seed+2, seed+3... so a retry is not a repeat of a greedy
    failure, yet stays reproducible."""
    messages = prompt.messages(**values)
    schema = json_schema(output)
    conversation = messages
    problem = ""
    for attempt in range(1, attempts + 1):
        reply = backend.complete(conversation, schema=schema, max_tokens=max_tokens, seed=seed + attempt - 1,
                                 temperature=temperature if attempt <= 2 else max(temperature, RETRY_TEMPERATURE),
                                 strict=attempt > 1, stable_prefix=prompt.stable_prefix())
        try:
            result = output.model_validate(parse_json(reply))
            if check is not None:
                check(result)
            return result
        except ValueError as exc:  # JSON errors and pydantic's ValidationError
            problem = _describe(exc)
            finish = getattr(getattr(backend, "last_usage", None), "finish_reason", None)
            if finish == "length":
                problem += f" (the answer was cut off after {max_tokens} tokens: keep within the lengths asked)"
            elif finish == "repetition":
                problem += " (the answer kept repeating the same words: never repeat an item)"
            log.warning("%s: unusable %s answer (attempt %d/%d): %s", backend.name, prompt.id, attempt,
                        attempts, problem)
            retry = prompt.retry_message(problem)["content"]
            conversation = [*messages[:-1], {"role": "user", "content": f"{messages[-1]['content']}\n\n{retry}"}]
    raise LLMOutputError(
        f"{backend.name} gave no usable answer to {prompt.id} in {attempts} attempts (last problem: {problem}); "
        "try the larger model (NEWSROOM_LLM_MODEL=qwen2.5-1.5b-instruct) or an OpenAI-compatible endpoint"
    )


_PLACEHOLDER_RE = re.compile(r"\[[^\]]{1,40}\]|<[^>]{1,40}>|\{[^}]{1,40}\}|【[^】]{1,20}】")


def _language_check(profile: LanguageProfile) -> Callable[[DraftOutput], None]:
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


# --------------------------------------------------------------------------- long transcripts


def _token_counter(backend: LLMBackend) -> Callable[[str], int]:
    counter = getattr(backend, "count_tokens", None)
    if callable(counter):
        return counter

    def estimate(text: str) -> int:  # conservative: ~3 characters a token, 1 a token for CJK
        cjk = cjk_count(text)
        return cjk + (len(text) - cjk) // 3 + 1

    return estimate


def split_chunks(pieces: Sequence[str], budget_tokens: int, count: Callable[[str], int], joiner: str) -> list[str]:
    """Consecutive pieces (segment texts) joined into chunks of at most `budget_tokens`; a piece larger
    than the budget is cut between words (or characters, for Chinese). Every piece lands in a chunk."""
    units: list[str] = []
    for piece in pieces:
        if count(piece) <= budget_tokens:
            units.append(piece)
            continue
        words = piece.split() if joiner else list(piece)
        part: list[str] = []
        for word in words:
            if part and count(joiner.join([*part, word])) > budget_tokens:
                units.append(joiner.join(part))
                part = []
            part.append(word)
        if part:
            units.append(joiner.join(part))
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for unit in units:
        size = count(unit) + 1
        if current and used + size > budget_tokens:
            chunks.append(joiner.join(current))
            current, used = [], 0
        current.append(unit)
        used += size
    if current:
        chunks.append(joiner.join(current))
    return chunks


def _render_notes(facts: Sequence[str], quotes: Sequence[Quote], profile: LanguageProfile) -> str:
    facts_label, quotes_label = profile.draft.notes_labels
    lines = [f"{facts_label}:"] + [f"- {f}" for f in facts]
    if quotes:
        lines += ["", f"{quotes_label}:"]
        lines += [f"- \"{q.text}\"" + (f" ({q.speaker})" if q.speaker else "") for q in quotes]
    return "\n".join(lines)


# --------------------------------------------------------------------------- grounding checks

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


def _size(text: str, profile: LanguageProfile) -> int:
    """Length in the profile's unit: words, or characters (punctuation and spaces left out)."""
    return len(text.split()) if profile.spaced else len(compact(text))


# --------------------------------------------------------------------------- the entry point


def write_draft(
    transcript: Transcript,
    backend: LLMBackend,
    *,
    seed: int | None = None,
    max_tokens: int = DRAFT_MAX_TOKENS,
    notes_max_tokens: int = NOTES_MAX_TOKENS,
    context_tokens: int | None = None,
    attempts: int = MAX_ATTEMPTS,
    temperature: float = 0.0,
    progress: Callable[[float], None] | None = None,
) -> Draft:
    """A draft in the transcript's language, grounded in it. See the module docstring."""
    language = transcript.language
    profile = lang.find(language)
    if profile is None:
        raise ConfigError(f"news drafts can be written in {', '.join(SUPPORTED_LANGUAGES)}; this transcript is "
                          f"{language!r}: transcribe with --language {' or '.join(SUPPORTED_LANGUAGES)}")
    text = transcript.text.strip()
    size = _size(text, profile)
    if size == 0:
        raise EmptyTranscriptError("the transcript has no speech: nothing to write about (check that the clip "
                                   "has speech and the ASR language is right)")
    if size < profile.draft.min_content:
        raise EmptyTranscriptError(f"the transcript has only {size} {profile.unit} ({text!r}): too little "
                                   "to write a story about")
    seed = get_settings().llm_seed if seed is None else seed
    context = context_tokens or getattr(backend, "context_tokens", DEFAULT_CONTEXT_TOKENS)
    count = _token_counter(backend)
    index = TranscriptIndex(transcript)
    report = progress or (lambda _fraction: None)
    prompt = load_prompt("draft", profile.draft.prompt)
    used = [prompt.id]
    overhead = count("".join(m["content"] for m in prompt.messages(source="")))
    budget = context - max_tokens - overhead - SAFETY_TOKENS
    if budget < MIN_CHUNK_TOKENS:
        raise ConfigError(f"a context of {context} tokens leaves no room for the transcript with max_tokens="
                          f"{max_tokens}: raise NEWSROOM_LLM_CONTEXT_TOKENS")
    source = text
    if count(text) > budget:
        source, summarise_id = _notes(transcript, backend, index, count, context, budget, seed=seed,
                                      max_tokens=notes_max_tokens, attempts=attempts, temperature=temperature,
                                      report=report)
        used.insert(0, summarise_id)
    out = ask_json(backend, prompt, DraftOutput, {"source": source}, max_tokens=max_tokens, seed=seed,
                   temperature=temperature, attempts=attempts, check=_language_check(profile))
    report(1.0)
    return _ground(out, transcript, index, model=f"{backend.name}+{'+'.join(used)}")


def _notes(
    transcript: Transcript,
    backend: LLMBackend,
    index: TranscriptIndex,
    count: Callable[[str], int],
    context: int,
    draft_budget: int,
    *,
    seed: int,
    max_tokens: int,
    attempts: int,
    temperature: float,
    report: Callable[[float], None],
) -> tuple[str, str]:
    """Map-reduce: notes per chunk (quotes verified at once), re-summarised until they fit the draft prompt."""
    profile = lang.profile(transcript.language)
    prompt = load_prompt("summarise", profile.draft.prompt)
    overhead = count("".join(m["content"] for m in prompt.messages(source="", part=99, parts=99)))
    chunk_budget = min(context - max_tokens - overhead - SAFETY_TOKENS, MAX_CHUNK_TOKENS)
    if chunk_budget < MIN_CHUNK_TOKENS:
        raise ConfigError(f"a context of {context} tokens is too small to summarise the transcript in parts: "
                          "raise NEWSROOM_LLM_CONTEXT_TOKENS")
    joiner = profile.joiner
    pieces = [s.text.strip() for s in transcript.segments if s.text.strip()]
    quotes: list[Quote] = []
    for round_ in range(1, MAX_REDUCE_ROUNDS + 1):
        chunks = split_chunks(pieces, chunk_budget, count, joiner)
        log.info("summarising %s (round %d) in %d parts of <= %d tokens", transcript.language, round_, len(chunks),
                 chunk_budget)
        facts: list[str] = []
        for number, chunk in enumerate(chunks, 1):
            notes = ask_json(backend, prompt, NotesOutput, {"source": chunk, "part": number, "parts": len(chunks)},
                             max_tokens=max_tokens, seed=seed, temperature=temperature, attempts=attempts)
            facts.extend(notes.facts)
            if round_ == 1:  # later rounds read notes, not the transcript: their "quotes" are not quotes
                kept = [c.quote for c in check_quotes(notes.quotes, index) if c.quote is not None]
                quotes.extend(q for q in kept if all(compact(q.text) != compact(o.text) for o in quotes))
            report(0.8 * (round_ - 1 + number / len(chunks)) / MAX_REDUCE_ROUNDS)
        source = _render_notes(facts, quotes[:MAX_NOTE_QUOTES], profile)
        if count(source) <= draft_budget:
            return source, prompt.id
        pieces = facts
    raise LLMError(f"the notes on this transcript still exceed the context after {MAX_REDUCE_ROUNDS} rounds of "
                   "summarising: raise NEWSROOM_LLM_CONTEXT_TOKENS")


def _ground(out: DraftOutput, transcript: Transcript, index: TranscriptIndex, *, model: str) -> Draft:
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
        size = _size(value, profile)
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
