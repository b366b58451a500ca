"""The fixed start of a prompt, read once: its llama.cpp KV state kept on disk and loaded instead of re-read.

Every draft sends the same ~450 tokens of instructions before the transcript; reading them costs ~10-20 s
on two CPU cores. A prompt template marks that stable start (`stable_prefix` messages: the last one's
content is where the variable part begins). The backend then always evaluates those tokens as a batch of
their own, first, and keeps the resulting KV state of sequence 0 in `PrefixStore` (one file per exact token
sequence, per model file, llama.cpp build and context size). The next call - in this process or another -
loads the state instead of evaluating the prefix.

Determinism: because the prefix is always its own batch, the KV state is the same bytes whether it was
computed now or loaded, so the same messages give the same text with a cold or a warm store. (Reading
the prefix together with the transcript in one batch gives slightly different floating point results,
enough to change a greedy pick.)
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("newsroom.llm")

SENTINEL = "\x1eNEWSROOM-VARIABLE-PART\x1e"  # never in a prompt: marks where the variable part begins
MIN_PREFIX_TOKENS = 128  # shorter prefixes are not worth a file
MAX_ENTRIES = 16  # per model/build/context folder; the least recently used go first


class PrefixStore:
    """KV states of prompt prefixes on disk, one folder per (model file, llama.cpp build, context size)."""

    def __init__(self, folder: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.folder = folder
        self.max_entries = max_entries

    @classmethod
    def for_model(cls, root: Path, model_file: Path, n_ctx: int) -> PrefixStore:
        """The folder for the GGUF `model_file` as it is now (path, size, modification time: other weights
        under the same model id - a user's own file, or one replaced in place - never share states)."""
        import llama_cpp

        stat = model_file.stat()
        identity = hashlib.sha256(f"{model_file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
        build = f"{model_file.stem[:48]}-{identity[:16]}-llama-cpp-{llama_cpp.__version__}-ctx{n_ctx}"
        return cls(root / build)

    def path(self, tokens: Sequence[int]) -> Path:
        digest = hashlib.sha256(b"".join(int(t).to_bytes(4, "little") for t in tokens)).hexdigest()
        return self.folder / f"{len(tokens)}-{digest[:32]}.kv"

    def load(self, tokens: Sequence[int]) -> bytes | None:
        path = self.path(tokens)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        os.utime(path)  # recently used
        return data

    def save(self, tokens: Sequence[int], data: bytes) -> None:
        """Atomic (write, then rename): a reader never sees half a state. Failures only cost speed."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".tmp-", delete=False) as tmp:
                tmp.write(data)
            Path(tmp.name).replace(self.path(tokens))
            self._prune()
        except OSError as exc:
            log.warning("cannot keep the prompt prefix state in %s (%s): prompts are read in full", self.folder, exc)

    def _prune(self) -> None:
        entries = sorted(self.folder.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[self.max_entries:]:
            stale.unlink(missing_ok=True)


def seq_state(llm: Any) -> bytes:
    """The KV state of sequence 0 (what llama.cpp needs to continue after the evaluated tokens)."""
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, buffer, size, 0)
    return bytes(buffer)[:written]


def clear(llm: Any) -> None:
    """An empty context: no tokens in llama-cpp-python's view, no cells in llama.cpp's KV cache."""
    llm.reset()
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)


def restore(llm: Any, tokens: Sequence[int], data: bytes) -> bool:
    """Put a saved state back as sequence 0 and tell llama-cpp-python which tokens it holds."""
    import llama_cpp

    clear(llm)
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(data), 0) != len(data):
        clear(llm)
        return False
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    return True


def split_prompt(formatter: Any, llm: Any, messages: list[dict[str, str]],
                 stable: list[dict[str, str]]) -> list[int] | None:
    """The tokens of the stable start of `messages` (None when `stable` is not a start of them).

    The chat template formats both; the stable text ends where the sentinel lands. The last token of the
    stable text is left out: tokenisation may merge it with what follows.
    """
    if not stable or len(stable) > len(messages):
        return None
    *same, last = stable
    if same != messages[: len(same)] or messages[len(same)]["role"] != last["role"]:
        return None
    if not messages[len(same)]["content"].startswith(last["content"]):
        return None
    probe = formatter(messages=[*same, {"role": last["role"], "content": last["content"] + SENTINEL}])
    full = formatter(messages=messages)
    head = probe.prompt.split(SENTINEL, 1)[0]
    if not full.prompt.startswith(head):
        return None

    def tokenize(text: str) -> list[int]:
        return llm.tokenize(text.encode("utf-8"), add_bos=not full.added_special, special=True)

    prefix = tokenize(head)[:-1]
    if len(prefix) < MIN_PREFIX_TOKENS or tokenize(full.prompt)[: len(prefix)] != prefix:
        return None
    return prefix
