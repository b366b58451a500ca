"""Speech-to-text with Whisper weights run by faster-whisper (CTranslate2, int8, CPU).

Load once (`Transcriber.load`), call many (`transcribe`). Guards against the failure modes Whisper is
known for on long or empty audio: no conditioning on previous text (stops repetition loops spreading),
compression-ratio / log-prob / no-speech thresholds with temperature fallback, silero VAD (shipped
inside faster-whisper) so silence produces no segments, skipping of hallucinated text in long silent
gaps, and dropping of immediately repeated segments. Mandarin is steered to Simplified characters
by a Simplified-Chinese prompt and converted with zhconv for whatever slips through.
"""

from __future__ import annotations

import logging
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, MediaError, ModelNotInstalledError
from newsroom.models.registry import ASR_MODEL_IDS, ModelRegistry
from newsroom.types import Segment, Transcript, Word

log = logging.getLogger("newsroom.asr")

SAMPLE_RATE_HZ = 16_000
# The classic Simplified prompt: measured here to give Simplified text with punctuation at beam-5
# speed; longer prompts ("...使用简体中文") made base emit odd punctuation and decode 5x slower.
ZH_PROMPT = "以下是普通话的句子。"
_ZH_FULL_WIDTH = str.maketrans({",": "，", "?": "？", "!": "！", ":": "：", ";": "；"})
_CJK_PUNCT_RE = re.compile(r"(?<=[\u3400-\u9fff])\s*([,?!:;])\s*")
# Model names written into transcripts (the JSON contract's "model" field).
CONTRACT_NAMES = {"whisper-base": "whisper-base-int8", "whisper-tiny-en": "whisper-tiny.en-int8"}
MODEL_LANGUAGES = {"whisper-base": ("en", "zh"), "whisper-tiny-en": ("en",)}
MIN_SPEECH_S = 0.25

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


def to_simplified(text: str) -> str:
    """Simplified characters and full-width punctuation after Chinese characters."""
    import zhconv

    text = zhconv.convert(text, "zh-cn")
    return _CJK_PUNCT_RE.sub(lambda m: m.group(1).translate(_ZH_FULL_WIDTH), text)


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
        allowed_languages: tuple[str, ...] = ("en", "zh"),
        progress: Progress | None = None,
    ) -> Transcript:
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
        opts = self.options
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
            initial_prompt=ZH_PROMPT if language == "zh" else None,
        )
        segments: list[Segment] = []
        for raw in segments_iter:
            segment = self._convert(raw, language)
            if progress:
                progress(min(1.0, raw.end / duration_s) if duration_s else 1.0)
            if segment is None:
                continue
            if segments and segment.text == segments[-1].text:
                log.warning("dropping repeated segment at %.1fs: %r", segment.start, segment.text)
                continue
            segments.append(segment)
        transcript = Transcript(language=language, duration_s=duration_s, model=contract_name, segments=tuple(segments))
        if self.diarizer is not None:
            transcript = self.diarizer.label(transcript, audio)
        if progress:
            progress(1.0)
        return transcript

    @staticmethod
    def _convert(raw, language: str) -> Segment | None:
        fix = to_simplified if language == "zh" else (lambda s: s)
        words = tuple(
            Word(start=float(w.start), end=float(max(w.end, w.start)), word=fix(w.word.strip()),
                 probability=float(w.probability))
            for w in (raw.words or ())
            if w.word.strip()
        )
        text = fix(raw.text.strip())
        if not text or not words:
            return None
        return Segment(start=float(words[0].start), end=float(words[-1].end), text=text, words=words)
