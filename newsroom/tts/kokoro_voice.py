"""Kokoro anchor voices: Kokoro-82M (int8 ONNX, Apache-2.0) run by kokoro-onnx, with the misaki G2P
that the language profile names (`voice.g2p`, see `G2PS`) and its voice pack (`voice.voice`).

Only Japanese voice packs ship (voices_ja.npz); fed Mandarin phonemes (misaki[zh]: pinyin -> IPA with
tone arrows, the "legacy" style that Kokoro v1.0 was trained with) they read intelligible Mandarin with
a slight accent. Latin-script words inside CJK text (GDP, app names) get English espeak phonemes.

The model reports no durations, so there are no phoneme timings (`phonemes=()`: animate the mouth from
the audio energy). Word timings are exact at sentence edges (each sentence is synthesised on its own and
trimmed of silence) and, inside a sentence, spread over the words in proportion to their phonemes.
The graph has no random nodes: the same text gives the same samples.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from newsroom import lang
from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelNotInstalledError
from newsroom.models.registry import ModelRegistry
from newsroom.tts.base import Progress, Rendered, speak
from newsroom.tts.text import Chunk, chunks
from newsroom.types import Speech

log = logging.getLogger("newsroom.tts")

MODEL_ID = "kokoro-v1.0-int8"
DEFAULT_VOICE = "jm_kumo"  # the clearest shipped pack on Mandarin: CER 0.11-0.17 vs jf_alpha 0.20-0.24
VOICES_FILE = "voices_ja.npz"
SPEED = 1.0  # ~3.6 characters/s on a news script: already a measured read (0.9 measured no clearer)
PEAK = 0.9  # the same headroom as the English voice
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z' -]*[A-Za-z]|[A-Za-z]")
_NOT_SOUNDS = frozenset(" .,;:!?\"'()“”—…↓↗↘→")


def _misaki_zh():
    from misaki.zh import ZHG2P

    logging.getLogger("jieba").setLevel(logging.WARNING)
    return ZHG2P()


def _misaki_ja():
    # misaki's cutlet G2P (what Kokoro's Japanese voices were trained with) on MeCab (fugashi) with the
    # UniDic-lite dictionary bundled in its wheel: no download at run time. misaki.ja itself is not imported:
    # it imports pyopenjtalk, whose dictionary is downloaded on first use.
    from misaki.cutlet import Cutlet

    return Cutlet()


# G2P name (a profile's `voice.g2p`) -> (loader of a callable text -> (phonemes, tokens), pip requirement).
G2PS = {
    "misaki-zh": (_misaki_zh, "'misaki[zh]==0.9.4'"),
    "misaki-ja": (_misaki_ja, "misaki==0.9.4 fugashi==1.5.2 unidic-lite==1.0.8 jaconv==0.5.0 mojimoji==0.0.13"),
}


class KokoroVoice:
    """A Kokoro anchor voice. Construct with `KokoroVoice.load(language=...)`; `synthesize` many times."""

    engine = "kokoro"

    def __init__(self, kokoro, g2p, voice: str, settings: Settings, *, speed: float = SPEED,
                 language: str = "zh") -> None:
        self.language = language
        self._kokoro = kokoro
        self._g2p = g2p
        self.voice = voice
        self.speed = speed
        self._settings = settings
        self.model_id = MODEL_ID

    @classmethod
    def load(cls, settings: Settings | None = None, *, language: str = "zh", voice: str | None = None,
             speed: float = SPEED) -> KokoroVoice:
        settings = settings or get_settings()
        profile = lang.profile(language)
        load_g2p, requirement = G2PS[profile.voice.g2p]
        model = ModelRegistry(settings).resolve(MODEL_ID)
        voices = model.parent / VOICES_FILE
        try:
            import onnxruntime
            from kokoro_onnx import Kokoro

            g2p = load_g2p()
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"the {profile.name} voice needs kokoro-onnx and {requirement} ({exc.name} is missing): "
                f"pip install kokoro-onnx==0.6.1 {requirement}"
            ) from exc
        # The profile's voice when Kokoro is its engine; else (Mandarin, read by ttskit by default) the
        # clearest shipped pack on Mandarin: jm_kumo, CER 0.11-0.17 vs jf_alpha 0.20-0.24.
        voice = voice or (profile.voice.voice if profile.voice.engine == cls.engine else DEFAULT_VOICE)
        with np.load(voices) as pack:
            available = sorted(pack.files)
        if voice not in available:
            raise ConfigError(
                f"Kokoro has no voice {voice!r} in {voices.name}: choose one of {', '.join(available)} "
                f"(e.g. NEWSROOM_TTS_VOICES__{profile.code.upper()}=kokoro:{DEFAULT_VOICE})"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        kokoro = Kokoro.from_session(session, str(voices))
        log.info("loaded %s (%s, voice %s, %s)", MODEL_ID, model, voice, profile.voice.g2p)
        return cls(kokoro, g2p, voice, settings, speed=speed, language=profile.code)

    @property
    def sample_rate_hz(self) -> int:
        from kokoro_onnx.config import SAMPLE_RATE

        return SAMPLE_RATE

    # -- per call
    def synthesize(self, text: str, out_wav: str | Path, *, progress: Progress | None = None) -> Speech:
        """Read `text` (normalised, sentence by sentence) into `out_wav` at settings.tts_sample_rate_hz."""
        return speak(chunks(text, self.language), self._render, out_wav,
                     sample_rate_hz=self._settings.tts_sample_rate_hz, language=self.language,
                     engine=self.engine, text=text, progress=progress)

    def phonemize(self, text: str) -> str:
        """Kokoro phonemes: the misaki G2P for the language's script, espeak English for Latin-script words."""
        parts = []
        position = 0
        for match in _LATIN_RE.finditer(text):
            parts.append(self._g2p(text[position:match.start()])[0])
            parts.append(self._kokoro.tokenizer.phonemize(match.group(), "en-us"))
            position = match.end()
        parts.append(self._g2p(text[position:])[0])
        return " ".join(p.strip() for p in parts if p and p.strip())

    def _render(self, chunk: Chunk) -> Rendered:
        phonemes = self.phonemize(chunk.text)
        if not phonemes.strip(" .,;:!?"):
            log.warning("no phonemes for %r: reading it as a short silence", chunk.text)
            return Rendered(np.zeros(int(0.1 * self.sample_rate_hz), np.float32), self.sample_rate_hz)
        audio, rate = self._kokoro.create(phonemes, voice=self.voice, speed=self.speed, is_phonemes=True, trim=True)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio), initial=0.0))
        if peak > PEAK:
            audio = audio * (PEAK / peak)
        return Rendered(audio, rate, words=tuple(self._words(chunk, len(audio))))

    def _words(self, chunk: Chunk, n_samples: int) -> list[tuple[str, int, int]]:
        """Words spread over the sentence in proportion to how many phonemes each has."""
        weights = [max(1, sum(ch not in _NOT_SOUNDS for ch in self.phonemize(t.spoken))) for t in chunk.tokens]
        edges = np.concatenate([[0], np.cumsum(weights)]) * n_samples / max(sum(weights), 1)
        return [(t.written, int(round(edges[i])), int(round(edges[i + 1]))) for i, t in enumerate(chunk.tokens)]
