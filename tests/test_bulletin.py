"""The bulletin robot: three items per language through the real flow (voice, digital anchor, stings,
subtitles, mastering), checked by Whisper, the subtitle rules, EBU R128 and pycmx; the items' text made
speakable per language; the highlight's EDL now carries its sound."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest

from newsroom.asr import Transcriber
from newsroom.audio.loudness import measure
from newsroom.bulletin import STING_S, BulletinError, parse_items, render_sting, split_items
from newsroom.config import Settings
from newsroom.errors import MediaRefusedError
from newsroom.lang.spoken import speakable
from newsroom.media import extract_audio, probe
from newsroom.tts import normalize_text
from newsroom.video.highlight import EditDecision, EditRange
from newsroom.video.timeline import read_timeline, to_timeline, write_edl
from tests.test_article import local_store

FPS = 25
MAX_WER_EN = 0.2
MAX_CER_ZH = 0.25
EN_ITEMS = [
    "Council approves river path budget\nThe city council approved 2.5 million dollars for the river path on 2026-05-07.",
    "Dr. Lee opens the new library. It holds 40,000 books.",
    "Rain is expected on Friday, with a high of 12°C.",
]
ZH_ITEMS = [
    "市议会批准河道预算\n市议会于2026-05-07批准了250万元的河道预算。",
    "新图书馆今天开放，藏书4万册。",
    "周五有雨，最高气温12°C。",
]


def test_items_from_text_and_lists():
    text = "Headline one\nFirst item. Second sentence.\n---\nSecond item only.\n\n---\n\n"
    assert split_items(text) == ["Headline one\nFirst item. Second sentence.", "Second item only."]
    items = parse_items(split_items(text), "en")
    assert [i.headline for i in items] == ["Headline one", "Second item only"]
    assert parse_items("One.\n\nTwo.", "en")[1].text == "Two."
    assert parse_items(["Dr. Lee opens the library. More."], "en")[0].headline == "Dr. Lee opens the library"
    assert parse_items(ZH_ITEMS, "zh")[1].headline == "新图书馆今天开放，藏书4万册"
    with pytest.raises(BulletinError, match="no items"):
        parse_items(" \n\n ", "en")
    with pytest.raises(MediaRefusedError, match="items"):
        parse_items([f"Item {i}." for i in range(50)], "en")
    with pytest.raises(MediaRefusedError, match="characters"):
        parse_items(["word " * 1000], "en")


@pytest.mark.parametrize("language, written, spoken", [
    ("en", "Dr. Lee opened it on 2026-05-07, e.g. at 9:30.", "Doctor Lee opened it on May seventh, twenty twenty-six, "
                                                             "for example at nine thirty."),
    ("en", "The path is 3 km long; it opened on 5 May.", "The path is three kilometres long; it opened on the fifth of May."),
    ("en", "Mr. Smith met Gov. Ruiz on March 3.", "Mister Smith met Governor Ruiz on March third."),
    ("zh", "新路段2026-05-07开放，全长3km，气温25°C。", "新路段二零二六年五月七日开放，全长三公里，气温二十五摄氏度。"),
    ("ja", "新しい道は2026/5/7に開通し、全長3kmです。", "新しい道は二千二十六年五月七日に開通し、全長三キロメートルです。"),
])
def test_text_is_made_speakable_per_language(language, written, spoken):
    assert normalize_text(speakable(written, language), language) == spoken


def test_sting_is_a_wipe_with_a_tone(tmp_path):
    sting = render_sting(tmp_path / "sting.mp4", size=(320, 180))
    info = probe(sting)
    assert info.video.duration_s == pytest.approx(STING_S, abs=0.05) and info.has_audio
    from newsroom.media.frames import read_frame

    first, last = (read_frame(sting, t, width=320, height=180) for t in (0.0, STING_S - 0.05))
    assert first[..., 2].mean() < last[..., 2].mean()  # navy gives way to a lighter blue
    loud = measure(sting)
    assert -30 < loud.integrated_lufs < -10


def test_highlight_edl_carries_the_sound(tmp_path):
    import pycmx

    decision = EditDecision(FPS, (EditRange(10, 40, (0,)), EditRange(100, 140, (3, 4)), EditRange(200, 260, (7,))), 6.0)
    edl = write_edl(to_timeline(decision, "mezzanine.mp4", media_duration_s=12.0), tmp_path / "h.edl")
    with open(edl, encoding="utf-8") as f:
        edits = [e for event in pycmx.parse_cmx3600(f).events for e in event.edits]
    video = [(e.source_in, e.source_out, e.record_in, e.record_out) for e in edits if e.channels.video]
    audio = [(e.source_in, e.source_out, e.record_in, e.record_out) for e in edits if e.channels.audio]
    assert len(video) == 3 and audio == video  # every cut of the picture has its sound, same timecodes
    assert all(list(e.channels.channels) == [1, 2] for e in edits if e.channels.audio)  # AA: both channels
    back = read_timeline(edl, fps=FPS)  # the OTIO adapter reads it back too
    assert [c.source_range.duration.value for c in back.video_tracks()[0].find_clips()] == [30, 40, 60]
    assert back.audio_tracks() and [c.source_range.duration.value for c in back.audio_tracks()[0].find_clips()] == [
        30, 40, 60]


def make_bulletin(prefect_harness, tmp_path_factory, items: list[str], language: str) -> tuple[Path, dict]:
    from flows.bulletin import bulletin

    folder = tmp_path_factory.mktemp(f"bulletin-{language}")
    with local_store(folder / "store"):
        story_id = bulletin(items, language=language)
    story = folder / "store" / "stories" / story_id
    return story / "bulletin", json.loads((story / "manifest.json").read_text())


def check_bulletin(made: Path, manifest: dict, count: int) -> None:
    import pycmx

    stage = manifest["stages"]["bulletin"]
    assert stage["bulletin"]["items"] == count and stage["subtitles"]["ok"], stage
    reads = [probe(made / "items" / f"{n:02d}.mp4").duration_s for n in range(1, count + 1)]
    expected = sum(round(r * FPS) / FPS for r in reads) + (count - 1) * STING_S
    for name in ("bulletin.mp4", "bulletin-burned.mp4"):
        info = probe(made / name)
        assert info.video.duration_s == pytest.approx(expected, abs=2 / FPS), name
        loud = measure(made / name)
        assert abs(loud.integrated_lufs + 23) <= 1.0 and loud.true_peak_dbtp <= -0.9, (name, loud)
    assert [s.kind for s in probe(made / "bulletin.mp4").streams].count("subtitle") == 1
    with open(made / "bulletin.edl", encoding="utf-8") as f:
        edits = [e for event in pycmx.parse_cmx3600(f).events for e in event.edits]
    for channel in ("video", "audio"):
        sources = [e.source for e in edits if getattr(e.channels, channel)]
        assert sources == [*sum(([f"ITEM{n:02d}", "STING"] for n in range(1, count)), []), f"ITEM{count:02d}"], sources
    assert all(e.source_file for e in edits)


def heard(made: Path, model: str, language: str) -> str:
    wav = extract_audio(made / "bulletin.mp4", made.parent / "heard.wav")
    return Transcriber.load(model, Settings()).transcribe(wav, language).text


def test_english_bulletin_of_three_items(prefect_harness, tmp_path_factory):
    made, manifest = make_bulletin(prefect_harness, tmp_path_factory, EN_ITEMS, "en")
    check_bulletin(made, manifest, 3)
    items = parse_items(EN_ITEMS, "en")
    spoken = " ".join(normalize_text(speakable(i.text, "en"), "en") for i in items)
    words = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip(),
                           jiwer.ReduceToListOfListOfWords()])
    text = heard(made, "tiny.en", "en")
    error = jiwer.wer(spoken, normalize_text(text, "en"), reference_transform=words, hypothesis_transform=words)
    assert error <= MAX_WER_EN, (error, text)


@pytest.mark.slow
def test_mandarin_bulletin_of_three_items(prefect_harness, tmp_path_factory):
    made, manifest = make_bulletin(prefect_harness, tmp_path_factory, ZH_ITEMS, "zh")
    check_bulletin(made, manifest, 3)

    def plain(text: str) -> str:
        return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")

    items = parse_items(ZH_ITEMS, "zh")
    spoken = plain("".join(normalize_text(speakable(i.text, "zh"), "zh") for i in items))
    text = plain(normalize_text(heard(made, "base", "zh"), "zh"))
    assert jiwer.cer(spoken, text) <= MAX_CER_ZH, text


def test_language_profiles_stay_hashable():
    """Profiles are cache keys (e.g. the transcriber's house style): their spoken forms must not break that."""
    from newsroom import lang

    assert len({hash(p) for p in lang.PROFILES.values()}) == len(lang.PROFILES)
    assert all(hash(p.spoken) for p in lang.PROFILES.values())
