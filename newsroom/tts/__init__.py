"""Text-to-speech: the anchor's voice.

    voice = load_voice("en")                      # load once (model, session, phonemiser)
    speech = voice.synthesize(script, "intro.wav")  # call many: one 16-bit mono WAV + timings

Every voice normalises the script (`normalize_text`), reads it sentence by sentence with a short pause
between sentences, and delivers `Settings.tts_sample_rate_hz` audio. `Speech.phonemes` (English, piper)
tile the file exactly; `Speech.words` carry the script's written words ("12", not "twelve").

Voices: an engine (name -> factory, see `ENGINES`) and one of its voices, written "engine:voice".
- "en": `PiperVoice`, piper-tts + en_US joe (GPL-3.0 engine, CC0 voice), phoneme and word timings.
- "zh": `Settings.tts_zh_voice`, by default "ttskit:Aiyue": `TtskitVoice`, ttskit's native Mandarin
  Mellotron + MelGAN (MIT code; the voices' training data may be non-commercial, see ttskit_voice.py),
  word timings from its attention. "kokoro:jm_kumo" selects `KokoroVoice` instead (Kokoro-82M int8 +
  misaki[zh] G2P, Apache-2.0: a Japanese voice reading Mandarin phonemes, audibly accented).
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
from newsroom.tts.ttskit_voice import SPEAKERS as TTSKIT_SPEAKERS
from newsroom.tts.ttskit_voice import TtskitVoice

ENGINES: dict[str, Callable[[Settings, str | None], Voice]] = {
    "piper": lambda settings, voice: PiperVoice.load(settings),
    "kokoro": lambda settings, voice: KokoroVoice.load(settings, voice=voice),
    "ttskit": lambda settings, voice: TtskitVoice.load(settings, voice=voice),
}
ENGINE_LANGUAGE = {"piper": "en", "kokoro": "zh", "ttskit": "zh"}
DEFAULT_VOICES = {"en": "piper:joe"}  # Mandarin: Settings.tts_zh_voice (NEWSROOM_TTS_ZH_VOICE)


def voice_spec(language: str, settings: Settings | None = None, voice: str | None = None) -> tuple[str, str | None]:
    """(engine, voice) for `language`: `voice` if given, else the setting/default, as "engine:voice".

    A bare engine name ("kokoro") means its default voice; a bare voice name is looked up: one of ttskit's
    speakers ("Aiyue") is ttskit, anything else a Kokoro pack voice ("jm_kumo"), as the setting was written
    before ttskit came.
    """
    settings = settings or get_settings()
    if language not in ("en", "zh"):
        raise ConfigError(f"no anchor voice for language {language!r}: choose one of en, zh")
    spec = voice or (settings.tts_zh_voice if language == "zh" else DEFAULT_VOICES[language])
    engine, sep, name = spec.partition(":")
    if not sep and spec not in ENGINES:
        engine, name = ("ttskit" if spec in TTSKIT_SPEAKERS else "kokoro"), spec
    if engine not in ENGINES:
        raise ConfigError(f"unknown voice engine {engine!r} in {spec!r}: write engine:voice with one of "
                          f"{', '.join(ENGINES)} (e.g. ttskit:Aiyue or kokoro:jm_kumo)")
    if ENGINE_LANGUAGE[engine] != language:
        raise ConfigError(f"{engine} reads {ENGINE_LANGUAGE[engine]}, not {language}: choose a {language} voice")
    return engine, (name or None)


def load_voice(language: str, settings: Settings | None = None, *, voice: str | None = None) -> Voice:
    """The anchor voice for `language` ("en" or "zh"), loaded and ready to `synthesize`.

    `voice` ("ttskit:Aiyue", "kokoro:jm_kumo") overrides the setting for this call.
    """
    settings = settings or get_settings()
    engine, name = voice_spec(language, settings, voice)
    return ENGINES[engine](settings, name)


__all__ = [
    "MAX_CHUNK_CHARS_ZH",
    "MAX_CHUNK_WORDS_EN",
    "MAX_SCRIPT_CHARS",
    "SILENCE",
    "DEFAULT_VOICES",
    "ENGINES",
    "Chunk",
    "KokoroVoice",
    "PiperVoice",
    "Progress",
    "Rendered",
    "Token",
    "TtskitVoice",
    "Voice",
    "chunks",
    "load_voice",
    "normalize_text",
    "speak",
    "tokens",
    "voice_spec",
    "write_wav",
]
