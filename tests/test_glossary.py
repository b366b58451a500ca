"""The newsroom glossary (parsing, loading, Whisper's hotwords, fixing near-misses) and the mis-hearing flags.

Transcripts here are built by hand, with the words and probabilities Whisper base gave on the glossary
benchmark's sentences (bench/glossary.py); tests/test_asr.py runs the real model with a glossary.
"""

from __future__ import annotations

import pytest

from newsroom import lang
from newsroom.asr.confidence import LowConfidence, low_confidence, mentioned
from newsroom.asr.glossary import PROMPT_BUDGET_TOKENS, Glossary, GlossaryError, load_glossary
from newsroom.errors import ConfigError
from newsroom.subtitles import build_cues, validate_cues
from newsroom.types import Segment, Transcript, Word

EN_GLOSSARY = Glossary.parse("""
# desk: regional news
Amara Okonkwo
Haverbrook Housing Trust
Ingrid Vasquez-Holloway
Stellmark University     # the university's own spelling
Ealing
Shivon -> Siobhan
""")
ZH_GLOSSARY = Glossary.parse(["儋州", "符永翀", "黟县", "闽清县人民医院", "瓯江水务集团", "婺源县", "禤国栋"])


def transcript(language: str, *segments: list[tuple[str, float]], gap_s: float = 0.1) -> Transcript:
    """Segments of (word, probability), each word 0.3 s long; the text joined as Whisper joins it."""
    joiner = lang.profile(language).joiner
    built, t = [], 0.0
    for words in segments:
        items = []
        for text, probability in words:
            items.append(Word(t, t + 0.3, text, probability))
            t += 0.3 + gap_s
        built.append(Segment(items[0].start, items[-1].end, joiner.join(w for w, _ in words), tuple(items)))
        t += 1.0
    return Transcript(language, t, "whisper-base-int8", tuple(built))


def sure(text: str, probability: float = 0.95) -> list[tuple[str, float]]:
    return [(w, probability) for w in (text.split() if " " in text else list(text))]


# --------------------------------------------------------------------------- the file


def test_parse_comments_corrections_and_order():
    assert EN_GLOSSARY.terms == ("Amara Okonkwo", "Haverbrook Housing Trust", "Ingrid Vasquez-Holloway",
                                 "Stellmark University", "Ealing", "Siobhan")
    assert EN_GLOSSARY.corrections == (("Shivon", "Siobhan"),)
    merged = Glossary.parse("Ealing\nKilbarrack") + EN_GLOSSARY
    assert merged.terms[:3] == ("Ealing", "Kilbarrack", "Amara Okonkwo")  # the first glossary's order wins
    assert merged.terms.count("Ealing") == 1
    assert not Glossary.parse("# nothing here\n\n   \n")


@pytest.mark.parametrize(("text", "message"), [
    ("Kilbarrack\n -> Siobhan", "line 2"),
    ("x" * 101, "line 1 has 101 characters"),
])
def test_parse_refuses_lines_that_are_no_term(text, message):
    with pytest.raises(GlossaryError, match=message):
        Glossary.parse(text)


def test_load_from_a_file_or_a_folder_of_languages(tmp_path):
    folder = tmp_path / "glossary"
    folder.mkdir()
    (folder / "en.txt").write_text("\ufeffKilbarrack\nWexcombe\n", "utf-8")  # a BOM, as Windows editors save
    (folder / "zh.txt").write_text("篁岭\n", "utf-8")
    assert load_glossary(folder, "en", extra=["Amara Okonkwo"]).terms == ("Amara Okonkwo", "Kilbarrack", "Wexcombe")
    assert load_glossary(folder, "zh").terms == ("篁岭",)
    assert set(load_glossary(folder, None).terms) == {"Kilbarrack", "Wexcombe", "篁岭"}  # language not known yet
    one_file = folder / "en.txt"
    assert load_glossary(one_file, "zh").terms == ("Kilbarrack", "Wexcombe")
    assert load_glossary(None, "en", extra=["Glenarrow"]).terms == ("Glenarrow",)
    with pytest.raises(ConfigError, match="does not exist"):
        load_glossary(tmp_path / "missing.txt", "en")
    (tmp_path / "latin1.txt").write_bytes("Dún Laoghaire".encode("latin-1"))
    with pytest.raises(GlossaryError, match="UTF-8"):
        Glossary.read(tmp_path / "latin1.txt")


def test_each_language_takes_the_terms_in_its_script():
    shared = Glossary.parse(["Kilbarrack", "篁岭", "詹晓彤", "Shivon -> Siobhan"])
    assert shared.for_language("en") == Glossary(("Kilbarrack", "Siobhan"), (("Shivon", "Siobhan"),))
    assert shared.for_language("zh").terms == ("篁岭", "詹晓彤")


def test_hotwords_fit_the_budget_in_order_and_close_the_list():
    glossary = Glossary.parse([f"Name{i} Surname{i}" for i in range(200)])
    words = lambda text: len(text.split())  # noqa: E731  (a stand-in for Whisper's tokenizer)
    hotwords = glossary.hotwords(lang.profile("en"), words)
    assert hotwords.startswith("Name0 Surname0, Name1 Surname1,") and hotwords.endswith(".")
    assert words(hotwords) <= PROMPT_BUDGET_TOKENS < words(hotwords) + 3
    assert ZH_GLOSSARY.hotwords(lang.profile("zh"), len) == "儋州、符永翀、黟县、闽清县人民医院、瓯江水务集团、婺源县、禤国栋。"
    assert Glossary().hotwords(lang.profile("en"), len) is None


# --------------------------------------------------------------------------- fixing near-misses


def test_near_misses_are_fixed_only_where_whisper_was_unsure():
    heard = transcript("en", [("The", 0.99), ("Haverbrok", 0.31), ("Housing", 0.9), ("Trust", 0.88), ("says", 0.97)],
                       [("Dr.", 0.9), ("Ingrid", 0.93), ("Vasquez", 0.9), ("Holloway,", 0.92), ("spoke", 0.99)],
                       [("Shivon", 0.97), ("said", 0.98), ("it", 0.99), ("was", 0.99), ("healing.", 0.97)],
                       [("Stelmark", 0.97), ("University", 0.99), ("agreed.", 0.99)])
    fixed, fixes = EN_GLOSSARY.fix(heard)
    assert [s.text for s in fixed.segments] == [
        "The Haverbrook Housing Trust says",
        "Dr. Ingrid Vasquez-Holloway, spoke",  # the letters were right: the house spelling, whatever the confidence
        "Siobhan said it was healing.",  # a correction applies wherever it is heard; "healing" is no "Ealing"
        "Stelmark University agreed.",  # a near-miss heard with confidence is left alone
    ]
    assert [(f.heard, f.written) for f in fixes] == [("Haverbrok Housing Trust", "Haverbrook Housing Trust"),
                                                     ("Ingrid Vasquez Holloway", "Ingrid Vasquez-Holloway"),
                                                     ("Shivon", "Siobhan")]
    words = fixed.segments[1].words
    assert [w.word for w in words] == ["Dr.", "Ingrid", "Vasquez-Holloway,", "spoke"]
    assert words[2].start == heard.segments[1].words[2].start and words[2].end == heard.segments[1].words[3].end
    assert fixes[0].describe() == "heard 'Haverbrok Housing Trust', written 'Haverbrook Housing Trust' (glossary) at 0:00"
    # Text and words still agree: the subtitles built from the fixed transcript keep every text rule.
    assert not [v for v in validate_cues(build_cues(fixed), fixed) if v.rule == "text"]


def test_mandarin_near_misses_by_their_pinyin():
    heard = transcript("zh", [*sure("担奏", 0.4), *sure("使民政局局长"), ("服", 0.3), ("用", 0.6), ("充", 0.5),
                              *sure("出席了发布会。")],
                       [*sure("明庆显", 0.45), ("人民医院", 0.9), *sure("院长表示")],
                       [*sure("一线"), *sure("工人")],  # "front line": a common word, heard clearly
                       [("无", 0.45), ("缘", 0.73), ("险、", 0.74), *sure("会长选国动", 0.87)])  # Whisper base's
    # Whisper marks pauses with a space inside Mandarin text: a long name may hold one.
    heard = Transcript(heard.language, heard.duration_s, heard.model, (
        heard.segments[0], Segment(heard.segments[1].start, heard.segments[1].end, "明庆显 人民医院院长表示",
                                   heard.segments[1].words), *heard.segments[2:]))
    fixed, fixes = ZH_GLOSSARY.fix(heard)
    assert [s.text for s in fixed.segments] == ["儋州使民政局局长符永翀出席了发布会。", "闽清县人民医院院长表示", "一线工人",
                                                "婺源县、会长禤国栋"]  # three syllables alike: fixed under 0.9
    assert [(f.heard, f.written) for f in fixes] == [("担奏", "儋州"), ("服用充", "符永翀"), ("明庆显人民医院", "闽清县人民医院"),
                                                     ("无缘险", "婺源县"), ("选国动", "禤国栋")]
    assert fixed.segments[0].words[-len("出席了发布会。") - 1].word == "符永翀"
    assert not [v for v in validate_cues(build_cues(fixed), fixed) if v.rule == "text"]


def test_two_terms_alike_are_left_to_the_editor():
    glossary = Glossary.parse(["Marlowe", "Marlow"])
    heard = transcript("en", [("Marlowa", 0.2), ("spoke", 0.9)])
    assert glossary.fix(heard) == (heard, ())
    assert Glossary.parse(["Marlowe"]).fix(heard)[0].text == "Marlowe spoke"


# --------------------------------------------------------------------------- possible mis-hearings


def test_low_confidence_words_are_listed_with_their_times():
    heard = transcript("en", [("Inspector", 0.9), ("Thomas", 0.88), ("PR's", 0.22), ("Ibylski", 0.33),
                              ("led", 0.82), ("the", 0.99), ("investigation", 0.97), ("in", 0.85), ("Wexcom.", 0.37)])
    flags = low_confidence(heard)
    assert flags == (LowConfidence("PR's Ibylski", 0.8, 1.5, 0.22), LowConfidence("Wexcom", 3.2, 3.5, 0.37))
    assert flags[1].describe() == "possible mis-hearing: Wexcom at 0:03"
    assert LowConfidence.from_dict(flags[0].to_dict()) == flags[0]
    assert low_confidence(heard, threshold=0.3) == (LowConfidence("PR's", 0.8, 1.1, 0.22),)
    zh = transcript("zh", [*sure("省教育", 0.9), ("天", 0.2), ("，", 0.1), ("罩", 0.3), *sure("开心文", 0.95)])
    assert [f.describe() for f in low_confidence(zh)] == ["possible mis-hearing: 天罩 at 0:01"]
    assert low_confidence(Transcript("en", 0.0, "whisper-base-int8")) == ()


def test_the_flags_a_draft_repeats():
    heard = transcript("en", [("Councillor", 0.9), ("Amar", 0.3), ("Okonkwo", 0.2), ("opened", 0.9), ("Colbert", 0.25),
                              ("Act", 0.4), ("library.", 0.9)])
    flags = low_confidence(heard)
    assert [f.word for f in flags] == ["Amar Okonkwo", "Colbert Act"]
    assert mentioned(flags, ["Councillor okonkwo opened the library.", "A new library"], "en") == flags[:1]
    assert mentioned(flags, ["The library opened."], "en") == ()
    zh = transcript("zh", [*sure("省教育", 0.9), ("天", 0.2), ("罩", 0.3), *sure("开心文", 0.95)])
    assert mentioned(low_confidence(zh), ["省教育天罩召开发布会"], "zh")[0].word == "天罩"


def test_names_written_as_the_glossary_writes_them_are_not_flagged():
    heard = transcript("en", [("Kwabena", 0.14), ("Asante-Mensah", 0.0), ("scored", 0.62), ("for", 0.95),
                              ("Dunmoor", 0.49), ("Rovers,", 0.85), ("Bets.", 0.04)])
    assert [f.word for f in low_confidence(heard)] == ["Kwabena Asante-Mensah", "Dunmoor", "Bets"]
    known = ["Kwabena Asante-Mensah", "Dunmoor Rovers", "Rovers"]
    assert [f.word for f in low_confidence(heard, known=known)] == ["Bets"]
    zh = transcript("zh", [*sure("邝婉琪", 0.3), ("介", 0.9), ("绍", 0.2)])
    assert [f.word for f in low_confidence(zh, known=["邝婉琪"])] == ["绍"]


def test_words_read_back_after_the_speech_are_dropped():
    """What Whisper base wrote with the benchmark's glossary after "...in Wexcombe." (faster-whisper's segment)."""
    from types import SimpleNamespace as Raw

    from newsroom.asr.whisper import Transcriber

    def raw(words, text, no_speech_prob=0.0):
        return Raw(start=words[0][1], text=text, no_speech_prob=no_speech_prob,
                   words=[Raw(word=w, start=a, end=b, probability=p) for w, a, b, p in words])

    spoken = [(" led", 2.12, 2.32, 0.82), (" in", 3.42, 3.72, 0.85), (" Wexcombe.", 3.72, 4.42, 0.37)]
    tail = [(" Wexcombe,", 4.42, 4.42, 0.0), (" Wexcombe,", 4.42, 4.44, 0.7)]
    en = lang.profile("en")
    segment = Transcriber._convert(raw(spoken + tail, " led in Wexcombe. Wexcombe, Wexcombe,"), en)
    assert segment.text == "led in Wexcombe." and [w.word for w in segment.words] == ["led", "in", "Wexcombe."]
    assert Transcriber._convert(raw(tail, " Wexcombe, Wexcombe,", 0.70), en) is None
    assert Transcriber._convert(raw([(" Today.", 3.34, 3.56, 0.04)], " Today.", 0.66), en) is None
    assert Transcriber._convert(raw(spoken, " led in Wexcombe."), en).text == "led in Wexcombe."  # speech stays
