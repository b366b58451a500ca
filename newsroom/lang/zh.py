"""Mandarin Chinese, written in Simplified characters: Netflix Simplified Chinese subtitle limits, the Kokoro
voice with misaki's Mandarin G2P."""

from __future__ import annotations

from newsroom.lang.numbers import NumberWords, frozen_map
from newsroom.lang.profile import AsrRules, DraftRules, LanguageProfile, SubtitleRules, VoiceRules
from newsroom.lang.scripts import HAN

CONJUNCTIONS = frozenset({
    "和", "与", "及", "以及", "并", "并且", "而", "而且", "但", "但是", "可是", "不过", "然而", "因为", "由于", "所以", "因此",
    "因而", "如果", "假如", "虽然", "尽管", "或", "或者", "还是", "同时", "另外", "此外", "于是", "然后", "以便", "从而",
})
NUMBERS = NumberWords(
    digits="零一二三四五六七八九",
    variants=frozen_map({"〇": 0, "两": 2}),
    units=frozen_map({"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}),
    point="点",
)

PROFILE = LanguageProfile(
    code="zh",
    name="Mandarin Chinese (Simplified)",
    iso639_2="chi",
    script=HAN,
    joiner="",
    sentence_marks="。！？…!?",
    clause_marks="，；：、,;:—",
    # Netflix's Simplified Chinese timed-text guide: 16 characters a line, 9 characters/s for adults
    # (every non-space character counts); Mandarin news is read at about 5 characters/s.
    subtitles=SubtitleRules(chars_per_line=16, chars_per_s=9.0, conjunctions=CONJUNCTIONS),
    numbers=NUMBERS,
    # The classic Simplified prompt: measured to give Simplified text with punctuation at beam-5 speed;
    # longer prompts ("...使用简体中文") made base emit odd punctuation and decode 5x slower.
    asr=AsrRules(prompt="以下是普通话的句子。", convert_to="zh-cn",
                 full_width=((",", "，"), ("?", "？"), ("!", "！"), (":", "："), (";", "；")),
                 # Characters under 0.7 are flagged: 72 % of the wrong ones at 74 % precision (bench/glossary.py).
                 min_word_probability=0.7),
    # Kokoro ships only Japanese voice packs; fed Mandarin phonemes they read intelligible Mandarin.
    # jm_kumo measured CER 0.11-0.17 vs jf_alpha 0.20-0.24 with Whisper base.
    voice=VoiceRules(
        engine="kokoro", voice="jm_kumo", g2p="misaki-zh", normaliser="cjk", sentence_marks="。！？；!?;.",
        clause_marks="，、：,:", sentence_pause_s=0.20, max_chunk=80, full_width_text=True, number_reader="cn2an",
        segmenter="jieba", url_dot="点", range_word="至",
    ),
    draft=DraftRules(
        prompt="zh", written_as="Simplified Chinese (简体中文)", min_content=12, body=(300, 500), anchor=(130, 200),
        units_per_s=4.4, notes_labels=("事实", "原话（逐字，已核实）"),
        stage_phrases=("大家好", "观众朋友", "欢迎收看", "感谢收看", "谢谢收看", "谢谢大家", "我是主播"),
        script=HAN, script_share=(0.5, 1.0), headline_in_script=True, min_quote=6,
    ),
    font_region="SC",
    glyph_em=1.0,
    headline_stand_in=30,
    lower_third_chars=28,
)
