"""The article's narration: what is read (the paragraphs, trimmed by whole sentences to a target length),
voiced paragraph by paragraph, joined with a pause between paragraphs into one WAV whose timings say when
each paragraph is read.

The narration says only what the article says: without a language model it is the article's own
sentences, verbatim; a condensed version (`condense`) is accepted only when every number and name in it
appears in the article (the drafts' grounding rule), paragraph by paragraph, else the verbatim sentences
are kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsroom import lang
from newsroom.article.source import Article
from newsroom.errors import ConfigError
from newsroom.lang import LanguageProfile
from newsroom.lang.spoken import speakable
from newsroom.types import PhonemeTiming, Speech, WordTiming

log = logging.getLogger("newsroom.article.narration")

LEAD_IN_S = 0.4  # silence before the first paragraph: the picture settles before the voice starts
PARAGRAPH_PAUSE_S = 0.9  # between paragraphs: the cross-fade sits inside it
TAIL_S = 0.8  # after the last paragraph
MIN_TARGET_S = 5.0
SILENCE = "_"
_CLOSERS = "\"'”’)]」』）"


@dataclass(frozen=True, slots=True)
class NarrationPart:
    """What is read for one paragraph of the article (`paragraph` indexes `Article.paragraphs`)."""

    paragraph: int
    text: str


@dataclass(frozen=True, slots=True)
class NarrationPlan:
    parts: tuple[NarrationPart, ...]
    language: str
    estimated_s: float
    condensed: bool = False  # a language model shortened it (and every part passed the grounding check)

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"parts": [{"paragraph": p.paragraph, "text": p.text} for p in self.parts], "language": self.language,
                "estimated_s": round(self.estimated_s, 2), "condensed": self.condensed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NarrationPlan:
        return cls(tuple(NarrationPart(int(p["paragraph"]), p["text"]) for p in data["parts"]), data["language"],
                   float(data["estimated_s"]), bool(data.get("condensed")))


@dataclass(frozen=True, slots=True)
class Span:
    """When one paragraph is read in the narration WAV."""

    paragraph: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Narration:
    """The narration WAV's speech (word timings on its own clock) and when each paragraph is read."""

    speech: Speech
    spans: tuple[Span, ...]
    plan: NarrationPlan

    def to_dict(self) -> dict[str, Any]:
        """The timings document stored beside the WAV."""
        return {"speech": self.speech.to_dict(), "plan": self.plan.to_dict(),
                "spans": [{"paragraph": s.paragraph, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)}
                          for s in self.spans]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], wav: str | Path) -> Narration:
        return cls(Speech.from_dict(data["speech"], wav),
                   tuple(Span(int(s["paragraph"]), float(s["start_s"]), float(s["end_s"])) for s in data["spans"]),
                   NarrationPlan.from_dict(data["plan"]))


# --------------------------------------------------------------------------- what is read


def sentences(text: str, profile: LanguageProfile) -> list[str]:
    """`text` cut into sentences at the profile's sentence marks (closing quotes stay with their sentence; in
    spaced languages an abbreviation's or an initial's full stop ends none)."""
    marks, closers = re.escape(profile.sentence_marks), re.escape(_CLOSERS)
    boundary = re.compile(rf"[{marks}]+[{closers}]*" + (r"(?=\s|$)" if profile.spaced else ""))
    out: list[str] = []
    start = 0
    for match in boundary.finditer(text):
        piece = text[start:match.end()].strip()
        if profile.spaced and match.group().startswith(".") and len(match.group()) == 1:
            words = piece.split()
            last = words[-1].rstrip(".").lower() if words else ""
            if last in profile.voice.abbreviations or len(last) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", last):
                continue
        if piece:
            out.append(piece)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def estimate_s(text: str, profile: LanguageProfile) -> float:
    """Roughly how long the anchor voice takes to read `text` (the profile's reading speed)."""
    units = len(text.split()) if profile.spaced else len(re.sub(r"\s|\W", "", text))
    return units / profile.draft.units_per_s


def plan_narration(article: Article, target_s: float | None) -> NarrationPlan:
    """The paragraphs verbatim, trimmed by whole sentences to about `target_s` seconds of reading: every
    paragraph keeps its opening sentence while they fit (so every picture is shown), then second sentences,
    and so on; a paragraph keeps a prefix of its sentences, in the article's order."""
    profile = lang.profile(article.language)
    split = [sentences(p, profile) for p in article.paragraphs]
    if target_s is None:
        chosen = {i: len(s) for i, s in enumerate(split)}
    else:
        if target_s < MIN_TARGET_S:
            raise ConfigError(f"target_s {target_s:g} is too short for a narration: use at least {MIN_TARGET_S:g} s")
        budget = target_s - LEAD_IN_S - TAIL_S
        chosen = {i: 0 for i in range(len(split))}
        used = 0.0
        depth = 0
        while any(depth < len(s) for s in split):
            progressed = False
            for i, sents in enumerate(split):
                if depth >= len(sents) or chosen[i] != depth:
                    continue
                cost = estimate_s(sents[depth], profile) + (PARAGRAPH_PAUSE_S if depth == 0 and used else 0.0)
                if used + cost > budget and used > 0:
                    continue
                chosen[i] = depth + 1
                used += cost
                progressed = True
            if not progressed:
                break
            depth += 1
    parts = tuple(NarrationPart(i, profile.join(split[i][:n])) for i, n in chosen.items() if n)
    estimated = LEAD_IN_S + TAIL_S + sum(estimate_s(p.text, profile) for p in parts) + PARAGRAPH_PAUSE_S * (len(parts) - 1)
    dropped = sum(len(s) for s in split) - sum(chosen.values())
    if dropped:
        log.info("narration trimmed to about %.0f s: %d of %d sentences left out", estimated, dropped,
                 sum(len(s) for s in split))
    return NarrationPlan(parts, article.language, estimated)


def trim_plan(plan: NarrationPlan, article: Article, target_s: float) -> NarrationPlan:
    """A (condensed) plan trimmed by whole sentences to about `target_s`, like `plan_narration` trims the
    article: its parts read as the paragraphs of an article."""
    from dataclasses import replace

    shortened = replace(article, paragraphs=tuple(p.text for p in plan.parts))
    trimmed = plan_narration(shortened, target_s)
    parts = tuple(NarrationPart(plan.parts[p.paragraph].paragraph, p.text) for p in trimmed.parts)
    return NarrationPlan(parts, plan.language, trimmed.estimated_s, plan.condensed)


# --------------------------------------------------------------------------- grounding


_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
_NAME_RE = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z'’-]+")
_HAN_RUN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]{2,}")


def ungrounded(text: str, article: Article) -> list[str]:
    """Numbers and names in `text` the article does not contain (empty: grounded). Numbers as written (digits);
    names: capitalised words not opening a sentence; in scripts without spaces, any run of CJK characters
    that the article does not contain as a whole after removing its spaces (a conservative check)."""
    source = article.text
    found: dict[str, None] = {}
    source_numbers = {n.replace(",", "") for n in _DIGITS_RE.findall(source)}
    for number in _DIGITS_RE.findall(text):
        if number.replace(",", "") not in source_numbers:
            found[number] = None
    profile = lang.profile(article.language)
    if profile.spaced:
        words = set(re.findall(r"[A-Za-z'’-]+", source))
        for sentence in sentences(text, profile):
            for name in _NAME_RE.findall(sentence)[1:]:
                if name not in words:
                    found[name] = None
    else:
        compact = re.sub(r"\s", "", source)
        for run in _HAN_RUN_RE.findall(text):
            for i in range(len(run) - 1):  # every character pair must be the article's own
                if run[i:i + 2] not in compact:
                    found[run] = None
                    break
    return list(found)


Condenser = Callable[[str, float, LanguageProfile], str]


def condense(plan: NarrationPlan, article: Article, condenser: Condenser, target_s: float) -> NarrationPlan:
    """Each part shortened by `condenser(text, seconds, profile)` (a language model), kept only when it is
    grounded in the article and shorter; otherwise the verbatim part stays."""
    profile = lang.profile(article.language)
    if plan.estimated_s <= target_s:
        return plan
    share = target_s / plan.estimated_s
    parts = []
    changed = False
    for part in plan.parts:
        original = article.paragraphs[part.paragraph]
        goal_s = max(2.0, estimate_s(original, profile) * share)
        try:
            shorter = " ".join(condenser(original, goal_s, profile).split())
        except Exception as exc:  # a model failure keeps the verbatim text; the reason is logged
            log.warning("condensing paragraph %d failed (%s): kept verbatim", part.paragraph + 1, exc)
            parts.append(part)
            continue
        missing = ungrounded(shorter, article)
        if not shorter or missing or estimate_s(shorter, profile) >= estimate_s(original, profile):
            log.info("condensed paragraph %d refused (%s): kept verbatim", part.paragraph + 1,
                     f"not in the article: {', '.join(missing)}" if missing else "not shorter")
            parts.append(part)
            continue
        parts.append(NarrationPart(part.paragraph, shorter))
        changed = True
    estimated = LEAD_IN_S + TAIL_S + sum(estimate_s(p.text, profile) for p in parts) + PARAGRAPH_PAUSE_S * (len(parts) - 1)
    return NarrationPlan(tuple(parts), plan.language, estimated, condensed=changed)


# --------------------------------------------------------------------------- voicing


def speak_narration(plan: NarrationPlan, voice: Any, out_wav: str | Path, *, workdir: str | Path,
                    progress: Callable[[float], None] | None = None) -> Narration:
    """Voice each part (the text made speakable: dates, abbreviations) and join them with pauses into one
    16-bit mono WAV; word and phoneme timings are moved onto the joined clock."""
    from newsroom.tts import write_wav

    workdir = Path(workdir)
    pieces: list[np.ndarray] = []
    spans: list[Span] = []
    words: list[WordTiming] = []
    phonemes: list[PhonemeTiming] = []
    rate = 0
    at = 0  # samples so far
    with_phonemes = True  # phoneme timings tile the WAV only when every part has them
    for n, part in enumerate(plan.parts):
        speech = voice.synthesize(speakable(part.text, plan.language), workdir / f"part-{n:03d}.wav")
        audio, rate_n = _read_wav(speech.path)
        if rate and rate_n != rate:
            raise ConfigError(f"the voice changed its sample rate between paragraphs ({rate} -> {rate_n} Hz)")
        rate = rate_n
        gap = round((LEAD_IN_S if n == 0 else PARAGRAPH_PAUSE_S) * rate)
        pieces.append(np.zeros(gap, dtype=np.float32))
        with_phonemes = with_phonemes and bool(speech.phonemes)
        phonemes.append(PhonemeTiming(SILENCE, at / rate, (at + gap) / rate))
        at += gap
        offset = at / rate
        spans.append(Span(part.paragraph, offset, offset + len(audio) / rate))
        words.extend(WordTiming(w.word, w.start_s + offset, w.end_s + offset) for w in speech.words)
        phonemes.extend(PhonemeTiming(p.phoneme, p.start_s + offset, p.end_s + offset) for p in speech.phonemes)
        pieces.append(audio)
        at += len(audio)
        if progress:
            progress((n + 1) / len(plan.parts))
    tail = round(TAIL_S * rate)
    pieces.append(np.zeros(tail, dtype=np.float32))
    phonemes.append(PhonemeTiming(SILENCE, at / rate, (at + tail) / rate))
    at += tail
    write_wav(out_wav, np.concatenate(pieces), rate)
    engine = getattr(voice, "engine", "tts")
    speech = Speech(str(out_wav), rate, at / rate, plan.language, engine, plan.text,
                    tuple(phonemes) if with_phonemes else (), tuple(words))
    return Narration(speech, tuple(spans), plan)


def _read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    import wave

    with wave.open(str(path), "rb") as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0, rate


def paragraph_at(spans: Sequence[Span], time_s: float) -> int | None:
    """The paragraph being read at `time_s` of the narration (None in a pause)."""
    return next((s.paragraph for s in spans if s.start_s <= time_s < s.end_s), None)


CONDENSE_MAX_TOKENS = 400
_CONDENSE_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


def llm_condenser(backend: Any, *, seed: int = 42) -> Condenser:
    """A `Condenser` over a news-draft backend (`newsroom.llm.load_backend`): one call per paragraph with the
    versioned `condense` prompt of the paragraph's language; `condense` still checks every answer."""
    from newsroom.llm import load_prompt, parse_json

    def shorten(paragraph: str, seconds: float, profile: LanguageProfile) -> str:
        prompt = load_prompt("condense", profile.code)
        units = max(5, round(seconds * profile.draft.units_per_s))
        messages = prompt.messages(paragraph=paragraph, units=units)
        reply = backend.complete(messages, schema=_CONDENSE_SCHEMA, max_tokens=CONDENSE_MAX_TOKENS, seed=seed)
        text = parse_json(reply).get("text")
        if not isinstance(text, str):
            raise ValueError("the model's answer has no text")
        return text

    return shorten
