"""Grounded news drafts: transcript in, `Draft` out, every published quote verified against the transcript.

`write_draft(transcript, backend)`:
1. refuses what it cannot write about honestly: a language without prompts (`ConfigError`), an empty or
   near-empty transcript (`EmptyTranscriptError`) - it never invents a story;
2. short transcripts go to the model whole; long ones are summarised chunk by chunk (split at segment
   boundaries into pieces that fit the context) into factual notes plus candidate quotes that are
   verified on the spot, and the draft is written from the notes - nothing is truncated
   (`newsroom.llm.notes`);
3. the model's answer is parsed (`json.loads(strict=False)` semantics, code fences tolerated), validated
   with pydantic (`newsroom.llm.schema`) and checked for language; a bad answer is sent back with the error
   appended, at most `attempts` times in all, then `LLMOutputError` (`newsroom.llm.ask`);
4. quotes are verified verbatim (`newsroom.llm.quotes`) with their time spans; failures are dropped and
   listed, never published; speakers the transcript never names are removed; numbers the transcript does
   not contain and length targets that were missed are reported in `Draft.warnings`
   (`newsroom.llm.grounding`).
Decoding is greedy (temperature 0) and seeded, so the same transcript and model give the same draft.
"""

from __future__ import annotations

from collections.abc import Callable

from newsroom import lang
from newsroom.config import get_settings
from newsroom.errors import ConfigError
from newsroom.llm.ask import MAX_ATTEMPTS, RETRY_TEMPERATURE, SAFETY_TOKENS, ask_json, parse_json
from newsroom.llm.backends import LLMBackend
from newsroom.llm.errors import EmptyTranscriptError
from newsroom.llm.grounding import ground, language_check, stage_phrases, unknown_names, unsupported_numbers
from newsroom.llm.notes import MIN_CHUNK_TOKENS, NOTES_MAX_TOKENS, split_chunks, summarise
from newsroom.llm.prompts import load_prompt
from newsroom.llm.quotes import TranscriptIndex
from newsroom.llm.schema import (
    MAX_KEYWORDS,
    MAX_QUOTES,
    Draft,
    DraftOutput,
    NotesOutput,
    QuoteCandidate,
    json_schema,
    text_size,
)
from newsroom.types import Transcript

SUPPORTED_LANGUAGES = lang.CODES  # every language profile has its prompt templates
DRAFT_MAX_TOKENS = 1400  # a full draft is ~700-1000 tokens in either language
# Per language (the profile's `draft` rules): the least content worth a story, length targets in words or
# characters, the anchor's reading speed, the headings of long-transcript notes, invented greetings.


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
    size = text_size(text, profile)
    if size == 0:
        raise EmptyTranscriptError("the transcript has no speech: nothing to write about (check that the clip "
                                   "has speech and the ASR language is right)")
    if size < profile.draft.min_content:
        raise EmptyTranscriptError(f"the transcript has only {size} {profile.unit} ({text!r}): too little "
                                   "to write a story about")
    seed = get_settings().llm_seed if seed is None else seed
    context = context_tokens or backend.context_tokens
    count = backend.count_tokens
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
        source, summarise_id = summarise(transcript, backend, index, count, context, budget, seed=seed,
                                         max_tokens=notes_max_tokens, attempts=attempts, temperature=temperature,
                                         report=report)
        used.insert(0, summarise_id)
    out = ask_json(backend, prompt, DraftOutput, {"source": source}, max_tokens=max_tokens, seed=seed,
                   temperature=temperature, attempts=attempts, check=language_check(profile))
    report(1.0)
    return ground(out, transcript, index, model=f"{backend.name}+{'+'.join(used)}")


__all__ = [  # the draft's parts, importable from here as before the split
    "DRAFT_MAX_TOKENS",
    "MAX_ATTEMPTS",
    "MAX_KEYWORDS",
    "MAX_QUOTES",
    "NOTES_MAX_TOKENS",
    "RETRY_TEMPERATURE",
    "SUPPORTED_LANGUAGES",
    "Draft",
    "DraftOutput",
    "NotesOutput",
    "QuoteCandidate",
    "ask_json",
    "json_schema",
    "parse_json",
    "split_chunks",
    "stage_phrases",
    "unknown_names",
    "unsupported_numbers",
    "write_draft",
]
