"""Number words: one table per language, read both ways.

The voice reads numbers out from the table (`tts.text`), and the draft checks find numbers written as
words in a transcript with the same table (`llm.draft.unsupported_numbers`). Spaced languages list
their words (`ones`, `tens`, `scales`, `other`); languages written with numerals list the numeral
characters (`digits`, `variants`, `units`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType


def frozen_map(mapping: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class NumberWords:
    """How a language writes numbers in words (compared and hashed by identity: one table per language)."""

    ones: tuple[str, ...] = ()  # 0..19 as words (spaced languages)
    tens: tuple[str, ...] = ()  # index 2..9: twenty..ninety
    scales: tuple[tuple[int, str], ...] = ()  # (value, word), largest first: trillion .. thousand
    hundred: str = ""
    other: Mapping[str, int] = field(default_factory=frozen_map)  # once, twice, first, dozen...
    digits: str = ""  # numeral characters for 0..9 (languages written with numerals)
    variants: Mapping[str, int] = field(default_factory=frozen_map)  # other numerals for a digit: 〇, 两
    units: Mapping[str, int] = field(default_factory=frozen_map)  # 十 百 千 万 亿: multiplier characters
    point: str = ""  # the decimal point read out
    minus: str = ""  # read before a negative number (numerals)
    percent: str = ""  # read after a percentage (numerals)
    one_before: str = ""  # units that keep 一 when they lead (一百 in Chinese; 百 alone in Japanese)

    @cached_property
    def words(self) -> Mapping[str, int]:
        """Every number word and its value (spaced languages)."""
        out: dict[str, int] = {w: i for i, w in enumerate(self.ones)}
        out.update({w: 10 * i for i, w in enumerate(self.tens) if w})
        if self.hundred:
            out[self.hundred] = 100
        out.update({w: v for v, w in self.scales})
        out.update(self.other)
        return MappingProxyType(out)

    @cached_property
    def numerals(self) -> Mapping[str, int]:
        """Every digit numeral and its value."""
        out = {c: i for i, c in enumerate(self.digits)}
        out.update(self.variants)
        return MappingProxyType(out)

    @cached_property
    def numeral_run(self) -> re.Pattern[str] | None:
        """A run of numerals and unit characters, or None for languages without numerals."""
        chars = "".join(self.numerals) + "".join(self.units)
        return re.compile(f"[{re.escape(chars)}]+") if chars else None

    def numeral_value(self, run: str) -> int:
        """The value of a run of numerals: 三千五百 -> 3500, 两万 -> 20000, 二零二六 -> 2026."""
        total, section, digit = 0, 0, 0
        for char in run:
            if char in self.numerals:
                digit = digit * 10 + self.numerals[char] if digit and not section else self.numerals[char]
            else:
                unit = self.units[char]
                if unit >= 10_000:
                    total += (section + digit) * unit
                    section, digit = 0, 0
                else:
                    section += (digit or 1) * unit
                    digit = 0
        return total + section + digit

    def spell(self, n: int) -> str:
        """`n` in numerals grouped by myriads: 2026 -> 二千二十六, 10500 -> 一万五百 (digits past the units)."""
        if n < 0:
            return self.minus + self.spell(-n)
        if n == 0:
            return self.digits[0]
        small = sorted(((v, c) for c, v in self.units.items() if v < 10_000), reverse=True)
        big = sorted(((v, c) for c, v in self.units.items() if v >= 10_000), reverse=True)
        if not big or n >= big[0][0] * 10_000:
            return self.digit_by_digit(str(n))

        def below_myriad(m: int) -> str:
            out = ""
            for value, char in small:
                count, m = divmod(m, value)
                if count:
                    out += ("" if count == 1 and char not in self.one_before else self.digits[count]) + char
            return out + (self.digits[m] if m else "")

        out = ""
        for value, char in big:
            count, n = divmod(n, value)
            if count:
                out += below_myriad(count) + char
        return out + (below_myriad(n) if n else "")

    def digit_by_digit(self, text: str) -> str:
        """Each ASCII digit as its numeral, the decimal point as `point` (a fallback reading)."""
        return re.sub(r"\d", lambda d: self.digits[int(d.group())], text).replace(".", self.point)
