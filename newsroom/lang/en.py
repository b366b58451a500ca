"""English: spaced words, BBC/EBU subtitle limits, the piper joe voice."""

from __future__ import annotations

from newsroom.lang.numbers import NumberWords, frozen_map
from newsroom.lang.profile import AsrRules, DraftRules, LanguageProfile, SubtitleRules, VoiceRules
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
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "so", "of", "to", "in", "on", "at", "for", "with", "from", "by", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "as", "we", "you", "they",
    "he", "she", "i", "our", "their", "his", "her", "will", "would", "said", "says",
})

PROFILE = LanguageProfile(
    code="en",
    name="English",
    iso639_2="eng",
    script=LATIN,
    joiner=" ",
    sentence_marks=".?!…",
    clause_marks=",;:—–",
    subtitles=SubtitleRules(chars_per_line=42, chars_per_s=17.0, conjunctions=CONJUNCTIONS),
    numbers=NUMBERS,
    # Words under 0.6 are flagged: 57 % of Whisper base's wrong words at 79 % precision (bench/glossary.py).
    asr=AsrRules(min_word_probability=0.6),
    voice=VoiceRules(
        engine="piper", voice="piper-joe-en", normaliser="english", sentence_marks=".!?", clause_marks=",;:",
        sentence_pause_s=0.25, max_chunk=40, abbreviations=ABBREVIATIONS,
    ),
    draft=DraftRules(
        prompt="en", written_as="English", min_content=8, body=(150, 250), anchor=(75, 110), units_per_s=2.5,
        notes_labels=("Facts", "Quotes (verbatim, verified)"),
        stage_phrases=("good morning", "good evening", "good afternoon", "hello", "welcome", "thank you for",
                       "thanks for", "i'm your", "i am your", "stay tuned", "tuning in"),
        script=CJK, script_share=(0.0, 0.05), headline_in_script=False, min_quote=4, check_names=True,
    ),
    font_region="SC",  # the SC face carries Latin glyphs too
    glyph_em=0.55,
    headline_stand_in=12,
    lower_third_chars=52,
    stopwords=STOPWORDS,
)
