"""Language profiles: one table, from which every language choice and rule derives."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from newsroom import lang
from newsroom.config import Language, LanguageChoice, Settings
from newsroom.errors import ConfigError
from newsroom.lang import CJK, HAN, KANA, WIDE
from newsroom.params import IngestLanguage
from newsroom.subtitles import RULES, rules_for

REPO = Path(__file__).resolve().parents[1]
# Every language tag a module could test, profiled or not.
LANGUAGE_TAGS = {*lang.CODES, "en", "zh", "ja", "ko", "th", "yue", "fr", "de"}


def test_registry_lookup_and_refusal():
    assert lang.CODES[:2] == ("en", "zh")
    assert lang.profile("en-GB") is lang.PROFILES["en"] and lang.profile("zh_Hans") is lang.PROFILES["zh"]
    assert lang.find("fr") is None and lang.joiner("fr") == " "
    with pytest.raises(ConfigError, match="choose one of en, zh"):
        lang.profile("fr")
    for code, p in lang.PROFILES.items():
        assert p.code == code and len(p.iso639_2) == 3 and p.font_family.startswith("Noto Sans CJK ")
        assert p.unit == ("words" if p.joiner else "characters")


def test_choices_everywhere_come_from_the_table():
    from newsroom.cli import LanguageChoice as CliLanguage
    from newsroom.cli import TtsLanguage
    from newsroom.llm import SUPPORTED_LANGUAGES
    from newsroom.tts import VOICES

    assert get_args(IngestLanguage) == get_args(LanguageChoice) == ("auto", *lang.CODES)
    assert get_args(Language) == lang.CODES
    assert [c.value for c in CliLanguage] == ["auto", *lang.CODES]
    assert [c.value for c in TtsLanguage] == list(lang.CODES) == list(VOICES) == list(SUPPORTED_LANGUAGES)
    assert Settings().languages == list(lang.DEFAULT_LANGUAGES)
    with pytest.raises(ValueError):
        Settings(languages=["fr"])
    for code, p in lang.PROFILES.items():
        rules = RULES[code]
        assert rules is rules_for(code)
        assert (rules.max_chars_per_line, rules.max_chars_per_s, rules.max_lines, rules.joiner) == (
            p.subtitles.chars_per_line, p.subtitles.chars_per_s, p.subtitles.lines, p.joiner)


def test_subtitle_rules_name_their_segmenter_and_how_characters_count():
    from newsroom.lang.words import SEGMENTERS, segmenter

    for p in lang.PROFILES.values():
        rules = RULES[p.code]
        assert (rules.count_spaces, rules.segmenter, rules.dialogue_dash) == (
            p.subtitles.count_spaces, p.subtitles.segmenter, p.subtitles.dialogue_dash)
        assert p.subtitles.count_spaces == p.spaced  # English counts spaces; the CJK guides count characters
        if p.subtitles.segmenter:
            text = "省教育厅召开新闻发布会，学校按时开学。"
            assert "".join(segmenter(p.subtitles.segmenter)(text)) == text
    assert lang.profile("zh").subtitles.segmenter in SEGMENTERS and not lang.profile("ja").subtitles.segmenter
    assert segmenter("jieba")("省教育厅召开新闻发布会")[:2] == ["省", "教育厅"]
    with pytest.raises(ConfigError, match="jieba"):
        segmenter("lac")


def test_prompt_templates_exist_for_every_profile():
    from newsroom.llm import load_prompt

    for p in lang.PROFILES.values():
        for task in ("draft", "summarise"):
            assert load_prompt(task, p.draft.prompt).id.endswith(f".{p.draft.prompt}")


def test_one_definition_of_the_scripts():
    assert HAN.matches("中") and HAN.matches("々") and not HAN.matches("あ") and not HAN.matches("a")
    assert KANA.matches("あ") and KANA.matches("ア") and KANA.matches("ー") and not KANA.matches("・")
    assert CJK.count("日本語のテキスト, ok") == 8 and not CJK.search("plain text")
    assert WIDE.matches("，") and WIDE.matches("あ") and not WIDE.matches(",")
    assert lang.detect("Good evening") is lang.PROFILES["en"]
    assert lang.detect("各位观众晚上好") is lang.PROFILES["zh"]
    assert (lang.font_region("zh-TW"), lang.font_region("zh-HK"), lang.font_region("zh-CN"),
            lang.font_region("en")) == ("TC", "HK", "SC", "SC")


def test_number_words_read_both_ways():
    en, zh = lang.PROFILES["en"].numbers, lang.PROFILES["zh"].numbers
    assert (en.words["twenty"], en.words["hundred"], en.words["million"], en.words["dozen"]) == (20, 100, 10**6, 12)
    assert zh.numeral_value("三千五百") == 3500 and zh.numeral_value("两万") == 20_000
    assert zh.numeral_value("二零二六") == 2026 and zh.numeral_value("十二") == 12
    assert zh.digit_by_digit("3.5") == "三点五"
    # The myriad speller (for profiles that read numbers with their numerals, `voice.number_reader="numerals"`).
    assert [zh.spell(n) for n in (0, 12, 1200, 2026, 10_500, 300_000_000)] == [
        "零", "十二", "千二百", "二千二十六", "一万五百", "三亿"]
    assert zh.numeral_value(zh.spell(123_456_789)) == 123_456_789


def test_stand_in_headline_counts_in_the_languages_unit():
    en, zh = lang.PROFILES["en"], lang.PROFILES["zh"]
    assert en.stand_in_headline("one two three") == "one two three"
    assert en.stand_in_headline(" ".join(["word"] * 13)) == " ".join(["word"] * 12) + "..."
    assert zh.stand_in_headline("字" * 40) == "字" * 30


def _language_tests(tree: ast.AST) -> list[tuple[int, str]]:
    """Comparisons with a language tag, `.startswith("zh")`-style tests, and dicts keyed by language tags."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            values = [node.left, *node.comparators]
            for v in values:
                items = v.elts if isinstance(v, ast.Tuple | ast.Set | ast.List) else [v]
                if any(isinstance(i, ast.Constant) and i.value in LANGUAGE_TAGS for i in items):
                    found.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("startswith", "endswith") and node.args):
            arg = node.args[0]
            items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
            if any(isinstance(i, ast.Constant) and isinstance(i.value, str)
                   and lang.base_code(i.value) in LANGUAGE_TAGS for i in items):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Dict) and sum(
                isinstance(k, ast.Constant) and k.value in LANGUAGE_TAGS for k in node.keys) >= 2:
            found.append((node.lineno, "a dict keyed by language codes"))
    return found


def test_no_module_outside_the_profiles_tests_a_language_code():
    offenders = []
    for folder in ("newsroom", "tasks", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.is_relative_to(REPO / "newsroom" / "lang"):
                continue
            for line, what in _language_tests(ast.parse(path.read_text("utf-8"))):
                offenders.append(f"{path.relative_to(REPO)}:{line}: {what}")
    assert not offenders, "move these rules into newsroom/lang:\n" + "\n".join(offenders)
    # The check itself finds what it is for.
    assert _language_tests(ast.parse('if language == "zh": pass\nx = {"en": 1, "zh": 2}\nlang.startswith("ja")'))
