"""English: spaced words, BBC/EBU subtitle limits, the piper joe voice."""

from __future__ import annotations

from types import MappingProxyType

from newsroom.lang.numbers import NumberWords, frozen_map
from newsroom.lang.profile import (
    AsrRules,
    AttributionRules,
    DraftRules,
    LanguageProfile,
    LineRule,
    SpokenForms,
    SubtitleRules,
    VoiceRules,
)
from newsroom.lang.scripts import CJK, LATIN

CONJUNCTIONS = frozenset({
    "and", "but", "or", "nor", "so", "yet", "because", "which", "that", "who", "whom", "whose", "when",
    "whenever", "while", "whereas", "where", "if", "unless", "until", "although", "though", "since",
    "after", "before", "as", "than", "whether",
})
NUMBERS = NumberWords(
    ones=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
    tens=("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"),
    scales=((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand")),
    hundred="hundred",
    other=frozen_map({"once": 1, "twice": 2, "first": 1, "second": 2, "third": 3, "dozen": 12, "half": 2}),
    point="point",
)
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "inc", "ltd", "corp",
    "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "mt", "ft", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "a.m", "p.m",
})
# A line (or cue) should not end on these: an article, a preposition or a conjunction belongs with the words
# after it (BBC subtitle guidelines, "line breaks"; Netflix English timed-text style guide).
ARTICLES = frozenset({"a", "an", "the"})
PREPOSITIONS = frozenset({
    "about", "above", "across", "against", "along", "among", "around", "at", "behind", "below", "beneath", "beside",
    "between", "beyond", "by", "despite", "during", "except", "for", "from", "in", "inside", "into", "like", "near",
    "of", "off", "on", "onto", "out", "outside", "over", "past", "per", "through", "throughout", "to", "toward",
    "towards", "under", "underneath", "unlike", "upon", "via", "with", "within", "without",
})
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "so", "of", "to", "in", "on", "at", "for", "with", "from", "by", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "as", "we", "you", "they",
    "he", "she", "i", "our", "their", "his", "her", "will", "would", "said", "says",
})


def day_ordinal(day: int) -> str:
    """7 -> "7th", 22 -> "22nd": a date's day as a presenter reads it (the voice says "seventh")."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# What is written out before the voice reads a script (news style: titles before names, Latin abbreviations,
# units after numbers). "No." and "m" are left alone: they are words too ("No." ends sentences, "$5m").
SPOKEN = SpokenForms(
    words=MappingProxyType({
        "Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "Prof.": "Professor", "Gov.": "Governor",
        "Sen.": "Senator", "Rep.": "Representative", "Gen.": "General", "Lt.": "Lieutenant", "Capt.": "Captain",
        "Sgt.": "Sergeant", "Jr.": "Junior", "Sr.": "Senior", "Mt.": "Mount", "Ave.": "Avenue", "Rd.": "Road",
        "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "vs.": "versus", "approx.": "approximately",
        "Jan.": "January", "Feb.": "February", "Mar.": "March", "Apr.": "April", "Jun.": "June", "Jul.": "July",
        "Aug.": "August", "Sep.": "September", "Sept.": "September", "Oct.": "October", "Nov.": "November",
        "Dec.": "December",
    }),
    units=MappingProxyType({
        "km": "kilometres", "km/h": "kilometres an hour", "mph": "miles an hour", "kg": "kilograms", "cm": "centimetres",
        "mm": "millimetres", "ha": "hectares", "kW": "kilowatts", "MW": "megawatts", "GW": "gigawatts",
        "kWh": "kilowatt hours", "bn": "billion",
    }),
    months=("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December"),
    iso_date="{month} {day}, {year}", day_month="the {day} of {month}", month_day="{month} {day}", day=day_ordinal,
)

# Who says a quote (newsroom.llm.attribution). "..., said X" (or '...," said X' as Whisper writes it) and
# "according to X, ..." report speech; "X said the
# plan..." without a comma is indirect speech (no quote of X). A name is the first run of capitalised words.
_SAID_VERBS = r"(?:said|says|added|explained|insisted|warned|told reporters)"
ATTRIBUTION = AttributionRules(
    said=(
        rf"^(?P<content>.+?),[\"”’']?\s+{_SAID_VERBS}\s+(?P<name>[^,.;:!?]+?)\s*[.!?]*$",
        rf"^(?P<content>.+?),[\"”’']?\s+(?P<name>[^,.;:!?]+?)\s+{_SAID_VERBS}\s*[.!?]*$",
        r"^according to (?P<name>[^,.;:!?]+?),\s*(?P<content>.+)$",
        rf"^(?P<name>[^,.;:!?]+?)\s+{_SAID_VERBS}:\s*(?P<content>.+)$",
    ),
    leads=(rf"^(?P<name>[^,.;:!?]+?)\s+{_SAID_VERBS}[:,]$", r"^according to (?P<name>[^,.;:!?]+?),$"),
    introduces=(
        r"\b(?:joining us|with us|joined by|(?:please )?welcome|our guest)(?: here)?(?: tonight| today| now| this "
        r"morning| this evening)?(?: is| are)?\s+(?P<name>[^,.;:!?]+)",
        r"\bhere(?: is|'s| are) what (?P<name>[^,.;:!?]+?) (?:said|had to say|told)",
        r"\b(?:we|I) (?:spoke|talked) (?:to|with) (?P<name>[^,.;:!?]+)",
        r"\bover to (?P<name>[^,.;:!?]+)",
    ),
    self_names=(r"\b(?:my name is|I am|I'm)\s+(?P<name>[^,.;:!?]+)",),
    name=r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*",
    not_names=frozenset({"i", "he", "she", "they", "we", "you", "it", "officials", "police", "the", "this", "that",
                         "there", "here"}),
)

PROFILE = LanguageProfile(
    code="en",
    name="English",
    iso639_2="eng",
    script=LATIN,
    joiner=" ",
    sentence_marks=".?!…",
    clause_marks=",;:—–",
    # BBC/EBU: 42 characters a line, 2 lines; 17 characters/s counting every character, spaces included
    # (Netflix English, adult programmes); "- " before each speaker's line when two share a cue.
    subtitles=SubtitleRules(chars_per_line=42, chars_per_s=17.0, count_spaces=True, conjunctions=CONJUNCTIONS,
                            line_end_avoid=ARTICLES | PREPOSITIONS | CONJUNCTIONS, dialogue_dash="- ",
                            # 9:16: ~22 characters a line (social practice 20-26), 3 lines, 55 px at 1280
                            vertical=LineRule(chars_per_line=22, lines=3)),
    numbers=NUMBERS,
    # Words under 0.6 are flagged: 57 % of Whisper base's wrong words at 79 % precision (bench/glossary.py).
    asr=AsrRules(min_word_probability=0.6),
    voice=VoiceRules(
        espeak="en-us",
        engine="piper", voice="piper-joe-en", normaliser="english", sentence_marks=".!?", clause_marks=",;:",
        sentence_pause_s=0.25, max_chunk=40, abbreviations=ABBREVIATIONS,
    ),
    draft=DraftRules(
        prompt="en", written_as="English", min_content=8, body=(150, 250), anchor=(75, 110), units_per_s=2.5,
        notes_labels=("Facts", "Quotes (verbatim, verified)"),
        stage_phrases=("good morning", "good evening", "good afternoon", "hello", "welcome", "thank you for",
                       "thanks for", "i'm your", "i am your", "stay tuned", "tuning in"),
        script=CJK, script_share=(0.0, 0.05), headline_in_script=False, min_quote=4, check_names=True,
        # The desk's style: a headline of at most 12 words with no "BREAKING:" tag; spoken scripts carry no
        # role labels ("Anchor:", "HOST:"); quotes are introduced with their speaker.
        headline=(3, 12), dateline=r"^\s*(?:breaking(?: news)?|update|exclusive|just in)\s*[:\-–—]\s*",
        speaker_labels=("anchor", "host", "co-host", "presenter", "newsreader", "reporter", "correspondent",
                        "narrator", "announcer", "interviewer", "interviewee", "guest", "speaker", "voiceover",
                        "voice-over", "vo"),
        attribution=("said", "says", "told", "according to", "added", "stated", "explained", "announced", "asked",
                     "warned", "noted", "insisted", "argued"),
        entities="capitalised", support="stems",
    ),
    font_region="SC",  # the SC face carries Latin glyphs too
    glyph_em=0.55,
    headline_stand_in=12,
    lower_third_chars=52,
    stopwords=STOPWORDS,
    spoken=SPOKEN,
    attribution=ATTRIBUTION,
)
