"""Subtitles: rule-keeping cues from word streams (hypothesis), file formats read back by independent
parsers, and mux/burn-in on ffmpeg-generated clips checked frame by frame."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pysubs2
import pytest
import webvtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsroom.errors import ConfigError, MediaError
from newsroom.subtitles import (
    RULES,
    WRITERS,
    Cue,
    SubtitleError,
    build_cues,
    burn_subtitles,
    mux_soft_subtitles,
    rules_for,
    subtitles_filter,
    summary,
    validate_cues,
    write_subtitles,
)
from newsroom.types import Segment, Transcript, Word
from tests.conftest import SHARED_FIXTURES

FPS_CHOICES = (24.0, 25.0, 30000 / 1001, 30.0, 50.0)

# --------------------------------------------------------------------------- word streams

EN_VOCAB = (
    "the", "council", "voted", "on", "Tuesday", "to", "approve", "a", "new", "budget", "for", "public",
    "transport", "adding", "more", "buses", "officials", "said", "plan", "would", "cut", "waiting",
    "times", "thousands", "of", "commuters", "shares", "technology", "companies", "fell", "sharply",
    "interest", "rates", "stay", "high", "analysts", "warned", "smaller", "firms", "could", "struggle",
    "heavy", "rain", "flooding", "river", "valley", "emergency", "teams", "helping", "families",
    "leave", "homes", "I", "it's", "infrastructure", "and", "but", "or", "so", "because", "which",
    "that", "who", "when", "while", "if", "although",
)
EN_PUNCT = ("",) * 8 + (",", ",", ".", ".", "?", "!", ";", ":")
# Mandarin news words (the shared fixture's, as jieba cuts them): Whisper's tokens are these words or their
# single characters, so token and word boundaries meet as they do in real transcripts.
ZH_WORDS = (
    "各位", "观众", "晚上", "好", "欢迎", "收看", "今天", "的", "新闻", "市政府", "宣布", "将", "在", "明年", "增加",
    "公共交通", "投资", "新建", "三条", "地铁", "线路", "专家", "表示", "这项", "计划", "有助于", "减少", "交通", "拥堵",
    "另外", "气象部门", "提醒", "本周末", "南方", "地区", "出现", "大范围", "降雨", "请", "大家", "注意", "安全",
)
ZH_CONJUNCTIONS = ("但是", "因为", "所以", "而且", "如果", "和")
ZH_PUNCT = ("",) * 8 + ("，", "，", "。", "、", "？", "！")


@st.composite
def en_token(draw) -> str:
    word = draw(st.sampled_from(EN_VOCAB))
    if draw(st.integers(0, 9)) == 0:
        word = word.capitalize()
    return word + draw(st.sampled_from(EN_PUNCT))


@st.composite
def zh_token(draw) -> list[str]:
    """A word as Whisper's tokens: whole, or one token per character; punctuation on the last one."""
    word = draw(st.sampled_from(ZH_CONJUNCTIONS if draw(st.integers(0, 9)) == 0 else ZH_WORDS))
    pieces = list(word) if draw(st.booleans()) else [word]
    pieces[-1] += draw(st.sampled_from(ZH_PUNCT))
    return pieces


def _reading_len(token: str, language: str) -> int:
    return len(token) + (1 if language == "en" else 0)


@st.composite
def transcripts(draw, language: str, *, fast: bool = False) -> Transcript:
    """Whisper-like output: monotonic words of 0.1-0.8 s, random pauses (some long), punctuation.

    Speech is paced like a news read (at most 14 characters/s in English, 7 in Mandarin, counted as
    the reading speed counts them) unless `fast`, where words may come back to back at any speed.
    """
    token = en_token() if language == "en" else zh_token()
    tokens = [p for tok in draw(st.lists(token, min_size=0, max_size=70)) for p in ([tok] if language == "en" else tok)]
    pace = draw(st.floats(6, 14) if language == "en" else st.floats(3, 7))
    t = draw(st.floats(0, 3))
    words: list[Word] = []
    for text in tokens:
        duration = draw(st.floats(0.1, 0.8))
        pause = draw(st.one_of(st.just(0.0), st.floats(0, 0.3), st.floats(0.3, 2.5)))
        overlap = draw(st.sampled_from((0.0,) * 5 + (0.03,)))  # Whisper sometimes overlaps words
        start = max(t - overlap, words[-1].start if words else 0.0)
        words.append(Word(round(start, 3), round(t + duration, 3), text, 0.9))
        slot = duration + pause
        if not fast:
            slot = max(slot, _reading_len(text, language) / pace)
        t += slot
    # Segments end at sentence ends, like Whisper's.
    segments, current = [], []
    for w in words:
        current.append(w)
        if w.word[-1] in ".?!。？！":
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    joiner = " " if language == "en" else ""
    return Transcript(
        language=language,
        duration_s=t + 1.0,
        model="hypothesis",
        segments=tuple(Segment(ws[0].start, ws[-1].end, joiner.join(w.word for w in ws), tuple(ws))
                       for ws in segments),
    )


@st.composite
def dialogues(draw, language: str) -> Transcript:
    """A transcript whose sentences (Whisper's segments) are said by S1 or S2; a turn changes only after the
    speaker has talked for at least a second (quick exchanges: see the hand-built dialogue tests)."""
    t = draw(transcripts(language))
    segments, speaker = [], "S1"
    turn_start = t.segments[0].start if t.segments else 0.0
    for seg in t.segments:
        if seg.start - turn_start >= 1.0 and draw(st.booleans()):
            speaker, turn_start = ("S2" if speaker == "S1" else "S1"), seg.start
        segments.append(dataclasses.replace(
            seg, speaker=speaker, words=tuple(dataclasses.replace(w, speaker=speaker) for w in seg.words)))
    return dataclasses.replace(t, segments=tuple(segments))


@st.composite
def cuts_and_boundary(draw, t: Transcript) -> tuple[list[float], list[float]]:
    """Scene cuts at least 0.4 s apart (as `detect_scenes` keeps them) anywhere in the clip, and at most one
    boundary (the anchor intro | the story) at the start of a segment: at a speaker change, or with at least a
    second of the speaker's turn on either side of it."""
    cuts, at = [], 0.0
    for gap in draw(st.lists(st.floats(0.4, 6.0), max_size=12)):
        at += gap
        if at < t.duration_s:
            cuts.append(round(at, 3))
    segs = t.segments
    changes = [k for k in range(1, len(segs)) if segs[k].speaker != segs[k - 1].speaker]
    starts = []
    for k in range(1, len(segs)):
        turn_start = segs[max([0, *(c for c in changes if c <= k)])].start
        turn_end = min([math.inf, *(segs[c].start for c in changes if c > k)])
        if k in changes or (segs[k].start - turn_start >= 1.0 and turn_end - segs[k].start >= 1.0):
            starts.append(segs[k].start)
    boundary = [draw(st.sampled_from(starts))] if starts and draw(st.booleans()) else []
    return cuts, boundary


def _words(t: Transcript) -> list[str]:
    return [w.word for s in t.segments for w in s.words]


def spoken_lines(cue: Cue, language: str) -> list[str]:
    """The cue's lines without the dialogue dashes (when both lines of a two-line cue start with one)."""
    dash = RULES[language].dialogue_dash
    if len(cue.lines) == 2 and all(line.startswith(dash) for line in cue.lines):
        return [line[len(dash):] for line in cue.lines]
    return list(cue.lines)


def _cue_words(cue: Cue, t: Transcript) -> list[Word]:
    """The transcript words a cue holds (by position in the text: cues are checked to hold them in order)."""
    words = [w for s in t.segments for w in s.words]
    joiner = " " if t.language == "en" else ""
    text = joiner.join(spoken_lines(cue, t.language)).replace(" ", "")
    for k in range(len(words)):
        acc, j = "", k
        while j < len(words) and len(acc) < len(text):
            acc += words[j].word
            j += 1
        if acc == text:
            return words[k:j]
    raise AssertionError(f"cue {cue.index} {cue.text!r} is not transcript words")


def _jieba_ends(t: Transcript) -> set[int]:
    """Character offsets where a jieba word ends, each run of one speaker in one segment cut on its own."""
    import jieba

    ends, at = set(), 0
    for seg in t.segments:
        runs: list[list[Word]] = []
        for w in seg.words:
            if runs and runs[-1][-1].speaker == w.speaker:
                runs[-1].append(w)
            else:
                runs.append([w])
        for run in runs:
            for word in jieba.lcut("".join(w.word for w in run)):
                at += len(word)
                ends.add(at)
    return ends


def assert_text_preserved(cues: list[Cue], t: Transcript) -> None:
    """Every word in exactly one cue, in order: English joined by spaces, Mandarin with none; no line or cue
    break inside a word (Mandarin: inside one of jieba's words)."""
    words = _words(t)
    if t.language == "en":
        assert [w for c in cues for line in spoken_lines(c, "en") for w in line.split()] == words
        assert all(line == " ".join(line.split()) for c in cues for line in c.lines)
        return
    lines = [line for c in cues for line in spoken_lines(c, t.language)]
    assert "".join(lines) == "".join(words)
    assert not any(ch.isspace() for line in lines for ch in line)
    timed = [w for s in t.segments for w in s.words]
    token_ends, paused, at = set(), set(), 0
    for k, w in enumerate(timed):
        at += len(w.word)
        token_ends.add(at)
        if k + 1 < len(timed) and timed[k + 1].start - w.end >= 1.0:
            paused.add(at)
    # A break falls where both a token and a jieba word end, or where the speaker paused for a second; where two
    # such points are more than a line apart (tokens and words keep missing each other), between tokens (all
    # tokens here are shorter than a line).
    ends, before = set(), 0
    for end in sorted(token_ends & _jieba_ends(t) | paused):
        ends |= {e for e in token_ends if before < e <= end} if end - before > RULES["zh"].max_chars_per_line else {end}
        before = end
    at = 0
    for line in lines:
        at += len(line)
        assert at in ends, (line, words, cues)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(t=transcripts("en"), fps=st.sampled_from(FPS_CHOICES))
def test_english_cues_keep_every_rule(t, fps):
    cues = build_cues(t, fps)
    assert validate_cues(cues, t, fps) == []
    assert_text_preserved(cues, t)


@PROPERTY
@given(t=transcripts("zh"), fps=st.sampled_from(FPS_CHOICES))
def test_mandarin_cues_keep_every_rule(t, fps):
    cues = build_cues(t, fps)
    assert validate_cues(cues, t, fps) == []
    assert_text_preserved(cues, t)


@PROPERTY
@given(language=st.sampled_from(("en", "zh")), fps=st.sampled_from(FPS_CHOICES), data=st.data())
def test_dialogue_with_shot_changes_and_a_boundary_keeps_every_rule(language, fps, data):
    t = data.draw(dialogues(language))
    cuts, boundary = data.draw(cuts_and_boundary(t))
    cues = build_cues(t, fps, shot_changes_s=cuts, boundaries_s=boundary)
    assert validate_cues(cues, t, fps, shot_changes_s=cuts, boundaries_s=boundary) == []
    assert_text_preserved(cues, t)
    frames = [math.floor(c * fps + 0.5) for c in (*cuts, *boundary)]
    for cue in cues:
        start, end = round(cue.start_s * fps), round(cue.end_s * fps)
        assert not any(start < b < end for b in (math.floor(x * fps + 0.5) for x in boundary))
        assert start in frames or cue.start_s >= min(w.start for w in _cue_words(cue, t)) - 3 / fps - 1e-6


# Rules that no speech, however fast, forces a cue to break.
STRUCTURAL = {"empty", "line_length", "line_count", "spaces", "order", "overlap", "frame", "sync_start", "text",
              "word_split", "speaker", "dialogue", "boundary"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(("en", "zh")), data=st.data())
def test_too_fast_speech_breaks_only_timing_rules(language, data):
    t = data.draw(transcripts(language, fast=True))
    cues = build_cues(t)
    broken = {v.rule for v in validate_cues(cues, t)}
    assert not broken & STRUCTURAL, broken
    assert_text_preserved(cues, t)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(("en", "zh")), data=st.data())
def test_quick_exchanges_never_mix_speakers(language, data):
    """Speakers that change at any word, at any speed: a cue holds one speaker's words, or two speakers'
    whole sentences on one dashed line each."""
    t = data.draw(transcripts(language, fast=True))
    flips = data.draw(st.lists(st.booleans(), min_size=len(_words(t)), max_size=len(_words(t))))
    speaker, n, segments = "S1", 0, []
    for seg in t.segments:
        words = []
        for w in seg.words:
            speaker = ("S2" if speaker == "S1" else "S1") if flips[n] else speaker
            words.append(dataclasses.replace(w, speaker=speaker))
            n += 1
        segments.append(dataclasses.replace(seg, words=tuple(words)))
    t = dataclasses.replace(t, segments=tuple(segments))
    cuts, boundary = data.draw(cuts_and_boundary(t))
    cues = build_cues(t, shot_changes_s=cuts, boundaries_s=boundary)
    broken = {v.rule for v in validate_cues(cues, t, shot_changes_s=cuts, boundaries_s=boundary)}
    assert not broken & STRUCTURAL, broken
    assert_text_preserved(cues, t)


# --------------------------------------------------------------------------- hand-built transcripts


def paced_transcript(tokens: list[str], language: str, chars_per_s: float, pause_s: float = 0.35) -> Transcript:
    """The tokens read at a steady pace, with a pause after each sentence or clause."""
    words, t = [], 0.5
    for tok in tokens:
        duration = _reading_len(tok, language) / chars_per_s
        words.append(Word(round(t, 3), round(t + duration, 3), tok, 0.95))
        t += duration + (pause_s if tok[-1] in ".?!,。，！？" else 0.0)
    joiner = " " if language == "en" else ""
    seg = Segment(words[0].start, words[-1].end, joiner.join(tokens), tuple(words))
    return Transcript(language=language, duration_s=t + 0.5, model="hand", segments=(seg,))


def zh_tokens(text: str) -> list[str]:
    """Mandarin tokens of 1-2 characters, punctuation attached to the token before it (like Whisper)."""
    tokens: list[str] = []
    for piece in re.findall(r"[^，。！？、]{1,2}[，。！？、]?", text):
        if piece[0] in "，。！？、" and tokens:
            tokens[-1] += piece
        else:
            tokens.append(piece)
    return tokens


def test_news_script_in_english_breaks_at_sentences():
    tokens = (SHARED_FIXTURES / "en_espeak.txt").read_text().split()
    t = paced_transcript(tokens, "en", chars_per_s=14)
    cues = build_cues(t)
    assert validate_cues(cues, t) == []
    assert_text_preserved(cues, t)
    assert cues[0].text == "Good evening." and cues[-1].text.endswith("after the break.")
    ends_at_punctuation = sum(c.lines[-1][-1] in ".,?!" for c in cues)
    assert ends_at_punctuation >= 0.7 * len(cues), [c.text for c in cues]
    assert all(c.start_s >= 0.5 and round(c.start_s * 25, 6) == round(c.start_s * 25) for c in cues)


def test_news_script_in_mandarin_has_no_spaces_and_short_lines():
    text = (SHARED_FIXTURES / "zh_neural.txt").read_text().strip()
    tokens = zh_tokens(text)
    assert "".join(tokens) == text
    t = paced_transcript(tokens, "zh", chars_per_s=5)
    cues = build_cues(t)
    assert validate_cues(cues, t) == []
    assert_text_preserved(cues, t)
    assert cues[0].lines[0] == "各位观众晚上好，"  # the first line ends at the comma
    assert all(len(line) <= 16 for c in cues for line in c.lines)
    assert sum(c.lines[-1][-1] in "，。" for c in cues) == len(cues)


def test_short_word_is_held_for_the_minimum_duration_and_long_word_is_wrapped():
    long_word = "https://example.org/" + "x" * 60  # 80 characters: two lines on its own
    t = Transcript("en", 10.0, "hand", (Segment(1.0, 5.0, "Yes. " + long_word, (
        Word(1.0, 1.2, "Yes.", 0.9), Word(3.0, 5.0, long_word, 0.9))),))
    cues = build_cues(t)
    assert cues[0].lines == ("Yes.",)
    assert cues[0].end_s - cues[0].start_s == pytest.approx(21 / 25)  # 5/6 s, rounded up to a frame
    assert cues[1].lines == (long_word[:42], long_word[42:])
    assert validate_cues(cues, t) == []


def test_mandarin_run_longer_than_a_line_is_split():
    run = "各位观众晚上好欢迎收看今天的新闻市政府宣布"  # 21 characters in one token
    t = Transcript("zh", 9.0, "hand", (Segment(0.0, 5.0, run, (Word(0.0, 5.0, run, 0.9),)),))
    cues = build_cues(t)
    assert "".join(line for c in cues for line in c.lines) == run
    assert all(len(line) <= 16 for c in cues for line in c.lines)
    assert validate_cues(cues, t) == []


def test_empty_transcript_gives_no_cues():
    assert build_cues(Transcript("en", 3.0, "hand")) == []
    assert validate_cues([], Transcript("zh", 3.0, "hand")) == []


def test_validator_catches_each_broken_rule():
    words = (Word(1.0, 1.5, "Hello", 0.9), Word(1.5, 2.0, "world.", 0.9), Word(4.0, 4.4, "Bye.", 0.9))
    t = Transcript("en", 6.0, "hand", (Segment(1.0, 4.4, "Hello world. Bye.", words),))
    good = build_cues(t)
    assert validate_cues(good, t) == [] and summary([])["ok"]
    bad = [
        Cue(1, 1.2, 1.6, ("Hello world.",)),  # 5 frames late, too short and fast, ends before the speech
        Cue(2, 1.62, 9.0, ("Bye.", "x" * 43, "")),  # off-frame, half a frame after cue 1, too long,
    ]                                               # a line too long, 3 lines, an empty one, wrong text
    report = summary(validate_cues(bad, t))
    assert not report["ok"]
    broken = {rule for rule, count in report["by_rule"].items() if count}
    assert broken == {"sync_start", "min_duration", "reading_speed", "sync_end", "frame", "gap", "max_duration",
                      "line_length", "line_count", "empty", "text"}
    zh = Transcript("zh", 3.0, "hand", (Segment(0.0, 1.0, "你好", (Word(0.0, 1.0, "你好", 0.9),)),))
    rules = {v.rule for v in validate_cues([Cue(2, 0.0, 0.2, ("你 好",))], zh)}
    assert {"spaces", "order", "min_duration", "reading_speed"} <= rules
    # A line or cue ending inside a word: an English word, a Mandarin word as jieba cuts it.
    split = [Cue(1, 1.0, 2.0, ("Hello wor",)), Cue(2, 2.08, 3.0, ("ld.",)), Cue(3, 4.0, 4.84, ("Bye.",))]
    assert [(v.cue_index, v.rule) for v in validate_cues(split, t) if v.rule == "word_split"] == [(1, "word_split")]
    zh = Transcript("zh", 4.0, "hand", (Segment(0.0, 3.0, "省教育厅召开新闻发布会", tuple(
        Word(0.25 * i, 0.25 * i + 0.2, ch, 0.9) for i, ch in enumerate("省教育厅召开新闻发布会"))),))
    report = validate_cues([Cue(1, 0.0, 2.8, ("省教", "育厅召开新闻发布会"))], zh)
    assert [v.rule for v in report] == ["word_split"] and "'教育厅'" in report[0].message
    assert validate_cues([Cue(1, 0.0, 2.8, ("省教育厅", "召开新闻发布会"))], zh) == []


def test_rules_per_language():
    assert (RULES["en"].max_chars_per_line, RULES["zh"].max_chars_per_line) == (42, 16)
    assert rules_for("zh-Hans") is RULES["zh"] and rules_for("en-GB") is RULES["en"]
    with pytest.raises(ConfigError, match="en, ja, zh"):
        rules_for("fr")
    # A cue of 85 characters needs 5 s at 17 characters/s; Mandarin counts characters, not spaces.
    assert RULES["en"].min_display_frames(["a" * 42, "b" * 42], 25.0) == 125
    assert RULES["zh"].reading_chars(["各位观众晚上好，", "欢迎收看"]) == 12


# --------------------------------------------------------------------------- file formats

SAMPLE_CUES = [
    Cue(1, 0.52, 2.96, ("Good evening. Here are", "tonight's top stories & more")),
    Cue(2, 3.04, 4.0, ("Thank you.",)),
    Cue(3, 3725.04, 3727.2, ("After an hour.",)),
]


@pytest.fixture(scope="module")
def en_cues() -> tuple[list[Cue], Transcript]:
    t = paced_transcript((SHARED_FIXTURES / "en_espeak.txt").read_text().split(), "en", chars_per_s=14)
    return build_cues(t), t


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_srt_and_vtt_read_back_with_pysubs2(fmt, en_cues):
    for cues in (SAMPLE_CUES, en_cues[0]):
        subs = pysubs2.SSAFile.from_string(write_subtitles(cues, fmt, "en"), format_=fmt)
        assert len(subs) == len(cues)
        for ev, cue in zip(subs, cues, strict=True):
            assert abs(ev.start - cue.start_s * 1000) <= 1 and abs(ev.end - cue.end_s * 1000) <= 1
            text = ev.plaintext if fmt == "srt" else html.unescape(ev.plaintext)
            assert text == cue.text


def _vtt_seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_vtt_reads_back_with_webvtt_py(en_cues):
    for cues in (SAMPLE_CUES, en_cues[0]):
        text = write_subtitles(cues, "vtt", "en")
        assert text.startswith("WEBVTT\n\n")
        captions = webvtt.from_string(text).captions
        assert len(captions) == len(cues)
        for cap, cue in zip(captions, cues, strict=True):
            assert cap.identifier == str(cue.index)
            assert abs(_vtt_seconds(cap.start) - cue.start_s) <= 0.001
            assert abs(_vtt_seconds(cap.end) - cue.end_s) <= 0.001
            assert [html.unescape(line) for line in cap.lines] == list(cue.lines)
    tagged = [Cue(1, 0.0, 1.0, ("A <b>bold</b> claim & more -->",))]
    assert "A &lt;b&gt;bold&lt;/b&gt; claim &amp; more --&gt;" in write_subtitles(tagged, "vtt", "en")
    assert webvtt.from_string(write_subtitles(tagged, "vtt", "en")).captions[0].raw_text.startswith("A &lt;b")


TT = "{http://www.w3.org/ns/ttml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_ttml_is_ebu_tt_d(language):
    cues = SAMPLE_CUES if language == "en" else [Cue(1, 0.0, 3.64, ("各位观众晚上好，", "欢迎收看今天的新闻。"))]
    text = write_subtitles(cues, "ttml", language)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{TT}tt" and root.get(XML_LANG) == language
    assert root.get("{http://www.w3.org/ns/ttml#parameter}timeBase") == "media"
    conforms = root.find(f"{TT}head/{TT}metadata/{{urn:ebu:tt:metadata}}documentMetadata/"
                         "{urn:ebu:tt:metadata}conformsToStandard")
    assert conforms is not None and conforms.text.startswith("urn:ebu:tt:distribution")
    assert root.find(f"{TT}head/{TT}styling/{TT}style").get("{http://www.w3.org/ns/ttml#styling}textAlign")
    paragraphs = root.findall(f"{TT}body/{TT}div/{TT}p")
    assert len(paragraphs) == len(cues)
    for p, cue in zip(paragraphs, cues, strict=True):
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", p.get("begin"))
        assert abs(_vtt_seconds(p.get("begin")) - cue.start_s) <= 0.001
        assert abs(_vtt_seconds(p.get("end")) - cue.end_s) <= 0.001
        assert [span.text for span in p.findall(f"{TT}span")] == list(cue.lines)
        assert len(p.findall(f"{TT}br")) == len(cue.lines) - 1
        assert [child.tag for child in p][1::2] == [f"{TT}br"] * (len(cue.lines) - 1)
        assert not (p.text or "").strip() and all(not (c.tail or "").strip() for c in p)
    assert language != "en" or "01:02:05.040" in text  # hours written out


def test_unknown_format_and_unwritable_cues_are_clear_errors():
    with pytest.raises(ConfigError, match="srt, vtt, ttml"):
        write_subtitles(SAMPLE_CUES, "sub", "en")
    assert set(WRITERS) == {"srt", "vtt", "ttml"}
    for fmt in WRITERS:
        with pytest.raises(SubtitleError, match="empty line"):
            write_subtitles([Cue(1, 0.0, 1.0, ("one", ""))], fmt, "en")
    assert write_subtitles([], "srt", "en") == ""


# --------------------------------------------------------------------------- mux and burn-in

CLIP_S = 3.0
SHOWN_S, HIDDEN_S = 1.5, 0.2  # a cue is on screen from 0.5 s to 2.5 s


def _write(tmp: Path, name: str, cues: list[Cue], fmt: str, language: str) -> Path:
    # A folder name with every character the filter graph treats specially.
    folder = tmp / "it's [news], v1; 10:30"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.{fmt}"
    path.write_text(write_subtitles(cues, fmt, language), encoding="utf-8")
    return path


def _gray_frame(path: Path, at_s: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(240, 320).astype(np.int16)


def _band_diff(a: Path, b: Path, at_s: float, rows: slice) -> float:
    return float(np.abs(_gray_frame(a, at_s)[rows] - _gray_frame(b, at_s)[rows]).mean())


def test_soft_subtitles_are_a_tagged_mov_text_track(media_dir, tmp_path):
    for language, tag in (("en", "eng"), ("zh", "chi")):
        cues = [Cue(1, 0.52, 2.48, ("各位观众晚上好，",) if language == "zh" else ("Hello there,", "world."))]
        srt = _write(tmp_path, language, cues, "srt", language)
        out = mux_soft_subtitles(media_dir / "av.mp4", srt, tmp_path / f"soft-{language}.mp4", language)
        info = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
            capture_output=True, check=True, text=True).stdout)
        kinds = {s["codec_type"]: s for s in info["streams"]}
        assert kinds["subtitle"]["codec_name"] == "mov_text"
        assert kinds["subtitle"]["tags"]["language"] == tag
        assert kinds["video"]["codec_name"] == "h264" and kinds["audio"]["codec_name"] == "aac"
        back = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "srt", "-"],
                              capture_output=True, check=True, text=True).stdout
        assert cues[0].lines[0] in back and "00:00:00,520 --> 00:00:02,480" in back


def test_burned_subtitles_change_the_picture_only_where_and_when_shown(media_dir, tmp_path):
    src = media_dir / "av.mp4"
    srt = _write(tmp_path, "en", [Cue(1, 0.5, 2.5, ("HELLO WORLD", "BURNED IN"))], "srt", "en")
    out = burn_subtitles(src, srt, tmp_path / "burned.mp4", "en", font_size=24)
    bottom, top = slice(150, 240), slice(40, 110)
    assert _band_diff(src, out, SHOWN_S, bottom) > 4 * max(1.0, _band_diff(src, out, SHOWN_S, top))
    assert _band_diff(src, out, HIDDEN_S, bottom) < 3
    # A vertical-format margin lifts the text: with MarginV=120 px the bottom band stays clean.
    high = burn_subtitles(src, srt, tmp_path / "high.mp4", "en", font_size=24, margin_v_px=120)
    assert _band_diff(src, high, SHOWN_S, slice(200, 240)) < 3
    assert _band_diff(src, high, SHOWN_S, slice(60, 120)) > 4 * max(1.0, _band_diff(src, high, SHOWN_S, bottom))


def test_mandarin_burn_in_uses_the_cjk_font(media_dir, tmp_path):
    src = media_dir / "av.mp4"
    vtt = _write(tmp_path, "zh", [Cue(1, 0.5, 2.5, ("各位观众晚上好，", "欢迎收看今天的新闻。"))], "vtt", "zh")
    out = burn_subtitles(src, vtt, tmp_path / "zh.mp4", "zh")
    assert _band_diff(src, out, SHOWN_S, slice(170, 240)) > 4
    # libass names the font file it picked for the style (same filter string as burn_subtitles).
    log = subprocess.run(
        ["ffmpeg", "-v", "info", "-i", str(src), "-t", "1", "-vf", subtitles_filter(vtt, 320, 240, "zh"),
         "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    assert re.search(r"fontselect: \(Noto Sans CJK SC.*-> .*NotoSansCJK", log), log[-2000:]


def test_mux_and_burn_fail_clearly(media_dir, tmp_path):
    srt = _write(tmp_path, "en", SAMPLE_CUES[:1], "srt", "en")
    with pytest.raises(MediaError, match="does not exist"):
        burn_subtitles(media_dir / "av.mp4", tmp_path / "missing.srt", tmp_path / "o.mp4", "en")
    ttml = _write(tmp_path, "en", SAMPLE_CUES[:1], "ttml", "en")
    with pytest.raises(MediaError, match="srt"):
        burn_subtitles(media_dir / "av.mp4", ttml, tmp_path / "o.mp4", "en")
    with pytest.raises(MediaError, match="no video"):
        mux_soft_subtitles(media_dir / "tone.wav", srt, tmp_path / "o.mp4", "en")
    with pytest.raises(MediaError, match="not readable media"):
        burn_subtitles(media_dir / "text.mp4", srt, tmp_path / "o.mp4", "en")
    with pytest.raises(ConfigError, match="language"):
        mux_soft_subtitles(media_dir / "av.mp4", srt, tmp_path / "o.mp4", "english")
    assert not (tmp_path / "o.mp4").exists()


def test_rules_replace_cleanly():
    # CueRules is a frozen dataclass: a stricter house rule is one replace() away.
    strict = dataclasses.replace(RULES["en"], max_chars_per_line=32)
    words = tuple(Word(i * 0.5, i * 0.5 + 0.4, w, 0.9) for i, w in enumerate(("one", "two", "three", "four", "five", "six")))
    t = Transcript("en", 4.0, "hand", (Segment(0.0, 3.0, "one two three four five six", words),))
    assert validate_cues(build_cues(t, rules=strict), t, rules=strict) == []


def test_last_cue_never_runs_past_the_media_end():
    words = (Word(0.0, 0.3, "Breaking", 0.9), Word(0.3, 0.55, "news.", 0.9))
    transcript = Transcript("en", 0.6, "test", (Segment(0.0, 0.55, "Breaking news.", words),))
    cues = build_cues(transcript, fps=25)
    assert cues and cues[-1].end_s <= 0.6 + 1e-9


def test_profile_line_mechanisms_width_particles_and_script_runs():
    """What a profile can ask of the line breaker: half-width characters counting half, a good break after
    particles, and a poor one inside a run of kanji (one compound word)."""
    from newsroom.lang import HAN

    plain = dataclasses.replace(RULES["zh"], max_chars_per_line=6, max_chars_per_s=4.0, segmenter="")
    tuned = dataclasses.replace(plain, half_width_counts_half=True, break_after=frozenset({"が", "は"}),
                                word_scripts=(HAN,))
    assert (plain.width("ab東京"), tuned.width("ab東京")) == (4, 3.0)
    assert tuned.reading_chars(["12月に", "東京"]) == 5.0
    words = ["大阪", "府", "知事", "が", "来た"]
    transcript = Transcript("zh", 4.0, "test", (Segment(0.0, 3.0, "".join(words), tuple(
        Word(0.6 * i, 0.6 * i + 0.5, w, 1.0) for i, w in enumerate(words))),))
    (cue,) = build_cues(transcript, rules=plain)
    assert cue.lines == ("大阪府", "知事が来た")  # balanced, but inside the compound 大阪府知事
    (cue,) = build_cues(transcript, rules=tuned)
    assert cue.lines == ("大阪府知事が", "来た")  # after the particle
    assert validate_cues([cue], transcript, rules=tuned) == []


# --------------------------------------------------------------------------- broken like a professional's


def _line_ends(cues: list[Cue], language: str) -> list[int]:
    """Character offsets (in the cues' text without spaces or dashes) where each line ends."""
    ends, at = [], 0
    for cue in cues:
        for line in spoken_lines(cue, language):
            at += len(line.replace(" ", ""))
            ends.append(at)
    return ends


def test_mandarin_words_are_never_split_across_lines_or_cues():
    """One-character tokens (Whisper's worst case): every line and cue ends where a jieba word ends. With the
    segmenter turned off, the same input is cut inside words ("省教 / 育")."""
    import jieba

    text = ("本台消息昨天下午省教育厅召开新闻发布会宣布全省中小学校按时开学同时要求各地教育部门做好校园安全工作"
            "专家表示这项措施有助于保障学生的健康")
    t = paced_transcript(list(text), "zh", chars_per_s=5, pause_s=0.0)
    words_end, at = set(), 0
    for word in jieba.lcut(text):
        at += len(word)
        words_end.add(at)
    cues = build_cues(t)
    assert validate_cues(cues, t) == []
    assert "".join("".join(c.lines) for c in cues) == text
    assert set(_line_ends(cues, "zh")) <= words_end, [c.lines for c in cues]
    plain = dataclasses.replace(RULES["zh"], segmenter="")
    assert not set(_line_ends(build_cues(t, rules=plain), "zh")) <= words_end  # the test can fail


def test_whisper_clause_spaces_become_chinese_commas():
    text = "本台消息 昨天下午 省教育厅召开新闻发布会 宣布全省中小学校按时开学"
    tokens = ["本台", "消息", "昨天", "下午", "省", "教育", "厅", "召开", "新闻", "发布会", "宣布", "全省", "中小", "学校",
              "按时", "开学"]
    words = tuple(Word(0.5 + 0.45 * i, 0.9 + 0.45 * i, tok, 0.9) for i, tok in enumerate(tokens))
    t = Transcript("zh", 9.0, "hand", (Segment(words[0].start, words[-1].end, text, words),))
    cues = build_cues(t)
    assert "".join("".join(c.lines) for c in cues) == "本台消息，昨天下午，省教育厅召开新闻发布会，宣布全省中小学校按时开学"
    assert validate_cues(cues, t) == []
    assert all(not line.startswith("，") for c in cues for line in c.lines)
    # A space beside Latin letters or digits is no clause break; the words disagreeing with the text mark nothing.
    latin = (Word(0.0, 0.5, "苹果", 0.9), Word(0.5, 1.0, "发布", 0.9), Word(1.0, 1.5, "iPhone", 0.9),
             Word(1.5, 2.0, "16", 0.9))
    t = Transcript("zh", 3.0, "hand", (Segment(0.0, 2.0, "苹果发布 iPhone 16", latin),))
    assert [c.lines for c in build_cues(t)] == [("苹果发布iPhone16",)]
    other = (Word(0.0, 0.5, "今天", 0.9), Word(0.5, 1.0, "天气", 0.9))
    t = Transcript("zh", 2.0, "hand", (Segment(0.0, 1.0, "明天 天气", other),))
    assert [c.lines for c in build_cues(t)] == [("今天天气",)]


def test_no_line_ends_on_the_first_word_of_the_next_sentence():
    """Fast speech (19 characters/s) where the old breaker wrote "Thanks. That's" / "a relief to hear. You must
    be tired...": a sentence's first word never closes a line that holds words before it."""
    text = "Thanks. That's a relief to hear. You must be tired after such a long day at the council."
    t = paced_transcript(text.split(), "en", chars_per_s=19, pause_s=0.0)
    cues = build_cues(t)
    assert validate_cues(cues, t) == []
    assert not any(line.endswith((". That's", ". You")) for c in cues for line in c.lines), [c.lines for c in cues]
    report = validate_cues([Cue(1, 0.44, 1.8, ("Thanks. That's",)), Cue(2, 1.88, 5.68, (
        "a relief to hear. You must be tired", "after such a long day at the council."))], t)
    assert [(v.cue_index, v.rule) for v in report if v.rule == "sentence_start"] == [(1, "sentence_start")]


def test_lines_avoid_ending_on_articles_prepositions_and_conjunctions():
    """The news script read at six paces: of 29 lines each, one ends on a weak word ("voted on Tuesday to" /
    "approve a new budget...": no other break fits the 42 characters), where the breaker without the profile's
    word list ends three ("to", "to", "the")."""
    weak = RULES["en"].line_end_avoid
    assert {"the", "of", "to", "and"} <= weak
    tokens = (SHARED_FIXTURES / "en_espeak.txt").read_text().split()
    for pace in (11, 13, 16):
        t = paced_transcript(tokens, "en", chars_per_s=pace)
        ends = [line.split()[-1].lower() for c in build_cues(t) for line in c.lines]
        assert sum(e in weak for e in ends) <= 1, ends
        blind = [line.split()[-1].lower() for c in build_cues(t, rules=dataclasses.replace(
            RULES["en"], line_end_avoid=frozenset())) for line in c.lines]
        assert sum(e in weak for e in blind) > sum(e in weak for e in ends)


def _dialogue_transcript(name: str) -> Transcript:
    """The two-voice dialogue's own word timings and speakers (tests/data/speakers, built from the packaged voices)."""
    data = json.loads((Path(__file__).parent / "data" / "speakers" / "dialogues.json").read_text("utf-8"))[name]
    language = "en" if name.startswith("en") else "zh"
    joiner = " " if language == "en" else ""
    words = [Word(w["start"], w["end"], w["word"], 1.0, w["speaker"]) for w in data["words"]]
    segments, run = [], [words[0]]
    for w in words[1:]:
        if w.speaker != run[-1].speaker:
            segments.append(run)
            run = []
        run.append(w)
    segments.append(run)
    return Transcript(language, data["duration_s"], "tts", tuple(
        Segment(r[0].start, r[-1].end, joiner.join(w.word for w in r), tuple(r), r[0].speaker) for r in segments))


@pytest.mark.parametrize("name", ["en_dialogue", "zh_dialogue"])
def test_each_speaker_change_starts_a_cue(name):
    """The voices read faster than 17 characters/s in places, and a turn's cues cannot borrow the next speaker's
    time: the reading speed is the one rule that may give."""
    t = _dialogue_transcript(name)
    cues = build_cues(t)
    assert {v.rule for v in validate_cues(cues, t)} <= {"reading_speed"}
    turns = [s.text for s in t.segments]
    for cue in cues:  # every cue is part of one turn
        joiner = " " if t.language == "en" else ""
        assert any(joiner.join(cue.lines) in turn for turn in turns), cue.lines
    if t.language != "en":
        return
    # Merged into one speaker, the same words run across the turns (the test can fail).
    merged = dataclasses.replace(t, segments=tuple(dataclasses.replace(
        s, speaker=None, words=tuple(dataclasses.replace(w, speaker=None) for w in s.words)) for s in t.segments))
    assert any(not any(" ".join(c.lines) in turn or "".join(c.lines) in turn for turn in turns)
               for c in build_cues(merged))


def test_quick_exchange_shares_a_cue_with_dialogue_dashes():
    words = (Word(0.5, 0.9, "Ready?", 0.9, "S1"), Word(1.0, 1.3, "Yes.", 0.9, "S2"),
             Word(2.5, 2.8, "Then", 0.9, "S1"), Word(2.8, 3.0, "let's", 0.9, "S1"), Word(3.0, 3.4, "go.", 0.9, "S1"))
    t = Transcript("en", 5.0, "hand", (Segment(0.5, 0.9, "Ready?", words[:1], "S1"),
                                      Segment(1.0, 1.3, "Yes.", words[1:2], "S2"),
                                      Segment(2.5, 3.4, "Then let's go.", words[2:], "S1")))
    cues = build_cues(t)
    assert [c.lines for c in cues] == [("- Ready?", "- Yes."), ("Then let's go.",)]
    assert validate_cues(cues, t) == []
    # Mandarin: a hyphen without a space (no spaces in Mandarin lines).
    zh = Transcript("zh", 5.0, "hand", (Segment(0.5, 0.9, "好了吗？", (Word(0.5, 0.9, "好了吗？", 0.9, "S1"),), "S1"),
                                        Segment(1.0, 1.3, "好了。", (Word(1.0, 1.3, "好了。", 0.9, "S2"),), "S2")))
    cues = build_cues(zh)
    assert [c.lines for c in cues] == [("-好了吗？", "-好了。")] and validate_cues(cues, zh) == []
    # The validator wants the dashes, one line per speaker, and a new cue at a change otherwise.
    bad = [Cue(1, 0.52, 1.36, ("Ready?", "Yes.")), Cue(2, 2.52, 3.4, ("Then let's go.",))]
    assert [v.rule for v in validate_cues(bad, t)] == ["dialogue"]
    bad = [Cue(1, 0.52, 1.36, ("Ready? Yes.",)), Cue(2, 2.52, 3.4, ("Then let's go.",))]
    assert [v.rule for v in validate_cues(bad, t)] == ["speaker"]
    bad = [Cue(1, 0.52, 1.36, ("- Ready?",)), Cue(2, 1.44, 2.28, ("- Yes.",)), Cue(3, 2.52, 3.4, ("Then let's go.",))]
    assert {v.rule for v in validate_cues(bad, t)} == {"text"}  # a lone dashed line is not a dialogue cue


def test_reading_speed_counts_what_the_profile_says():
    from newsroom import lang

    assert lang.profile("en").subtitles.count_spaces and not lang.profile("zh").subtitles.count_spaces
    assert RULES["en"].reading_chars(["Here are tonight's", "top stories."]) == 31  # spaces and the line break
    assert RULES["zh"].reading_chars(["各位观众 晚上好，", "欢迎"]) == 10
    # 40 characters in 2.24 s is 17.9 characters/s with the spaces (33 without: 14.7/s, which would pass).
    words = tuple(Word(0.0 + 0.3 * i, 0.3 + 0.3 * i, w, 0.9) for i, w in enumerate(
        ["We", "want", "every", "child", "to", "ride", "to", "school", "safely."]))
    t = Transcript("en", 4.0, "hand", (Segment(0.0, 2.7, " ".join(w.word for w in words), words),))
    cue = Cue(1, 0.0, 2.24, ("We want every child to ride", "to school safely."))
    assert len(" ".join(cue.lines)) == 45 and any(v.rule == "reading_speed" for v in validate_cues([cue], t))
    assert "spaces included" in next(v.message for v in validate_cues([cue], t) if v.rule == "reading_speed")


def _news(start_s: float = 1.0) -> Transcript:
    """A short news read at about 12 characters a second, "Good evening." slower."""
    tokens = ["Good", "evening.", "The", "council", "voted", "on", "Tuesday", "to", "expand", "the", "bike", "lane",
              "network", "across", "the", "city."]
    words, t = [], start_s
    for tok in tokens:
        length = 0.6 if t < start_s + 1.0 else 0.4
        words.append(Word(round(t, 3), round(t + length, 3), tok, 0.9))
        t += length + (0.4 if tok.endswith(".") else 0.0)
    return Transcript("en", t + 2.0, "hand", (Segment(words[0].start, words[-1].end, " ".join(tokens), tuple(words)),))


def test_cues_keep_clear_of_shot_changes():
    t = _news()
    free = build_cues(t)
    # A cut 5 frames before the second cue's speech: the cue starts on it. A cut 1 frame after the first cue's
    # natural end: the end moves to 2 frames before it.
    second = free[1].start_s
    cuts = [round(free[0].end_s + 1 / 25, 3), round(second - 5 / 25, 3) if second - 5 / 25 > free[0].end_s + 0.5 else 0]
    cuts = [c for c in cuts if c]
    cues = build_cues(t, shot_changes_s=cuts)
    assert validate_cues(cues, t, shot_changes_s=cuts) == []
    frames = [round(c * 25) for c in cuts]
    for cue in cues:
        start, end = round(cue.start_s * 25), round(cue.end_s * 25)
        assert not any(f - 2 < end <= f + 12 for f in frames), (cue, frames)
        assert start in frames or not any(0 < abs(start - f) <= 12 for f in frames), (cue, frames)
    assert round(cues[0].end_s * 25) == frames[0] - 2
    # The cues as built without the cuts break the shot-change rule where a move was possible.
    assert {v.rule for v in validate_cues(free, t, shot_changes_s=cuts)} == {"shot_change"}


def test_a_start_snaps_onto_a_cut_just_before_the_speech():
    t = _news(start_s=1.2)
    cues = build_cues(t, shot_changes_s=[1.0])  # speech 5 frames after the cut
    assert cues[0].start_s == pytest.approx(1.0)
    assert validate_cues(cues, t, shot_changes_s=[1.0]) == []
    late = [dataclasses.replace(cues[0], start_s=1.2), *cues[1:]]
    assert "shot_change" in {v.rule for v in validate_cues(late, t, shot_changes_s=[1.0])}


def test_no_cue_spans_the_anchor_intro_and_the_story():
    """The broadcast segment's subtitles: the anchor's last words and the story's first ones run together
    without a boundary ("...this is newsroom. Good evening. The council voted..."), never with one."""
    from newsroom.broadcast.segment import join_transcripts

    anchor_words = ["Reporting", "from", "City", "Hall,", "this", "is", "newsroom."]
    words = tuple(Word(round(0.3 + 0.35 * i, 3), round(0.63 + 0.35 * i, 3), w, 1.0) for i, w in enumerate(anchor_words))
    anchor = Transcript("en", 2.8, "tts", (Segment(0.3, words[-1].end, " ".join(anchor_words), words),))
    joined = join_transcripts(anchor, _news(start_s=0.05), offset_s=2.8)
    straddling = build_cues(joined)
    boundary = [2.8]
    assert ("Reporting from City Hall,", "this is newsroom. Good evening.") in [c.lines for c in straddling]
    assert "boundary" in {v.rule for v in validate_cues(straddling, joined, boundaries_s=boundary)}
    cues = build_cues(joined, boundaries_s=boundary)
    assert validate_cues(cues, joined, boundaries_s=boundary) == []
    assert not any(c.start_s < 2.8 < c.end_s for c in cues)
    assert " ".join(" ".join(c.lines) for c in cues if c.end_s <= 2.8) == " ".join(anchor_words)
