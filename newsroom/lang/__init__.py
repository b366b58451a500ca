"""Language profiles: every per-language rule of the library, one record per language.

    from newsroom import lang
    p = lang.profile("zh")          # LanguageProfile; ConfigError for a language without one
    p.joiner, p.subtitles.chars_per_line, p.voice.engine, p.draft.prompt, p.numbers.numeral_value("三千")

`PROFILES` is the one table: the settings' and CLI's language choices, Whisper's languages, the subtitle
rules, the voices and the prompt templates all derive from it. A language is added by writing its
module (see `en.py`, `zh.py`, `ja.py`), listing it here, and adding its prompt templates (`newsroom/llm/prompts/`).
Nothing else in the library tests a language code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from newsroom.errors import ConfigError
from newsroom.lang import en, ja, zh
from newsroom.lang.numbers import NumberWords
from newsroom.lang.profile import (
    AsrRules,
    AttributionRules,
    DraftRules,
    LanguageProfile,
    SubtitleRules,
    VoiceRules,
)
from newsroom.lang.scripts import CJK, HAN, HANGUL, KANA, LATIN, NO_LINE_END, NO_LINE_START, WIDE, Script

PROFILES: Mapping[str, LanguageProfile] = MappingProxyType({p.code: p for p in (en.PROFILE, zh.PROFILE, ja.PROFILE)})
CODES: tuple[str, ...] = tuple(PROFILES)
DEFAULT_LANGUAGES: tuple[str, ...] = tuple(p.code for p in PROFILES.values() if p.asr.detect_by_default)

# Noto Sans CJK faces for regional variants that have no profile of their own (BCP 47 tags, lower case).
_FONT_REGIONS = {"zh-tw": "TC", "zh-hant": "TC", "zh-mo": "TC", "zh-hk": "HK", "yue": "HK", "ko": "KR"}


def base_code(language: str) -> str:
    """The primary subtag of a language tag: "zh-Hans" -> "zh", "en_GB" -> "en"."""
    return language.strip().lower().replace("_", "-").split("-")[0]


def find(language: str) -> LanguageProfile | None:
    """The profile for a language tag ("en", "en-GB", "zh-Hans"...), or None."""
    return PROFILES.get(base_code(language)) if isinstance(language, str) else None


def profile(language: str) -> LanguageProfile:
    """The profile for a language tag; ConfigError naming the languages there are."""
    found = find(language)
    if found is None:
        raise ConfigError(f"no language profile for {language!r}: choose one of {', '.join(CODES)}")
    return found


def joiner(language: str) -> str:
    """What goes between words in `language`: "" for languages written without spaces, else " "."""
    found = find(language)
    return found.joiner if found else " "


def detect(text: str) -> LanguageProfile:
    """The profile whose script has the most characters in `text` (the first listed on a tie)."""
    best = max(PROFILES.values(), key=lambda p: p.script.count(text))
    return best if best.script.count(text) else PROFILES[CODES[0]]


def font_region(language: str) -> str:
    """The Noto Sans CJK face for a language tag: the profile's, a regional variant's, else SC."""
    tag = language.strip().lower().replace("_", "-")
    for prefix, region in _FONT_REGIONS.items():
        if tag.startswith(prefix):
            return region
    found = find(language)
    return found.font_region if found else "SC"


__all__ = [
    "CJK",
    "CODES",
    "DEFAULT_LANGUAGES",
    "HAN",
    "HANGUL",
    "KANA",
    "LATIN",
    "NO_LINE_END",
    "NO_LINE_START",
    "PROFILES",
    "WIDE",
    "AsrRules",
    "AttributionRules",
    "DraftRules",
    "LanguageProfile",
    "NumberWords",
    "Script",
    "SubtitleRules",
    "VoiceRules",
    "base_code",
    "detect",
    "find",
    "font_region",
    "joiner",
    "profile",
]
