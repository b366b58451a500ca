"""Mandarin Chinese, written in Simplified characters: Netflix Simplified Chinese subtitle limits, the Kokoro
voice with misaki's Mandarin G2P."""

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
from newsroom.lang.scripts import HAN

CONJUNCTIONS = frozenset({
    "和", "与", "及", "以及", "并", "并且", "而", "而且", "但", "但是", "可是", "不过", "然而", "因为", "由于", "所以", "因此",
    "因而", "如果", "假如", "虽然", "尽管", "或", "或者", "还是", "同时", "另外", "此外", "于是", "然后", "以便", "从而",
})
# A line should not end on a structural particle, a preposition or a conjunction: each belongs with what follows.
LINE_END_AVOID = CONJUNCTIONS | frozenset({
    "的", "地", "之", "在", "把", "被", "对", "从", "向", "给", "于", "跟", "比", "将", "为", "或", "及",
})
NUMBERS = NumberWords(
    digits="零一二三四五六七八九",
    variants=frozen_map({"〇": 0, "两": 2}),
    units=frozen_map({"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}),
    point="点",
)
# Units after a number are read as words; dates written 2026-05-07 or 2026/5/7 become 2026年5月7日, which
# the voice's number reader says as a date.
SPOKEN = SpokenForms(units=MappingProxyType({"km": "公里", "km/h": "公里每小时", "kg": "公斤", "cm": "厘米", "mm": "毫米", "°C": "摄氏度", "℃": "摄氏度"}), iso_date="{year}年{month}月{day}日")

PROFILE = LanguageProfile(
    code="zh",
    name="Mandarin Chinese (Simplified)",
    iso639_2="chi",
    script=HAN,
    joiner="",
    sentence_marks="。！？…!?",
    clause_marks="，；：、,;:—",
    # Netflix's Simplified Chinese timed-text guide: 16 characters a line, 9 characters/s for adults
    # (every non-space character counts); Mandarin news is read at about 5 characters/s. Lines and cues
    # break between jieba's words only; a space Whisper leaves between two clauses becomes "，"; a hyphen
    # without a space before each speaker's line when two share a cue.
    subtitles=SubtitleRules(chars_per_line=16, chars_per_s=9.0, count_spaces=False, conjunctions=CONJUNCTIONS,
                            line_end_avoid=LINE_END_AVOID, segmenter="jieba", clause_space="，",
                            dialogue_dash="-"),
    numbers=NUMBERS,
    # The classic Simplified prompt: measured to give Simplified text with punctuation at beam-5 speed;
    # longer prompts ("...使用简体中文") made base emit odd punctuation and decode 5x slower.
    asr=AsrRules(prompt="以下是普通话的句子。", convert_to="zh-cn",
                 full_width=((",", "，"), ("?", "？"), ("!", "！"), (":", "："), (";", "；")),
                 # Characters under 0.7 are flagged: 72 % of the wrong ones at 74 % precision (bench/glossary.py).
                 min_word_probability=0.7),
    # The anchor voice: ttskit's native Mandarin Aiyue. CER by our Whisper base on 24 held-out news lines
    # (bench/tts_zh.py): Aiyue 0.119, biaobei 0.107 (tied), Xiaobei 0.137; Kokoro's jm_kumo, a Japanese voice
    # reading pinyin phonemes, 0.147 ("kokoro:jm_kumo" still selects it; misaki's Mandarin G2P below is its).
    # LICENCE: ttskit's code is MIT, but its voices' training data has unstated terms: "biaobei" is
    # Databaker's corpus, free for non-commercial use only, and the other names match a commercial cloud TTS
    # catalogue (Alibaba Cloud's). Clear the rights before airing them commercially, or set
    # NEWSROOM_TTS_VOICES__ZH=kokoro:jm_kumo (Apache-2.0 weights).
    voice=VoiceRules(
        espeak="cmn",
        engine="ttskit", voice="Aiyue", g2p="misaki-zh", normaliser="cjk", sentence_marks="。！？；!?;.",
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
    spoken=SPOKEN,
)
