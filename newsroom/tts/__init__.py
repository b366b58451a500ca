"""Text-to-speech: the anchor's voice.

    voice = load_voice("en")                      # load once (model, session, phonemiser)
    speech = voice.synthesize(script, "intro.wav")  # call many: one 16-bit mono WAV + timings

Every voice normalises the script (`normalize_text`), reads it sentence by sentence with a short pause
between sentences, and delivers `Settings.tts_sample_rate_hz` audio. `Speech.phonemes` (English, piper)
tile the file exactly; `Speech.words` carry the script's written words ("12", not "twelve").

Each language profile (`newsroom.lang`) names its voice as "engine:voice"; `NEWSROOM_TTS_VOICES__<CODE>`
overrides it. Engines by name (see `ENGINES`):
- "piper": `PiperVoice`, piper-tts + en_US joe (GPL-3.0 engine, CC0 voice), phoneme and word timings (en).
- "ttskit": `TtskitVoice`, ttskit's native Mandarin Mellotron + MelGAN (MIT code; the voices' training data
  may be non-commercial, see newsroom/lang/zh.py), word timings from its attention (the zh default).
- "kokoro": `KokoroVoice`, Kokoro-82M int8 + a misaki G2P (Apache-2.0), word timings, no phoneme timings
  (ja; and zh as "kokoro:jm_kumo": a Japanese voice reading Mandarin phonemes, audibly accented).
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
from newsroom.tts.ttskit_voice import SPEAKERS as TTSKIT_SPEAKERS
from newsroom.tts.ttskit_voice import TtskitVoice

# Engine name -> loader(settings, language, voice): the language profiles say which engine reads each language.
ENGINES: dict[str, Callable[[Settings, str, str | None], Voice]] = {
    "piper": lambda settings, language, voice: PiperVoice.load(settings),
    "kokoro": lambda settings, language, voice: KokoroVoice.load(settings, language=language, voice=voice),
    "ttskit": lambda settings, language, voice: TtskitVoice.load(settings, voice=voice),
}
VOICES: dict[str, str] = {code: p.voice.engine for code, p in lang.PROFILES.items()}  # language -> default engine


def voice_spec(language: str, settings: Settings | None = None, voice: str | None = None) -> tuple[str, str | None]:
    """(engine, voice) for `language`: `voice` if given, else NEWSROOM_TTS_VOICES__<CODE>, else the profile's.

    Written "engine:voice" ("ttskit:Aiyue", "kokoro:jm_kumo"); a bare engine name means its default voice; a
    bare voice name is one of ttskit's speakers, else a voice of the profile's own engine (Kokoro for a
    profile whose engine is ttskit, as the setting was written before ttskit came).
    """
    found = lang.find(language)
    if found is None:
        raise ConfigError(f"no anchor voice for language {language!r}: choose one of {', '.join(lang.CODES)}")
    settings = settings or get_settings()
    spec = voice or settings.tts_voices.get(found.code) or f"{found.voice.engine}:{found.voice.voice}"
    engine, sep, name = spec.partition(":")
    if not sep:
        if spec in ENGINES:
            engine, name = spec, ""
        elif spec in TTSKIT_SPEAKERS:
            engine, name = "ttskit", spec
        else:
            engine, name = ("kokoro" if found.voice.engine == "ttskit" else found.voice.engine), spec
    if engine not in ENGINES:
        raise ConfigError(f"unknown voice engine {engine!r} in {spec!r}: write engine:voice with one of "
                          f"{', '.join(ENGINES)} (e.g. ttskit:Aiyue or kokoro:jm_kumo)")
    reads = ENGINE_LANGUAGES.get(engine)
    if reads is not None and found.code not in reads:
        raise ConfigError(f"{engine} reads {', '.join(sorted(reads))}, not {found.code}: choose a voice for "
                          f"{found.name} (NEWSROOM_TTS_VOICES__{found.code.upper()})")
    return engine, (name or None)


# Engines bound to one language's phonemes (Kokoro reads any language with a G2P in its profile).
ENGINE_LANGUAGES: dict[str, frozenset[str]] = {"piper": PiperVoice.languages, "ttskit": TtskitVoice.languages}


def load_voice(language: str, settings: Settings | None = None, *, voice: str | None = None) -> Voice:
    """The anchor voice for `language` (a language profile's code), loaded and ready to `synthesize`;
    `voice` ("ttskit:Aiyue", "kokoro:jm_kumo") overrides the setting for this call."""
    settings = settings or get_settings()
    engine, name = voice_spec(language, settings, voice)
    return ENGINES[engine](settings, lang.profile(language).code, name)


__all__ = [
    "MAX_SCRIPT_CHARS",
    "SILENCE",
    "VOICES",
    "ENGINE_LANGUAGES",
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
