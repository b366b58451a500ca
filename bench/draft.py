"""News-draft benchmark: prompt tokens/s, generated tokens/s and time to a full grounded draft.

Run: .venv/bin/python bench/draft.py [--models qwen2.5-1.5b-instruct,qwen2.5-0.5b-instruct]
     [--modes grammar,auto,validate] [--language en|zh] [--transcript FILE.json] [--threads N] [--show]
     [--backend llama-cpp|transformers] [--device auto|cpu|cuda]
The transcript is fixed: the shared English fixture's text (or the Mandarin one) with synthetic word
timings spread over ~60 s, or a transcript JSON (`--transcript`, e.g. the bundled sample's, `newsroom
transcribe samples/city-bikes.mp4 --json`). "calls" counts every model call of a draft: the draft's
attempts (retries = attempts - 1) and the desk's repair call. Token counts and times come from llama.cpp's own counters (summed over every
call a draft needed, retries included). `--modes` picks the JSON decoding modes to compare (see
newsroom/llm/backends/llama_cpp.py): `grammar` (always, the default, with the checked grammar sampler),
`auto` (free first attempt, grammar on retries), `validate` (never a grammar). Machines here are noisy: compare rows, not absolute seconds.
`--backend transformers` runs the same GGUF in transformers (no grammar, so `--modes` does not apply;
its counts come from the backend's per-call usage, and "gen tok/s" there includes the prefill).
No assertions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from pathlib import Path

from newsroom import lang
from newsroom.config import Settings
from newsroom.llm import LlamaCppBackend, LLMError, TransformersBackend, write_draft
from newsroom.types import Segment, Transcript, Word

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
TARGET_S = 60.0


def fixed_transcript(language: str) -> Transcript:
    text = (FIXTURES / ("en_espeak.txt" if language == "en" else "zh_neural.txt")).read_text("utf-8").strip()
    sentences = [s for s in re.split(r"(?<=[.!?。！？])\s*", text) if s]
    tokens = [(list(s) if language == "zh" else s.split()) for s in sentences]
    per_word_s = TARGET_S / sum(len(t) for t in tokens)
    t, segments = 0.0, []
    for sentence, words in zip(sentences, tokens, strict=True):
        start = t
        timed = []
        for word in words:
            timed.append(Word(t, t + per_word_s * 0.9, word, 1.0))
            t += per_word_s
        segments.append(Segment(start, t, sentence, tuple(timed)))
    return Transcript(language, t, "bench", tuple(segments))


class Counting:
    """An LLMBackend wrapper (the interface is one method, so wrapping is trivial) that counts calls, retries (a
    call whose prompt extends the previous one's), prompt and generated tokens and the backend's seconds.
    bench/draft_quality.py counts with it too."""

    def __init__(self, inner) -> None:
        self.inner, self.name = inner, inner.name
        self.context_tokens, self.capabilities, self.count_tokens = (inner.context_tokens, inner.capabilities,
                                                                      inner.count_tokens)
        self.calls = self.retries = self.prompt_tokens = self.gen_tokens = 0
        self.seconds = 0.0
        self._previous = ""

    def complete(self, messages, **kwargs) -> str:
        self.calls += 1
        last = messages[-1]["content"]
        if self._previous and last.startswith(self._previous) and len(last) > len(self._previous):
            self.retries += 1
        else:
            self._previous = last
        try:
            return self.inner.complete(messages, **kwargs)
        finally:
            usage = self.inner.last_usage
            if usage is not None:
                self.prompt_tokens += usage.prompt_tokens
                self.gen_tokens += usage.completion_tokens
                self.seconds += usage.seconds

    @property
    def last_usage(self):  # write_draft reads the finish reason ("length", "repetition") from here
        return self.inner.last_usage


def perf(backend: LlamaCppBackend):
    import llama_cpp

    return llama_cpp.llama_perf_context(backend.llm._ctx.ctx)


def perf_reset(backend: LlamaCppBackend) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(backend.llm._ctx.ctx)


def run(model_id: str, json_mode: str, transcript: Transcript, threads: int, backend_name: str = "llama-cpp",
        device: str = "auto") -> dict:
    settings = Settings(llm_model=model_id, threads=threads, llm_context_tokens=4096, llm_backend=backend_name,
                        llm_device=device)
    started = time.perf_counter()
    if backend_name == "transformers":
        backend = TransformersBackend.load(settings)
        json_mode = "none"
    else:
        backend = LlamaCppBackend.load(settings, json_mode=json_mode)  # type: ignore[arg-type]
        perf_reset(backend)
    load_s = time.perf_counter() - started
    counting = Counting(backend)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        draft = write_draft(transcript, counting)
        outcome = f"valid, {len(draft.quotes)} kept/{len(draft.dropped_quotes)} dropped quotes, {len(draft.warnings)} warnings"
    except LLMError as exc:
        draft, outcome = None, f"FAILED: {exc}"[:90]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if isinstance(backend, TransformersBackend):
        prompt_tps, prompt_tokens, gen_tokens = 0.0, counting.prompt_tokens, counting.gen_tokens
        gen_tps = gen_tokens / counting.seconds if counting.seconds else 0.0
    else:
        data = perf(backend)
        prompt_tps = data.n_p_eval / (data.t_p_eval_ms / 1000) if data.t_p_eval_ms else 0.0
        gen_tps = data.n_eval / (data.t_eval_ms / 1000) if data.t_eval_ms else 0.0
        prompt_tokens, gen_tokens = data.n_p_eval, data.n_eval
    return {
        "model": model_id.removeprefix("qwen2.5-").removesuffix("-instruct"),
        "mode": json_mode,
        "load_s": load_s,
        "prompt_tps": prompt_tps,
        "gen_tps": gen_tps,
        "prompt_tokens": prompt_tokens,
        "gen_tokens": gen_tokens,
        "draft_s": wall,
        "cpu_s": cpu,
        "calls": counting.calls,
        "outcome": outcome,
        "draft": draft,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-1.5b-instruct,qwen2.5-0.5b-instruct")
    parser.add_argument("--language", choices=("en", "zh"), default="en")
    parser.add_argument("--modes", default="grammar", help="comma-separated json_mode values to time")
    parser.add_argument("--transcript", type=Path, help="a transcript JSON instead of the fixed fixture")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", action="store_true", help="print each draft as Markdown")
    parser.add_argument("--backend", choices=("llama-cpp", "transformers"), default="llama-cpp")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="for --backend transformers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    transcript = (Transcript.from_dict(json.loads(args.transcript.read_text("utf-8"))) if args.transcript
                  else fixed_transcript(args.language))
    args.language = lang.profile(transcript.language).code
    words = len(transcript.text) if args.language == "zh" else len(transcript.text.split())
    print(f"transcript: {args.language}, {transcript.duration_s:.0f} s, {words} "
          f"{'characters' if args.language == 'zh' else 'words'}; threads={args.threads}, cores={os.cpu_count()}")
    modes = ["none"] if args.backend == "transformers" else args.modes.split(",")
    rows = [run(m, mode, transcript, args.threads, args.backend, args.device)
            for m in args.models.split(",") for mode in modes]
    header = (f"{'model':6s} {'json':8s} {'load s':>6s} {'prompt tok/s':>12s} {'gen tok/s':>9s} {'prompt tok':>10s} "
              f"{'gen tok':>7s} {'calls':>5s} {'draft s':>7s} {'CPU s':>6s}  outcome")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:6s} {r['mode']:8s} {r['load_s']:6.1f} {r['prompt_tps']:12.1f} {r['gen_tps']:9.1f} "
              f"{r['prompt_tokens']:10d} {r['gen_tokens']:7d} {r['calls']:5d} {r['draft_s']:7.1f} {r['cpu_s']:6.1f}  "
              f"{r['outcome']}")
    if args.show:
        for r in rows:
            if r["draft"] is not None:
                print(f"\n===== {r['model']} / {r['mode']}\n{r['draft'].to_markdown()}")


if __name__ == "__main__":
    main()
