"""Text-to-speech: the anchor's voice.

    voice = load_voice("en")                      # load once (model, session, phonemiser)
    speech = voice.synthesize(script, "intro.wav")  # call many: one 16-bit mono WAV + timings

Every voice normalises the script (`normalize_text`), reads it sentence by sentence with a short pause
between sentences, and delivers `Settings.tts_sample_rate_hz` audio. `Speech.phonemes` (English, piper)
tile the file exactly; `Speech.words` carry the script's written words ("12", not "twelve").

Each language profile (`newsroom.lang`) names its engine and voice; engines by name (see `ENGINES`):
- "piper": `PiperVoice`, piper-tts + en_US joe (GPL-3.0 engine, CC0 voice), phoneme and word timings (en).
- "kokoro": `KokoroVoice`, Kokoro-82M int8 + a misaki G2P (Apache-2.0), word timings, no phoneme timings (zh).
"""

from __future__ import annotations

from collections.abc import Callable

from newsroom import lang
from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError
from newsroom.tts.base import SILENCE, Progress, Rendered, Voice, speak, write_wav
from newsroom.tts.kokoro_voice import KokoroVoice
from newsroom.tts.piper_voice import PiperVoice
from newsroom.tts.text import (
    MAX_SCRIPT_CHARS,
    Chunk,
    Token,
    chunks,
    normalize_text,
    tokens,
)

# Engine name -> loader(settings, language); the language profiles say which engine reads each language.
ENGINES: dict[str, Callable[[Settings, str], Voice]] = {
    "piper": lambda settings, language: PiperVoice.load(settings),
    "kokoro": lambda settings, language: KokoroVoice.load(settings, language=language),
}
VOICES: dict[str, str] = {code: p.voice.engine for code, p in lang.PROFILES.items()}  # language -> engine


def load_voice(language: str, settings: Settings | None = None) -> Voice:
    """The anchor voice for `language` (a language profile's code), loaded and ready to `synthesize`."""
    found = lang.find(language)
    if found is None:
        raise ConfigError(f"no anchor voice for language {language!r}: choose one of {', '.join(lang.CODES)}")
    return ENGINES[found.voice.engine](settings or get_settings(), found.code)


__all__ = [
    "MAX_SCRIPT_CHARS",
    "SILENCE",
    "VOICES",
    "ENGINES",
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
