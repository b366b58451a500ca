"""Long transcripts: notes instead of truncation.

A transcript too long for the draft prompt is split at segment boundaries into parts that fit the context
(`split_chunks`); each part is summarised into factual notes and candidate quotes, the quotes verified on
the spot against the transcript; the notes are summarised again (map-reduce, at most MAX_REDUCE_ROUNDS
rounds) until they fit, and the draft is written from them. Nothing is cut off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from newsroom import lang
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile
from newsroom.llm.ask import SAFETY_TOKENS, ask_json
from newsroom.llm.backends import LLMBackend
from newsroom.llm.errors import LLMError
from newsroom.llm.prompts import load_prompt
from newsroom.llm.quotes import Quote, TranscriptIndex, check_quotes, compact
from newsroom.llm.schema import NotesOutput
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

NOTES_MAX_TOKENS = 700
MIN_CHUNK_TOKENS = 256
MAX_CHUNK_TOKENS = 3000  # small models take better notes from shorter parts
MAX_REDUCE_ROUNDS = 3
MAX_NOTE_QUOTES = 10


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


def render_notes(facts: Sequence[str], quotes: Sequence[Quote], profile: LanguageProfile) -> str:
    facts_label, quotes_label = profile.draft.notes_labels
    lines = [f"{facts_label}:"] + [f"- {f}" for f in facts]
    if quotes:
        lines += ["", f"{quotes_label}:"]
        lines += [f"- \"{q.text}\"" + (f" ({q.speaker})" if q.speaker else "") for q in quotes]
    return "\n".join(lines)


def summarise(
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
    """Map-reduce: notes per chunk (quotes verified at once), re-summarised until they fit the draft prompt.
    Returns the notes (the draft prompt's source) and the summarise prompt's id."""
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
        source = render_notes(facts, quotes[:MAX_NOTE_QUOTES], profile)
        if count(source) <= draft_budget:
            return source, prompt.id
        pieces = facts
    raise LLMError(f"the notes on this transcript still exceed the context after {MAX_REDUCE_ROUNDS} rounds of "
                   "summarising: raise NEWSROOM_LLM_CONTEXT_TOKENS")

