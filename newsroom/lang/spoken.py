"""Written text made speakable before a voice reads it: dates, abbreviations and units, per the language
profile's `SpokenForms` (numbers, percentages, URLs and symbols are the voice normaliser's own work,
`newsroom.tts.text`).

    speakable("Dr. Lee opens the 3 km path on 2026-05-07.", "en")
    # 'Doctor Lee opens the 3 kilometres path on May 7th, 2026.'
    speakable("新路段2026-05-07开放，全长3km。", "zh")
    # '新路段2026年5月7日开放，全长3公里。'
"""

from __future__ import annotations

import re

from newsroom.lang import profile as find_profile

_ISO_DATE_RE = re.compile(r"(?<![\d-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d-])")


def _date(spoken, year: int, month: int, day: int, template: str) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    name = spoken.months[month - 1] if spoken.months else str(month)
    return template.format(year=year, month=name, day=spoken.day(day))


def speakable(text: str, language: str) -> str:
    """`text` with the profile's dates, abbreviations and units written out as they are said."""
    spoken = find_profile(language).spoken
    text = _ISO_DATE_RE.sub(lambda m: _date(spoken, int(m[1]), int(m[2]), int(m[3]), spoken.iso_date) or m[0], text)
    if spoken.months:
        names = "|".join(re.escape(m) for m in spoken.months)
        if spoken.day_month:
            text = re.sub(rf"\b(\d{{1,2}})\s+({names})\b",
                          lambda m: _named(spoken, m[2], int(m[1]), spoken.day_month) or m[0], text)
        if spoken.month_day:
            text = re.sub(rf"\b({names})\s+(\d{{1,2}})\b(?![:.,]?\d)",
                          lambda m: _named(spoken, m[1], int(m[2]), spoken.month_day) or m[0], text)
    if spoken.units:
        units = "|".join(re.escape(u) for u in sorted(spoken.units, key=len, reverse=True))
        gap = " " if find_profile(language).spaced else ""
        text = re.sub(rf"(\d)\s?({units})(?![A-Za-z/²³])", lambda m: f"{m[1]}{gap}{spoken.units[m[2]]}", text)
    if spoken.words:
        def word(m: re.Match[str]) -> str:
            return spoken.words.get(m[0], m[0])
        text = re.sub(r"(?<![\w.])[A-Za-z][A-Za-z.]*\.", word, text)
    return text


def _named(spoken, month_name: str, day: int, template: str) -> str | None:
    if not 1 <= day <= 31:
        return None
    return template.format(month=month_name, day=spoken.day(day), year="")
