"""Article to video: articles written here (English and Mandarin, 3-4 pictures each: a NASA portrait, drawn
shapes, a frame of the bundled sample clip) through the real flow, checked from its own outputs: the
timeline, the shot plan, the narration, Whisper on the sound, the subtitle rules, EBU R128, pycmx."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
import pytest
from PIL import Image, ImageDraw

from newsroom.article import (
    Article,
    ArticleError,
    ArticleRefusedError,
    gate_images,
    make_plate,
    parse_article,
    plan_motion,
    plan_narration,
    ungrounded,
)
from newsroom.article.kenburns import Rect, window_at
from newsroom.article.narration import sentences
from newsroom.asr import Transcriber
from newsroom.audio.loudness import measure
from newsroom.config import Settings
from newsroom.errors import MediaRefusedError
from newsroom.lang import profile
from newsroom.lang.spoken import speakable
from newsroom.media import extract_audio, probe
from newsroom.media.frames import read_frame
from newsroom.tts import normalize_text
from newsroom.video.faces import FaceDetector
from tests.conftest import SAMPLE, ffmpeg

FPS = 25
MAX_WER_EN = 0.15
MAX_CER_ZH = 0.25
NEWSROOM = [sys.executable, "-m", "newsroom.cli"]


# --------------------------------------------------------------------------- the test articles


def write_images(folder: Path) -> list[str]:
    """Three pictures: a portrait with a face (scikit-image's NASA astronaut, cropped tall so a 16:9 frame
    cannot simply crop it), drawn shapes (PNG), and a frame of the bundled sample clip (JPEG)."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    astronaut = data.astronaut()
    Image.fromarray(astronaut[:, 40:400]).save(folder / "portrait.jpg", quality=90)
    shapes = Image.new("RGB", (900, 600), (235, 235, 225))
    draw = ImageDraw.Draw(shapes)
    draw.ellipse((80, 80, 380, 380), fill=(200, 60, 50))
    draw.rectangle((450, 150, 820, 500), fill=(40, 90, 170))
    draw.polygon([(300, 560), (520, 300), (700, 560)], fill=(60, 150, 80))
    shapes.save(folder / "shapes.png")
    ffmpeg("-ss", "5", "-i", str(SAMPLE), "-frames:v", "1", "-q:v", "3", str(folder / "street.jpg"))
    return ["portrait.jpg", "shapes.png", "street.jpg"]


EN = {
    "title": "Bike path reopens along the river",
    "standfirst": "The river path is open again after a winter of repairs.",
    "paragraphs": [
        "The city reopened the river bike path on Monday. The mayor cut the ribbon at the north gate.",
        "Workers replaced the old surface with smooth asphalt. They also painted new lane markings.",
        "Riders can now cross the whole city without a single car. The path is open every day.",
    ],
    "captions": [("The mayor at the north gate", "City press office"), ("The new lane markings", "Newsroom"),
                 ("Morning traffic in the city centre", "Newsroom")],
}
ZH = {
    "title": "河边自行车道重新开放",
    "standfirst": "河边的自行车道经过一个冬天的维修后重新开放。",
    "paragraphs": [
        "市政府星期一重新开放了河边的自行车道。市长在北门剪彩。",
        "工人们铺设了平整的新路面，还画上了新的车道标线。",
        "骑车的人现在可以穿过整个城市，不用经过汽车道。这条车道每天开放。",
    ],
    "captions": [("市长在北门", "市政府新闻办"), ("新的车道标线", "新闻编辑室"), ("市中心的早高峰", "新闻编辑室")],
}


def write_article(folder: Path, content: dict, language: str) -> Path:
    names = write_images(folder / "images")
    images = "".join(f"  - file: images/{name}\n    caption: {caption}\n    credit: {credit}\n"
                     for name, (caption, credit) in zip(names, content["captions"], strict=True))
    body = "\n\n".join(content["paragraphs"])
    text = (f"---\ntitle: {content['title']}\nstandfirst: {content['standfirst']}\nlanguage: {language}\n"
            f"images:\n{images}---\n# {content['title']}\n\n{body}\n")
    path = folder / f"article-{language}.md"
    path.write_text(text, "utf-8")
    return path


@contextlib.contextmanager
def local_store(root: Path):
    import tasks.common

    saved = {k: os.environ.get(k) for k in ("NEWSROOM_STORAGE_BACKEND", "NEWSROOM_LOCAL_ROOT")}
    os.environ.update(NEWSROOM_STORAGE_BACKEND="local", NEWSROOM_LOCAL_ROOT=str(root))
    tasks.common.reset()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        tasks.common.reset()


@dataclass
class Made:
    story: Path  # stories/<id>/article/
    article: Article
    narration: dict
    manifest: dict
    folder: Path


def make(prefect_harness, tmp_path_factory, content: dict, language: str, anchor: str) -> Made:
    from flows.article import article as article_flow

    folder = tmp_path_factory.mktemp(f"article-{language}")
    path = write_article(folder, content, language)
    with local_store(folder / "store"):
        story_id = article_flow(str(path), target_s=40, anchor=anchor)
    story = folder / "store" / "stories" / story_id / "article"
    return Made(story, Article.from_dict(json.loads((story / "article.json").read_text())),
                json.loads((story / "narration-speech.json").read_text()),
                json.loads((story.parent / "manifest.json").read_text()), folder)


@pytest.fixture(scope="module")
def english(prefect_harness, tmp_path_factory) -> Made:
    return make(prefect_harness, tmp_path_factory, EN, "en", "intro")


# --------------------------------------------------------------------------- checks shared by both languages


def intro_s(made: Made) -> float:
    return made.manifest["stages"]["article"]["video"]["intro_s"]


def check_pictures_follow_the_paragraphs(made: Made) -> None:
    """From the .otio: each paragraph, while it is read, lies inside its own picture's clip, clear of the
    dissolves on either side."""
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(made.story / "article.otio"))
    track = timeline.video_tracks()[0]
    shown = []  # (from s, to s, image index or None) where one clip is on screen alone
    children = list(track)
    for i, child in enumerate(children):
        if not isinstance(child, otio.schema.Clip):
            continue
        span = track.range_of_child_at_index(i)
        start, end = span.start_time.to_seconds(), span.end_time_exclusive().to_seconds()
        if i > 0 and isinstance(children[i - 1], otio.schema.Transition):
            start += children[i - 1].out_offset.to_seconds()
        if i + 1 < len(children) and isinstance(children[i + 1], otio.schema.Transition):
            end -= children[i + 1].in_offset.to_seconds()
        shown.append((start, end, child.metadata["newsroom"].get("image")))
    offset = intro_s(made)
    assert made.narration["spans"], "nothing was read"
    for span in made.narration["spans"]:
        read_from, read_to = offset + span["start_s"], offset + span["end_s"]
        holding = [s for s in shown if s[0] <= read_from and read_to <= s[1]]
        assert holding, f"paragraph {span['paragraph']} ({read_from:.2f}-{read_to:.2f} s) is not inside one clip"
        assert holding[0][2] == made.article.image_for(span["paragraph"])


def check_durations(made: Made) -> None:
    narration = probe(made.story / "narration.wav").duration_s
    assert narration == pytest.approx(made.narration["speech"]["duration_s"], abs=0.01)
    for name in ("article.mp4", "article-burned.mp4", "article-vertical.mp4"):
        info = probe(made.story / name)
        assert info.video.duration_s == pytest.approx(intro_s(made) + narration, abs=2 / FPS), name
        assert info.audio.duration_s == pytest.approx(intro_s(made) + narration, abs=0.05), name
    assert (probe(made.story / "article.mp4").video.width, probe(made.story / "article-vertical.mp4").video.width) == (
        1280, 720)


def heard(made: Made, model: str, language: str) -> str:
    """Whisper on the narration's stretch of the finished video's sound."""
    wav = extract_audio(made.story / "article.mp4", made.folder / "heard.wav")
    cut = made.folder / "narration-heard.wav"
    ffmpeg("-ss", f"{intro_s(made):.3f}", "-i", str(wav), str(cut))
    return Transcriber.load(model, Settings()).transcribe(cut, language).text


def check_faces_whole(made: Made) -> None:
    """Faces found here, independently, in each picture stay inside every window of its shot, in both shapes;
    and a frame of the finished video shows the face clear of the frame's edges."""
    plan = json.loads((made.story / "shots.json").read_text())
    detector = FaceDetector.load()
    checked = 0
    for shape in ("wide", "vertical"):
        for shot in plan[shape]["shots"]:
            picture = np.asarray(Image.open(sorted((made.story / "images").iterdir())[shot["image"]]).convert("RGB"))
            for face in detector.detect(picture):
                s, (ox, oy) = shot["scale"], shot["offset"]
                box = Rect(face.x * s + ox, face.y * s + oy, face.w * s, face.h * s)
                for u in np.linspace(0, 1, 41):
                    assert window_at(shot, float(u)).contains(box, 1.0), (shape, shot["image"], u)
                checked += 1
    assert checked >= 2, "the portrait's face was not found: the check checked nothing"
    first = plan["wide"]["shots"][0]
    at = intro_s(made) + (first["start_s"] + first["end_s"]) / 2
    frame = read_frame(made.story / "article.mp4", at, width=1280, height=720)
    faces = detector.detect(frame)
    assert faces and all(f.x > 0 and f.y > 0 and f.right < 1280 and f.bottom < 720 for f in faces)


def check_subtitles_and_sound(made: Made) -> None:
    import pysubs2

    stage = made.manifest["stages"]["article"]
    assert stage["subtitles"]["ok"] and stage["subtitles"]["violations"] == 0, stage["subtitles"]
    report = json.loads((made.story / "subtitles-report.json").read_text())
    assert report["violations"] == [] and report["cues"] > 2
    events = pysubs2.load(str(made.story / "subtitles.srt")).events
    assert len(events) == report["cues"]
    assert all(a.end <= b.start for a, b in zip(events, events[1:], strict=False))
    assert events[-1].end / 1000 <= probe(made.story / "article.mp4").duration_s + 0.01
    streams = [s.kind for s in probe(made.story / "article.mp4").streams]
    assert streams.count("subtitle") == 1 and "subtitle" not in [s.kind for s in probe(made.story / "article-burned.mp4").streams]
    for name in ("article.mp4", "article-burned.mp4", "article-vertical.mp4"):
        loud = measure(made.story / name)
        assert abs(loud.integrated_lufs + 23) <= 1.0 and loud.true_peak_dbtp <= -0.9, (name, loud)


def check_edl(made: Made) -> None:
    import pycmx

    with open(made.story / "article.edl", encoding="utf-8") as f:
        edits = [edit for event in pycmx.parse_cmx3600(f).events for edit in event.edits]
    video = [e for e in edits if e.channels.video]
    audio = [e for e in edits if e.channels.audio]
    assert {e.source for e in video} >= {f"IMG{i + 1:02d}" for i in range(len(made.article.images))} | {"ANCHOR"}
    assert {e.source for e in audio} == {"ANCHOR", "NARR"}
    assert any(e.transition.kind == pycmx.Transition.Dissolve for e in video)
    narration = next(e for e in audio if e.source == "NARR")
    frames = round(intro_s(made) * FPS)
    assert narration.record_in == f"00:00:{frames // FPS:02d}:{frames % FPS:02d}"
    assert narration.source_file == "narration.wav"


# --------------------------------------------------------------------------- English (default run)


def test_english_article_video(english):
    names = {a["key"].split("/", 2)[2] for a in english.manifest["assets"]}
    from newsroom.layout import ARTICLE_DELIVERABLES

    assert set(ARTICLE_DELIVERABLES) - {"manifest.json"} <= names
    check_pictures_follow_the_paragraphs(english)
    check_durations(english)
    check_faces_whole(english)
    check_subtitles_and_sound(english)
    check_edl(english)
    said = " ".join(normalize_text(speakable(p, "en"), "en") for p in [english.article.standfirst])
    assert said  # the intro read the standfirst
    spoken = " ".join(normalize_text(speakable(p["text"], "en"), "en") for p in english.narration["plan"]["parts"])
    words = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip(),
                           jiwer.ReduceToListOfListOfWords()])
    text = heard(english, "tiny.en", "en")
    error = jiwer.wer(spoken, normalize_text(text, "en"), reference_transform=words, hypothesis_transform=words)
    assert error <= MAX_WER_EN, (error, text)


@pytest.mark.slow
def test_mandarin_article_video(prefect_harness, tmp_path_factory):
    made = make(prefect_harness, tmp_path_factory, ZH, "zh", "intro")
    check_pictures_follow_the_paragraphs(made)
    check_durations(made)
    check_faces_whole(made)
    check_subtitles_and_sound(made)
    check_edl(made)

    def plain(text: str) -> str:
        return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")

    spoken = plain("".join(normalize_text(speakable(p["text"], "zh"), "zh") for p in made.narration["plan"]["parts"]))
    text = plain(normalize_text(heard(made, "base", "zh"), "zh"))
    assert jiwer.cer(spoken, text) <= MAX_CER_ZH, text


# --------------------------------------------------------------------------- reading, planning, grounding


def test_markdown_and_json_articles_read_the_same():
    md = ("---\ntitle: River path\nstandfirst: Open again.\nimages:\n  - {file: a.jpg, caption: The path, credit: Me}\n"
          "  - key: inbox/b.png\n---\n# River path\n\nFirst **paragraph** with a [link](http://x).\n"
          "Still the first.\n\n![a picture](a.jpg)\n\nSecond paragraph.\n")
    article = parse_article(md.encode())
    assert article.paragraphs == ("First paragraph with a link. Still the first.", "Second paragraph.")
    assert article.language == "en" and article.images[1].key == "inbox/b.png" and article.images[0].credit == "Me"
    as_json = json.dumps({"title": "River path", "standfirst": "Open again.", "paragraphs": list(article.paragraphs),
                          "images": [i.to_dict() for i in article.images]}).encode()
    assert parse_article(as_json) == article
    zh = parse_article("---\ntitle: 河边车道\n---\n市政府重新开放了车道。\n".encode())
    assert zh.language == "zh"
    five = Article("t", "", "en", tuple(f"p{i}." for i in range(5)), article.images)
    assert [five.image_for(i) for i in range(5)] == [0, 0, 0, 1, 1]


def test_narration_keeps_whole_sentences_of_every_paragraph():
    paragraphs = [" ".join(f"Paragraph {p} says thing number {s} in a sentence of ten words." for s in range(4))
                  for p in range(3)]
    article = Article("t", "", "en", tuple(paragraphs), ())
    full = plan_narration(article, None)
    assert [p.text for p in full.parts] == paragraphs
    short = plan_narration(article, 20)
    assert [p.paragraph for p in short.parts] == [0, 1, 2]  # every paragraph (and picture) keeps its lead
    for part in short.parts:
        assert paragraphs[part.paragraph].startswith(part.text)  # verbatim, a prefix of whole sentences
        assert part.text.endswith(".") and len(sentences(part.text, profile("en"))) < 4
    assert short.estimated_s <= 22


def test_condensed_narration_must_be_grounded():
    article = Article("Path reopens", "", "en", ("The city spent 2.5 million dollars on the path. Mayor Ana Ruiz "
                                                 "opened it.",), ())
    assert ungrounded("The city spent 2.5 million dollars. Ana Ruiz opened it.", article) == []
    assert set(ungrounded("The city spent 3 million dollars. Mayor John Smith opened it.", article)) == {
        "3", "John", "Smith"}
    zh = Article("车道", "", "zh", ("市政府花了250万元修路，市长王芳剪彩。",), ())
    assert ungrounded("市长王芳剪彩。", zh) == []
    assert ungrounded("市长李明剪彩，花了300万元。", zh) == ["300", "市长李明剪彩"]


def test_plates_and_pans_never_cut_a_face():
    from skimage import data

    detector = FaceDetector.load()
    picture = data.astronaut()
    for crop in (picture, picture[:, 40:400], picture[60:300, :]):
        faces = detector.detect(np.ascontiguousarray(crop))
        assert faces, "the test picture must have a face"
        for size in ((1280, 720), (720, 1280)):
            plate = make_plate(np.ascontiguousarray(crop), faces, size)
            assert plate.pixels.shape[1] / plate.pixels.shape[0] == pytest.approx(size[0] / size[1], abs=0.01)
            for index in range(4):
                motion = plan_motion(plate, index)
                assert motion.start != motion.end  # it moves
                for u in np.linspace(0, 1, 21):
                    window = motion.at(float(u))
                    assert window.w / window.h == pytest.approx(size[0] / size[1], abs=0.01)
                    for face in faces:
                        assert window.contains(plate.placement.box(face), 0.5)


# --------------------------------------------------------------------------- hostile articles


def _png_declaring(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header declares `width` x `height` (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_hostile_articles_are_refused(tmp_path):
    many = "---\ntitle: Too long\n---\n" + "\n\n".join(f"Paragraph {i}." for i in range(10_000))
    with pytest.raises(ArticleRefusedError, match="paragraphs"):
        parse_article(many.encode())
    with pytest.raises(ArticleRefusedError, match="byte limit"):
        parse_article(b"---\ntitle: x\n---\n" + b"word " * 200_000)
    with pytest.raises(ArticleError, match="front matter"):
        parse_article(b"Just some text without a title.")
    with pytest.raises(ArticleError, match="not valid YAML"):
        parse_article(b"---\ntitle: [unclosed\n---\nText.\n")
    with pytest.raises(ArticleError, match="UTF-8"):
        parse_article(b"---\ntitle: x\n---\n\xff\xfe text")
    with pytest.raises(ArticleError, match="exactly one of"):
        parse_article(b"---\ntitle: x\nimages:\n  - caption: no file\n---\nText.\n")
    with pytest.raises(ArticleRefusedError, match="images"):
        parse_article(("---\ntitle: x\nimages:\n" + "  - file: a.jpg\n" * 31 + "---\nText.\n").encode())
    text = tmp_path / "photo.jpg"
    text.write_text("this is a text file, not a picture\n" * 10)
    with pytest.raises(MediaRefusedError, match="not a JPEG, PNG or WebP"):
        gate_images([text])
    with pytest.raises(MediaRefusedError, match="megapixel"):
        gate_images([_png_declaring(tmp_path / "bomb.png", 30_000, 30_000)])


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"), ("text", "not a JPEG, PNG or WebP"), ("huge", "megapixel"),
    ("paragraphs", "paragraphs"),
])
def test_the_cli_refuses_hostile_articles_before_any_work(tmp_path, case, message):
    images = tmp_path / "images"
    images.mkdir()
    picture = images / "photo.jpg"
    if case == "text":
        picture.write_text("not a picture\n" * 20)
    elif case == "huge":
        picture = _png_declaring(images / "photo.png", 20_000, 20_000)
    elif case != "missing":
        Image.new("RGB", (64, 48), (1, 2, 3)).save(picture)
    body = "\n\n".join(f"Paragraph {i}." for i in range(10_000 if case == "paragraphs" else 2))
    article = tmp_path / "a.md"
    article.write_text(f"---\ntitle: Test\nimages:\n  - file: images/{picture.name}\n---\n{body}\n")
    env = {**os.environ, "NEWSROOM_LOCAL_ROOT": str(tmp_path / "store")}
    result = subprocess.run([*NEWSROOM, "article", str(article), "--out", str(tmp_path / "out")], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert not (tmp_path / "store").exists() and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_draft_model_condenses_only_within_the_article():
    """The quick 0.5B draft model shortens long paragraphs; whatever it writes, what is kept is grounded."""
    from newsroom.article.narration import condense, llm_condenser
    from newsroom.llm import load_backend

    article = Article("River path reopens", "", "en", (
        "The city reopened the river bike path on Monday after four months of repairs that cost 2.5 million "
        "dollars. Mayor Ana Ruiz cut the ribbon at the north gate, where about 300 riders had waited since "
        "seven in the morning. She said the path would now stay open every day of the year.",
        "Workers replaced 12 kilometres of cracked surface with smooth asphalt and painted new lane markings. "
        "The parks department says the new surface should last at least fifteen years, twice as long as the "
        "old one, and that night lighting will follow in the autumn.",
    ), ())
    plan = plan_narration(article, None)
    condensed = condense(plan, article, llm_condenser(load_backend(Settings(llm_model="qwen2.5-0.5b-instruct"))), 15)
    assert [p.paragraph for p in condensed.parts] == [0, 1]
    for part in condensed.parts:
        assert ungrounded(part.text, article) == [], part.text
    assert condensed.estimated_s <= plan.estimated_s


def test_an_article_in_the_bucket_finds_its_pictures_by_key_and_by_file(tmp_path):
    """What the UI and the webhook start: the article is a key; its pictures are keys it names, files beside
    it, or keys given in order (which keep the article's captions)."""
    from newsroom.storage import LocalStore
    from tasks.article import receive_article

    store = LocalStore(tmp_path / "store")
    names = write_images(tmp_path / "images")
    for name in names:
        store.put_file(f"inbox/articles/images/{name}", tmp_path / "images" / name)
    store.put_file("uploads/2026/x/other.png", tmp_path / "images" / "shapes.png")
    text = ("---\ntitle: River\nimages:\n  - {file: images/portrait.jpg, caption: The mayor}\n"
            "  - {key: inbox/articles/images/shapes.png, caption: Lanes}\n---\nOne.\n\nTwo.\n")
    store.put_bytes("inbox/articles/river.md", text.encode())
    with local_store(tmp_path / "store"):
        got = receive_article.fn("inbox/articles/river.md", [], "auto")
        assert [i.caption for i in got.article.images] == ["The mayor", "Lanes"]
        assert [k.rsplit("/", 1)[1] for k in got.image_keys] == ["01.jpg", "02.png"]
        assert all(store.exists(k) for k in got.image_keys)
        replaced = receive_article.fn("inbox/articles/river.md", ["uploads/2026/x/other.png"], "auto")
        assert replaced.article.images[0].caption == "The mayor" and replaced.story_id != got.story_id
        with pytest.raises(ArticleError, match="image 2 .* cannot be found"):
            receive_article.fn("inbox/articles/river.md", ["uploads/2026/x/other.png", "inbox/nope.jpg"], "auto")
        store.put_bytes("inbox/articles/fake.md", text.replace("portrait.jpg", "notes.jpg").encode())
        store.put_bytes("inbox/articles/images/notes.jpg", b"just some notes\n" * 20)
        with pytest.raises(MediaRefusedError, match="not a JPEG"):
            receive_article.fn("inbox/articles/fake.md", [], "auto")
