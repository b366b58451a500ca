"""Which characters belong to which script: the one definition of the CJK ranges the library uses.

A `Script` is a named set of Unicode ranges with cheap tests (`matches`, `count`, `search`). Profiles
name the script their language is written in; modules that need a script test (ASR punctuation,
quote checks, highlight keywords, cover wrapping) take it from here, never from their own ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Script:
    """A set of characters given as the body of a regex character class (`ranges`)."""

    name: str
    ranges: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", re.compile(f"[{self.ranges}]"))

    @property
    def pattern(self) -> re.Pattern[str]:
        return self._re

    def matches(self, char: str) -> bool:
        """Whether the single character `char` belongs to the script."""
        return bool(char) and self._re.fullmatch(char) is not None

    def search(self, text: str) -> bool:
        """Whether any character of `text` belongs to the script."""
        return self._re.search(text) is not None

    def count(self, text: str) -> int:
        """How many characters of `text` belong to the script."""
        return len(self._re.findall(text))

    def __add__(self, other: Script) -> Script:
        return Script(f"{self.name}+{other.name}", self.ranges + other.ranges)


# Han ideographs (CJK Unified A, the BMP block, compatibility ideographs, planes 2-3) and the marks that
# Unicode counts as Han: 々 (iteration), 〇 (zero), 〡-〩 and 〸-〻 (Hangzhou numerals).
HAN = Script("Han", "\u3005\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                    "\U00020000-\U0003ffff")
HIRAGANA = Script("Hiragana", "\u3041-\u309f")
# Katakana (with ー), its phonetic extensions and half-width forms; not the middle dot ・ (punctuation).
KATAKANA = Script("Katakana", "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f")
KANA = HIRAGANA + KATAKANA
HANGUL = Script("Hangul", "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af")
# Letters of the CJK languages (no punctuation): what "written in Chinese/Japanese/Korean" means.
CJK = Script("CJK", HAN.ranges + KANA.ranges + HANGUL.ranges)
# Characters set solid and wrapped one by one (radicals, CJK punctuation, kana, bopomofo, ideographs,
# Hangul, vertical and full-width forms): covers and lower thirds break lines between any two of them.
WIDE = Script("wide", "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                      "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff")
LATIN = Script("Latin", "A-Za-z\u00c0-\u024f")

# Line breaking in any script (kinsoku): never start a line with closing punctuation, never end one with
# opening punctuation.
NO_LINE_START = frozenset("，。、；：！？）」』】》〉〕〗〙〛｝］％”’…—–～·・,.;:!?)]}%")
NO_LINE_END = frozenset("（「『【《〈〔〖〘〚｛［“‘([{")
