"""What a JSON-schema grammar costs llama.cpp: the same draft prompt decoded free, with llama-cpp-python's own
grammar sampler chain (the whole vocabulary filtered for every token) and with the checked grammar sampler
(newsroom/llm/backends/grammar.py: only the greedy pick is checked).

Run: .venv/bin/python bench/draft_grammar.py [--model qwen2.5-1.5b-instruct] [--tokens 150] [--threads N]
Each row: generated tokens, wall and CPU seconds of the decoding, CPU ms per generated token (CPU time is
what a shared machine cannot distort much), and whether the text equals the stock-chain text. The prompt's
stable prefix is evaluated before timing. No assertions.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import time

from newsroom.config import Settings
from newsroom.llm import LlamaCppBackend, load_prompt
from newsroom.llm.draft import DRAFT_PROMPT_VERSION
from newsroom.llm.schema import DraftOutput, json_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-1.5b-instruct")
    parser.add_argument("--tokens", type=int, default=150)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from draft import fixed_transcript  # bench/draft.py, beside this script
    from llama_cpp import Llama

    transcript = fixed_transcript("en")
    backend = LlamaCppBackend.load(Settings(llm_model=args.model, threads=args.threads, llm_context_tokens=4096))
    prompt = load_prompt("draft", "en", DRAFT_PROMPT_VERSION)
    messages = prompt.messages(source=transcript.text, body_min=150, body_max=250, anchor_min=75, anchor_max=110)
    schema = json_schema(DraftOutput)
    backend.complete(messages, max_tokens=1, stable_prefix=prompt.stable_prefix())  # warm the prefix
    rows = []
    stock_text = None
    for label in ("free", "grammar, stock chain", "grammar, checked pick"):
        backend.json_mode = "validate" if label == "free" else "grammar"
        if label == "grammar, stock chain":
            backend.llm._init_sampler = functools.partial(Llama._init_sampler, backend.llm)
        cpu, wall = time.process_time(), time.perf_counter()
        text = backend.complete(messages, schema=schema, max_tokens=args.tokens, stable_prefix=prompt.stable_prefix())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if label == "grammar, stock chain":
            del backend.llm._init_sampler
            stock_text = text
        usage = backend.last_usage
        assert usage is not None
        rows.append((label, usage.completion_tokens, wall, cpu, text))
    print(f"model {args.model}, threads {args.threads}, up to {args.tokens} generated tokens of the English draft")
    print(f"{'decoding':24s} {'tokens':>6s} {'wall s':>7s} {'CPU s':>6s} {'CPU ms/tok':>10s}  same text as stock")
    for label, tokens, wall, cpu, text in rows:
        same = "-" if label == "free" else str(text == stock_text)
        print(f"{label:24s} {tokens:6d} {wall:7.1f} {cpu:6.1f} {1000 * cpu / max(tokens, 1):10.1f}  {same}")
    sampler = backend.llm.last_sampler
    if sampler is not None:
        print(f"checked pick: {sampler.checked} picks, {sampler.filtered} needed the whole vocabulary filtered")


if __name__ == "__main__":
    main()
