"""English numbers read aloud: cardinals, ordinals, years, money and clock times (the English normaliser's
number words; `newsroom.lang.zh_numbers` is the Mandarin counterpart)."""

from __future__ import annotations

from newsroom.lang.en import NUMBERS as EN_NUMBERS

_EN = EN_NUMBERS
_ONES, _TENS, _SCALES = _EN.ones, _EN.tens, _EN.scales
SCALE_WORDS = {word for _, word in _SCALES}
_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                      "nine": "ninth", "twelve": "twelfth"}
CURRENCIES = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros"), "¥": ("yen", "yen")}
_MAX_CARDINAL = 10**15


def _below_thousand(n: int) -> str:
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(f"{_ONES[hundreds]} {_EN.hundred}")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


def cardinal(n: int) -> str:
    """12 -> "twelve", 1200 -> "one thousand two hundred" (US style, no "and"); digits past 10^15."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= _MAX_CARDINAL:
        return " ".join(_ONES[int(d)] for d in str(n))
    words = []
    for value, name in _SCALES:
        count, n = divmod(n, value)
        if count:
            words.append(f"{_below_thousand(count)} {name}")
    if n or not words:
        words.append(_below_thousand(n))
    return " ".join(words)


def ordinal(n: int) -> str:
    """21 -> "twenty-first"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    stem, hyphen, unit = last.rpartition("-")
    if unit in _ORDINAL_IRREGULAR:
        unit = _ORDINAL_IRREGULAR[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head}{sep}{stem}{hyphen}{unit}"


def year(n: int) -> str:
    """2026 -> "twenty twenty-six", 1905 -> "nineteen oh five", 2005 -> "two thousand five"."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def number(text: str, *, as_year: bool = True) -> str:
    """A written number ("1,200", "3.5", "-4", "2026") in words; four-digit 1100-2099 reads as a year."""
    negative = text.startswith(("-", "−"))
    grouped = "," in text
    text = text.lstrip("-−").replace(",", "")
    whole, _, fraction = text.partition(".")
    if as_year and not (negative or grouped or fraction) and len(whole) == 4 and 1100 <= int(whole) <= 2099:
        return year(int(whole))
    words = cardinal(int(whole or "0"))
    if fraction:
        words += f" {_EN.point} " + _digits(fraction)
    return ("minus " + words) if negative else words


def money(amount: str, symbol: str, scale: str | None) -> str:
    """"$1.50" -> "one dollar and fifty cents"; with a scale word after it ("$3 million") "three million dollars"."""
    one, many = CURRENCIES[symbol]
    if scale:
        return f"{number(amount, as_year=False)} {scale} {many}"
    whole, _, cents = amount.replace(",", "").partition(".")
    unit = one if int(whole or "0") == 1 else many
    words = f"{cardinal(int(whole or '0'))} {unit}"
    if len(cents) == 2 and int(cents):
        words += f" and {cardinal(int(cents))} {'cent' if cents == '01' else 'cents'}"
    elif cents and int(cents):
        words = f"{number(amount, as_year=False)} {many}"
    return words


def clock(hours: str, minutes: str) -> str:
    """"8:05" -> "eight oh five", "9:00" -> "nine o'clock"."""
    h, m = int(hours), int(minutes)
    if m == 0:
        return f"{cardinal(h)} o'clock"
    return f"{cardinal(h)} {'oh ' if m < 10 else ''}{cardinal(m)}"
