"""Speech-to-text with Whisper weights run by faster-whisper (CTranslate2, int8, CPU).

Load once (`Transcriber.load`), call many (`transcribe`). Guards against the failure modes Whisper is
known for on long or empty audio: no conditioning on previous text (stops repetition loops spreading),
compression-ratio / log-prob / no-speech thresholds with temperature fallback, silero VAD (shipped
inside faster-whisper) so silence produces no segments, skipping of hallucinated text in long silent
gaps, dropping of immediately repeated segments and of words the decoder writes after the speech in no time at
all (a prompt or glossary read back). Each language's profile (`newsroom.lang`) gives
the initial prompt and the script conversion: Mandarin is steered to Simplified characters by a
Simplified-Chinese prompt and converted with zhconv for whatever slips through.
"""

from __future__ import annotations

import logging
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from newsroom import lang
from newsroom.asr.glossary import PROMPT_BUDGET_TOKENS, Glossary, locate_words
from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, MediaError, ModelNotInstalledError
from newsroom.lang import LanguageProfile
from newsroom.models.registry import ASR_MODEL_IDS, ModelRegistry
from newsroom.types import Segment, Transcript, Word

log = logging.getLogger("newsroom.asr")

SAMPLE_RATE_HZ = 16_000
# Model names written into transcripts (the JSON contract's "model" field).
CONTRACT_NAMES = {"whisper-base": "whisper-base-int8", "whisper-tiny-en": "whisper-tiny.en-int8"}
# Multilingual base covers every language profile; tiny.en knows English only.
MODEL_LANGUAGES = {"whisper-base": lang.CODES, "whisper-tiny-en": ("en",)}
MIN_SPEECH_S = 0.25
# A segment read back from the prompt after the speech ends: its words come faster than anyone speaks (measured:
# "Wexcombe, Wexcombe," in 0.02 s, eight characters in 0.06 s), or none was heard with any confidence where
# Whisper itself doubts there is speech.
MIN_WORD_S = 0.05
UNHEARD_WORD_PROBABILITY = 0.1
DOUBTED_SPEECH = 0.5

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    beam_size: int = 5
    vad: bool = True
    condition_on_previous_text: bool = False
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    hallucination_silence_threshold_s: float = 2.0
    # How a glossary steers Whisper (bench/glossary.py measures both): "hotwords" reach every 30 s window,
    # "prompt" (appended to the language's initial prompt) only the first one when decoding is not
    # conditioned on previous text.
    glossary_steering: Literal["hotwords", "prompt"] = "hotwords"
    glossary_budget_tokens: int = PROMPT_BUDGET_TOKENS
    glossary_fix: bool = True  # rewrite near-misses of the glossary's terms after recognition


def read_wav(path: str | Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV (as made by `media.extract_audio`) as float32 in [-1, 1]."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE_HZ or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise MediaError(
                    f"{Path(path).name} must be 16 kHz mono 16-bit PCM for transcription "
                    "(newsroom.media.extract_audio makes one)"
                )
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"{Path(path).name} is not a readable WAV file ({exc})") from exc
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def house_style(text: str, profile: LanguageProfile) -> str:
    """`text` in the profile's script (zhconv) with full-width punctuation after the script's characters."""
    rules = profile.asr
    if rules.convert_to:
        import zhconv

        text = zhconv.convert(text, rules.convert_to)
    if rules.full_width:
        pattern, table = _full_width(profile)
        text = pattern.sub(lambda m: m.group(1).translate(table), text)
    return text


@cache
def _full_width(profile: LanguageProfile) -> tuple[re.Pattern[str], dict[int, str]]:
    marks = "".join(re.escape(a) for a, _ in profile.asr.full_width)
    pattern = re.compile(rf"(?<=[{profile.script.ranges}])\s*([{marks}])\s*")
    return pattern, str.maketrans(dict(profile.asr.full_width))


def to_simplified(text: str) -> str:
    """Simplified characters and full-width punctuation after Chinese characters (the zh house style)."""
    return house_style(text, lang.profile("zh"))


class Transcriber:
    """A loaded Whisper model. Construct with `Transcriber.load(...)`."""

    def __init__(self, model, model_id: str, options: DecodeOptions, diarizer=None) -> None:
        self._model = model
        self.model_id = model_id
        self.options = options
        self.diarizer = diarizer  # newsroom.asr.speakers.Diarizer: speaker turns, or None

    @property
    def languages(self) -> tuple[str, ...]:
        return MODEL_LANGUAGES[self.model_id]

    @classmethod
    def load(cls, name: str = "base", settings: Settings | None = None, *, beam_size: int | None = None,
             diarize: bool | None = None) -> Transcriber:
        settings = settings or get_settings()
        model_id = ASR_MODEL_IDS.get(name, name)
        if model_id not in MODEL_LANGUAGES:
            raise ConfigError(f"unknown ASR model {name!r}: choose one of {', '.join(ASR_MODEL_IDS)}")
        folder = ModelRegistry(settings).resolve(model_id)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelNotInstalledError("transcription needs the asr extra: pip install 'newsroom[asr]'") from exc
        started = time.perf_counter()
        model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=settings.threads)
        log.info("loaded %s from %s in %.1fs", model_id, folder, time.perf_counter() - started)
        options = DecodeOptions(beam_size=beam_size or settings.asr_beam_size)
        diarizer = None
        if settings.diarize if diarize is None else diarize:
            from newsroom.asr.speakers import Diarizer

            diarizer = Diarizer.load(settings)
        return cls(model, model_id, options, diarizer)

    # -- language
    def detect_language(self, audio: np.ndarray, allowed: tuple[str, ...]) -> str:
        """The most probable language among `allowed` (a newsroom works in a known set of languages)."""
        candidates = tuple(lang for lang in allowed if lang in self.languages) or self.languages
        if len(candidates) == 1:
            return candidates[0]
        _, _, probabilities = self._model.detect_language(audio, vad_filter=True, language_detection_segments=3)
        scores = dict(probabilities)
        best = max(candidates, key=lambda lang: scores.get(lang, 0.0))
        top = max(scores, key=scores.get) if scores else best
        if top != best:
            log.warning("detected language %s is not enabled; using %s (%.2f)", top, best, scores.get(best, 0.0))
        return best

    # -- transcription
    def transcribe(
        self,
        audio: np.ndarray | str | Path,
        language: str = "auto",
        *,
        allowed_languages: tuple[str, ...] = lang.DEFAULT_LANGUAGES,
        progress: Progress | None = None,
        glossary: Glossary | None = None,
    ) -> Transcript:
        """Speech-to-text with word timestamps. A `glossary` (see `newsroom.asr.glossary`) steers Whisper towards
        its terms and its near-misses are rewritten as the terms afterwards."""
        if not isinstance(audio, np.ndarray):
            audio = read_wav(audio)
        duration_s = len(audio) / SAMPLE_RATE_HZ
        contract_name = CONTRACT_NAMES[self.model_id]
        if language != "auto" and language not in self.languages:
            raise ConfigError(
                f"model {self.model_id} cannot transcribe {language!r}; use --model base for "
                f"{'/'.join(MODEL_LANGUAGES['whisper-base'])}"
            )
        if duration_s < MIN_SPEECH_S or float(np.max(np.abs(audio), initial=0.0)) < 1e-4:
            log.info("audio is empty or digital silence: empty transcript")
            return Transcript(language=language if language != "auto" else allowed_languages[0],
                              duration_s=duration_s, model=contract_name)
        if language == "auto":
            language = self.detect_language(audio, allowed_languages)
        profile = lang.profile(language)
        opts = self.options
        terms = glossary.for_language(language) if glossary else Glossary()
        initial_prompt, hotwords = self._steering(profile, terms)
        segments_iter, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=opts.beam_size,
            word_timestamps=True,
            vad_filter=opts.vad,
            condition_on_previous_text=opts.condition_on_previous_text,
            compression_ratio_threshold=opts.compression_ratio_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
            hallucination_silence_threshold=opts.hallucination_silence_threshold_s,
            initial_prompt=initial_prompt,
            hotwords=hotwords,
        )
        segments: list[Segment] = []
        for raw in segments_iter:
            segment = self._convert(raw, profile)
            if progress:
                progress(min(1.0, raw.end / duration_s) if duration_s else 1.0)
            if segment is None:
                continue
            if segments and segment.text == segments[-1].text:
                log.warning("dropping repeated segment at %.1fs: %r", segment.start, segment.text)
                continue
            segments.append(segment)
        transcript = Transcript(language=language, duration_s=duration_s, model=contract_name, segments=tuple(segments))
        if terms and opts.glossary_fix:
            transcript, _ = terms.fix(transcript)
        if self.diarizer is not None:
            transcript = self.diarizer.label(transcript, audio)
        if progress:
            progress(1.0)
        return transcript

    def count_tokens(self, text: str) -> int:
        """Whisper tokens of `text` as it would sit in the decoder's prompt."""
        return len(self._model.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    def _steering(self, profile: LanguageProfile, terms: Glossary) -> tuple[str | None, str | None]:
        """(initial prompt, hotwords): the language's prompt, with the glossary's terms as the options say."""
        prompt = profile.asr.prompt
        words = terms.hotwords(profile, self.count_tokens, self.options.glossary_budget_tokens) if terms else None
        if words is None or self.options.glossary_steering == "hotwords":
            return prompt, words
        return f"{prompt or ''}{profile.joiner if prompt else ''}{words}", None

    @staticmethod
    def _convert(raw, profile: LanguageProfile) -> Segment | None:
        def fix(text: str) -> str:
            return house_style(text, profile)

        if _read_back(raw):
            log.warning("dropping a segment at %.1fs that is no speech (read back from the prompt): %r", raw.start,
                        raw.text)
            return None
        words = tuple(
            Word(start=float(w.start), end=float(max(w.end, w.start)), word=fix(w.word.strip()),
                 probability=float(w.probability))
            for w in (raw.words or ())
            if w.word.strip()
        )
        text = fix(raw.text.strip())
        tail = _read_back_tail(words)
        if tail:
            spans = locate_words(text, words)
            log.warning("dropping %d words at %.1fs that are no speech (read back from the prompt): %r", tail,
                        words[-tail].start, " ".join(w.word for w in words[-tail:]))
            words = words[:-tail]
            text = text[:spans[-tail][0]].rstrip() if spans else profile.join(w.word for w in words)
        if not text or not words:
            return None
        return Segment(start=float(words[0].start), end=float(words[-1].end), text=text, words=words)


def _read_back_tail(words: tuple[Word, ...]) -> int:
    """How many words at the end of a segment came in no time at all (two or more, each under MIN_WORD_S): the
    decoder reading its prompt back after the speech, inside a segment that began with real speech."""
    count = 0
    while count < len(words) and words[-1 - count].end - words[-1 - count].start < MIN_WORD_S:
        count += 1
    return count if 2 <= count < len(words) else 0


def _read_back(raw) -> bool:
    """Whether a faster-whisper segment is text the decoder went on writing after the speech (see MIN_WORD_S)."""
    words = [w for w in (raw.words or ()) if w.word.strip()]
    if len(words) >= 2 and (words[-1].end - words[0].start) / len(words) < MIN_WORD_S:
        return True
    return bool(words) and raw.no_speech_prob > DOUBTED_SPEECH and \
        max(w.probability for w in words) < UNHEARD_WORD_PROBABILITY
