"""Text is always literal: hostile headlines, names and transcript text through every renderer - ffmpeg
`drawtext` lower thirds, libass burn-in, the subtitle files, Pillow cover headlines - on real renders.

A lower third is compared with a Pillow rendering of the same literal line in the same font file and face
(they agree to ~95% intersection over union); a burned cue with markup with the burned cue of the text
a viewer should see; text that an interpreter would turn into the same thing must render differently.
"""

from __future__ import annotations

import html
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pysubs2
import pytest
import webvtt
from PIL import Image, ImageDraw
from pydantic import TypeAdapter, ValidationError

from newsroom.broadcast.segment import (
    LOWER_THIRD_TEXT_MAX_W_PX,
    SEGMENT_SIZE,
    LowerThird,
    fit_lower_third,
    lower_third_filter,
)
from newsroom.covers import draw_headline, layout_headline
from newsroom.errors import ConfigError
from newsroom.params import MAX_HEADLINE_CHARS, Headline, check_headline
from newsroom.subtitles import Cue, write_subtitles
from newsroom.subtitles.burn import burn_in_filter
from newsroom.subtitles.writers import WORD_JOINER
from newsroom.typeset import FONT_FACE_INDEX, clean_line, drawable, headline_font, load_font

W, H = SEGMENT_SIZE

# (headline as given, language, the one line that must be drawn)
HOSTILE_HEADLINES = [
    ("Prices up 5% in May", "en", "Prices up 5% in May"),
    ("%{pts}", "en", "%{pts}"),
    ("%{eif:1/0}", "en", "%{eif:1/0}"),
    ("100%% sure %{n} %{localtime}", "en", "100%% sure %{n} %{localtime}"),
    (r"C:\new\table \N \\ end\\", "en", r"C:\new\table \N \\ end\\"),
    ("It's \"quoted\" and 'single'", "en", "It's \"quoted\" and 'single'"),
    ("Time: 10:30, Paris; [live] {x} =y", "en", "Time: 10:30, Paris; [live] {x} =y"),
    ("Line one\nline two\r\n\tend", "en", "Line one line two end"),
    ("物价五月上涨5%：专家称“温和”", "zh", "物价五月上涨5%：专家称“温和”"),
    ("Fire 🔥 at the plant 😀", "en", "Fire at the plant"),
    ("<b>bold</b> &amp; <i>", "en", "<b>bold</b> &amp; <i>"),
    ("$(rm -rf /) `id` ${HOME}", "en", "$(rm -rf /) `id` ${HOME}"),
    ("\u202eevil\u202c name\x00\ufeff", "en", "evil name"),
]


def _gray(args: list[str], size: tuple[int, int]) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", *args, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0])


def _strap(third: LowerThird, language: str, folder: Path) -> np.ndarray:
    """One 1280x720 frame on black with the lower third's drawbox and drawtext filters, as assemble_segment builds
    them."""
    filters = lower_third_filter(third, language, folder, "third")
    assert filters is not None
    return _gray(["-f", "lavfi", "-i", f"color=c=black:s={W}x{H}:r=25", "-vf", ",".join(map(str, filters))], (W, H))


def _reference(line: str, size_px: int, language: str, face: int | None = None) -> np.ndarray:
    """The line drawn by Pillow in white, in the font file and face the lower third uses."""
    path, index = headline_font(language)
    font = load_font(path, index if face is None else face, size_px, basic=True)
    image = Image.new("L", (W + 200, 3 * size_px))
    ImageDraw.Draw(image).text((20, 2 * size_px), line, font=font, fill=255, anchor="ls")
    return np.asarray(image) > 128


def _crop(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _iou(a: np.ndarray, b: np.ndarray, shift_px: int = 2) -> float:
    """Intersection over union of two masks cropped to their ink, at the best alignment within `shift_px`."""
    a, b = _crop(a), _crop(b)
    h, w = max(a.shape[0], b.shape[0]) + 2 * shift_px, max(a.shape[1], b.shape[1]) + 2 * shift_px
    pa = np.zeros((h, w), bool)
    pa[shift_px: shift_px + a.shape[0], shift_px: shift_px + a.shape[1]] = a
    best = 0.0
    for dy in range(2 * shift_px + 1):
        for dx in range(2 * shift_px + 1):
            pb = np.zeros((h, w), bool)
            pb[dy: dy + b.shape[0], dx: dx + b.shape[1]] = b
            best = max(best, float((pa & pb).sum() / (pa | pb).sum()))
    return best


def _box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the strap's box: on black, every pixel it covers is lit."""
    ys, xs = np.nonzero(frame > 12)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# --------------------------------------------------------------------------- lower thirds (drawtext)


@pytest.mark.parametrize(("text", "language", "drawn"), HOSTILE_HEADLINES, ids=[c[0][:24] for c in HOSTILE_HEADLINES])
def test_lower_third_draws_the_literal_text(text, language, drawn, tmp_path):
    fitted = fit_lower_third(text, "headline", language)
    assert fitted.lines == (drawn,) and not fitted.truncated
    frame = _strap(LowerThird(text, 0.0, 10.0), language, tmp_path)
    left, top, right, bottom = _box(frame)
    assert left > 0 and right < W and top > H // 2 and bottom < H  # a strap in the lower part, inside the frame
    ink = frame > 128  # white text on the dark blue box
    assert ink.sum() > 200
    assert _iou(ink, _reference(drawn, fitted.font_size_px, language)) > 0.9


def test_text_an_interpreter_would_make_alike_renders_apart(tmp_path):
    # Expanded, both are the frame number ("0" on the first frame); drawn literally they differ.
    first = _strap(LowerThird("%{n}", 0.0, 10.0), "en", tmp_path) > 128
    second = _strap(LowerThird("%{frame_num}", 0.0, 10.0), "en", tmp_path) > 128
    assert _iou(first, second) < 0.8


def test_names_and_long_headlines_stay_inside_the_frame(tmp_path):
    name = "Dr. Maria O'Brien-López, minister: «finance» & trade [acting]; 🇪🇺"
    fitted = fit_lower_third(name, "name", "en")
    assert fitted.lines == ("Dr. Maria O'Brien-López, minister: «finance» & trade [acting];",)
    frame = _strap(LowerThird(name, 0.0, 10.0, "name"), "en", tmp_path)
    assert _iou(frame > 128, _reference(fitted.lines[0], fitted.font_size_px, "en")) > 0.9
    for text, language in (("Parliament debates the budget, " * 12, "en"), ("国务院新闻办公室今天举行发布会，" * 10, "zh")):
        fitted = fit_lower_third(text, "headline", language)
        assert len(fitted.lines) == 2 and fitted.truncated and fitted.lines[-1].endswith(("...", "…"))
        frame = _strap(LowerThird(text, 0.0, 10.0), language, tmp_path)
        left, _, right, _ = _box(frame)
        assert left >= 40 and right <= W - 40 and right - left <= LOWER_THIRD_TEXT_MAX_W_PX + 2 * 18 + 2
        rows = np.nonzero((frame > 128).any(axis=1))[0]
        assert np.diff(rows).max() > 3  # two lines of text, a gap between them


def test_lower_third_uses_the_simplified_chinese_face(tmp_path):
    # The faces of the collection map these to different glyphs (JP: centred colon, narrow quotes); the strap
    # draws the face the covers use and the text was measured in.
    text = "骨直：“和”"
    fitted = fit_lower_third(text, "headline", "zh")
    ink = _strap(LowerThird(text, 0.0, 10.0), "zh", tmp_path) > 128
    sc = _iou(ink, _reference(text, fitted.font_size_px, "zh"))
    jp = _iou(ink, _reference(text, fitted.font_size_px, "zh", face=FONT_FACE_INDEX["JP"]))
    assert sc > 0.9 and sc > jp + 0.1


def test_nothing_drawable_leaves_the_strap_out(tmp_path, caplog):
    for text in ("", "   \n\t", "🔥😀", "\u202e\x00"):
        assert fit_lower_third(text).lines == ()
        assert lower_third_filter(LowerThird(text, 0.0, 1.0), "en", tmp_path, "empty") is None
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="headline, name"):
        fit_lower_third("x", "ticker")


# --------------------------------------------------------------------------- typesetting


def test_clean_line_keeps_text_and_drops_controls():
    assert clean_line("  a\nb\r\n\tc\u2028d\u00a0e  ") == "a b c d e"
    assert clean_line("\u202eabc\u202c\x00\x07\ufeff\u00ad\ue000\ufffe") == "abc"
    assert clean_line("cafe\u0301") == "café"  # NFC: one character, as the font maps it
    assert clean_line("👩\u200d💻") == "👩\u200d💻"  # ZWJ sequences stay for renderers that can draw them
    assert clean_line("%{pts} <b> {\\an8} \\N") == "%{pts} <b> {\\an8} \\N"  # literal, not cleaned away
    assert len(clean_line("x" * 1_000_000)) == 10_000


def test_drawable_removes_what_the_font_cannot_draw():
    path, index = headline_font("en")
    assert drawable("Fire 🔥 at 👩\u200d💻 work ★", path, index) == ("Fire at work ★", "🔥👩\u200d💻")
    assert drawable("物价 5% …", path, index) == ("物价 5% …", "")


def test_headline_cap_is_a_clear_error():
    assert check_headline("x" * MAX_HEADLINE_CHARS) == "x" * MAX_HEADLINE_CHARS and check_headline(None) is None
    with pytest.raises(ConfigError, match="201 characters.*MAX_HEADLINE_CHARS"):
        check_headline("x" * 201)
    with pytest.raises(ValidationError):  # the flows' headline parameter
        TypeAdapter(Headline).validate_python("x" * 201)


# --------------------------------------------------------------------------- covers (Pillow)


def test_cover_headline_is_literal_one_line_and_tofu_free():
    picture = Image.fromarray(np.full((720, 1280, 3), 90, dtype=np.uint8))
    hostile = "Fire 🔥 at\nthe plant\x00 %{pts} <b>5%</b>"
    layout = layout_headline((1280, 720), hostile, "en")
    assert layout.lines == ("Fire at the plant %{pts} <b>5%</b>",)
    drawn, _ = draw_headline(picture, hostile, "en")
    clean, _ = draw_headline(picture, "Fire at the plant %{pts} <b>5%</b>", "en")
    assert np.array_equal(np.asarray(drawn), np.asarray(clean))


def test_a_huge_headline_is_cut_quickly():
    started = time.perf_counter()
    layout = layout_headline((1080, 1920), "Parliament debates the budget " * 40_000, "en")
    assert layout.truncated and layout.lines[-1].endswith("...")
    assert time.perf_counter() - started < 30  # generous: bounded work, not a timing claim


# --------------------------------------------------------------------------- subtitle files

# (cue line from a transcript, SRT text a parser reads back, WebVTT/TTML text a parser reads back)
HOSTILE_CUES = [
    ('<font color="red">RED</font> alert', "RED alert", '<font color="red">RED</font> alert'),
    ("{\\an8}{\\b1}Top story {y:i}", "Top story", "{\\an8}{\\b1}Top story {y:i}"),
    ("<i>Breaking</i> news <c.yellow>now</c>", "Breaking news now", "<i>Breaking</i> news <c.yellow>now</c>"),
    ("a\\Nb \\h c \\n d", "a\\Nb \\h c \\n d", "a\\Nb \\h c \\n d"),
    ("x <3 y> --> z {laughs}", "x ‹3 y› --› z ｛laughs｝", "x <3 y> --> z {laughs}"),
    ("Tom & Jerry &amp; co", "Tom & Jerry &amp; co", "Tom & Jerry &amp; co"),
    ("bell\x07 and \u202erlo\ufeff", "bell and rlo", "bell and rlo"),
    ("物价上涨 5% 😀", "物价上涨 5% 😀", "物价上涨 5% 😀"),
]


def _cues(line: str) -> list[Cue]:
    return [Cue(1, 0.5, 2.0, (line,)), Cue(2, 2.5, 4.0, ("After.",))]


@pytest.mark.parametrize(("line", "srt", "other"), HOSTILE_CUES, ids=[c[0][:20] for c in HOSTILE_CUES])
def test_subtitle_files_read_back_literally(line, srt, other):
    subs = pysubs2.SSAFile.from_string(write_subtitles(_cues(line), "srt", "en"), format_="srt")
    assert [ev.start for ev in subs] == [500, 2500]  # nothing in the text starts a cue
    text = subs[0].text
    assert "{" not in text and "\\N" not in text  # pysubs2 turns SRT tags into {\...}: none, and no line break
    assert text.replace(WORD_JOINER, "") == srt
    vtt = write_subtitles(_cues(line), "vtt", "en")
    captions = webvtt.from_string(vtt).captions
    assert len(captions) == 2 and "<" not in captions[0].raw_text and "-->" not in captions[0].raw_text
    assert html.unescape(captions[0].text).replace(WORD_JOINER, "") == other
    root = ET.fromstring(write_subtitles(_cues(line), "ttml", "en").encode("utf-8"))
    spans = root.findall(".//{http://www.w3.org/ns/ttml}span")
    assert [s.text for s in spans] == [other, "After."]


def test_a_cue_of_only_markup_is_left_out_of_srt():
    cues = [Cue(1, 0.5, 2.0, ("<i></i>", "{\\an8}")), Cue(2, 2.5, 4.0, ("Kept.",))]
    subs = pysubs2.SSAFile.from_string(write_subtitles(cues, "srt", "en"), format_="srt")
    assert [ev.plaintext for ev in subs] == ["Kept."]
    assert len(webvtt.from_string(write_subtitles(cues, "vtt", "en")).captions) == 2  # literal there


# --------------------------------------------------------------------------- burned-in cues (libass)


def _burned(tmp: Path, fmt: str, line: str, *, rgb: bool = False) -> np.ndarray:
    path = tmp / f"cue-{abs(hash((fmt, line)))}.{fmt}"
    path.write_text(write_subtitles([Cue(1, 0.0, 5.0, (line,))], fmt, "en"), "utf-8")
    args = ["-f", "lavfi", "-i", "color=c=black:s=640x360:r=25",
            "-vf", burn_in_filter(path, 640, 360, "en", font_size=28, margin_v_px=20)]
    if not rgb:
        return _gray(args, (640, 360))
    raw = subprocess.run(["ffmpeg", "-v", "error", *args, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(360, 640, 3).astype(int)


def _extent(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the lit text."""
    ys, xs = np.nonzero(frame > 128)
    assert len(xs), "nothing burned in"
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize(("hostile", "seen"), [
    ('<font color="red">RED</font> alert', "RED alert"),
    ("{\\an8}{\\b1}Top story", "Top story"),
    ("<i>Breaking</i> news", "Breaking news"),
])
def test_burned_srt_markup_is_removed_not_obeyed(hostile, seen, tmp_path):
    burned = _burned(tmp_path, "srt", hostile, rgb=True)
    assert not ((burned[..., 0] > 120) & (burned[..., 1] < 60)).any()  # nothing red
    gray = burned.mean(axis=2)
    assert _extent(gray)[1] > 360 // 2  # at the bottom, not moved to the top
    assert _iou(gray > 128, _burned(tmp_path, "srt", seen) > 128) > 0.97  # upright, regular: as the plain text


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_burned_cues_draw_backslashes_braces_and_brackets(fmt, tmp_path):
    one_line = _extent(_burned(tmp_path, fmt, "ab c"))[3]
    _, _, width, height = _extent(_burned(tmp_path, fmt, "a\\Nb \\h c"))
    assert height < 1.5 * one_line  # \N is not a line break
    assert width > _extent(_burned(tmp_path, fmt, "ab c"))[2] * 1.5  # the backslashes and letters are drawn
    literal = _burned(tmp_path, fmt, "Smile x<3 y> z {laughs}")
    assert _extent(literal)[2] > 1.5 * _extent(_burned(tmp_path, fmt, "Smile x z"))[2]  # nothing hidden
    assert _iou(literal > 128, _burned(tmp_path, fmt, "Smile x<4 w> z {giggles}") > 128) < 0.9
    if fmt == "vtt":  # WebVTT escapes its markup: the tags themselves are drawn
        tags = _extent(_burned(tmp_path, fmt, "<b>Breaking</b>"))[2]
        assert tags > 1.5 * _extent(_burned(tmp_path, fmt, "Breaking"))[2]
