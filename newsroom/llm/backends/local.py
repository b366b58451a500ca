"""What the two local backends (llama-cpp, transformers) share: the one verified GGUF file, OpenMP waiting,
the retry repeat penalty, decoding-loop detection (`is_runaway`, checked while decoding by `check_runaway`)
and one call at a time (`one_call_at_a_time`)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.models.registry import ModelRegistry, ModelSpec

# On retries (strict=True) a mild repeat penalty over the last 64 tokens: with it the 0.5B model wrote a
# valid draft of the 60 s bench transcript in one constrained call; without it, three looping calls.
RETRY_REPEAT_PENALTY = 1.1

F = TypeVar("F", bound=Callable[..., Any])


def one_call_at_a_time(method: F) -> F:
    """A backend method run under the backend's `_lock`: one in-process model serves one call at a time. Two
    LLM tasks of one worker (Prefect runs tasks in threads: the draft and a subtitle translation of one story,
    say) calling one llama.cpp context at once abort the whole process in ggml (GGML_ASSERT "tensor buffer
    not set"); transformers' seeded sampling uses torch's process-wide RNG. Calls from threads wait their turn."""

    @functools.wraps(method)
    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return serialised  # type: ignore[return-value]


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


def passive_omp_wait() -> None:
    # libgomp's default busy-waiting makes llama.cpp 4-20x slower when the CPUs are shared with other work
    # (measured: 0.9-4.5 vs 11-17 tok/s); passive waiting costs little on an idle machine. torch's CPU
    # kernels use OpenMP too. Only effective before OpenMP starts in this process; set OMP_WAIT_POLICY
    # yourself to override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# A decoding loop: the same 3-80 characters 8 times in a row, or the same 80-400 characters 3 times.
_SHORT_LOOP_RE = re.compile(r"(.{3,80}?)(?:\s*\1){7,}\s*$", re.DOTALL)
_LONG_LOOP_RE = re.compile(r"(.{80,400}?)(?:\s*\1){2,}\s*$", re.DOTALL)
REPEAT_CHECK_EVERY = 24  # generated pieces between checks
REPEAT_WINDOW = 400  # pieces looked at


def is_runaway(text: str) -> bool:
    """Whether `text` ends in a decoding loop (see the patterns above)."""
    tail = text[-1300:]
    return bool(_SHORT_LOOP_RE.search(tail) or _LONG_LOOP_RE.search(tail))


def check_runaway(generated: int, recent: Callable[[int], str]) -> bool:
    """Whether to stop decoding now: every REPEAT_CHECK_EVERY generated pieces, whether the text of the last
    REPEAT_WINDOW of them (`recent(REPEAT_WINDOW)`) ends in a loop (`is_runaway`)."""
    return generated > 0 and generated % REPEAT_CHECK_EVERY == 0 and is_runaway(recent(REPEAT_WINDOW))
