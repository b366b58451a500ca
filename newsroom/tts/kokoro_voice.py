"""Mandarin anchor voice: Kokoro-82M (int8 ONNX, Apache-2.0) run by kokoro-onnx, misaki[zh] G2P.

Only Japanese voice packs ship (voices_ja.npz); fed Mandarin phonemes (pinyin -> IPA with tone arrows,
misaki's "legacy" style that Kokoro v1.0 was trained with) they read intelligible Mandarin with a
slight accent. Latin-script words inside Chinese text (GDP, app names) get English espeak phonemes.

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


class KokoroVoice:
    """The Mandarin anchor voice. Construct with `KokoroVoice.load()`; `synthesize` many times."""

    language = "zh"
    engine = "kokoro"

    def __init__(self, kokoro, g2p, voice: str, settings: Settings, *, speed: float = SPEED) -> None:
        self._kokoro = kokoro
        self._g2p = g2p
        self.voice = voice
        self.speed = speed
        self._settings = settings
        self.model_id = MODEL_ID

    @classmethod
    def load(cls, settings: Settings | None = None, *, voice: str | None = None, speed: float = SPEED) -> KokoroVoice:
        settings = settings or get_settings()
        model = ModelRegistry(settings).resolve(MODEL_ID)
        voices = model.parent / VOICES_FILE
        try:
            import onnxruntime
            from kokoro_onnx import Kokoro
            from misaki.zh import ZHG2P
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"the Mandarin voice needs kokoro-onnx and misaki[zh] ({exc.name} is missing): "
                "pip install kokoro-onnx==0.6.1 'misaki[zh]==0.9.4'"
            ) from exc
        voice = voice or DEFAULT_VOICE
        with np.load(voices) as pack:
            available = sorted(pack.files)
        if voice not in available:
            raise ConfigError(
                f"Kokoro has no voice {voice!r} in {voices.name}: choose one of {', '.join(available)} "
                "(e.g. NEWSROOM_TTS_ZH_VOICE=kokoro:jm_kumo)"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        kokoro = Kokoro.from_session(session, str(voices))
        logging.getLogger("jieba").setLevel(logging.WARNING)
        log.info("loaded %s (%s, voice %s)", MODEL_ID, model, voice)
        return cls(kokoro, ZHG2P(), voice, settings, speed=speed)

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
        """Kokoro phonemes: misaki pinyin-IPA for Chinese, espeak English for Latin-script words."""
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
