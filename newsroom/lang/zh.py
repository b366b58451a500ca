"""Mandarin Chinese, written in Simplified characters: Netflix Simplified Chinese subtitle limits, the Kokoro
voice with misaki's Mandarin G2P."""

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
SPOKEN = SpokenForms(units=MappingProxyType({
    "km": "公里", "km/h": "公里每小时", "kg": "公斤", "cm": "厘米", "mm": "毫米", "m": "米", "m/s": "米每秒",
    "km²": "平方公里", "m²": "平方米", "㎡": "平方米", "kWh": "千瓦时", "kW": "千瓦", "MW": "兆瓦", "GW": "吉瓦",
    "mg": "毫克", "ml": "毫升", "mL": "毫升", "°C": "摄氏度", "℃": "摄氏度", "°F": "华氏度", "℉": "华氏度",
}), iso_date="{year}年{month}月{day}日")

# Who says a quote (newsroom.llm.attribution): "X表示，..." "X在发布会上说，..." "据X介绍，..." "...，X说。" report speech
# (the comma after the verb tells it from indirect speech: "公司说早上会增加班次" quotes nobody); "我们请到了X"
# "请X介绍" name the next speaker, "我是X" the speaker.
_NAME = r"[^，。！？、：,.!?:；;\s]{2,24}?"
_SAID_VERBS = r"(?:表示|说|指出|介绍|强调|透露|宣布)"
_WHEN = r"(?:今天|昨天|今日|昨日|日前|近日|当天|上午|下午|晚上|早上|今年|本周|周[一二三四五六日])*"  # not the name
ATTRIBUTION = AttributionRules(
    said=(
        rf"^据(?P<name>{_NAME}){_WHEN}(?:介绍|透露|表示|说)[，,：:]?\s*(?P<content>.+)$",
        rf"^(?P<name>{_NAME}){_WHEN}(?:在[^，。！？]{{1,12}}?[上中])?{_SAID_VERBS}[，,：:]\s*(?P<content>.+)$",
        rf"^(?P<content>.+?)[，,](?P<name>{_NAME}){_WHEN}{_SAID_VERBS}[。！!]*$",
    ),
    leads=(rf"^据?(?P<name>{_NAME}){_WHEN}(?:在[^，。！？]{{1,12}}?[上中])?{_SAID_VERBS}[，,：:]$",),
    introduces=(
        rf"(?:请到了|请来了|邀请到了|请)(?P<name>{_NAME})(?=介绍|发言|谈谈|讲话|为我们|来|[，。！？,.!?]|$)",
        rf"(?:下面|接下来)(?:是|由)(?P<name>{_NAME})(?=介绍|发言|讲话|[，。！？,.!?]|$)",
    ),
    self_names=(rf"我是(?P<name>{_NAME})(?=[，。！？,.!?]|$)",),
    # A role is no name: "市交通局的负责人", "新闻发言人" (an unnamed person) are published unnamed; an organisation
    # ("市交通局表示，...") and a title with a name ("局长李华") are names.
    name=r"^(?!.*的)(?!.*(?:负责人|发言人|工作人员|人士|官员|专家|市民|群众|居民|记者|主持人|观众)$)\S+$",
    not_names=frozenset({"他", "她", "他们", "她们", "我", "我们", "大家", "主持人", "记者", "本台记者", "主播", "观众",
                         "市民", "有关负责人", "负责人", "专家"}),
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
    # (every non-space character counts); Mandarin news is read at about 5 characters/s. Lines and cues
    # break between jieba's words only; a space Whisper leaves between two clauses becomes "，"; a hyphen
    # without a space before each speaker's line when two share a cue.
    subtitles=SubtitleRules(chars_per_line=16, chars_per_s=9.0, count_spaces=False, conjunctions=CONJUNCTIONS,
                            line_end_avoid=LINE_END_AVOID, segmenter="jieba", clause_space="，",
                            dialogue_dash="-",
                            # 9:16: 12 characters a line (social practice 10-12), 3 lines, 55 px at 1280
                            vertical=LineRule(chars_per_line=12, lines=3)),
    numbers=NUMBERS,
    # The classic Simplified prompt: measured to give Simplified text with punctuation at beam-5 speed;
    # longer prompts ("...使用简体中文") made base emit odd punctuation and decode 5x slower.
    asr=AsrRules(prompt="以下是普通话的句子。", convert_to="zh-cn",
                 full_width=((",", "，"), ("?", "？"), ("!", "！"), (":", "："), (";", "；")),
                 # Characters under 0.7 are flagged: 72 % of the wrong ones at 74 % precision (bench/glossary.py).
                 min_word_probability=0.7),
    # The anchor voice: ttskit's native Mandarin Aiyue. CER by our Whisper base on two sets of 24 held-out news
    # lines (bench/tts_zh.py, sets a/b): Aiyue 0.104/0.158, biaobei 0.106/0.142, Aijia 0.115/0.141 (tied within
    # the reads' seed-to-seed spread), Siyue -/0.172, Xiaobei -/0.198; Kokoro's jm_kumo, a Japanese voice reading
    # pinyin phonemes, -/0.182 ("kokoro:jm_kumo" still selects it; misaki's Mandarin G2P below is its).
    # Numbers are read by newsroom.lang.zh_numbers (number_reader="zh").
    # LICENCE: ttskit's code is MIT, but its voices' training data has unstated terms: "biaobei" is
    # Databaker's corpus, free for non-commercial use only, and the other names match a commercial cloud TTS
    # catalogue (Alibaba Cloud's). Clear the rights before airing them commercially, or set
    # NEWSROOM_TTS_VOICES__ZH=kokoro:jm_kumo (Apache-2.0 weights).
    voice=VoiceRules(
        espeak="cmn",
        engine="ttskit", voice="Aiyue", g2p="misaki-zh", normaliser="cjk", sentence_marks="。！？；!?;.",
        clause_marks="，、：,:", sentence_pause_s=0.20, max_chunk=80, full_width_text=True, number_reader="zh",
        segmenter="jieba", url_dot="点", range_word="至",
    ),
    draft=DraftRules(
        prompt="zh", written_as="Simplified Chinese (简体中文)", min_content=12, body=(300, 500), anchor=(130, 200),
        units_per_s=4.4, notes_labels=("事实", "原话（逐字，已核实）"),
        stage_phrases=("大家好", "观众朋友", "欢迎收看", "感谢收看", "谢谢收看", "谢谢大家", "我是主播"),
        script=HAN, script_share=(0.5, 1.0), headline_in_script=True, min_quote=6,
        # The desk's style: a headline of 10-24 characters without a dateline formula ("本台消息", "据报道",
        # "记者……报道"); no role labels ("主持人：") in a spoken script; quotes introduced with their speaker.
        headline=(10, 24),
        dateline=r"本台消息|本报消息|本台讯|本报讯|据报道|据悉|(?:本台|本报)?记者[^，。！？：:]{0,16}?报道|"
                 r"新华社[^，。！？]{0,12}?电|[（(]?记者[^，。！？）)]{0,8}[）)]",
        speaker_labels=("主持人", "主播", "播音员", "记者", "嘉宾", "旁白", "解说", "画外音", "发言人", "采访者",
                        "受访者", "男", "女"),
        attribution=("说", "表示", "指出", "称", "介绍", "强调", "认为", "提到", "透露", "回应", "据"),
        entities="lac", support="jieba",
    ),
    font_region="SC",
    glyph_em=1.0,
    headline_stand_in=30,
    lower_third_chars=28,
    spoken=SPOKEN,
    attribution=ATTRIBUTION,
)
