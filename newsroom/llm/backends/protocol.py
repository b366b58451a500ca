"""What every LLM backend is: `complete(messages) -> text`, plus declared capabilities.

`LLMBackend.complete(messages, ...)` is the one method that does the work: chat messages in, the raw reply
text out. Parsing and validating that text is the caller's job (`newsroom.llm.ask`), so every backend gets
the same checks and retries. What differs between backends is declared, never probed: `capabilities`
(an exact tokenizer, when the reply is constrained to the schema, whether a stable prompt prefix's state is
kept), `context_tokens`, `count_tokens` (exact or estimated, as declared) and `last_usage` (what the last
call cost and why it stopped).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from newsroom.llm.quotes import cjk_count

Message = dict[str, str]
DEFAULT_CONTEXT_TOKENS = 8192
USAGE_LOG_CALLS = 256  # backends keep the usage of this many latest calls (`usage_log`: retries per draft)
# When a backend constrains the reply to the JSON schema passed to `complete`: never (the caller's validation
# and retries are the guarantee), only on calls with strict=True (retries), or on every call.
SchemaConstraint = Literal["never", "strict", "always"]
# How the schema reaches the decoder: a GBNF grammar built from it here (llama-cpp), OpenAI's structured-output
# `response_format` {"type": "json_schema", ...} (OpenAI, vLLM, recent llama.cpp servers), llama.cpp server's
# older {"type": "json_object", "schema": ...}, or not at all (validation and retries only).
ResponseFormat = Literal["grammar", "json_schema", "json_object", "none"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do beyond returning text, declared so that callers never probe for it."""

    exact_token_count: bool = False  # count_tokens() runs the model's own tokenizer; else `estimate_tokens`
    schema_constraint: SchemaConstraint = "never"  # when the reply is held to `schema` while decoding
    prefix_state: bool = False  # the stable prefix's evaluated state is kept between calls (newsroom.llm.prefix)
    response_format: ResponseFormat = "none"  # how `schema` is passed on when it constrains the reply


@dataclass(frozen=True, slots=True)
class Usage:
    """What the last call cost (for logs and benchmarks)."""

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None  # "stop", "length" (max_tokens reached), "repetition" (a loop cut short)


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that turns chat messages into a reply. `name` ends up in `Draft.model`."""

    name: str
    context_tokens: int  # prompt and reply together

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do (an attribute or a property)."""
        ...

    @property
    def last_usage(self) -> Usage | None:
        """What the last call to `complete` cost and why it stopped; None before the first."""
        ...

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        seed: int = 42,
        temperature: float = 0.0,
        strict: bool = False,
        stable_prefix: list[Message] | None = None,
    ) -> str:
        """The raw reply text. `schema` is the JSON schema the reply should follow: a hint or a constraint,
        depending on the backend (`capabilities.schema_constraint`); `strict=True` asks backends that can
        enforce it to do so (the caller uses it for retries). The caller validates the text either way.
        `stable_prefix` is the start of `messages` that every call with this prompt shares (the last message's
        content cut where the variable part begins): a backend may keep its state between calls
        (`capabilities.prefix_state`; llama-cpp does, see newsroom.llm.prefix)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in `text`: exact where `capabilities.exact_token_count`, else `estimate_tokens(text)`."""
        ...


class UsageLog:
    """What every backend keeps of its calls, for its callers: `last_usage` (the protocol's) and `usage_log`,
    the latest USAGE_LOG_CALLS calls, oldest first (retries per draft). A backend calls `_record` once a call
    has finished."""

    def __init__(self) -> None:
        self.last_usage: Usage | None = None
        self.usage_log: deque[Usage] = deque(maxlen=USAGE_LOG_CALLS)  # the latest calls, oldest first

    def _record(self, usage: Usage) -> None:
        self.last_usage = usage
        self.usage_log.append(usage)


def estimate_tokens(text: str) -> int:
    """A conservative token count without a tokenizer: ~3 characters a token, 1 a token for CJK."""
    cjk = cjk_count(text)
    return cjk + (len(text) - cjk) // 3 + 1
