"""Japanese: written without spaces in kanji and kana, Netflix Japanese subtitle limits, the Kokoro Japanese
voice with misaki's Japanese G2P (cutlet on MeCab + UniDic-lite, all offline)."""

from __future__ import annotations

from types import MappingProxyType

from newsroom.lang.numbers import NumberWords, frozen_map
from newsroom.lang.profile import (
    AsrRules,
    DraftRules,
    LanguageProfile,
    SpokenForms,
    SubtitleRules,
    VoiceRules,
)
from newsroom.lang.scripts import HAN, KANA, KATAKANA

# A cue or line may break before these conjunctions...
CONJUNCTIONS = frozenset({
    "しかし", "また", "そして", "さらに", "一方", "ただ", "なお", "ところが", "だが", "でも", "つまり", "それで",
    "そのため", "このため", "ですが", "および", "または",
})
# ...and after a word ending in a particle (Netflix: break after particles, never inside a word).
PARTICLES = frozenset({
    "は", "が", "を", "に", "で", "と", "も", "へ", "や", "から", "まで", "より", "ので", "のに", "けど", "けれども",
    "ため", "ながら",
})
NUMBERS = NumberWords(
    digits="〇一二三四五六七八九",
    variants=frozen_map({"零": 0}),
    units=frozen_map({"十": 10, "百": 100, "千": 1000, "万": 10_000, "億": 100_000_000, "兆": 10**12}),
    point="点",
    minus="マイナス",
    percent="パーセント",
)
# Units after a number are read as words; dates written 2026-05-07 or 2026/5/7 become 2026年5月7日, which
# the voice's number reader says as a date.
SPOKEN = SpokenForms(units=MappingProxyType({"km": "キロメートル", "km/h": "キロメートル毎時", "kg": "キログラム", "cm": "センチメートル", "mm": "ミリメートル", "°C": "度", "℃": "度"}), iso_date="{year}年{month}月{day}日")

PROFILE = LanguageProfile(
    code="ja",
    name="Japanese",
    iso639_2="jpn",
    script=HAN + KANA,
    joiner="",
    sentence_marks="。！？…!?",
    clause_marks="、，；：,;:—",
    # Netflix Japanese timed-text style guide: 13 full-width characters a line (half-width letters and
    # digits count half), 2 lines, 4 characters a second.
    # Words are guessed from script runs (no segmenter: a compound of kanji stays together where it can).
    subtitles=SubtitleRules(chars_per_line=13, chars_per_s=4.0, count_spaces=False, conjunctions=CONJUNCTIONS,
                            break_after=PARTICLES, word_scripts=(HAN, KATAKANA), half_width_counts_half=True,
                            dialogue_dash="-"),
    numbers=NUMBERS,
    # Whisper base writes Japanese in kanji and kana with 、。 on its own; no prompt, no conversion.
    # Not auto-detected unless NEWSROOM_LANGUAGES lists it: a newsroom opts in to a third language.
    asr=AsrRules(full_width=((",", "、"), ("?", "？"), ("!", "！")), detect_by_default=False),
    voice=VoiceRules(
        espeak="ja",
        engine="kokoro", voice="jf_gongitsune", g2p="misaki-ja", normaliser="cjk", sentence_marks="。！？!?",
        clause_marks="、，,", sentence_pause_s=0.25, max_chunk=80, full_width_text=True, number_reader="numerals",
        segmenter="unidic", url_dot="ドット", range_word="から",
    ),
    draft=DraftRules(
        prompt="ja", written_as="Japanese (日本語, kanji and kana)", min_content=12, body=(300, 600),
        anchor=(130, 180), units_per_s=4.0, notes_labels=("事実", "発言（逐語、検証済み）"),
        stage_phrases=("こんばんは", "こんにちは", "おはようございます", "皆さん", "ご覧いただき", "お伝えしました",
                       "ありがとうございました"),
        # Kana is what tells Japanese from Chinese: at least a fifth of the prose's letters.
        script=KANA, script_share=(0.2, 1.0), headline_in_script=False, min_quote=8,
    ),
    font_region="JP",
    glyph_em=1.0,
    headline_stand_in=30,
    lower_third_chars=28,
    spoken=SPOKEN,
)
