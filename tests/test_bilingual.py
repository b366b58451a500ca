"""Bilingual subtitles: numbers compared as values across languages, translated tracks timed on the source cues
and valid under the target's rules, the real model translating zh -> en (and en -> zh, slow), two tagged soft
tracks (ffprobe), and the burned two-language frame (both rows inked, source above translation)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from newsroom.config import Settings
from newsroom.errors import ConfigError, MediaError
from newsroom.subtitles import Cue, build_cues, validate_cues, write_subtitles
from newsroom.subtitles.bilingual import (
    bilingual_ass,
    burn_bilingual,
    mux_subtitle_tracks,
    track_name,
    translated_track,
    write_track,
)
from newsroom.subtitles.translate import (
    CueTranslation,
    Translation,
    latin_names,
    number_problems,
    number_values,
    translate_cues,
)
from newsroom.types import Segment, Transcript, Word
from tests.conftest import ffmpeg

FPS = 25.0
ZH = ["今天上午，三百名志愿者在公园植树。", "他们一共种了两千棵树。", "活动将持续到5月7日。"]
EN = ["The city will open three hundred new schools next year.", "About 5% of students will change schools.",
      "The plan costs 2 billion dollars."]


def hand_built(sentences: list[str], language: str, word_s: float = 0.28, gap_s: float = 0.5) -> Transcript:
    """One segment per sentence, one token per word (per character in Mandarin, punctuation on the character
    before it, as Whisper gives them), `word_s` apart."""
    t, segments = 0.0, []
    for sentence in sentences:
        tokens: list[str] = []
        if language == "zh":
            for ch in sentence:
                if tokens and ch in "，。！？、":
                    tokens[-1] += ch
                else:
                    tokens.append(ch)
        else:
            tokens = [f" {w}" for w in sentence.split()]
        start, words = t, []
        for token in tokens:
            words.append(Word(round(t, 3), round(t + word_s * 0.9, 3), token, 0.9))
            t += word_s
        segments.append(Segment(round(start, 3), round(t, 3), sentence, tuple(words)))
        t += gap_s
    return Transcript(language, round(t + 1.0, 3), "hand-built", tuple(segments))


def handmade(cues: list[Cue], source_language: str, language: str, texts: list[str]) -> Translation:
    """A translation written by hand (what an editor or another system could supply)."""
    items = tuple(CueTranslation(c.index, "".join(c.lines), t) for c, t in zip(cues, texts, strict=True))
    return Translation(source_language, language, "by hand", items)


def assert_aligned(track, source_cues: list[Cue]) -> None:
    """Every translated cue overlaps each source cue it translates, and every source cue with a published
    translation has at least one translated cue."""
    by_index = {c.index: c for c in source_cues}
    for cue, sources in zip(track.cues, track.sources, strict=True):
        assert sources, f"translated cue {cue} translates no source cue"
        for index in sources:
            src = by_index[index]
            assert cue.start_s < src.end_s and src.start_s < cue.end_s, (cue, src)
    published = {i.index for i in track.translation.items if i.text}
    assert published == {i for s in track.sources for i in s}


# --------------------------------------------------------------------------- numbers and names


@pytest.mark.parametrize(("a", "b"), [
    ("三百名工人", "300 workers"), ("三百名工人", "three hundred workers"), ("增长百分之五", "up 5%"),
    ("2026年5月7日", "May 7, 2026"), ("二〇二六年", "in 2026"), ("3.5亿元", "350 million yuan"),
    ("两千三百万人", "23 million people"), ("3万人", "30,000 people"), ("三点五公里", "3.5 km"),
    ("二十五辆公交车", "Twenty-five buses"), ("三百人", "三百人"),
])
def test_numbers_are_compared_as_values_across_languages(a, b):
    assert number_values(a) == number_values(b) and number_values(a)
    assert number_problems(a, b) == [] and number_problems(b, a) == []


def test_wrong_missing_and_extra_numbers_are_named():
    source = "今天共有三百名工人参加，增长百分之五。"
    assert number_problems(source, "Today 300 workers took part, up 5%.") == []
    problems = number_problems(source, "Today 30 workers took part, up 5%.")
    assert any("300" in p and "missing" in p for p in problems) and any("30 " in p and "not in" in p for p in problems)
    assert number_problems("Prices rose 5%.", "价格上涨了。") == ["the number(s) 5 of the source are missing"]
    # Not numbers: 百姓/十分 (unit characters alone), a weekday, 一 as "a".
    assert number_values("老百姓十分满意，星期三一位官员说") == set()
    assert number_values("three hundred and five") == {Decimal(305)}


def test_latin_names_are_found_in_both_kinds_of_script():
    assert latin_names("世界卫生组织WHO的Smith表示", "zh") == ["WHO", "Smith"]
    assert latin_names("On Tuesday, officials in Berlin said John Smith left in May.", "en") == ["Berlin", "John", "Smith"]


# --------------------------------------------------------------------------- tracks (hand-written translations)


def test_translated_track_is_timed_on_the_source_cues_and_valid_under_the_target_rules():
    zh = hand_built(ZH, "zh")
    cues = build_cues(zh, FPS)
    assert len(cues) == 3 and validate_cues(cues, zh, FPS) == []
    texts = ["This morning, 300 volunteers planted trees in the park.", "Altogether they planted 2,000 trees.",
             "The event will run until May 7."]
    track = translated_track(cues, handmade(cues, "zh", "en", texts), FPS, duration_s=zh.duration_s)
    assert track.violations == () and len(track.cues) == 3 and track.sources == ((1,), (2,), (3,))
    assert_aligned(track, cues)
    assert [c.start_s for c in track.cues] == [c.start_s for c in cues]  # each starts with its source cue
    assert all(len(line) <= 42 for c in track.cues for line in c.lines)
    # English needs more reading time than the Mandarin: the first cue runs on into the silence after it.
    assert track.cues[0].end_s > cues[0].end_s and track.cues[0].end_s <= cues[1].start_s - 2 / FPS
    report = track.report()
    assert report["cues"] == 3 and report["held"] == [] and report["merged"] == [] and report["split"] == []


def test_a_translation_too_long_for_its_cue_is_split_and_one_too_fast_is_merged():
    # A long translation of a short cue: more than two lines of 16 characters -> split into two cues.
    en = hand_built(["The plan was approved.", "Buses will run every ten minutes from the first of June onwards.",
                     "Good."], "en", word_s=0.45)
    cues = build_cues(en, FPS)
    long = "该计划已获批准，市议会今天上午经过长时间辩论后以多数票正式通过了这项预算方案。"
    texts = [long, "从6月1日起，公交车每十分钟一班。", "很好。"]
    track = translated_track(cues, handmade(cues, "en", "zh", texts), FPS, duration_s=en.duration_s)
    assert_aligned(track, cues)
    assert track.report()["split"] == [1] and len(track.cues) >= 4
    assert not [v for v in track.violations if v.rule in ("line_length", "line_count", "spaces", "overlap", "gap")]
    # A cue too short to read its translation in (0.5 s for 40 characters of English) is merged with the next.
    fast_cues = [Cue(1, 0.0, 0.84, ("好。",)), Cue(2, 0.92, 2.4, ("我们开始吧。",))]
    merged = translated_track(fast_cues, handmade(fast_cues, "zh", "en", [
        "All right, that is very good news for everyone.", "Let's begin."]), FPS, duration_s=6.0)
    assert merged.report()["merged"] == [[1, 2]] and len(merged.cues) == 1
    assert_aligned(merged, fast_cues)
    assert not [v for v in merged.violations if v.rule == "reading_speed"]


def test_track_files_carry_the_language():
    cues = [Cue(1, 0.0, 2.0, ("Hello.",))]
    assert track_name("subtitles", "en-GB", "srt") == "subtitles.en.srt"
    assert write_track(cues, "vtt", "en").startswith("WEBVTT\nLanguage: en\n\n1\n")
    assert 'xml:lang="zh"' in write_track([Cue(1, 0.0, 2.0, ("你好。",))], "ttml", "zh")
    assert write_track(cues, "srt", "en") == write_subtitles(cues, "srt", "en")


def test_held_cues_are_left_out_of_the_track_and_reported():
    zh = hand_built(ZH, "zh")
    cues = build_cues(zh, FPS)
    items = (CueTranslation(1, ZH[0], "", held="the number(s) 300 of the source are missing"),
             CueTranslation(2, ZH[1], "Altogether they planted 2,000 trees."),
             CueTranslation(3, ZH[2], "The event will run until May 7."))
    track = translated_track(cues, Translation("zh", "en", "by hand", items), FPS)
    assert len(track.cues) == 2 and track.sources == ((2,), (3,))
    assert track.report()["held"] == [{"cue": 1, "source": ZH[0], "reason": items[0].held}]


class Scripted:
    """A backend that answers from a script (the real model cannot be made to get a number wrong on demand)."""

    name = "scripted"
    context_tokens = 4096
    last_usage = None

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.prompts = list(replies), []

    def complete(self, messages, **kwargs) -> str:
        self.prompts.append(messages[-1]["content"])
        return self.replies.pop(0)

    def count_tokens(self, text: str) -> int:
        return len(text)


def test_a_wrong_number_is_sent_back_once_then_held_not_published():
    cues = build_cues(hand_built(ZH[:2], "zh"), FPS)
    backend = Scripted([
        json.dumps({"1": "今天上午三百名志愿者", "2": "x"}),  # not English: sent back by the language check
        json.dumps({"1": "This morning, 30 volunteers planted trees in the park.", "2": "They planted 2,000 trees."}),
        json.dumps({"1": "This morning, 3 volunteers planted trees."}),  # the one retry: still wrong
    ])
    translation = translate_cues(cues, "zh", "en", backend)
    assert "line 1 is not translated into" in backend.prompts[1]
    retry = backend.prompts[2]  # cue 1 alone, with the problem named
    assert "300" in retry and f"1. {ZH[0]}" in retry and f"2. {ZH[1]}" not in retry
    first, second = translation.items
    assert first.text == "" and "300" in first.held and second.text == "They planted 2,000 trees."
    assert not backend.replies
    # A batch the model never answers usably is held back; the track goes on without it.
    silent = translate_cues(cues[:1], "zh", "en", Scripted(["no JSON here"] * 3))
    assert silent.items[0].text == "" and "no usable translation" in silent.items[0].held
    with pytest.raises(ConfigError, match="already in"):
        translate_cues(cues, "zh", "zh-Hans", backend)
    with pytest.raises(ConfigError, match="choose one of"):
        translate_cues(cues, "zh", "fr", backend)


def test_a_line_answered_with_the_placeholder_is_asked_again_then_held_not_published():
    """Models answer some cues (the second half of a sentence over two cues) with the prompt's example value
    "...": that cue is asked for again, alone, without the cues around it; answered with nothing again or with
    the cue before's translation (as the 1.5B model did when it saw that cue), it shows nothing and is listed."""
    cues = build_cues(hand_built(["The park path is open again this morning.",
                                  "Workers planted new trees along the path."], "en"), FPS)
    assert len(cues) == 2
    first_answer = json.dumps({"1": "公园小路今天早上重新开放。", "2": "..."})
    backend = Scripted([first_answer, json.dumps({"2": "工人们沿路种了新树。"})])
    translation = translate_cues(cues, "en", "zh", backend)
    retry = backend.prompts[1]
    assert "translate this line on its own" in retry and "2. Workers planted" in retry and "park" not in retry
    assert [i.text for i in translation.items] == ["公园小路今天早上重新开放。", "工人们沿路种了新树。"]
    for answer in ("…", "公园小路今天早上重新开放。"):
        stubborn = translate_cues(cues, "en", "zh", Scripted([first_answer, json.dumps({"2": answer})]))
        assert stubborn.items[1].text == "" and "no translation of its own" in stubborn.items[1].held
    first, second = stubborn.items
    assert first.text.startswith("公园") and not first.held
    assert second.text == "" and "no translation of its own" in second.held
    track = translated_track(cues, stubborn, FPS)
    assert all("..." not in line and "…" not in line for cue in track.cues for line in cue.lines)
    assert track.report()["held"] == [{"cue": 2, "source": second.source, "reason": second.held}]


# --------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def model():
    pytest.importorskip("llama_cpp")
    from newsroom.llm import load_backend

    return load_backend(Settings(llm_context_tokens=4096))  # the default model (Qwen2.5-Coder 1.5B, llama.cpp)


def test_real_model_translates_mandarin_cues_into_english(model):
    zh = hand_built(ZH, "zh")
    cues = build_cues(zh, FPS)
    translation = translate_cues(cues, "zh", "en", model)
    assert translation.model.endswith("+translate.v1.en") and translation.held == ()
    track = translated_track(cues, translation, FPS, duration_s=zh.duration_s)
    assert validate_cues(cues, zh, FPS) == [] and track.violations == ()
    assert_aligned(track, cues)
    english = " ".join(" ".join(c.lines) for c in track.cues)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english)
    assert {Decimal(300), Decimal(2000), Decimal(5), Decimal(7)} <= number_values(english)


@pytest.mark.slow
def test_real_model_translates_english_into_mandarin_from_the_cli(tmp_path):
    """`newsroom subtitles T.json --translate zh --format vtt`: the default backend, en -> zh."""
    pytest.importorskip("llama_cpp")
    from newsroom.cli import app

    en = hand_built(EN, "en")
    path = tmp_path / "transcript.json"
    path.write_text(json.dumps(en.to_dict(), ensure_ascii=False), "utf-8")
    out = tmp_path / "subtitles.zh.vtt"
    result = CliRunner().invoke(app, ["subtitles", str(path), "--translate", "zh", "--format", "vtt", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import webvtt

    text = out.read_text("utf-8")
    assert text.startswith("WEBVTT\nLanguage: zh\n")
    captions = webvtt.read(str(out))
    source = build_cues(en, FPS)
    for caption in captions:
        start, end = caption.start_in_seconds, caption.end_in_seconds
        assert any(start < c.end_s and c.start_s < end for c in source)
        assert all(len(line) <= 16 and " " not in line for line in caption.text.splitlines())
    mandarin = "".join(c.text for c in captions)
    assert {Decimal(300), Decimal(5), Decimal(2_000_000_000)} <= number_values(mandarin)


# --------------------------------------------------------------------------- video


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bilingual")
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=640x360:r=25", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(d / "black.mp4"))
    return d / "black.mp4"


SOURCE_CUES = [Cue(1, 0.2, 2.8, ("三百名志愿者在公园植树。",))]
ENGLISH_CUES = [Cue(1, 0.2, 2.8, ("300 volunteers planted trees in the park.",))]


def test_two_soft_tracks_carry_their_language_tags(clip, tmp_path):
    zh_srt, en_srt = tmp_path / track_name("subtitles", "zh", "srt"), tmp_path / track_name("subtitles", "en", "srt")
    zh_srt.write_text(write_track(SOURCE_CUES, "srt", "zh"), "utf-8")
    en_srt.write_text(write_track(ENGLISH_CUES, "srt", "en"), "utf-8")
    out = mux_subtitle_tracks(clip, [(zh_srt, "zh"), (en_srt, "en")], tmp_path / "edit.mp4")
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out)], capture_output=True, text=True,
        check=True).stdout)
    subs = [s for s in probe["streams"] if s["codec_type"] == "subtitle"]
    assert [s["tags"]["language"] for s in subs] == ["chi", "eng"]
    assert [s["disposition"]["default"] for s in subs] == [1, 0]
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio", "subtitle"}
    text = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:1", "-f", "srt", "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "300 volunteers planted trees in the park." in text
    with pytest.raises(MediaError, match="does not exist"):
        mux_subtitle_tracks(clip, [(tmp_path / "missing.srt", "en")], tmp_path / "o.mp4")


def _ink_bands(frame: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges (top, bottom) that hold bright text pixels."""
    rows = (frame.max(axis=2) > 160).sum(axis=1) > 2
    bands, top = [], None
    for y, inked in enumerate([*rows, False]):
        if inked and top is None:
            top = y
        elif not inked and top is not None:
            bands.append((top, y))
            top = None
    return bands


def test_burned_bilingual_frame_has_the_source_above_the_translation(clip, tmp_path):
    out = burn_bilingual(clip, SOURCE_CUES, "zh", ENGLISH_CUES, "en", tmp_path / "bilingual.mp4")
    png = tmp_path / "frame.png"
    ffmpeg("-ss", "1.5", "-i", str(out), "-frames:v", "1", str(png))
    from PIL import Image

    frame = np.asarray(Image.open(png).convert("RGB")).astype(int)
    bands = _ink_bands(frame)
    assert len(bands) == 2, bands  # two text rows, with a clear gap between them
    (top_a, top_b), (low_a, low_b) = bands
    assert top_b < low_a and low_b <= 360 - 0.05 * 360
    upper, lower = frame[top_a:top_b], frame[low_a:low_b]
    ink_up, ink_low = upper[upper.max(axis=2) > 160], lower[lower.max(axis=2) > 160]
    assert len(ink_up) > 100 and len(ink_low) > 100
    # The source (white) above, the translation (pale yellow: less blue than red) below.
    assert abs(ink_up[:, 0].mean() - ink_up[:, 2].mean()) < 20
    assert ink_low[:, 0].mean() - ink_low[:, 2].mean() > 40
    assert not list(tmp_path.glob("*.ass"))  # the script is a scratch file
    script = bilingual_ass(SOURCE_CUES, "zh", ENGLISH_CUES, "en", 640, 360)
    assert "Noto Sans CJK SC" in script and "Source,,0,0," in script


# --------------------------------------------------------------------------- the edit flow


@pytest.mark.slow
def test_edit_flow_translate_to_adds_a_second_track_and_the_bilingual_burn(local_env, tmp_path):
    """`translate_to="zh"` on the edit of the bundled (English) sample: subtitles.zh.*, two tagged soft tracks in
    edit.mp4 and edit-bilingual.mp4; the default run (no translate_to) makes none of them (see test_edit_flow)."""
    pytest.importorskip("llama_cpp")
    from flows.edit import edit
    from flows.ingest import ingest
    from newsroom.manifest import read_manifest
    from newsroom.storage import open_store
    from tests.conftest import SAMPLE

    story_id = ingest(str(SAMPLE), asr_model="tiny.en")
    edit(story_id, target_s=8, vertical=False, covers=False, translate_to="zh")
    store = open_store()
    names = {a["key"].split("/", 2)[2] for a in read_manifest(store, story_id)["assets"]}
    assert {"edit/subtitles.zh.srt", "edit/subtitles.zh.vtt", "edit/subtitles.zh.ttml", "edit/edit-bilingual.mp4",
            "edit/subtitles-translated-report.json"} <= names
    edit_mp4 = store.get_file(f"stories/{story_id}/edit/edit.mp4", tmp_path / "edit.mp4")
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(edit_mp4)],
                                      capture_output=True, text=True, check=True).stdout)
    assert [s["tags"]["language"] for s in probe["streams"] if s["codec_type"] == "subtitle"] == ["eng", "chi"]
    report = json.loads(store.get_file(f"stories/{story_id}/edit/subtitles-translated-report.json",
                                       tmp_path / "report.json").read_text("utf-8"))
    assert report["language"] == "zh" and report["cues"] >= 1
