"""Grounded news drafts: transcript in, `Draft` out, every published quote verified against the transcript.

`write_draft(transcript, backend)`:
1. refuses what it cannot write about honestly: a language without prompts (`ConfigError`), an empty or
   near-empty transcript (`EmptyTranscriptError`) - it never invents a story;
2. short transcripts go to the model whole; long ones are summarised chunk by chunk (split at segment
   boundaries into pieces that fit the context) into factual notes plus candidate quotes that are
   verified on the spot, and the draft is written from the notes - nothing is truncated
   (`newsroom.llm.notes`);
3. the model's answer is decoded under the draft schema's grammar where the backend can constrain it
   (llama-cpp: always, at free-decoding speed, `newsroom.llm.backends.grammar`; an OpenAI-compatible server:
   `response_format`), parsed (`json.loads(strict=False)` semantics, code fences tolerated), validated with
   pydantic (`newsroom.llm.schema`) and checked for language; a bad answer is sent back with the error
   appended, at most `attempts` times in all, then `LLMOutputError` (`newsroom.llm.ask`); the prompt asks
   for body and anchor-script lengths scaled to the transcript's own length (`DraftRules.targets`);
4. the desk's edit (`newsroom.llm.desk.desk`): the profile's style enforced in code (headline length
   and no dateline formula, a spoken anchor script without labels, markdown or stage directions, bodies cut
   at a sentence end), every number, name, place, organisation and date checked against the transcript,
   what breaks a rule rewritten in one repair call, else dropped or flagged; words Whisper was unsure of
   that the draft repeats flagged;
5. quotes are taken, not written: the model picks transcript sentences by id in a second, small call and
   the code copies their words, times and speaker (`newsroom.llm.selection`); they are still verified
   verbatim (`newsroom.llm.quotes`) as a safety net; every check's findings are in `Draft.warnings`
   (`newsroom.llm.grounding.ground`).
Decoding is greedy (temperature 0) and seeded, so the same transcript and model give the same draft.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from newsroom import lang
from newsroom.config import get_settings
from newsroom.errors import ConfigError
from newsroom.llm.ask import MAX_ATTEMPTS, RETRY_TEMPERATURE, SAFETY_TOKENS, ask_json, parse_json
from newsroom.llm.backends import LLMBackend
from newsroom.llm.desk import desk
from newsroom.llm.errors import EmptyTranscriptError
from newsroom.llm.grounding import (
    flag_mishearings,
    ground,
    language_check,
    stage_phrases,
    unknown_names,
    unsupported_numbers,
)
from newsroom.llm.notes import MIN_CHUNK_TOKENS, NOTES_MAX_TOKENS, split_chunks, summarise
from newsroom.llm.prompts import TASK_VERSIONS, load_prompt
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
from newsroom.llm.selection import select_quotes
from newsroom.types import Transcript

SUPPORTED_LANGUAGES = lang.CODES  # every language profile has its prompt templates
DRAFT_MAX_TOKENS = 1400  # a full draft is ~700-1000 tokens in either language
DRAFT_PROMPT_VERSION = TASK_VERSIONS["draft"]  # v2: no quotes; the desk's style and lengths from the transcript's
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
    known_terms: Sequence[str] = (),
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
    prompt = load_prompt("draft", profile.draft.prompt, DRAFT_PROMPT_VERSION)
    used = [prompt.id]
    (body_min, body_max), (anchor_min, anchor_max) = profile.draft.targets(size)
    lengths = {"body_min": body_min, "body_max": body_max, "anchor_min": anchor_min, "anchor_max": anchor_max}
    overhead = count("".join(m["content"] for m in prompt.messages(source="", **lengths)))
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
    out = ask_json(backend, prompt, DraftOutput, {"source": source, **lengths}, max_tokens=max_tokens, seed=seed,
                   temperature=temperature, attempts=attempts, check=language_check(profile))
    report(0.8)
    edited = desk(out, transcript, backend, source, seed=seed)
    if edited.repair_calls:
        used.append(load_prompt("repair", profile.draft.prompt).id)
    report(0.9)
    quotes, notes, quotes_id = select_quotes(transcript, backend, seed=seed, attempts=attempts,
                                             temperature=temperature, context_tokens=context)
    used.append(quotes_id)
    report(1.0)
    draft = ground(edited.out, transcript, index, model=f"{backend.name}+{'+'.join(used)}", checks=edited.warnings,
                   quotes=quotes)
    if notes:
        draft = replace(draft, warnings=(*notes, *draft.warnings))
    return flag_mishearings(draft, transcript, known_terms)


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
