"""The Mandarin anchor's reading of numbers (newsroom.lang.zh_numbers through the voice's normaliser)."""

from __future__ import annotations

import pytest

from newsroom.lang import zh_numbers
from newsroom.tts import normalize_text, tokens


@pytest.mark.parametrize(("written", "spoken"), [
    # years digit by digit; counts with 千 and 两
    ("2025年11月", "二零二五年十一月"),
    ("共有2025人报名", "共有两千零二十五人报名"),
    ("1990年代", "一九九零年代"),
    ("2026年至2028年间", "二零二六年至二零二八年间"),
    ("2020-2025年", "二零二零年至二零二五年"),
    ("近2000年来", "近两千年来"),
    ("用了100年", "用了一百年"),
    # dates and months say 二, not 两
    ("3月5日", "三月五日"),
    ("2月2日", "二月二日"),
    ("10月底", "十月底"),
    ("12月22号", "十二月二十二号"),
    # percentages, percentage points, decimals
    ("增长18.6%", "增长百分之十八点六"),
    ("下调0.5个百分点", "下调零点五个百分点"),
    ("上涨2%", "上涨百分之二"),
    ("下降-0.3%", "下降负百分之零点三"),
    ("3.0", "三点零"),
    ("0.05", "零点零五"),
    # large amounts grouped by 万 and 亿, zeros inside said once
    ("6.61万亿元", "六点六一万亿元"),
    ("1179万人", "一千一百七十九万人"),
    ("5800万人次", "五千八百万人次"),
    ("4.8亿人次", "四点八亿人次"),
    ("1,000,000", "一百万"),
    ("1,2,3", "一,二,三"),  # not grouping commas: three numbers
    ("10500", "一万零五百"),
    ("100500000", "一亿零五十万"),
    ("100000005", "一亿零五"),
    ("1005", "一千零五"),
    ("1050", "一千零五十"),
    ("112", "一百一十二"),
    ("10", "十"),
    ("15座", "十五座"),
    ("110000", "十一万"),
    ("1200", "一千二百"),
    ("12000多名", "一万两千多名"),
    ("一万两千多名", "一万两千多名"),  # already words: unchanged
    # 两 before measure words and at the head of 百 千 万 亿; 二 for orders, names and inside numbers
    ("2个", "两个"),
    ("2名", "两名"),
    ("2万", "两万"),
    ("20000人", "两万人"),
    ("2亿", "两亿"),
    ("200元", "两百元"),
    ("2000元", "两千元"),
    ("2.5万", "二点五万"),
    ("第2名", "第二名"),
    ("2号线", "二号线"),
    ("12个", "十二个"),
    ("22人", "二十二人"),
    ("2小时", "两小时"),
    # scores and clock times
    ("以3比1战胜", "以三比一战胜"),
    ("以3:1战胜", "以三比一战胜"),
    ("2:0", "二比零"),
    ("8:30起", "八点三十分起"),
    ("2:30", "两点三十分"),
    ("12:05", "十二点零五分"),
    ("9:00", "九点"),
    # fractions, ranges, temperatures
    ("1/3", "三分之一"),
    ("3-5度", "三至五度"),
    ("10%-20%", "百分之十至百分之二十"),
    ("-12℃", "零下十二摄氏度"),
    ("零下12摄氏度", "零下十二摄氏度"),
    ("-5度", "零下五度"),
    ("-4", "负四"),
    # phone numbers, hotlines and codes: digit by digit, 1 as 幺
    ("电话13812345678", "电话幺三八幺二三四五六七八"),
    ("拨打热线12345", "拨打热线幺二三四五"),
    ("010-12345678", "零幺零幺二三四五六七八"),
    ("007", "零零七"),
    ("2026-05-07开放", "二零二六年五月七日开放"),
])
def test_mandarin_reading(written, spoken):
    assert normalize_text(written, "zh") == spoken


def test_year_and_count_differ_by_what_follows():
    assert zh_numbers.read("2025年", after="11月") == "二零二五年"
    assert zh_numbers.read("2025", after="人") == "两千零二十五"
    assert zh_numbers.read("2", after="个") == "两"
    assert zh_numbers.read("2", before="第", after="个") == "二"


@pytest.mark.parametrize(("n", "spoken"), [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (11, "十一"), (20, "二十"), (101, "一百零一"), (1010, "一千零一十"),
    (10010, "一万零一十"), (22222, "两万两千二百二十二"), (100000000, "一亿"), (120000000, "一亿两千万"),
    (10**12, "一万亿"), (10**16, "一零零零零零零零零零零零零零零零零"),
])
def test_cardinal(n, spoken):
    assert zh_numbers.cardinal(n) == spoken


def test_numbers_keep_what_the_script_wrote():
    """Word timings carry the written number ("18.6%"), the voice says its words."""
    pairs = [(t.written, t.spoken) for t in tokens("增长18.6%，以3:1获胜。", "zh")]
    assert ("18.6%，", "百分之十八点六，") in pairs or ("18.6%", "百分之十八点六") in pairs, pairs
    assert ("3:1", "三比一") in pairs, pairs


def syllables(text: str) -> list[str]:
    """The toned syllables the ttskit voice is given for `text` (phkit's phonemes, one group per character)."""
    from newsroom.tts.ttskit_voice import phonemes

    out, current = [], []
    for ph in phonemes(text):
        if ph == "-":
            out.append("".join(current))
            current = []
        elif ph not in ("~", "_"):
            current.append(ph)
    return out


@pytest.mark.parametrize(("text", "index", "syllable"), [
    ("著名作家", 0, "zhu4"),  # phkit's hanziconv step made it 着 (zhe5)
    ("呼吁各方", 1, "vvv4"),  # ... and 呼吁 唿吁 (xu1)
    ("重庆长江大桥", 2, "chang2"),  # a jieba word outside the phrase list: 长江 is still a phrase
    ("约为一点五万", 2, "iii1"),  # the digit 一 before 点, not 一点 "a little"
    ("有一点小事", 1, "iii4"),
    ("银行", 1, "hang2"),
    ("全长六十公里", 1, "chang2"),
])
def test_ttskit_reads_polyphones_as_words(text, index, syllable):
    got = syllables(text)
    assert len(got) == len(text), got
    assert got[index] == syllable, got


@pytest.mark.parametrize(("written", "spoken"), [
    ("全长3km，时速120km/h。", "全长三公里，时速一百二十公里每小时。"),
    ("面积5.2km²，约1200m²。", "面积五点二平方公里，约一千二百平方米。"),
    ("装机100MW，发电800kWh。", "装机一百兆瓦，发电八百千瓦时。"),
    ("气温-5℃，体感-8°C。", "气温零下五摄氏度，体感零下八摄氏度。"),
    ("身高1.8m，5G网络。", "身高一点八米，五G网络。"),
])
def test_units_are_said_in_words(written, spoken):
    from newsroom.lang.spoken import speakable

    assert normalize_text(speakable(written, "zh"), "zh") == spoken


def test_every_digit_is_said():
    """Odd runs of digits and signs (a deterministic fuzz): the reader never fails and never leaves a digit
    for the voice to skip."""
    import random
    import re

    rng = random.Random(13)
    alphabet = "0123456789,.:%-−℃年月日号/：第个两万亿点 "
    for _ in range(500):
        written = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        spoken = normalize_text(f"字{written}字", "zh")
        assert not re.search(r"\d", spoken), (written, spoken)
