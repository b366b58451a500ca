"""Japanese, added through its language profile alone: rules, a clip voiced by the packaged Kokoro Japanese
voice, heard by Whisper base, subtitled, drafted, spoken, anchored, and `newsroom run --language ja`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import get_args

import jiwer
import pytest

from newsroom import lang
from newsroom.config import Settings
from newsroom.params import IngestLanguage
from newsroom.subtitles import build_cues, rules_for, validate_cues
from newsroom.tts import chunks, normalize_text, tokens
from newsroom.types import Segment, Transcript, Word
from tests.conftest import ffmpeg

JA_SCRIPT = ("こんばんは。七時のニュースです。東京都は今日、新しい自転車専用道路を作る計画を発表しました。"
             "工事は来年の春に始まり、三年後に完成する予定です。")
# Measured here (jf_gongitsune, Whisper base): CER 0.00 on this script once numbers are read alike; 0.12 on a
# harder weather/budget script. The bound leaves room for a word or two.
MAX_CER_JA = 0.10
NEWSROOM = [sys.executable, "-m", "newsroom.cli"]


def cer(reference: str, heard: str) -> float:
    """Character error rate with both sides read the same way (digits as numerals, no punctuation)."""
    def strip(text: str) -> str:
        return re.sub(r"[^\w]", "", normalize_text(text, "ja"))

    return jiwer.cer(strip(reference), strip(heard))


# --------------------------------------------------------------------------- the profile


def test_japanese_is_a_choice_everywhere_but_not_auto_detected_by_default():
    assert "ja" in lang.CODES and "ja" in get_args(IngestLanguage) and "ja" not in Settings().languages
    assert Settings(languages=["en", "zh", "ja"]).languages == ["en", "zh", "ja"]
    ja = lang.profile("ja-JP")
    assert (ja.joiner, ja.iso639_2, ja.font_family, ja.voice.engine) == ("", "jpn", "Noto Sans CJK JP", "kokoro")
    assert lang.detect("東京都は計画を発表しました") is ja and lang.detect("东京都发布了计划") is lang.profile("zh")
    rules = rules_for("ja")
    assert (rules.max_chars_per_line, rules.max_lines, rules.max_chars_per_s) == (13, 2, 4.0)
    assert rules.width("2026年") == 3.0  # half-width digits count half


@pytest.mark.parametrize(("text", "spoken"), [
    ("2026年1月5日", "二千二十六年一月五日"),
    ("3.5%増えた", "三点五パーセント増えた"),
    ("価格は1,200円", "価格は千二百円"),
    ("気温は-4度", "気温はマイナス四度"),
    ("3-5度", "三から五度"),
    ("ＧＤＰは１２％", "GDPは十二パーセント"),
    ("詳しくはexample.comへ", "詳しくはexampleドットcomへ"),
    ("よいニュース🎉！", "よいニュース！"),
])
def test_normalize_japanese(text, spoken):
    assert normalize_text(text, "ja") == spoken


def test_japanese_words_sentences_and_numbers_found_in_transcripts():
    assert [t.written for t in tokens("東京都は計画を発表しました。", "ja")] == [
        "東京", "都", "は", "計画", "を", "発表", "し", "まし", "た。"]
    assert [c.text for c in chunks("こんばんは。ニュースです！", "ja")] == ["こんばんは。", "ニュースです！"]
    from newsroom.llm import unsupported_numbers

    assert unsupported_numbers(["予算は2026億円"], "予算は二千二十六億円です") == []
    assert unsupported_numbers(["3年後"], "工事は三年後に終わる") == []
    assert unsupported_numbers(["5年後"], "工事は三年後に終わる") == ["5"]


def test_japanese_quotes_are_verified_in_characters():
    from newsroom.llm import verify_quotes

    words = ["東京", "都", "は", "今日", "、", "新しい", "自転車", "道路", "の", "計画", "を", "発表", "しました", "。"]
    transcript = Transcript("ja", 6.0, "test", (Segment(0.0, 5.6, "".join(words), tuple(
        Word(0.4 * i, 0.4 * i + 0.3, w, 1.0) for i, w in enumerate(words))),))
    kept, dropped = verify_quotes(["「新しい自転車道路の計画を発表しました」", "東京都は", "新しい鉄道の計画"], transcript)
    assert [q.text for q in kept] == ["新しい自転車道路の計画を発表しました"] and kept[0].start_s == 2.0
    assert dropped == ["東京都は", "新しい鉄道の計画"]  # too short (4 characters), not in the transcript


def test_japanese_cues_keep_the_netflix_rules():
    words = ["東京", "都", "は", "今日", "、", "新しい", "自転車", "専用", "道路", "を", "作る", "計画", "を",
             "発表", "し", "まし", "た", "。", "工事", "は", "来年", "の", "春", "に", "始まり", "ます", "。"]
    at, timed = 0.0, []
    for w in words:  # read at 3.5 characters a second with a pause after each sentence
        timed.append(Word(at, at + len(w) / 3.5, w, 1.0))
        at += len(w) / 3.5 + (0.6 if w == "。" else 0.0)
    transcript = Transcript("ja", at + 1.0, "test", (Segment(0.0, at, "".join(words), tuple(timed)),))
    cues = build_cues(transcript)
    assert validate_cues(cues, transcript) == []
    rules = rules_for("ja")
    for cue in cues:
        assert len(cue.lines) <= 2 and all(rules.width(line) <= 13 and " " not in line for line in cue.lines)
        assert not any(line.startswith(("、", "。")) for line in cue.lines)
    # Lines break after particles and punctuation, not inside 自転車専用道路.
    assert all(not (a.endswith("自転車") and b.startswith("専用")) for cue in cues for a, b in zip(
        cue.lines, cue.lines[1:], strict=False))


# --------------------------------------------------------------------------- a voiced clip


@pytest.fixture(scope="module")
def ja_speech(tmp_path_factory):
    from newsroom.tts import load_voice

    return load_voice("ja", Settings()).synthesize(JA_SCRIPT, tmp_path_factory.mktemp("ja") / "ja.wav")


@pytest.fixture(scope="module")
def ja_clip(ja_speech, tmp_path_factory) -> Path:
    """A test-pattern video with the Japanese anchor voice as its sound."""
    clip = tmp_path_factory.mktemp("ja-clip") / "ja-news.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-i", ja_speech.path, "-shortest",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(clip))
    return clip


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    import os

    return subprocess.run([*NEWSROOM, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=900)


def test_japanese_voice_timings(ja_speech):
    assert (ja_speech.language, ja_speech.engine, ja_speech.phonemes) == ("ja", "kokoro", ())
    assert 8.0 < ja_speech.duration_s < 25.0
    words = ja_speech.words
    assert "".join(w.word for w in words) == JA_SCRIPT
    assert all(a.end_s <= b.start_s for a, b in zip(words, words[1:], strict=False))


def test_transcribe_and_subtitle_the_clip_with_the_cli(ja_clip, tmp_path):
    result = run("transcribe", str(ja_clip), "--language", "ja", "--json", "--out", str(tmp_path / "t.json"))
    assert result.returncode == 0, result.stderr
    transcript = json.loads(result.stdout)
    assert transcript["language"] == "ja" and transcript["model"] == "whisper-base-int8"
    assert cer(JA_SCRIPT, transcript["text"]) <= MAX_CER_JA, transcript["text"]
    result = run("subtitles", str(tmp_path / "t.json"), "--format", "srt", "--out", str(tmp_path / "ja.srt"))
    assert result.returncode == 0, result.stderr
    data = Transcript.from_dict(transcript)
    cues = build_cues(data)
    broken = {v.rule for v in validate_cues(cues, data)}
    # Every layout and timing rule holds on the voiced clip; the voice reads at ~4 characters a second,
    # the Netflix limit itself, so reading speed holds as well.
    assert not broken, broken
    srt = (tmp_path / "ja.srt").read_text("utf-8")
    assert "東京都" in srt.replace("\n", "") and "-->" in srt


def test_speak_and_anchor_with_the_cli(tmp_path):
    result = run("speak", "東京都は新しい計画を発表しました。", "--language", "ja", "--out", str(tmp_path / "s.wav"))
    assert result.returncode == 0 and "kokoro" in result.stdout, result.stderr
    result = run("anchor", "--script", "工事は来年の春に始まります。", "--language", "ja", "--out", str(tmp_path / "a.mp4"))
    assert result.returncode == 0, result.stderr
    from newsroom.media import probe

    info = probe(tmp_path / "a.mp4")
    assert (info.video.width, info.video.height) == (1280, 720) and info.has_audio and 1.0 < info.duration_s < 8.0


# --------------------------------------------------------------------------- the whole package

# A draft the packaged Qwen2.5 1.5B wrote for this clip (recorded; served by a local OpenAI-compatible stand-in
# so the package test does not spend two minutes drafting; the real model is tested in
# test_real_japanese_draft_default_model). The 0.5B model writes no usable Japanese anchor script.
RECORDED_DRAFT = {
    "headline": "東京都自転車専用道路計画発表",
    "lede": "東京都は、今日、新しい自転車専用道路を作る計画を発表しました。",
    "body": "東京都は今日、新しい自転車専用道路を作る計画を発表しました。工事は来年の春に始まり、3年後に完成する予定です。",
    "summary": "東京都が新しい自転車専用道路の計画を発表しました。工事は来年の春に始まります。",
    "keywords": ["自転車", "道路", "計画", "東京都", "工事"],
    "anchor_script": "東京都は今日、新しい自転車専用道路を作る計画を発表しました。工事は来年の春に始まり、3年後に完成する予定です。",
    "quotes": [{"text": "新しい自転車専用道路を作る計画を発表しました", "speaker": None},
               {"text": "工事は来年の秋に始まる予定です", "speaker": None}],  # not what was said
}


RECORDED_PICKS = {"quotes": [{"first": 3, "last": 3}, {"first": 4, "last": 4}]}


class RecordedLLM(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        # The quotes call picks sentences by id (the recorded draft's own "quotes" are no longer read).
        reply = RECORDED_PICKS if "発言を選びます" in payload["messages"][0]["content"] else RECORDED_DRAFT
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": json.dumps(
            reply, ensure_ascii=False)}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 20}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def recorded_llm():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RecordedLLM)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_newsroom_run_language_ja_end_to_end(ja_clip, recorded_llm, tmp_path):
    env = {"NEWSROOM_STORAGE_BACKEND": "local", "NEWSROOM_LOCAL_ROOT": str(tmp_path / "store"),
           "NEWSROOM_LLM_BACKEND": "openai", "NEWSROOM_LLM_BASE_URL": recorded_llm}
    result = run("run", str(ja_clip), "--language", "ja", "--target-s", "12", "--upscale", "none",
                 "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    transcript = json.loads((out / "transcript.json").read_text("utf-8"))
    draft = json.loads((out / "draft.json").read_text("utf-8"))
    assert transcript["language"] == draft["language"] == "ja"
    assert cer(JA_SCRIPT, transcript["text"]) <= MAX_CER_JA
    # Quotes are the transcript's own sentences, taken by id: verbatim, never the draft's invented ones.
    assert draft["quotes"] and draft["dropped_quotes"] == []
    assert all(q["sentences"] and re.sub(r"\s", "", q["text"]) in re.sub(r"\s", "", transcript["text"])
               for q in draft["quotes"])
    assert all("来年の秋" not in q["text"] for q in draft["quotes"])
    (manifest_path,) = (tmp_path / "store").rglob("manifest.json")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert manifest["stages"]["edit"]["cover_headline"] == RECORDED_DRAFT["headline"]
    # Every layout and timing rule holds in the edit and the segment. Reading speed may not: the highlight
    # cut keeps speech and drops the pauses, and verbatim subtitles of speech read at ~4 characters a second
    # cannot always stay under Netflix's 4 (its Japanese subtitles condense; ours never drop words).
    for stage in ("edit", "broadcast"):
        broken = {rule for rule, n in manifest["stages"][stage]["subtitles"]["by_rule"].items() if n}
        assert broken <= {"reading_speed"}, (stage, broken)
    for name in ("subtitles.srt", "cover-16x9.png", "edit-burned.mp4", "anchor.wav", "anchor.mp4", "broadcast.mp4",
                 "broadcast-burned.mp4"):
        assert (out / name).stat().st_size > 0, name
    srt = (out / "subtitles.srt").read_text("utf-8")
    lines = [ln for ln in srt.splitlines() if ln and "-->" not in ln and not ln.isdigit()]
    assert lines and all(rules_for("ja").width(ln) <= 13 for ln in lines)


@pytest.mark.slow
def test_real_japanese_draft_default_model(ja_speech, tmp_path):
    """The packaged 1.5B writes a grounded Japanese draft (about two minutes on two cores)."""
    from newsroom.asr import Transcriber
    from newsroom.llm import load_backend, write_draft
    from newsroom.media import extract_audio

    transcript = Transcriber.load("base", Settings()).transcribe(extract_audio(ja_speech.path, tmp_path / "a.wav"),
                                                                 "ja")
    draft = write_draft(transcript, load_backend(Settings(llm_context_tokens=4096)))
    assert draft.language == "ja" and "+draft.v2.ja" in draft.model and draft.model.endswith("+quotes.v1.ja")
    assert lang.KANA.count(draft.body + draft.anchor_script) > 10
    text = re.sub(r"\s", "", transcript.text)
    assert all(re.sub(r"\s", "", q.text) in text or q.text in transcript.text for q in draft.quotes)
