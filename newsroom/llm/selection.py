"""Quotes are taken, not written: the model picks sentence ids, the code copies the words.

    quotes, notes, prompt_id = select_quotes(transcript, backend, seed=42)

1. The transcript's sentences are numbered (`newsroom.llm.sentences`) and its attributions read
   (`newsroom.llm.attribution`: "..., said X", "据X介绍，...", introductions of the next speaker).
2. The model sees every sentence as `[id] who: text` (who: the name the transcript gives, else the turn
   label "S2") and answers `{"quotes": [{"first": 4, "last": 5}]}` (`QuoteSelection`, prompt
   `quotes.v1.<language>`); a long transcript is shown in parts that fit the context, one call each.
3. Each pick becomes a `Quote` by `Attribution.take`: trimmed to quotable sentences of one speaker (no
   questions, greetings, introductions or a host's narration), at most 3 sentences, words and times
   copied from the transcript, the speaker's name from the transcript or None. A published quote is
   therefore verbatim by construction; `newsroom.llm.quotes.check_quotes` stays the safety net.
4. If the model picks fewer than MIN_QUOTES usable quotes (or gives no usable answer), the best remaining
   quotable sentences are added: said by a named speaker first, then in transcript order.
"""

from __future__ import annotations

import logging

from newsroom import lang
from newsroom.llm.ask import SAFETY_TOKENS, ask_json
from newsroom.llm.attribution import Attribution
from newsroom.llm.backends import LLMBackend
from newsroom.llm.errors import LLMOutputError
from newsroom.llm.prompts import load_prompt
from newsroom.llm.quotes import Quote
from newsroom.llm.schema import MAX_QUOTES, QuoteSelection
from newsroom.llm.sentences import Sentence, number_sentences
from newsroom.types import Transcript

log = logging.getLogger("newsroom.llm")

MIN_QUOTES = 2  # topped up from the quotable sentences when the model picks fewer
SELECT_MAX_TOKENS = 160  # {"quotes": [...]} with up to MAX_QUOTES spans is ~60 tokens


def _line(sentence: Sentence, attribution: Attribution) -> str:
    who = attribution.speaker_of(sentence) or sentence.speaker
    return f"[{sentence.id}] {who}: {sentence.text}" if who else f"[{sentence.id}] {sentence.text}"


def _parts(lines: list[str], budget: int, count) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    used = 0
    for line in lines:
        size = count(line) + 1
        if parts[-1] and used + size > budget:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += size
    return parts


def _overlaps(quote: Quote, chosen: list[Quote]) -> bool:
    return any(set(quote.sentences) & set(q.sentences) for q in chosen)


def select_quotes(
    transcript: Transcript,
    backend: LLMBackend,
    *,
    seed: int,
    attempts: int,
    temperature: float = 0.0,
    max_tokens: int = SELECT_MAX_TOKENS,
    context_tokens: int | None = None,
) -> tuple[list[Quote], list[str], str]:
    """(quotes in transcript order, notes for the editor, the prompt's id). See the module docstring."""
    profile = lang.profile(transcript.language)
    prompt = load_prompt("quotes", profile.draft.prompt)
    sentences = number_sentences(transcript)
    attribution = Attribution.of(sentences, transcript.language)
    quotable = [s for s in sentences if attribution.quotable(s)]
    if not quotable:
        return [], [], prompt.id
    count = backend.count_tokens
    context = context_tokens or backend.context_tokens
    overhead = count("".join(m["content"] for m in prompt.messages(sentences="")))
    budget = max(256, context - max_tokens - overhead - SAFETY_TOKENS)
    chosen: list[Quote] = []
    notes: list[str] = []
    for part in _parts([_line(s, attribution) for s in sentences], budget, count):
        ids = {int(line[1:line.index("]")]) for line in part}

        def check(answer: QuoteSelection, ids: set[int] = ids) -> None:
            if answer.quotes and not any(p.first in ids and attribution.take(p.first, max(p.first, p.last))
                                         for p in answer.quotes):
                raise ValueError(f"choose quotes by the numbers in the list ({min(ids)} to {max(ids)}), sentences "
                                 "people in the story say, not questions, greetings or introductions")

        try:
            answer = ask_json(backend, prompt, QuoteSelection, {"sentences": "\n".join(part)}, max_tokens=max_tokens,
                              seed=seed, temperature=temperature, attempts=attempts, check=check)
        except LLMOutputError as exc:
            notes.append(f"quote selection gave no usable answer ({exc}); quotes ranked by the pipeline")
            continue
        for pick in answer.quotes:
            quote = attribution.take(pick.first, max(pick.first, pick.last)) if pick.first in ids else None
            if quote is None:
                log.info("quote pick %d-%d is not quotable: skipped", pick.first, pick.last)
            elif not _overlaps(quote, chosen):
                chosen.append(quote)
    if len(chosen) < MIN_QUOTES:
        ranked = sorted(quotable, key=lambda s: (attribution.speaker_of(s) is None, s.id not in attribution.reports,
                                                 s.id))
        for sentence in ranked:
            if len(chosen) >= MIN_QUOTES:
                break
            quote = attribution.take(sentence.id, sentence.id)
            if quote is not None and not _overlaps(quote, chosen):
                log.info("quote added from the ranked sentences: [%d] %s", sentence.id, quote.text)
                chosen.append(quote)
    chosen.sort(key=lambda q: q.start_s)
    return chosen[:MAX_QUOTES], notes, prompt.id
