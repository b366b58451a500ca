"""Text-to-speech: the anchor's voice.

    voice = load_voice("en")                      # load once (model, session, phonemiser)
    speech = voice.synthesize(script, "intro.wav")  # call many: one 16-bit mono WAV + timings

Every voice normalises the script (`normalize_text`), reads it sentence by sentence with a short pause
between sentences, and delivers `Settings.tts_sample_rate_hz` audio. `Speech.phonemes` (English, piper)
tile the file exactly; `Speech.words` carry the script's written words ("12", not "twelve").

Voices, by language (name -> factory, see `VOICES`):
- "en": `PiperVoice`, piper-tts + en_US joe (GPL-3.0 engine, CC0 voice), phoneme and word timings.
- "zh": `KokoroVoice`, Kokoro-82M int8 + misaki[zh] G2P (Apache-2.0), word timings, no phoneme timings.
"""

from __future__ import annotations

from collections.abc import Callable

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError
from newsroom.tts.base import SILENCE, Progress, Rendered, Voice, speak, write_wav
from newsroom.tts.kokoro_voice import KokoroVoice
from newsroom.tts.piper_voice import PiperVoice
from newsroom.tts.text import (
    MAX_CHUNK_CHARS_ZH,
    MAX_CHUNK_WORDS_EN,
    MAX_SCRIPT_CHARS,
    Chunk,
    Token,
    chunks,
    normalize_text,
    tokens,
)

VOICES: dict[str, Callable[[Settings], Voice]] = {
    "en": PiperVoice.load,
    "zh": KokoroVoice.load,
}


def load_voice(language: str, settings: Settings | None = None) -> Voice:
    """The anchor voice for `language` ("en" or "zh"), loaded and ready to `synthesize`."""
    try:
        factory = VOICES[language]
    except KeyError:
        raise ConfigError(f"no anchor voice for language {language!r}: choose one of {', '.join(VOICES)}") from None
    return factory(settings or get_settings())


__all__ = [
    "MAX_CHUNK_CHARS_ZH",
    "MAX_CHUNK_WORDS_EN",
    "MAX_SCRIPT_CHARS",
    "SILENCE",
    "VOICES",
    "Chunk",
    "KokoroVoice",
    "PiperVoice",
    "Progress",
    "Rendered",
    "Token",
    "Voice",
    "chunks",
    "load_voice",
    "normalize_text",
    "speak",
    "tokens",
    "write_wav",
]
