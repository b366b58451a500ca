"""Graphics that never collide: straps and burned-in subtitles laid out by newsroom.graphics, rendered by
ffmpeg for real, found again in the rendered frames by their pixels."""

from __future__ import annotations

import numpy as np
import pytest

from newsroom.broadcast.programme import Part, assemble_programme
from newsroom.graphics import (
    RAISE_MARGIN_S,
    Box,
    LowerThird,
    fit_cue,
    place_straps,
    place_subtitles,
    safe_area,
)
from newsroom.media.frames import read_frame, read_frames
from newsroom.subtitles.burn import place_cues
from newsroom.subtitles.cues import rules_for
from tests.conftest import ffmpeg

BACKGROUND = (48, 112, 48)  # a flat green picture: neither the strap's blue nor the subtitles' white and black
STRAP_RGB = (16, 52, 84)  # the strap's 0x0a2a5a at 85% over the green
SRT = """1
00:00:00,200 --> 00:00:02,400
The council voted last night to double
the city's bike lanes by next spring
"""
STRAP_S = (0.0, 1.5)  # the headline strap is shown for the first 1.5 s; the cue runs from 0.2 to 2.4 s


def _bbox(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing found"
    return Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def _render(tmp_path, size, strap_s=STRAP_S):
    w, h = size
    clip = tmp_path / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", f"color=c=0x{BACKGROUND[0]:02x}{BACKGROUND[1]:02x}{BACKGROUND[2]:02x}:s={w}x{h}:r=25",
           "-t", "2.6", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    srt = tmp_path / "cues.srt"
    srt.write_text(SRT, "utf-8")
    thirds = [LowerThird("City council votes to double bike lanes", *strap_s, "headline")]
    made = assemble_programme([Part(clip)], out=tmp_path / "soft.mp4", burned=tmp_path / "burned.mp4",
                              subtitles=srt, lower_thirds=thirds, size=size)
    straps = place_straps(thirds, size, "en")
    return made, straps, place_subtitles(size, "en", straps)


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280)], ids=["16x9", "9x16"])
def test_subtitles_stand_above_the_strap_only_while_it_is_shown(tmp_path, size):
    w, h = size
    made, straps, cues = _render(tmp_path, size)
    area = safe_area(w, h)
    (strap,) = straps
    # The layout: disjoint boxes, both inside the graphics zone (EBU R95 graphics-safe / the platforms' UI-safe).
    assert not cues.box_at(1.0).intersects(strap.box)
    assert area.graphics.contains(strap.box) and area.graphics.contains(cues.box_at(1.0))
    assert area.graphics.contains(cues.box_at(2.0)) and cues.box_at(2.0).y > cues.box_at(1.0).y
    assert cues.box_at(2.0).intersects(strap.box)  # where the cue would have run over the strap
    for t, with_strap in ((1.0, True), (2.0, False)):
        soft = read_frame(made.path, t, width=w, height=h).astype(int)
        burned = read_frame(made.burned, t, width=w, height=h).astype(int)
        # The rendered frame: the strap is where its colour is, the subtitle where the burned copy differs.
        strap_px = (np.abs(soft - STRAP_RGB).max(axis=2) < 14) | (
            (np.abs(soft - (255, 255, 255)).max(axis=2) < 60) & (np.abs(soft - BACKGROUND).max(axis=2) > 60))
        ink = np.abs(burned - soft).max(axis=2) > 40
        cue = _bbox(ink)
        assert area.graphics.contains(cue), (t, cue)
        assert cues.box_at(t).contains(cue), (t, cue, cues.box_at(t))
        if with_strap:
            found = _bbox(strap_px)
            assert abs(found.x - strap.box.x) <= 2 and abs(found.y - strap.box.y) <= 2
            assert abs(found.right - strap.box.right) <= 2 and abs(found.bottom - strap.box.bottom) <= 2
            assert not found.intersects(cue), (found, cue)
            assert cue.bottom < found.y  # above the strap, as broadcasters put them
        else:
            assert not strap_px.sum()  # the strap is gone, and the cue is back down at the bottom of the zone
            assert cue.bottom > strap.box.y


def test_no_frame_shows_a_cue_across_the_strap_as_it_goes(tmp_path):
    """Every frame around the strap's end, which falls on a frame (2.00 s at 25 fps; the sample's broadcast once
    drew the cue low across the strap on such a frame): wherever the strap is drawn, the cue's ink is above it."""
    w, h = size = (1280, 720)
    made, (strap,), _ = _render(tmp_path, size, strap_s=(0.0, 2.0))
    first = 2 * 25 - 4
    soft = list(read_frames(made.path, width=w, height=h, fps=25, start_frame=first, count=9))
    burned = list(read_frames(made.burned, width=w, height=h, fps=25, start_frame=first, count=9))
    with_strap = 0
    for n, (s, b) in enumerate(zip(soft, burned, strict=True)):
        s, b = s.astype(int), b.astype(int)
        strap_px = np.abs(s - STRAP_RGB).max(axis=2) < 14
        cue = _bbox(np.abs(b - s).max(axis=2) > 40)
        if strap_px.sum() > 1000:
            with_strap += 1
            assert cue.bottom < _bbox(strap_px).y, f"frame {first + n}: the cue {cue} runs into the strap"
    assert 0 < with_strap < 9  # the frames cover the strap going


def test_straps_shown_together_stack_and_cues_clear_the_highest():
    size = (1280, 720)
    thirds = [LowerThird("A picture caption that runs long enough to wrap", 1.0, 5.0, "caption"),
              LowerThird("Photo: City archive", 1.0, 5.0, "credit"),
              LowerThird("Maria Lopez, council member", 6.0, 9.0, "name")]
    caption, credit, name = place_straps(thirds, size, "en")
    assert credit.box.bottom == name.box.bottom == safe_area(*size).graphics.bottom
    assert caption.box.bottom < credit.box.y  # the credit under its caption
    cues = place_subtitles(size, "en", (caption, credit, name))
    margin = RAISE_MARGIN_S  # the cues rise a little before a strap comes and come down a little after it goes
    assert [t for r in cues.raised for t in (r.start_s, r.end_s)] == pytest.approx(
        [1.0 - margin, 5.0 + margin, 6.0 - margin, 9.0 + margin])
    for t, straps in ((3.0, (caption, credit)), (7.0, (name,))):
        assert all(not cues.box_at(t).intersects(s.box) for s in straps)
    assert cues.box_at(5.5) == cues.box()


def test_place_cues_splits_a_cue_where_a_strap_comes_or_goes(tmp_path):
    srt = tmp_path / "cues.srt"
    srt.write_text(SRT, "utf-8")
    straps = place_straps([LowerThird("Headline", 1.0, 2.0)], (1280, 720), "en")
    cues = place_subtitles((1280, 720), "en", straps)
    events = [x for x in place_cues(srt, tmp_path / "cues.ass", cues).read_text("utf-8").splitlines()
              if x.startswith("Dialogue:")]
    raised = cues.raised[0].margin_v_px
    assert [e.split(",")[1:3] + [e.split(",")[7]] for e in events] == [
        ["0:00:00.20", "0:00:00.92", "0"], ["0:00:00.92", "0:00:02.08", str(raised)],
        ["0:00:02.08", "0:00:02.40", "0"]]
    assert events[0].endswith("The council voted last night to double\\Nthe city's bike lanes by next spring")
    # An ASS script keeps its own styles; only its events are split and raised.
    again = [x for x in place_cues(tmp_path / "cues.ass", tmp_path / "again.ass", cues).read_text("utf-8").splitlines()
             if x.startswith("Dialogue:")]
    assert again == events


@pytest.mark.parametrize("language", ["en", "zh"])
def test_vertical_cues_take_three_larger_lines_inside_the_ui_safe_zone(language):
    """A 9:16 frame re-breaks the cues into the profile's vertical lines, in a font of 3.5-4.5% of the height
    (not the ~2% that 42 characters across the narrow zone gave); its 3-line box stays in the UI-safe zone."""
    w, h = size = (720, 1280)
    cues = place_subtitles(size, language)
    zone = safe_area(w, h).graphics
    assert cues.lines == 3 and cues.chars_per_line < rules_for(language).max_chars_per_line
    assert 0.035 * h <= cues.font_size_px <= 0.045 * h
    assert cues.min_font_size_px == round(0.03 * h)
    box = cues.box()
    assert zone.contains(box) and box.h >= 3 * cues.font_size_px
    assert (box.x, box.right) == (zone.x, zone.right)  # 5% free on the left, the app's 12% column on the right
    # 16:9 keeps the cues' own lines
    assert place_subtitles((1280, 720), language).chars_per_line == 0


def test_a_long_vertical_cue_shrinks_towards_the_floor_before_it_takes_a_fourth_line():
    cues = place_subtitles((720, 1280), "en")
    short, size = fit_cue(("Bike lanes", "doubled"), cues)
    assert short == ("Bike lanes doubled",) and size == cues.font_size_px
    lines, size = fit_cue(tuple(SRT.strip().splitlines()[2:]), cues)  # 75 characters: 4 lines at the full size
    assert len(lines) == 3 and cues.min_font_size_px <= size < cues.font_size_px
    assert " ".join(lines) == " ".join(SRT.strip().splitlines()[2:])
    full = ("Local shop owners raised concerns about parking, and the", "Council promised a review after six months.")
    lines, size = fit_cue(full, cues)  # 100 characters: only at the floor, and then in 4 lines
    assert size == cues.min_font_size_px and len(lines) == 4


def test_place_cues_rebreaks_a_vertical_cue_and_sizes_it(tmp_path):
    srt = tmp_path / "cues.srt"
    srt.write_text(SRT + "\n2\n00:00:03,000 --> 00:00:04,000\nBike lanes\ndoubled\n", "utf-8")
    cues = place_subtitles((720, 1280), "en")
    events = [x.split(",", 9)[9] for x in place_cues(srt, tmp_path / "cues.ass", cues).read_text("utf-8").splitlines()
              if x.startswith("Dialogue:")]
    lines, size = fit_cue(tuple(SRT.strip().splitlines()[2:]), cues)
    assert events == [f"{{\\fs{size}}}" + "\\N".join(lines), "Bike lanes doubled"]
