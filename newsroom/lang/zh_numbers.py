"""Mandarin numbers read as a news presenter reads them (the voice's number reader, `voice.number_reader="zh"`).

One written number at a time, with the text around it (`before`, `after`), since the reading depends on
what the number counts:

    read("2025", after="年11月")     # '二零二五'           a year: digit by digit
    read("2025", after="人")         # '两千零二十五'       a count
    read("18.6%")                    # '百分之十八点六'
    read("6.61", after="万亿元")     # '六点六一'           decimals digit by digit after 点
    read("2", after="个")            # '两'                 两 before a measure word
    read("2", before="第")           # '二'                 an ordinal, a date, a month: 二
    read("3:1")                      # '三比一'             a score; "8:30" is '八点三十分'
    read("13812345678")              # '幺三八幺二三四五六七八'  a phone number: digits, 1 as 幺
    read("-12℃")                     # '零下十二摄氏度'

Counts are grouped by myriads (万, 亿) with the zero rules of Standard Mandarin: one 零 for any run of
zeros inside a number (一千零五, 一万零五百, 一亿零五十万), none at the end; 十 not 一十 at the head
(十二, 十万) but 一十 inside (一百一十二). 两 stands for a leading 2 before 百, 千, 万 and 亿 (两百, 两万) and
for 2 in the thousands place (一万两千); elsewhere 二 (十二, 一千二百, 二点五).
"""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
PHONE_ONE = "幺"  # 1 in phone numbers, codes and flight numbers, as presenters and operators read it
POINT = "点"
PERCENT = "百分之"
MINUS = "负"
BELOW_ZERO = "零下"
MAX_COUNT = 10**16  # beyond 九千九百九十九万亿 a number is read digit by digit

# A number token in a Mandarin script (the tokeniser splits these out; `read` says them): a sign,
# digits with grouping commas, a decimal part, a fraction (/), a clock time or a score (:), and the
# unit characters that change the reading (%, 年, 月, 日, 号, ℃); an ISO date (2026-05-07) and a phone
# number with its area code (010-12345678) are one token each.
NUMBER_PATTERN = r"(?<![\d-])\d{4}-\d{1,2}-\d{1,2}(?![\d-])|(?<![\d-])0\d{2,3}-\d{7,8}(?![\d-])|(?<!\d)[-−]?(?:\d{1,3}(?:,\d{3})+(?![\d])|\d+)(?:\.\d+)?(?:(?:/|:|：)\d+)?(?:%|℃|°C|年|月|日|号)?"

# 2 before these (and before 万, 亿, 千, 百 themselves) is 两: measure words and units of what is counted.
MEASURES = frozenset(
    "个名位次人家座条只件天年周倍种类项场架艘辆台所支批国起例份张本部块元岁米吨斤颗枚轮趟队组栋亩套棵粒头匹股笔"
    "成双对片段首篇声遍口户代角毛分秒克升度码把间层"
)
MEASURE_WORDS = ("小时", "分钟", "公里", "公斤", "千克", "千米", "平方", "立方", "公顷", "星期", "个月", "季度", "摄氏度")
# 2 after these, or before these, is a name or an order, not a count: 二.
ORDINAL_BEFORE = ("第", "初", "周", "星期", "礼拜", "之")
ORDER_AFTER = ("月", "日", "号", "楼", "路", "版", "期", "等", "级", "届", "季度", "线", "比", "年级", "中", "环")
# Digit strings that are names, not amounts: read digit by digit (1 as 幺).
CODE_BEFORE = ("电话", "热线", "号码", "编号", "尾号", "车次", "航班", "邮编", "代码", "账号", "手机", "拨打", "传真",
               "分机", "工号", "学号", "房间", "车牌")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_PHONE_RE = re.compile(r"0\d{2,3}-\d{7,8}")
_CLOCK_RE = re.compile(r"(\d{1,2})[:：](\d{2})")
_SCORE_RE = re.compile(r"(\d+)[:：](\d+)")
_PARTS_RE = re.compile(r"([-−]?)(\d[\d,]*)(?:\.(\d+))?(?:/(\d+))?(%|℃|°C|年|月|日|号)?")


def digits(text: str, *, one: str = "一") -> str:
    """Each digit as its numeral: "2025" -> "二零二五"; `one="幺"` for phone numbers and codes."""
    return "".join(one if d == "1" else DIGITS[int(d)] for d in text if d.isdigit())


def _below_myriad(n: int, *, head: bool, leading_two: bool) -> str:
    """0 < n < 10000 in numerals: zeros inside as one 零, none at the end; `head`: the number's first group."""
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d == 0:
            zero = bool(out)  # a zero after a digit: say 零 if a digit follows
            continue
        if zero:
            out += "零"
            zero = False
        if d == 1 and unit == "十" and head and not out:
            out += "十"  # 十二, 十万: no 一 at the head
        elif d == 2 and (unit == "千" or (unit == "百" and leading_two and not out)):
            out += "两" + unit  # 两千, 一万两千, 两百 (leading); 一千二百
        else:
            out += DIGITS[d] + unit
    return out


def cardinal(n: int, *, two: bool = True) -> str:
    """An integer as it is counted: 1179 -> 一千一百七十九, 10500 -> 一万零五百, 20000 -> 两万.

    `two=False` says 二 for a lone 2 (and 二百, 二千 at the head): how ordinals and names are read.
    """
    if n < 0:
        return MINUS + cardinal(-n, two=two)
    if n == 0:
        return DIGITS[0]
    if n >= MAX_COUNT:
        return digits(str(n))
    groups = []
    while n:
        n, group = divmod(n, 10_000)
        groups.append(group)
    out = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        unit = ("", "万", "亿", "万亿")[index]
        if group == 0:
            pending_zero = bool(out)
            continue
        head = not out
        if out and (pending_zero or group < 1000):
            out += "零"
        pending_zero = False
        if group == 2 and head and unit and two:
            out += "两" + unit  # 两万, 两亿
            continue
        out += _below_myriad(group, head=head, leading_two=two) + unit
    if not two and out.startswith("两"):
        out = "二" + out[1:]
    return out


def _decimal(whole: str, fraction: str | None, *, two: bool) -> str:
    n = int(whole.replace(",", "") or "0")
    spoken = cardinal(n, two=two and not fraction)
    if fraction:
        spoken += POINT + digits(fraction)
    return spoken


def _is_code(number: str, before: str) -> bool:
    """Phone numbers, hotlines, codes: digits that name something rather than count it."""
    if "," in number or "." in number:
        return False
    if len(number) > 1 and number.startswith("0"):
        return True
    if re.fullmatch(r"1[3-9]\d{9}", number) or len(number) >= 12:
        return True
    return len(number) >= 3 and before.rstrip("：: 是为").endswith(CODE_BEFORE)


def _says_two(before: str, after: str) -> bool:
    """Is a lone 2 said 两 here (a count before a measure word) rather than 二 (an order, a name)?"""
    if before.endswith(ORDINAL_BEFORE) or after.startswith(ORDER_AFTER) or after.startswith("分之"):
        return False
    return after[:1] in MEASURES or after.startswith(MEASURE_WORDS) or after[:1] in "百千万亿"


def _is_year(plain: str, sign: str, fraction: str | None, after: str) -> bool:
    """2025年 is a year (2026年至2028年间 too); 2000年来, 1500年左右 and 3000年之久 are durations."""
    if sign or fraction or len(plain) != 4 or not 1000 <= int(plain) <= 2199:
        return False
    return after.startswith(("代", "度")) or not after.startswith(("来", "左右", "以来", "之久"))


def read(written: str, before: str = "", after: str = "") -> str:
    """One written number (NUMBER_PATTERN) as it is said, given the text before and after it."""
    text = written.replace("−", "-")
    if date := _DATE_RE.fullmatch(text):
        year, month, day = (int(x) for x in date.groups())
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{digits(date[1])}年{cardinal(month, two=False)}月{cardinal(day, two=False)}日"
    if _PHONE_RE.fullmatch(text):
        return digits(text, one=PHONE_ONE)  # 010-12345678: the area code and the number, one breath
    if clock := _CLOCK_RE.fullmatch(text):
        hours, minutes = int(clock[1]), int(clock[2])
        if hours <= 24 and minutes < 60 and not before.endswith(("比分", "以", "比")) and len(clock[2]) == 2 \
                and (hours, minutes) != (0, 0):
            spoken = ("两" if hours == 2 else cardinal(hours)) + "点"
            if minutes:
                spoken += ("零" if minutes < 10 else "") + cardinal(minutes, two=False) + "分"
            return spoken
    if score := _SCORE_RE.fullmatch(text):
        return cardinal(int(score[1]), two=False) + "比" + cardinal(int(score[2]), two=False)
    parts = _PARTS_RE.fullmatch(text)
    if parts is None:
        return digits(text)
    sign, whole, fraction, denominator, suffix = parts.groups()
    plain = whole.replace(",", "")
    if denominator is not None:  # 1/3 -> 三分之一
        return f"{cardinal(int(denominator), two=False)}分之{cardinal(int(plain), two=False)}"
    if suffix == "年" and _is_year(plain, sign, fraction, after):
        return digits(plain) + "年"  # 二零二五年
    if _is_code(plain, before) and not (sign or fraction or suffix):
        return digits(plain, one=PHONE_ONE)
    if suffix == "%":
        return (MINUS if sign else "") + PERCENT + _decimal(whole, fraction, two=False)
    if suffix in ("℃", "°C"):
        return (BELOW_ZERO if sign else "") + _decimal(whole, fraction, two=False) + "摄氏度"
    if suffix in ("月", "日", "号"):
        return (MINUS if sign else "") + _decimal(whole, fraction, two=False) + suffix
    follows = suffix or after
    if plain == "2" and not fraction:
        spoken = "两" if not sign and _says_two(before, follows) else "二"
    else:
        two = not before.endswith(ORDINAL_BEFORE)
        spoken = _decimal(whole, fraction, two=two)
    if sign:
        spoken = (BELOW_ZERO if follows.startswith(("摄氏度", "度")) else MINUS) + spoken
    return spoken + (suffix or "")
