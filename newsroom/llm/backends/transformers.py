"""`TransformersBackend`: the same verified GGUF file, dequantised by transformers into a torch model, on a
CUDA GPU (`NEWSROOM_LLM_DEVICE`) or on the CPU for those who prefer it. No grammar: the caller's validation
and re-prompting retries are the JSON guarantee.

transformers on the CPU (0.5B, fp32, 2 busy cores, transformers 5.24 / torch 2.13): loading takes
~90-100 s - the GGUF's metadata (the 151,936-entry vocabulary) is parsed in Python three times, for the
tokenizer, the config and the weights, and dequantising takes ~18 s - and 4 GB peak RSS; decoding ran at
~4 tok/s against llama-cpp's 8-13 on the same prompt, and a whole English draft took 154 s (the free first
attempt looped and was cut short; the retry, with the repeat penalty, was valid). So on a CPU llama-cpp
stays the default; transformers is for GPUs (bf16, or fp16 where bf16 is missing).

Determinism: greedy by default, seeded sampling on retries, no state kept between calls, so the same
messages give the same text in any process (on the same hardware: a GPU's kernels may pick differently
from the CPU's).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelNotInstalledError
from newsroom.llm.backends.local import (
    RETRY_REPEAT_PENALTY,
    check_runaway,
    one_call_at_a_time,
    passive_omp_wait,
    verified_gguf,
)
from newsroom.llm.backends.protocol import Capabilities, Message, Usage, UsageLog
from newsroom.llm.errors import LLMError

log = logging.getLogger("newsroom.llm")

REPEAT_LAST_TOKENS = 64  # the retry repeat penalty looks this far back (llama.cpp's repeat_last_n)
SAMPLING_TOP_K = 40  # when a retry samples (temperature > 0): llama-cpp-python's defaults, so backends agree
SAMPLING_TOP_P = 0.95


class TransformersBackend(UsageLog):
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
        super().__init__()
        self.model = model  # the transformers model (public for benchmarks)
        self.tokenizer = tokenizer
        self.name = name
        self.context_tokens = context_tokens
        self.path = path  # the verified GGUF file
        self.retry_repeat_penalty = retry_repeat_penalty
        self._lock = threading.RLock()  # see local.one_call_at_a_time
        stops = [tokenizer.eos_token_id, *(tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>"))]
        self._stop_ids = sorted({i for i in stops if isinstance(i, int) and i != tokenizer.unk_token_id})

    @classmethod
    def load(cls, settings: Settings | None = None, *, model_id: str | None = None) -> TransformersBackend:
        settings = settings or get_settings()
        passive_omp_wait()
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

    # An exact tokenizer; no grammar (the schema is not enforced); no state kept between calls.
    capabilities = Capabilities(exact_token_count=True, schema_constraint="never", prefix_state=False)

    @property
    def device(self) -> Any:
        return self.model.device

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

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
        self._record(Usage(prompt_tokens, len(generated), seconds, finish))
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
    """A stopping criterion: `check_runaway` on the recent text as it is generated."""

    def __init__(self, tokenizer: Any, prompt_tokens: int) -> None:
        self.tokenizer, self.prompt_tokens, self.hit = tokenizer, prompt_tokens, False

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        generated = input_ids.shape[-1] - self.prompt_tokens
        if not self.hit:
            self.hit = check_runaway(generated, lambda window: self.tokenizer.decode(
                input_ids[0, -min(generated, window):].tolist(), skip_special_tokens=True))
        return torch.full((input_ids.shape[0],), self.hit, dtype=torch.bool, device=input_ids.device)

