"""The finished files people get (`--out`, the webhook's links, the story artifact) include the translated
subtitles a `translate_to` run made, named like `subtitles.zh.srt` beside `subtitles.srt` (and a footage
story's edit-bilingual.mp4); the article and the
bulletin flows translate their read (the draft model, small here) into files that are valid SRT/WebVTT/EBU-TT-D,
written in the other script, each cue on its source cue."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from newsroom.layout import ARTICLE_ROUTE, BULLETIN_ROUTE, FOOTAGE_ROUTE, StoryLayout

STORY = "0123456789abcdef0123"
FORMATS = ("srt", "vtt", "ttml")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
LATIN_RE = re.compile(r"[A-Za-z]")
TTML_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TOLERANCE_MS = 2  # SRT's milliseconds against frame times
# The track's builder may move a translated cue's start a few frames off its source cue's (reading speed, the
# gap after the cue before) and run it on into the silence after it; it covers the source cue's time.
MAX_SHIFT_MS = 250
MIN_COVERED = 0.75


# --------------------------------------------------------------------------- the table and the manifest


def test_handouts_add_the_translations_the_manifest_lists_beside_their_source():
    layout = StoryLayout(STORY)
    listed = {layout.subtitles_srt, layout.translated_subtitles("zh", "srt"), layout.translated_subtitles("ja", "vtt"),
              layout.edit_bilingual, layout.edit}
    names = list(layout.handouts(FOOTAGE_ROUTE, listed).values())
    assert names == ["subtitles.srt", "subtitles.zh.srt", "subtitles.ja.vtt", "edit-bilingual.mp4", "edit.mp4",
                     "manifest.json"]
    every = layout.handouts(FOOTAGE_ROUTE).values()  # the table alone: what every footage story has
    assert "subtitles.zh.srt" not in every and "edit-bilingual.mp4" not in every and "edit.mp4" in every
    article = {layout.article_vtt, layout.translated_subtitles("en", "vtt", "article")}
    assert layout.handouts(ARTICLE_ROUTE, article) == {
        layout.article_vtt: "subtitles.vtt", f"{layout.prefix}article/subtitles.en.vtt": "subtitles.en.vtt",
        layout.manifest: "manifest.json"}
    assert layout.translated_subtitles("en", "ttml", "bulletin") == f"{layout.prefix}bulletin/subtitles.en.ttml"
    assert layout.handouts(BULLETIN_ROUTE, {layout.translated_subtitles("en", "srt", "edit")}) == {
        layout.manifest: "manifest.json"}  # another route's files are not this story's handouts


def test_out_and_links_take_the_manifest_as_the_list(tmp_path, monkeypatch):
    """A footage story's recorded translation is copied to --out and linked; a file in the table that the
    manifest does not list, and a translation stored but never recorded, are neither."""
    import tasks.common
    from newsroom.cli.common import copy_handouts
    from newsroom.manifest import write_manifest
    from newsroom.storage import LocalStore
    from newsroom.webhook.routes import story_outputs
    from tasks.common import Output, store_outputs

    monkeypatch.setenv("NEWSROOM_STORAGE_BACKEND", "local")
    monkeypatch.setenv("NEWSROOM_LOCAL_ROOT", str(tmp_path / "store"))
    tasks.common.reset()
    layout = StoryLayout(STORY)
    files = {"subtitles.srt": "1\n00:00:00,000 --> 00:00:01,000\nHello.\n",
             "subtitles.zh.srt": "1\n00:00:00,000 --> 00:00:01,000\n你好。\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    store_outputs(STORY, "edit", Output(tmp_path / "subtitles.srt", layout.subtitles_srt, "subtitles"),
                  Output(tmp_path / "subtitles.zh.srt", layout.translated_subtitles("zh", "srt"), "translate"))
    store = LocalStore(tmp_path / "store")
    store.put_file(layout.translated_subtitles("en", "srt"), tmp_path / "subtitles.srt")  # stored, not recorded
    write_manifest(store, STORY)
    try:
        copy_handouts(store, STORY, tmp_path / "out")
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "subtitles.srt",
                                                                         "subtitles.zh.srt"]
        assert (tmp_path / "out" / "subtitles.zh.srt").read_text("utf-8") == files["subtitles.zh.srt"]
        assert sorted(story_outputs(store, STORY)) == ["manifest.json", "subtitles.srt", "subtitles.zh.srt"]
    finally:
        tasks.common.reset()


# --------------------------------------------------------------------------- the flows, through the CLI


@pytest.fixture
def default_llm(monkeypatch):
    """The default draft model (1.5B), as a newsroom translates with it: the 0.5B model sometimes answers a cue
    with the prompt's placeholder twice, and a held cue is then (rightly) not published. Two cues: one call."""
    pytest.importorskip("llama_cpp")
    import tasks.broadcast

    monkeypatch.delenv("NEWSROOM_LLM_MODEL", raising=False)
    tasks.broadcast._backend.cache_clear()
    yield
    tasks.broadcast._backend.cache_clear()


def run_cli(args: list[str], store_root: Path) -> str:
    """`newsroom ARGS` in this process (its flow runs on the test harness's Prefect server); the story id."""
    from newsroom.cli import app
    from tests.test_article import local_store

    with local_store(store_root):
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    found = re.search(r"story id: ([0-9a-f]{20})", result.stdout)
    assert found, result.stdout
    return found.group(1)


def srt_times(path: Path) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of each cue, read by pysubs2 as SRT (it refuses what is not)."""
    import pysubs2

    subs = pysubs2.load(str(path), format_="srt")
    return [(e.start, e.end, e.plaintext) for e in subs.events]


def ms(timestamp: str) -> int:
    """A WebVTT timestamp ("00:00:01.440") in milliseconds."""
    hours, minutes, seconds = timestamp.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def check_translated_handouts(out: Path, story_id: str, stage: str, language: str) -> None:
    """The translated files are in `out` beside the source's, valid, in the other script, and timed on the source
    cues: each translated cue lies on its own source cue (starting within a few frames of it unless the rules
    split the translation, covering most of its time, overlapping no other unless the report lists a merge);
    every source cue has its translation unless the report holds it back (a held cue's time may go to the
    translation before it). The story artifact and the webhook's links
    list the files."""
    from newsroom.storage import open_store
    from newsroom.webhook.routes import story_outputs
    from tests.test_flows import latest_artifact

    names = {f"subtitles.{fmt}" for fmt in FORMATS} | {f"subtitles.{language}.{fmt}" for fmt in FORMATS}
    assert names <= {p.name for p in out.iterdir()}, sorted(p.name for p in out.iterdir())
    source, translated = srt_times(out / "subtitles.srt"), srt_times(out / f"subtitles.{language}.srt")
    assert source and translated
    wanted, other = (CJK_RE, LATIN_RE) if language in ("zh", "ja") else (LATIN_RE, CJK_RE)
    for _, _, text in translated:  # most of each cue's letters (a model may leave a word as it was)
        assert len(wanted.findall(text)) > len(other.findall(text)), text
    assert other.search("".join(t for _, _, t in source))  # the source is in the other script
    report = open_store().get_json(StoryLayout(story_id).key(StoryLayout.TRANSLATION_FILES[stage][1]))
    assert report["language"] == language and report["source_cues"] == len(source), report
    held = {h["cue"] for h in report["held"]}  # the report numbers source cues from 1
    shown = [k for k in range(len(source)) if k + 1 not in held]  # a held cue's time may go to the one before
    owners, run_over = [], 0
    for start, end, text in translated:
        shares = [max(0, min(end, e) - max(start, s)) for s, e, _ in source]
        own = max(shown, key=shares.__getitem__)  # the source cue it translates
        assert shares[own] > 0, (start, end, text, source)
        owners.append(own)
        run_over += sum(1 for k in shown if k != own and shares[k] > TOLERANCE_MS)
        if own + 1 not in report["split"]:
            assert abs(start - source[own][0]) <= MAX_SHIFT_MS, (start, text, source[own])
    assert run_over <= len(report["merged"]), (translated, source, report["merged"])
    assert set(owners) == set(shown), (owners, report["held"])
    for k in shown:  # each shown source cue's time is the translation's
        s, e, _ = source[k]
        covered = sum(max(0, min(e, te) - max(s, ts)) for (ts, te, _), own in zip(translated, owners, strict=True)
                      if own == k)
        assert covered >= MIN_COVERED * (e - s), (source[k], translated)
    import webvtt

    vtt = out / f"subtitles.{language}.vtt"
    assert vtt.read_text("utf-8").startswith(f"WEBVTT\nLanguage: {language}\n")
    captions = webvtt.read(str(vtt))
    assert [(ms(c.start), ms(c.end)) for c in captions] == [(s, e) for s, e, _ in translated]
    assert ET.parse(out / f"subtitles.{language}.ttml").getroot().get(TTML_XML_LANG) == language

    page = latest_artifact(f"story-{story_id}").data
    links = set(story_outputs(open_store(), story_id))
    for fmt in FORMATS:
        assert f"[subtitles.{language}.{fmt}](" in page, page
        assert f"subtitles.{language}.{fmt}" in links


def write_small_article(folder: Path) -> Path:
    """One short paragraph, no numbers and no names, one drawn picture."""
    folder.mkdir(parents=True, exist_ok=True)
    picture = Image.new("RGB", (900, 600), (235, 235, 225))
    ImageDraw.Draw(picture).ellipse((250, 120, 650, 480), fill=(40, 120, 70))
    picture.save(folder / "park.png")
    path = folder / "article.md"
    path.write_text("---\ntitle: The park path is open again\nlanguage: en\nimages:\n  - file: park.png\n"
                    "    caption: The new path\n    credit: Newsroom\n---\n"
                    "The park path is open again this morning. Workers planted new trees along the path.\n", "utf-8")
    return path


def test_article_translated_subtitles_reach_out_links_and_artifact(prefect_harness, default_llm, tmp_path):
    """`newsroom article A.md --translate-to zh --out DIR`: an English article's read, subtitled in Mandarin."""
    article = write_small_article(tmp_path / "article")
    out = tmp_path / "out"
    story_id = run_cli(["article", str(article), "--anchor", "none", "--translate-to", "zh", "--out", str(out)],
                       tmp_path / "store")
    assert (out / "article.mp4").is_file()
    from tests.test_article import local_store

    with local_store(tmp_path / "store"):
        check_translated_handouts(out, story_id, "article", "zh")


def test_bulletin_translated_subtitles_reach_out_links_and_artifact(prefect_harness, default_llm, tmp_path):
    """`newsroom bulletin TEXT --translate-to zh --out DIR`: two one-line English items (a sting between them, so
    the second item's cues are placed after it), the read subtitled in Mandarin."""
    out = tmp_path / "out"
    story_id = run_cli(["bulletin", "Rain is expected this evening.\n---\nSchools will open as usual tomorrow.",
                        "--language", "en", "--translate-to", "zh", "--out", str(out)], tmp_path / "store")
    assert (out / "bulletin.mp4").is_file()
    from tests.test_article import local_store

    with local_store(tmp_path / "store"):
        check_translated_handouts(out, story_id, "bulletin", "zh")
