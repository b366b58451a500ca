"""Where the words come from: one small interface, three implementations, a name -> factory registry.

- `protocol.py`: `LLMBackend` (`complete(messages, ...)` -> the raw reply text; `count_tokens`;
  `context_tokens`; `last_usage`) and its declared `Capabilities`;
- `llama_cpp.py`: `LlamaCppBackend`, the packaged GGUF (resolved and checksummed by the model registry) run
  by llama-cpp-python on the CPU, the default;
- `transformers.py`: `TransformersBackend`, the same verified GGUF dequantised into a torch model, for GPUs;
- `openai.py`: `OpenAICompatibleBackend`, any `/chat/completions` endpoint (llama.cpp's server, vLLM, Ollama);
- `local.py`: what the two local backends share (the verified file, loop detection, the retry penalty).

Each module's docstring has its measurements and determinism notes.

Adding a backend: write a class with `name`, `context_tokens`, `capabilities`, `last_usage`, `complete(...)`
and `count_tokens(...)` (`estimate_tokens` when there is no tokenizer at hand; subclass `UsageLog` for
`last_usage` and the `usage_log` of recent calls), a factory taking `Settings`, and add it to `BACKENDS` (and
to `Settings.llm_backend`).
"""

from __future__ import annotations

from collections.abc import Callable

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError
from newsroom.llm.backends.llama_cpp import JsonMode, LlamaCppBackend
from newsroom.llm.backends.local import RETRY_REPEAT_PENALTY, is_runaway, verified_gguf
from newsroom.llm.backends.openai import OpenAICompatibleBackend
from newsroom.llm.backends.protocol import (
    DEFAULT_CONTEXT_TOKENS,
    Capabilities,
    LLMBackend,
    Message,
    ResponseFormat,
    SchemaConstraint,
    Usage,
    UsageLog,
    estimate_tokens,
)
from newsroom.llm.backends.transformers import TransformersBackend

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


__all__ = [
    "BACKENDS",
    "DEFAULT_CONTEXT_TOKENS",
    "RETRY_REPEAT_PENALTY",
    "BackendFactory",
    "Capabilities",
    "JsonMode",
    "LLMBackend",
    "LlamaCppBackend",
    "Message",
    "OpenAICompatibleBackend",
    "ResponseFormat",
    "SchemaConstraint",
    "TransformersBackend",
    "Usage",
    "UsageLog",
    "estimate_tokens",
    "is_runaway",
    "load_backend",
    "verified_gguf",
]
