"""Asking the model for JSON: one prompt, the answer parsed and validated, a bad answer sent back with its
problem, at most `attempts` answers in all, then `LLMOutputError`.

The answer is parsed with `json.loads(strict=False)` semantics (code fences and words around the object
tolerated) and validated with the pydantic model that also gives the backend its JSON schema; an optional
`check` (e.g. the draft's language) may refuse a valid object with a message for the model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from newsroom.llm.backends import LLMBackend
from newsroom.llm.errors import LLMOutputError
from newsroom.llm.prompts import PromptTemplate
from newsroom.llm.schema import json_schema

log = logging.getLogger("newsroom.llm")

MAX_ATTEMPTS = 3
RETRY_TEMPERATURE = 0.4  # retries sample (seeded, so still reproducible) instead of repeating a greedy failure
SAFETY_TOKENS = 96  # chat-template tokens and estimate error, left free in every prompt's budget

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
    and small models copy it) and `strict=True` (schema-constrained where `backend.capabilities` says so); from the third
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
            usage = backend.last_usage
            finish = usage.finish_reason if usage is not None else None
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
