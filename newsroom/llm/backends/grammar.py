"""Grammar-constrained greedy decoding for llama-cpp-python at nearly the cost of free decoding.

llama-cpp-python puts the grammar into its sampler chain before the greedy pick, so llama.cpp checks every
one of the vocabulary's 151,936 entries against the grammar for every generated token (~40 ms a token on
2 busy cores, +24% on a 1.5B draft; see llama_cpp.py). llama.cpp's own `common_sampler` avoids that: it
picks first and checks only the picked token, and filters the whole vocabulary only when that token is
rejected. For greedy decoding this gives exactly the same tokens (the best allowed token is the best token
whenever the best token is allowed), so `CheckedGrammarSampler` does the same here.

`checked_llama_class()` returns a `llama_cpp.Llama` subclass whose sampler is a `CheckedGrammarSampler`
when a call is greedy with a grammar and nothing else in the chain (no repeat/frequency/presence penalty,
no logits processor); any other call uses llama-cpp-python's own chain. It relies on `Llama._init_sampler`
and `Llama.sample` calling `sampler.sample(ctx, idx)`, as llama-cpp-python 0.3.36 (the pinned version)
does; tests/test_llm.py checks that both samplers give the same text.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from functools import cache
from typing import Any

log = logging.getLogger("newsroom.llm")


class CheckedGrammarSampler:
    """Greedy decoding held to a GBNF grammar: the best token is checked alone; only when the grammar
    rejects it is the whole vocabulary filtered (then the best allowed token is taken)."""

    def __init__(self, llm: Any, grammar: Any) -> None:
        import llama_cpp
        import numpy as np

        self._lib = llama_cpp
        self._n_vocab = llm.n_vocab()
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not self._grammar:
            raise ValueError("llama.cpp could not build a sampler for this grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._all = (llama_cpp.llama_token_data * self._n_vocab)()
        self._np = np
        self._all_view = np.ctypeslib.as_array(self._all)  # structured: id, logit, p
        self._all_array = llama_cpp.llama_token_data_array(data=self._all, size=self._n_vocab, selected=-1,
                                                           sorted=False)
        self.checked = 0  # tokens picked (for logs and tests)
        self.filtered = 0  # of them, how many needed the whole vocabulary filtered

    def sample(self, ctx: Any, idx: int = -1) -> int:
        lib, np = self._lib, self._np
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        token = int(np.argmax(logits))
        self.checked += 1
        one = self._one[0]
        one.id, one.logit, one.p = token, float(logits[token]), 0.0
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        lib.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        if not np.isfinite(self._one[0].logit):  # rejected: the best token the grammar allows
            self.filtered += 1
            view = self._all_view
            view["id"] = np.arange(self._n_vocab, dtype=view["id"].dtype)
            view["logit"] = logits
            view["p"] = 0.0
            self._all_array.size, self._all_array.selected, self._all_array.sorted = self._n_vocab, -1, False
            lib.llama_sampler_apply(self._grammar, ctypes.byref(self._all_array))
            best = int(np.argmax(view["logit"][: self._all_array.size]))
            if not np.isfinite(view["logit"][best]):
                raise ValueError("the grammar allows no token here")
            token = int(view["id"][best])
        lib.llama_sampler_accept(self._grammar, token)
        return token

    def accept(self, token: int) -> None:
        self._lib.llama_sampler_accept(self._grammar, token)

    def reset(self) -> None:
        self._lib.llama_sampler_reset(self._grammar)

    def close(self) -> None:
        if self._grammar:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


@cache
def checked_llama_class() -> type:
    """`llama_cpp.Llama` with `CheckedGrammarSampler` for greedy, penalty-free, grammar-constrained calls."""
    from llama_cpp import Llama

    class CheckedGrammarLlama(Llama):
        last_sampler: CheckedGrammarSampler | None = None

        def _init_sampler(self, **kwargs: Any) -> Any:
            grammar = kwargs.get("grammar")
            plain = (kwargs.get("temp", 0.8) == 0.0 and kwargs.get("repeat_penalty", 1.0) == 1.0
                     and not kwargs.get("frequency_penalty") and not kwargs.get("presence_penalty")
                     and kwargs.get("logits_processor") is None)
            if grammar is None or not plain:
                return super()._init_sampler(**kwargs)
            self.last_sampler = CheckedGrammarSampler(self, grammar)
            return self.last_sampler

    return CheckedGrammarLlama
