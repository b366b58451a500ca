"""Where the words come from: one small interface, three implementations, a name -> factory registry.

`LLMBackend.complete(messages, ...)` is the one required method: chat messages in, the raw reply text
out. Parsing and validating that text is the caller's job (`newsroom.llm.draft`), so every backend gets
the same checks and retries.

- `LlamaCppBackend`: the packaged GGUF (resolved and checksummed by the model registry) run by
  llama-cpp-python on the CPU. Load once, call many.
- `TransformersBackend`: the same verified GGUF file, dequantised by transformers into a torch model, on
  a CUDA GPU (`NEWSROOM_LLM_DEVICE`) or on the CPU for those who prefer it. No grammar: the caller's
  validation and re-prompting retries are the JSON guarantee.
- `OpenAICompatibleBackend`: any `/chat/completions` endpoint (llama.cpp's server, vLLM, Ollama) over
  httpx, with bounded retries for connection errors and 5xx answers.

JSON decoding on llama-cpp (measured here on 2 busy cores with bench/draft.py and alternating runs):
llama-cpp-python checks a JSON-schema grammar against all 151,936 entries of Qwen's vocabulary before
every pick, ~40-45 ms per generated token whatever the model size: 150 draft tokens took 27.5 s free vs
34.2 s constrained on the 1.5B model (+24%), 14-17 s vs 20 s on the 0.5B; a whole 1.5B draft of a 60 s
transcript 68.6 s free vs 85.4 s constrained (one call each). (MODELS.md's 20 s vs 90 s was not
reproduced; our schema has no string-length bounds, which blow grammars up.) Unconstrained, the 1.5B
model answered with usable JSON at the first attempt in every run; the 0.5B one falls into loops
("costs", "costs", ...), and constrained it may still ramble inside a string. So the default
`json_mode="auto"` decodes the first attempt freely (the fast path) and constrains only retries, which
the caller marks `strict=True`; loops are detected while streaming and cut short, so a failed free
attempt costs little; and retries add a mild repeat penalty (RETRY_REPEAT_PENALTY), which is what got
the 0.5B model out of its loops. `"validate"` never uses the grammar, `"grammar"` always does. String
lengths are never put in the schema (a `maxLength` crashed llama.cpp's server; lengths are checked after
parsing). The OpenAI-compatible backend always sends the schema in the form llama.cpp's server accepts
(`{"type": "json_object", "schema": ...}`).

transformers on the CPU (0.5B, fp32, 2 busy cores, transformers 5.24 / torch 2.13): loading takes
~90-100 s - the GGUF's metadata (the 151,936-entry vocabulary) is parsed in Python three times, for the
tokenizer, the config and the weights, and dequantising takes ~18 s - and 4 GB peak RSS; decoding ran at
~4 tok/s against llama-cpp's 8-13 on the same prompt, and a whole English draft took 154 s (the free first
attempt looped and was cut short; the retry, with the repeat penalty, was valid). So on a CPU llama-cpp
stays the default; transformers is for GPUs (bf16, or fp16 where bf16 is missing).

CPU threads: libgomp's default busy-waiting made decoding 4-20x slower when other work shares the CPUs
(0.9-4.5 vs 11-17 tok/s measured), so `load` defaults OMP_WAIT_POLICY to PASSIVE (see there).

Determinism: temperature 0 (greedy) by default, the seed passed through, and the local models start
every call from an empty KV cache - except llama-cpp's stable prompt prefix, which is always evaluated as
a batch of its own and so is the same state whether computed or loaded (newsroom.llm.prefix) - so the
same messages give the same text in any process (on the same hardware: a GPU's kernels may pick
differently from the CPU's).

Adding a backend: write a class with `name` and `complete(...)`, a factory taking `Settings`, and add it
to `BACKENDS` (and to `Settings.llm_backend`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelNotInstalledError
from newsroom.llm.errors import LLMError, LLMUnavailableError
from newsroom.llm.prefix import PrefixStore, restore, seq_state, split_prompt
from newsroom.llm.prefix import clear as clear_context
from newsroom.models.registry import ModelRegistry, ModelSpec

log = logging.getLogger("newsroom.llm")

Message = dict[str, str]
JsonMode = Literal["auto", "validate", "grammar"]
DEFAULT_CONTEXT_TOKENS = 8192
# On retries (strict=True) a mild repeat penalty over the last 64 tokens: with it the 0.5B model wrote a
# valid draft of the 60 s bench transcript in one constrained call; without it, three looping calls.
RETRY_REPEAT_PENALTY = 1.1


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that turns chat messages into a reply. `name` ends up in `Draft.model`."""

    name: str

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
        depending on the backend; `strict=True` asks backends that can enforce it to do so (the caller uses
        it for retries). The caller validates the text either way. `stable_prefix` is the start of `messages`
        that every call with this prompt shares (the last message's content cut where the variable part
        begins): a backend may keep its state between calls (llama-cpp does, see newsroom.llm.prefix)."""
        ...


@dataclass(frozen=True, slots=True)
class Usage:
    """What the last call cost (for logs and benchmarks)."""

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None


# --------------------------------------------------------------------------- llama.cpp (local GGUF)


def verified_gguf(settings: Settings, model_id: str | None = None) -> tuple[ModelSpec, Path]:
    """The registry entry and the checksummed local GGUF file of an LLM (assembled on first use): every
    local backend reads this one file."""
    model_id = model_id or settings.llm_model
    registry = ModelRegistry(settings)
    spec = registry.spec(model_id)
    if spec.kind != "llm":
        raise ConfigError(f"model {model_id!r} is a {spec.kind} model, not an LLM: set NEWSROOM_LLM_MODEL to "
                          "qwen2.5-1.5b-instruct or qwen2.5-0.5b-instruct")
    return spec, registry.resolve(model_id)


def _passive_omp_wait() -> None:
    # libgomp's default busy-waiting makes llama.cpp 4-20x slower when the CPUs are shared with other work
    # (measured: 0.9-4.5 vs 11-17 tok/s); passive waiting costs little on an idle machine. torch's CPU
    # kernels use OpenMP too. Only effective before OpenMP starts in this process; set OMP_WAIT_POLICY
    # yourself to override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class LlamaCppBackend:
    """A GGUF model in llama-cpp-python on the CPU. Construct with `LlamaCppBackend.load(settings)`."""

    def __init__(
        self,
        llm: Any,
        *,
        name: str,
        context_tokens: int,
        json_mode: JsonMode = "auto",
        retry_repeat_penalty: float = RETRY_REPEAT_PENALTY,
        path: Path | None = None,
        prefixes: PrefixStore | None = None,
    ) -> None:
        self.llm = llm  # the llama_cpp.Llama (public for benchmarks)
        self.prefixes = prefixes  # where prompt-prefix states are kept between processes (None: not kept)
        self._formatter = _chat_formatter(llm)
        self.name = name
        self.path = path  # the verified GGUF file
        self.context_tokens = context_tokens
        self.json_mode: JsonMode = json_mode
        self.retry_repeat_penalty = retry_repeat_penalty
        self.last_usage: Usage | None = None

    @classmethod
    def load(
        cls, settings: Settings | None = None, *, model_id: str | None = None, json_mode: JsonMode = "auto"
    ) -> LlamaCppBackend:
        settings = settings or get_settings()
        spec, path = verified_gguf(settings, model_id)
        _passive_omp_wait()
        try:
            from llama_cpp import Llama
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

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

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
                if generated % REPEAT_CHECK_EVERY == 0 and text and is_runaway("".join(pieces[-REPEAT_WINDOW:])):
                    finish = "repetition"  # a small model looping ("costs", "costs", ...): stop paying for it
                    stream.close()
                    break
        except ValueError as exc:  # llama-cpp-python raises ValueError when the prompt exceeds n_ctx
            raise LLMError(f"{self.name}: {exc}; raise NEWSROOM_LLM_CONTEXT_TOKENS or shorten the input") from exc
        seconds = time.perf_counter() - started
        self.last_usage = Usage(max(0, self.llm.n_tokens - generated), generated, seconds, finish)
        log.debug("%s: %d prompt (%d of them a stored prefix) + %d generated tokens in %.1f s (%s)", self.name,
                  self.last_usage.prompt_tokens, reused, generated, seconds, finish)
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


# A decoding loop: the same 3-80 characters 8 times in a row, or the same 80-400 characters 3 times.
_SHORT_LOOP_RE = re.compile(r"(.{3,80}?)(?:\s*\1){7,}\s*$", re.DOTALL)
_LONG_LOOP_RE = re.compile(r"(.{80,400}?)(?:\s*\1){2,}\s*$", re.DOTALL)
REPEAT_CHECK_EVERY = 24  # generated pieces between checks
REPEAT_WINDOW = 400  # pieces looked at


def is_runaway(text: str) -> bool:
    """Whether `text` ends in a decoding loop (see the patterns above)."""
    tail = text[-1300:]
    return bool(_SHORT_LOOP_RE.search(tail) or _LONG_LOOP_RE.search(tail))


# --------------------------------------------------------------------------- transformers (the same GGUF)

REPEAT_LAST_TOKENS = 64  # the retry repeat penalty looks this far back (llama.cpp's repeat_last_n)
SAMPLING_TOP_K = 40  # when a retry samples (temperature > 0): llama-cpp-python's defaults, so backends agree
SAMPLING_TOP_P = 0.95


class TransformersBackend:
    """The packaged GGUF in transformers: dequantised on load into a dense torch model (fp32 on the CPU,
    bf16/fp16 on a GPU). Construct with `TransformersBackend.load(settings)`; every call runs the GGUF's
    own chat template, greedy (or, on retries at temperature > 0, seeded sampling) decoding, the retry
    repeat penalty over the last REPEAT_LAST_TOKENS tokens, and the same loop detection as llama-cpp."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        context_tokens: int,
        path: Path | None = None,
        retry_repeat_penalty: float = RETRY_REPEAT_PENALTY,
    ) -> None:
        self.model = model  # the transformers model (public for benchmarks)
        self.tokenizer = tokenizer
        self.name = name
        self.context_tokens = context_tokens
        self.path = path  # the verified GGUF file
        self.retry_repeat_penalty = retry_repeat_penalty
        self.last_usage: Usage | None = None
        stops = [tokenizer.eos_token_id, *(tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>"))]
        self._stop_ids = sorted({i for i in stops if isinstance(i, int) and i != tokenizer.unk_token_id})

    @classmethod
    def load(cls, settings: Settings | None = None, *, model_id: str | None = None) -> TransformersBackend:
        settings = settings or get_settings()
        _passive_omp_wait()
        try:
            import accelerate  # noqa: F401  (transformers needs it to load GGUF files)
            import gguf  # noqa: F401  (transformers reads and dequantises GGUF files with it)
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelNotInstalledError(
                "the transformers LLM backend needs torch, transformers, accelerate and gguf: install them with "
                "\"pip install 'newsroom[transformers]'\" (a CPU or CUDA torch build, as you need), or use "
                f"NEWSROOM_LLM_BACKEND=llama-cpp ({exc})"
            ) from exc
        device = _torch_device(settings.llm_device, torch)
        spec, path = verified_gguf(settings, model_id)
        torch.set_num_threads(settings.threads)
        if device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.float32  # half precision is slower than fp32 on most CPUs
        started = time.perf_counter()
        # A local folder and local_files_only: nothing is ever fetched from a model hub.
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype,
                                                     local_files_only=True)
        model.to(device).eval()
        log.info("loaded %s from %s in %.1f s (transformers, %s, %s, threads=%d)", spec.id, path,
                 time.perf_counter() - started, device, dtype, settings.threads)
        return cls(model, tokenizer, name=f"transformers:{spec.id}@{spec.version}",
                   context_tokens=settings.llm_context_tokens, path=path)

    @property
    def device(self) -> Any:
        return self.model.device

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        seed: int = 42,
        temperature: float = 0.0,
        strict: bool = False,
        stable_prefix: list[Message] | None = None,  # unused: no state kept between calls
    ) -> str:
        """`schema` is not enforced here (no grammar): the caller validates the reply and retries."""
        import torch
        from transformers import GenerationConfig, RepetitionPenaltyLogitsProcessor

        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True).to(self.device)
        prompt_tokens = int(inputs["input_ids"].shape[-1])
        room = self.context_tokens - prompt_tokens
        if room <= 0:
            raise LLMError(f"{self.name}: the prompt has {prompt_tokens} tokens, more than the context of "
                           f"{self.context_tokens}; raise NEWSROOM_LLM_CONTEXT_TOKENS or shorten the input")
        sample = temperature > 0
        config = GenerationConfig(
            max_new_tokens=min(max_tokens, room),
            do_sample=sample,
            temperature=temperature if sample else None,
            top_k=SAMPLING_TOP_K if sample else None,
            top_p=SAMPLING_TOP_P if sample else None,
            eos_token_id=self._stop_ids,
            pad_token_id=self._stop_ids[0],
        )
        processors = []
        if strict and self.retry_repeat_penalty != 1.0:
            processors.append(_RecentTokens(RepetitionPenaltyLogitsProcessor(self.retry_repeat_penalty),
                                            REPEAT_LAST_TOKENS))
        runaway = _RunawayStop(self.tokenizer, prompt_tokens)
        started = time.perf_counter()
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)  # only sampling draws from it; greedy decoding ignores it
            output = self.model.generate(**inputs, generation_config=config, logits_processor=processors,
                                         stopping_criteria=[runaway])
        generated = output[0, prompt_tokens:].tolist()
        seconds = time.perf_counter() - started
        if runaway.hit:
            finish = "repetition"
        elif generated and generated[-1] in self._stop_ids:
            finish = "stop"
        else:
            finish = "length"
        self.last_usage = Usage(prompt_tokens, len(generated), seconds, finish)
        log.debug("%s: %d prompt + %d generated tokens in %.1f s (%s)", self.name, prompt_tokens, len(generated),
                  seconds, finish)
        return self.tokenizer.decode(generated, skip_special_tokens=True)


def _torch_device(choice: str, torch: Any) -> Any:
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"NEWSROOM_LLM_DEVICE=cuda, but torch {torch.__version__} sees no CUDA GPU: install a CUDA "
                          "build of torch, or set NEWSROOM_LLM_DEVICE=cpu (or auto)")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


class _RecentTokens:
    """A transformers logits processor applied to the last `window` tokens only (llama.cpp's repeat_last_n):
    a repeat penalty over the whole prompt would push the model away from quoting the transcript."""

    def __init__(self, inner: Any, window: int) -> None:
        self.inner, self.window = inner, window

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return self.inner(input_ids[:, -self.window:], scores)


class _RunawayStop:
    """A stopping criterion: every REPEAT_CHECK_EVERY generated tokens, `is_runaway` on the recent text."""

    def __init__(self, tokenizer: Any, prompt_tokens: int) -> None:
        self.tokenizer, self.prompt_tokens, self.hit = tokenizer, prompt_tokens, False

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        generated = input_ids.shape[-1] - self.prompt_tokens
        if not self.hit and generated and generated % REPEAT_CHECK_EVERY == 0:
            recent = input_ids[0, -min(generated, REPEAT_WINDOW):].tolist()
            self.hit = is_runaway(self.tokenizer.decode(recent, skip_special_tokens=True))
        return torch.full((input_ids.shape[0],), self.hit, dtype=torch.bool, device=input_ids.device)


# --------------------------------------------------------------------------- OpenAI-compatible endpoint


def _redact(url: str) -> str:
    """The URL without any user:password part (never put credentials into messages or logs)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=f"***@{netloc}")
    return urlunsplit(parts)


class OpenAICompatibleBackend:
    """POST {base_url}/chat/completions. Connection errors, 429 and 5xx are retried `attempts` times with
    exponential backoff (`backoff_s`, 2*backoff_s, ...), then raise `LLMUnavailableError` (transient)."""

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        api_key: str | None = None,
        timeout: float = 600.0,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    ) -> None:
        import httpx

        if not base_url:
            raise ConfigError("the openai LLM backend needs an endpoint: set NEWSROOM_LLM_BASE_URL, "
                              "e.g. http://llm:8080/v1")
        if attempts < 1:
            raise ConfigError("attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.name = f"openai:{model}"
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.context_tokens = context_tokens
        self.last_usage: Usage | None = None
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._transport_errors = (httpx.TransportError,)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> OpenAICompatibleBackend:
        settings = settings or get_settings()
        return cls(
            settings.llm_base_url or "",
            settings.llm_endpoint_model,
            settings.llm_api_key.get_secret_value() or None,
            settings.llm_timeout_s,
            context_tokens=settings.llm_context_tokens,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        seed: int = 42,
        temperature: float = 0.0,
        strict: bool = False,
        stable_prefix: list[Message] | None = None,  # unused: no state kept between calls
    ) -> str:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
        }
        if schema is not None:
            payload["response_format"] = {"type": "json_object", "schema": schema}
        where = _redact(self.url)
        problem = ""
        for attempt in range(1, self.attempts + 1):
            started = time.perf_counter()
            try:
                response = self._client.post(self.url, json=payload)
            except self._transport_errors as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return self._content(response, where, time.perf_counter() - started)
                if response.status_code != 429 and response.status_code < 500:
                    raise LLMError(
                        f"the LLM endpoint {where} refused the request with HTTP {response.status_code}: "
                        f"{response.text[:300]!r}; check NEWSROOM_LLM_ENDPOINT_MODEL ({self.model!r}) "
                        "and NEWSROOM_LLM_API_KEY"
                    )
                problem = f"HTTP {response.status_code}: {response.text[:200]!r}"
            if attempt < self.attempts:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning("LLM endpoint %s failed (attempt %d/%d: %s); retrying in %.2f s", where, attempt,
                            self.attempts, problem, delay)
                time.sleep(delay)
        raise LLMUnavailableError(
            f"the LLM endpoint {where} failed {self.attempts} times ({problem}): check that the server is "
            "running and NEWSROOM_LLM_BASE_URL points at it"
        )

    def _content(self, response: Any, where: str, seconds: float) -> str:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(
                f"the LLM endpoint {where} answered without choices[0].message.content "
                f"({type(exc).__name__}: {response.text[:200]!r}): is it an OpenAI-compatible /chat/completions?"
            ) from exc
        usage = data.get("usage") or {}
        self.last_usage = Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), seconds,
                                choice.get("finish_reason"))
        return content or ""


# --------------------------------------------------------------------------- registry

BackendFactory = Callable[[Settings], LLMBackend]

# Settings.llm_backend -> factory.
BACKENDS: dict[str, BackendFactory] = {
    "llama-cpp": LlamaCppBackend.load,
    "transformers": TransformersBackend.load,
    "openai": OpenAICompatibleBackend.from_settings,
}


def load_backend(settings: Settings | None = None) -> LLMBackend:
    """The backend named by `settings.llm_backend`, loaded (the local model is read once, here)."""
    settings = settings or get_settings()
    try:
        factory = BACKENDS[settings.llm_backend]
    except KeyError:
        raise ConfigError(
            f"unknown LLM backend {settings.llm_backend!r}; choose one of: {', '.join(sorted(BACKENDS))}"
        ) from None
    return factory(settings)
