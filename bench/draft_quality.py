"""Draft quality on a labelled set the project owns: quotes, speakers, invented facts, length, JSON, cost.

Run: .venv/bin/python bench/draft_quality.py [--limit N] [--only en_press,zh_press] [--out results.json]
     [--compare before.json] [--cache DIR] [--show] [--rescore results.json]
The set (bench/data/drafts.json): press conferences, interviews, a bulletin and a two-person dialogue in
English and Mandarin, each a script read turn by turn by the packaged voices (piper joe, Kokoro jf_alpha and
jm_kumo, ttskit Aiyue), transcribed by the real ASR (Whisper base, speaker turns on) and drafted by the
default local model. Audio and transcripts are cached under bench/.cache/ (gitignored) by the script's
hash, so a second run (or a run of another checkout with `--cache`) drafts the very same transcripts.

Per transcript:
- quotes: published quotes; recall: labelled quotable statements a published quote covers (>= 60 % of the
  statement's characters in common runs of 3+ characters, 2+ in Mandarin, compared after normalisation, so
  ASR slips do not count as misses);
- speaker: published quotes whose statement is labelled, with the speaker right (the labelled name, or one
  of its `also` spellings, inside the published name; or both unnamed);
- invented claims: prose sentences most of whose content words the transcript never uses (`newsroom.llm.support`);
- invented: numbers (`grounding.unsupported_numbers`) and names (English: `grounding.unknown_names`;
  Mandarin: jieba's person/place/organisation words) in the headline, lede, body, summary and anchor script
  that neither the transcript nor the labels' allowed numbers/names contain;
- body length in the language's unit; first-try JSON (no answer of the draft needed a retry);
- draft wall and CPU seconds, model calls, prompt and generated tokens.
No assertions: it prints a table (and `--compare` prints the before/after totals side by side).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import logging
import time
import wave
from pathlib import Path

import numpy as np

from newsroom import lang
from newsroom.config import Settings
from newsroom.llm import LLMError, load_backend, write_draft
from newsroom.llm.grounding import unknown_names, unsupported_numbers
from newsroom.llm.quotes import compact, normalise
from newsroom.llm.schema import text_size
from newsroom.llm.style import sentences
from newsroom.llm.support import Support
from newsroom.types import Transcript

try:  # run as a script, bench/ is on sys.path; imported as bench.draft_quality (by the tests), it is not
    from draft import Counting
except ModuleNotFoundError:
    from bench.draft import Counting

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "drafts.json"
CACHE = HERE / ".cache" / "draft_quality"
RATE_HZ = 16_000
ASR_MODEL = "base"
COVERAGE = 0.6  # share of a labelled statement's characters a quote must cover to count as quoting it
JIEBA_NAME_TAGS = ("nr", "ns", "nt")  # person, place, organisation

log = logging.getLogger("bench.draft_quality")


# --------------------------------------------------------------------------- the set: audio and transcripts


def _key(item: dict) -> str:
    return hashlib.sha256(json.dumps([item["language"], item["turns"], ASR_MODEL]).encode()).hexdigest()[:12]


class Voices:
    """The packaged voices by name, loaded on first use."""

    def __init__(self) -> None:
        self.settings = Settings(tts_sample_rate_hz=RATE_HZ)
        self.loaded: dict[str, object] = {}

    def __call__(self, name: str):
        if name not in self.loaded:
            from newsroom.tts import KokoroVoice, PiperVoice, TtskitVoice

            if name == "joe":
                self.loaded[name] = PiperVoice.load(self.settings)
            elif name == "Aiyue":
                self.loaded[name] = TtskitVoice.load(self.settings, voice=name)
            else:
                self.loaded[name] = KokoroVoice.load(self.settings, voice=name)
        return self.loaded[name]


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768


def speech(name: str, item: dict, voices: Voices, cache: Path) -> Path:
    """The item's audio: each turn read by its voice, joined with its pause (0.3 s lead-in and tail)."""
    out = cache / f"{name}-{_key(item)}.wav"
    if out.exists():
        return out
    parts = [np.zeros(int(0.3 * RATE_HZ), np.float32)]
    for i, (voice, text, *pause) in enumerate(item["turns"]):
        if pause:
            parts.append(np.zeros(int(pause[0] * RATE_HZ), np.float32))
        piece = cache / f"{name}-{i}.tmp.wav"
        voices(voice).synthesize(text, piece)
        parts.append(_read(piece))
        piece.unlink()
    parts.append(np.zeros(int(0.5 * RATE_HZ), np.float32))
    pcm = np.clip(np.round(np.concatenate(parts) * 32767), -32767, 32767).astype("<i2")
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE_HZ)
        wav.writeframes(pcm.tobytes())
    return out


def transcripts(items: dict[str, dict], cache: Path) -> dict[str, Transcript]:
    """Every item's transcript (real ASR with speaker turns), from the cache when there."""
    cache.mkdir(parents=True, exist_ok=True)
    voices, transcriber, out = Voices(), None, {}
    for name, item in items.items():
        path = cache / f"{name}-{_key(item)}.json"
        if not path.exists():
            wav = speech(name, item, voices, cache)
            if transcriber is None:
                from newsroom.asr import Transcriber

                transcriber = Transcriber.load(ASR_MODEL, diarize=True)
            transcript = transcriber.transcribe(wav, item["language"])
            path.write_text(transcript.to_json(), "utf-8")
        out[name] = Transcript.from_dict(json.loads(path.read_text("utf-8")))
    return out


# --------------------------------------------------------------------------- measuring a draft


def coverage(statement: str, quote: str, spaced: bool = True) -> float:
    """Share of the statement's (normalised) characters that the quote covers, in common runs of at least 3
    characters (2 in languages written without spaces, whose words are 1-2 characters long)."""
    a, b = compact(statement), compact(quote)
    if not a:
        return 0.0
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks if block.size >= (3 if spaced else 2)) / len(a)


def score(item: dict, quotes: list[tuple[str, str | None]]) -> dict:
    """Recall and speaker accuracy of published (text, speaker) quotes against the item's labels."""
    labels, spaced = item["quotable"], lang.profile(item["language"]).spaced

    def both(label: dict, text: str) -> float:
        return max(coverage(label["text"], text, spaced), coverage(text, label["text"], spaced))

    recalled = sum(any(coverage(label["text"], text, spaced) >= COVERAGE for text, _ in quotes) for label in labels)
    labelled = right = 0
    published = []
    for text, speaker in quotes:
        best = max(labels, key=lambda label: both(label, text))
        matched = both(best, text) >= COVERAGE
        ok = matched and _named(best, speaker)
        labelled += matched
        right += ok
        published.append({"text": text, "speaker": speaker, "truth": best["speaker"] if matched else "(not labelled)",
                          "right": ok})
    return {"quotes": len(quotes), "recalled": recalled, "labelled_quotes": labelled, "speaker_right": right,
            "published": published}


def _named(label: dict, speaker: str | None) -> bool:
    if label["speaker"] is None:
        return speaker is None
    if speaker is None:
        return False
    return any(compact(name) in compact(speaker) for name in [label["speaker"], *label.get("also", [])])


def invented_claims(prose: list[str], transcript: Transcript) -> list[str]:
    """Sentences of the prose most of whose content words the transcript never uses (`newsroom.llm.support`,
    the desk's own test: this counts what got past it)."""
    profile = lang.profile(transcript.language)
    support = Support(transcript.text, profile.draft.support)
    return list(dict.fromkeys(s for text in prose for s in sentences(text, profile) if support.check(s).claim))


def invented_names(prose: list[str], transcript: Transcript, allowed: list[str]) -> list[str]:
    profile = lang.profile(transcript.language)
    known = f"{transcript.text} {' '.join(allowed)}"
    if profile.draft.check_names:
        return unknown_names(prose, set(normalise(known).split()))
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    source = compact(known)
    found: dict[str, None] = {}
    for text in prose:
        for pair in jieba.posseg.cut(text):
            if pair.flag in JIEBA_NAME_TAGS and len(pair.word) > 1 and compact(pair.word) not in source:
                found[pair.word] = None
    return list(found)


def measure(name: str, item: dict, transcript: Transcript, backend) -> dict:
    counting = Counting(backend)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        draft, error = write_draft(transcript, counting), ""
    except LLMError as exc:
        draft, error = None, str(exc)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    row = {"name": name, "language": item["language"], "kind": item["kind"], "seconds": round(wall, 1),
           "cpu_s": round(cpu, 1), "calls": counting.calls, "retries": counting.retries,
           "prompt_tokens": counting.prompt_tokens, "gen_tokens": counting.gen_tokens,
           "first_try": counting.retries == 0 and draft is not None, "quotable": len(item["quotable"]),
           "error": error[:200]}
    if draft is None:
        return {**row, "quotes": 0, "recalled": 0, "labelled_quotes": 0, "speaker_right": 0, "invented_numbers": [],
                "invented_names": [], "body": 0, "published": []}
    prose = [draft.headline, draft.lede, draft.body, draft.summary, draft.anchor_script]
    numbers = unsupported_numbers(prose, f"{transcript.text} {' '.join(item['numbers'])}")
    names = invented_names(prose, transcript, item["names"])
    claims = invented_claims(prose, transcript)
    profile = lang.profile(item["language"])
    return {**row, **score(item, [(q.text, q.speaker) for q in draft.quotes]), "invented_numbers": numbers,
            "invented_names": names, "invented_claims": claims, "body": text_size(draft.body, profile), "headline": draft.headline,
            "warnings": list(draft.warnings),
            "prose": {"lede": draft.lede, "body": draft.body, "summary": draft.summary,
                      "anchor_script": draft.anchor_script}}


# --------------------------------------------------------------------------- the report


def totals(rows: list[dict]) -> dict:
    n = len(rows) or 1
    quotable = sum(r["quotable"] for r in rows)
    labelled = sum(r["labelled_quotes"] for r in rows)
    return {
        "transcripts": len(rows),
        "with >= 2 quotes": f"{sum(r['quotes'] >= 2 for r in rows if r['quotable'] >= 2)}/"
                            f"{sum(r['quotable'] >= 2 for r in rows)}",
        "quotes published": sum(r["quotes"] for r in rows),
        "quote recall": f"{sum(r['recalled'] for r in rows)}/{quotable} = "
                        f"{sum(r['recalled'] for r in rows) / (quotable or 1):.0%}",
        "speaker right": f"{sum(r['speaker_right'] for r in rows)}/{labelled} = "
                         f"{sum(r['speaker_right'] for r in rows) / (labelled or 1):.0%}",
        "quotes not labelled quotable": sum(r["quotes"] - r["labelled_quotes"] for r in rows),
        "invented numbers": sum(len(r["invented_numbers"]) for r in rows),
        "invented names": sum(len(r["invented_names"]) for r in rows),
        "invented claims": sum(len(r.get("invented_claims", ())) for r in rows),
        "body en words (mean)": _mean([r["body"] for r in rows if r["language"] == "en" and not r["error"]]),
        "body zh chars (mean)": _mean([r["body"] for r in rows if r["language"] == "zh" and not r["error"]]),
        "first-try JSON": f"{sum(r['first_try'] for r in rows)}/{len(rows)}",
        "failed drafts": sum(bool(r["error"]) for r in rows),
        "draft s (mean)": round(sum(r["seconds"] for r in rows) / n, 1),
        "draft CPU s (mean)": round(sum(r["cpu_s"] for r in rows) / n, 1),
        "model calls": sum(r["calls"] for r in rows),
        "prompt tokens (mean)": round(sum(r["prompt_tokens"] for r in rows) / n),
        "gen tokens (mean)": round(sum(r["gen_tokens"] for r in rows) / n),
    }


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def print_rows(rows: list[dict], show: bool) -> None:
    header = (f"{'transcript':14s} {'quotes':>6s} {'recall':>6s} {'spk ok':>6s} {'inv #':>5s} {'inv nm':>6s} "
              f"{'body':>5s} {'1st':>3s} {'s':>6s} {'CPU s':>6s} {'calls':>5s} {'p tok':>6s} {'g tok':>5s}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:14s} {r['quotes']:6d} {r['recalled']:>3d}/{r['quotable']:<2d} "
              f"{r['speaker_right']:>3d}/{r['labelled_quotes']:<2d} {len(r['invented_numbers']):5d} "
              f"{len(r['invented_names']):6d} {r['body']:5d} {'y' if r['first_try'] else 'n':>3s} {r['seconds']:6.1f} "
              f"{r['cpu_s']:6.1f} {r['calls']:5d} {r['prompt_tokens']:6d} {r['gen_tokens']:5d}"
              + (f"  FAILED: {r['error'][:60]}" if r["error"] else ""))
        if show:
            for q in r["published"]:
                print(f"    {'ok ' if q['right'] else 'BAD'} {q['speaker']!s:>18.18s} (truth {q['truth']!s}): {q['text']}")
            if r["invented_numbers"] or r["invented_names"]:
                print(f"    invented: {r['invented_numbers']} {r['invented_names']}")
            for claim in r.get("invented_claims", ()):
                print(f"    claim: {claim}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="draft only the first N transcripts")
    parser.add_argument("--only", default="", help="comma-separated transcript names")
    parser.add_argument("--cache", type=Path, default=CACHE, help="audio and transcripts (shared between checkouts)")
    parser.add_argument("--out", type=Path, help="write the rows and totals as JSON")
    parser.add_argument("--compare", type=Path, help="a previous --out file: print its totals beside these")
    parser.add_argument("--show", action="store_true", help="print every published quote and invented item")
    parser.add_argument("--rescore", type=Path, help="a previous --out file: score its quotes again against the "
                                                     "labels (no drafting) and print it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    items = {k: v for k, v in json.loads(DATA.read_text("utf-8")).items() if not k.startswith("_")}
    if args.only:
        items = {k: items[k] for k in args.only.split(",")}
    if args.limit:
        items = dict(list(items.items())[: args.limit])
    if args.rescore:
        previous = json.loads(args.rescore.read_text("utf-8"))
        backend_name = previous["model"]
        rows = [{**r, **score(items[r["name"]], [(q["text"], q["speaker"]) for q in r["published"]])}
                for r in previous["rows"] if r["name"] in items]
        print_rows(rows, args.show)
    else:
        texts = transcripts(items, args.cache)
        backend = load_backend(Settings())
        backend_name = backend.name
        rows = []
        for name, item in items.items():
            rows.append(measure(name, item, texts[name], backend))
            print_rows(rows[-1:], args.show)
    print()
    print_rows(rows, False)
    summary = totals(rows)
    before = json.loads(args.compare.read_text("utf-8"))["totals"] if args.compare else None
    print()
    for key, value in summary.items():
        print(f"{key:30s} {before.get(key, '') if before else '':>16} {'->' if before else ''} {value}")
    if args.out:
        args.out.write_text(json.dumps({"model": backend_name, "rows": rows, "totals": summary}, ensure_ascii=False,
                                       indent=1), "utf-8")


if __name__ == "__main__":
    main()
