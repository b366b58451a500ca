"""`OpenAICompatibleBackend`: any `/chat/completions` endpoint (llama.cpp's server, vLLM, Ollama) over httpx,
with bounded retries for connection errors and 5xx answers. The schema goes with every call as the server
supports it (`response_format`, declared in `capabilities`, set with NEWSROOM_LLM_RESPONSE_FORMAT):
"json_schema", OpenAI's structured outputs (`{"type": "json_schema", "json_schema": {"name", "schema",
"strict"}}`: OpenAI, vLLM, llama.cpp's server since 2025); "json_object", llama.cpp server's older form
(`{"type": "json_object", "schema": ...}`); "none" for servers with neither (the caller's validation and
retries are the guarantee). Tokens are estimated (the endpoint's tokenizer is not at hand).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError
from newsroom.llm.backends.protocol import (
    DEFAULT_CONTEXT_TOKENS,
    Capabilities,
    Message,
    ResponseFormat,
    Usage,
    UsageLog,
    estimate_tokens,
)
from newsroom.llm.errors import LLMError, LLMUnavailableError

log = logging.getLogger("newsroom.llm")



_FORMATS: tuple[ResponseFormat, ...] = ("json_schema", "json_object", "none")


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object (OpenAI's strict mode requires it)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if out.get("type") == "object":
        out.setdefault("additionalProperties", False)
    return out


def _redact(url: str) -> str:
    """The URL without any user:password part (never put credentials into messages or logs)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=f"***@{netloc}")
    return urlunsplit(parts)


class OpenAICompatibleBackend(UsageLog):
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
        response_format: ResponseFormat = "json_schema",
    ) -> None:
        import httpx

        super().__init__()
        if not base_url:
            raise ConfigError("the openai LLM backend needs an endpoint: set NEWSROOM_LLM_BASE_URL, "
                              "e.g. http://llm:8080/v1")
        if attempts < 1:
            raise ConfigError("attempts must be at least 1")
        if response_format not in _FORMATS:
            raise ConfigError(f"response_format {response_format!r}: choose one of {', '.join(_FORMATS)} "
                              "(NEWSROOM_LLM_RESPONSE_FORMAT)")
        # Estimated token counts; the schema goes with every call in the server's form (or not at all);
        # no state kept here between calls.
        self.capabilities = Capabilities(exact_token_count=False,
                                         schema_constraint="never" if response_format == "none" else "always",
                                         prefix_state=False, response_format=response_format)
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.name = f"openai:{model}"
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.context_tokens = context_tokens
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
            response_format=settings.llm_response_format,
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

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
        form = self.capabilities.response_format
        if schema is not None and form == "json_schema":
            payload["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": "answer", "schema": _closed(schema), "strict": True}}
        elif schema is not None and form == "json_object":
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
        self._record(Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), seconds,
                           choice.get("finish_reason")))
        return content or ""

