"""`LlamaCppBackend`: the packaged GGUF (resolved and checksummed by the model registry) run by
llama-cpp-python on the CPU. Load once, call many.

JSON decoding on llama-cpp: every call is held to the JSON schema the caller passes (`json_mode="grammar"`,
the default): llama-cpp-python turns the schema (derived from the pydantic answer model, so a schema change
flows into the grammar) into a GBNF grammar, and the answer parses at the first try. llama-cpp-python's
own sampler chain checks the grammar against all 151,936 entries of Qwen's vocabulary before every pick,
~40-45 ms per generated token whatever the model size (+24% on a whole 1.5B draft, measured before this
change); `newsroom.llm.backends.grammar.CheckedGrammarSampler` checks only the greedy pick, as llama.cpp's
own common sampler does, and filters the vocabulary only when the pick is rejected: the same tokens at
about the cost of free decoding. Measured with bench/draft_grammar.py (1.5B, 100 tokens of the English
draft, 1 thread so that CPU time is not inflated by a busy machine): 180 CPU-ms a token free, 209 with the
stock grammar chain (+16%), 179 with the checked pick, whose text equalled the stock chain's (1 of 100
picks needed the whole vocabulary filtered). Retries (the caller's `strict=True`: an answer
that parsed but failed validation) add a mild repeat penalty (RETRY_REPEAT_PENALTY) and use the stock
chain. Loops are detected while streaming and cut short. `"auto"` decodes the first attempt freely and
constrains only retries; `"validate"` never uses the grammar. String lengths are never put in the schema (a
`maxLength` crashed llama.cpp's server; lengths are checked after parsing).

CPU threads: libgomp's default busy-waiting made decoding 4-20x slower when other work shares the CPUs
(0.9-4.5 vs 11-17 tok/s measured), so `load` defaults OMP_WAIT_POLICY to PASSIVE (see there).

Determinism: temperature 0 (greedy) by default, the seed passed through, and every call starts from an
empty KV cache - except the stable prompt prefix, which is always evaluated as a batch of its own and so
is the same state whether computed or loaded (newsroom.llm.prefix) - so the same messages give the same
text in any process.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal

from newsroom.config import Settings, get_settings
from newsroom.errors import ModelNotInstalledError
from newsroom.llm.backends.grammar import checked_llama_class
from newsroom.llm.backends.local import (
    RETRY_REPEAT_PENALTY,
    check_runaway,
    one_call_at_a_time,
    passive_omp_wait,
    verified_gguf,
)
from newsroom.llm.backends.protocol import Capabilities, Message, SchemaConstraint, Usage, UsageLog
from newsroom.llm.errors import LLMError
from newsroom.llm.prefix import PrefixStore, restore, seq_state, split_prompt
from newsroom.llm.prefix import clear as clear_context

log = logging.getLogger("newsroom.llm")

JsonMode = Literal["auto", "validate", "grammar"]
# json_mode -> when the grammar holds the reply to the schema
_CONSTRAINT: dict[str, SchemaConstraint] = {"auto": "strict", "validate": "never", "grammar": "always"}


class LlamaCppBackend(UsageLog):
    """A GGUF model in llama-cpp-python on the CPU. Construct with `LlamaCppBackend.load(settings)`."""

    def __init__(
        self,
        llm: Any,
        *,
        name: str,
        context_tokens: int,
        json_mode: JsonMode = "grammar",
        retry_repeat_penalty: float = RETRY_REPEAT_PENALTY,
        path: Path | None = None,
        prefixes: PrefixStore | None = None,
    ) -> None:
        super().__init__()
        self.llm = llm  # the llama_cpp.Llama (public for benchmarks)
        self.prefixes = prefixes  # where prompt-prefix states are kept between processes (None: not kept)
        self._formatter = _chat_formatter(llm)
        self.name = name
        self.path = path  # the verified GGUF file
        self.context_tokens = context_tokens
        self.json_mode: JsonMode = json_mode
        self.retry_repeat_penalty = retry_repeat_penalty
        self._lock = threading.RLock()  # see local.one_call_at_a_time

    @classmethod
    def load(
        cls, settings: Settings | None = None, *, model_id: str | None = None, json_mode: JsonMode = "grammar"
    ) -> LlamaCppBackend:
        settings = settings or get_settings()
        spec, path = verified_gguf(settings, model_id)
        passive_omp_wait()
        try:
            Llama = checked_llama_class()  # noqa: N806 (llama_cpp.Llama with the checked grammar sampler)
        except ImportError as exc:
            raise ModelNotInstalledError(
                "the llama-cpp backend needs llama-cpp-python: install it with \"pip install "
                "'llama-cpp-python==0.3.36'\" (part of the 'llm' extra; it compiles from source on Python 3.11), "
                f"or set NEWSROOM_LLM_BACKEND=openai with an endpoint ({exc})"
            ) from exc
        started = time.perf_counter()
        llm = Llama(
            model_path=str(path),
            n_ctx=settings.llm_context_tokens,
            n_threads=settings.threads,
            n_threads_batch=settings.threads,
            seed=settings.llm_seed,
            verbose=False,
        )
        log.info("loaded %s from %s in %.1f s (n_ctx=%d, threads=%d, json_mode=%s)", spec.id, path,
                 time.perf_counter() - started, settings.llm_context_tokens, settings.threads, json_mode)
        prefixes = (PrefixStore.for_model(settings.model_cache / "llm-prefix", path, settings.llm_context_tokens)
                    if settings.llm_prefix_cache else None)
        return cls(llm, name=f"llama-cpp:{spec.id}@{spec.version}", context_tokens=settings.llm_context_tokens,
                   json_mode=json_mode, path=path, prefixes=prefixes)

    @property
    def capabilities(self) -> Capabilities:
        """An exact tokenizer; the grammar as `json_mode` says; the prompt prefix's state kept when the GGUF
        has a chat template to split the prompt with."""
        constraint = _CONSTRAINT[self.json_mode]
        return Capabilities(exact_token_count=True, schema_constraint=constraint,
                            prefix_state=self._formatter is not None,
                            response_format="none" if constraint == "never" else "grammar")

    @one_call_at_a_time
    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    @one_call_at_a_time
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
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "repeat_penalty": self.retry_repeat_penalty if strict else 1.0,
            "stream": True,
        }
        if schema is not None and (self.json_mode == "grammar" or (strict and self.json_mode == "auto")):
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        started = time.perf_counter()
        self.llm.reset()  # no reuse of an earlier call's state, except the stable prefix below
        reused = self._read_prefix(messages, stable_prefix)
        pieces: list[str] = []
        generated = 0
        finish: str | None = None
        try:
            stream = self.llm.create_chat_completion(**kwargs)
            for chunk in stream:
                choice = chunk["choices"][0]
                text = choice["delta"].get("content") or ""
                if text:
                    pieces.append(text)
                    generated += 1
                finish = choice.get("finish_reason") or finish
                if text and check_runaway(generated, lambda window: "".join(pieces[-window:])):
                    finish = "repetition"  # a small model looping ("costs", "costs", ...): stop paying for it
                    stream.close()
                    break
        except ValueError as exc:  # llama-cpp-python raises ValueError when the prompt exceeds n_ctx
            raise LLMError(f"{self.name}: {exc}; raise NEWSROOM_LLM_CONTEXT_TOKENS or shorten the input") from exc
        seconds = time.perf_counter() - started
        usage = Usage(max(0, self.llm.n_tokens - generated), generated, seconds, finish)
        self._record(usage)
        log.debug("%s: %d prompt (%d of them a stored prefix) + %d generated tokens in %.1f s (%s)", self.name,
                  usage.prompt_tokens, reused, generated, seconds, finish)
        return "".join(pieces)

    def _read_prefix(self, messages: list[Message], stable: list[Message] | None) -> int:
        """Put the stable prefix's state in the context (stored, or evaluated now as a batch of its own and
        stored); llama-cpp-python then evaluates only the rest. Returns how many tokens came from the store."""
        if not stable or self._formatter is None:
            return 0
        try:
            tokens = split_prompt(self._formatter, self.llm, messages, stable)
        except Exception as exc:  # a template the formatter cannot render: read the prompt in full
            log.debug("no stable prefix for this prompt: %s", exc)
            return 0
        if tokens is None:
            return 0
        data = self.prefixes.load(tokens) if self.prefixes else None
        if data is not None and restore(self.llm, tokens, data):
            return len(tokens)
        clear_context(self.llm)
        self.llm.eval(tokens)
        if self.prefixes:
            self.prefixes.save(tokens, seq_state(self.llm))
        return 0


def _chat_formatter(llm: Any) -> Any:
    """The GGUF's own chat template as llama-cpp-python applies it (None without one)."""
    template = getattr(llm, "metadata", {}).get("tokenizer.chat_template")
    if not template or getattr(llm, "chat_handler", None) is not None:
        return None
    from llama_cpp import llama_chat_format

    eos, bos = llm.token_eos(), llm.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template, eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "", stop_token_ids=[eos])

