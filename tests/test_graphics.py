"""Graphics that never collide: straps and burned-in subtitles laid out by newsroom.graphics, rendered by
ffmpeg for real, found again in the rendered frames by their pixels."""

from __future__ import annotations

import numpy as np
import pytest

from newsroom.broadcast.programme import Part, assemble_programme
from newsroom.graphics import (
    Box,
    LowerThird,
    place_straps,
    place_subtitles,
    safe_area,
)
from newsroom.media.frames import read_frame
from newsroom.subtitles.burn import place_cues
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


def _render(tmp_path, size):
    w, h = size
    clip = tmp_path / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", f"color=c=0x{BACKGROUND[0]:02x}{BACKGROUND[1]:02x}{BACKGROUND[2]:02x}:s={w}x{h}:r=25",
           "-t", "2.6", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    srt = tmp_path / "cues.srt"
    srt.write_text(SRT, "utf-8")
    thirds = [LowerThird("City council votes to double bike lanes", *STRAP_S, "headline")]
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


def test_straps_shown_together_stack_and_cues_clear_the_highest():
    size = (1280, 720)
    thirds = [LowerThird("A picture caption that runs long enough to wrap", 1.0, 5.0, "caption"),
              LowerThird("Photo: City archive", 1.0, 5.0, "credit"),
              LowerThird("Maria Lopez, council member", 6.0, 9.0, "name")]
    caption, credit, name = place_straps(thirds, size, "en")
    assert credit.box.bottom == name.box.bottom == safe_area(*size).graphics.bottom
    assert caption.box.bottom < credit.box.y  # the credit under its caption
    cues = place_subtitles(size, "en", (caption, credit, name))
    assert [(r.start_s, r.end_s) for r in cues.raised] == [(1.0, 5.0), (6.0, 9.0)]
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
        ["0:00:00.20", "0:00:01.00", "0"], ["0:00:01.00", "0:00:02.00", str(raised)],
        ["0:00:02.00", "0:00:02.40", "0"]]
    assert events[0].endswith("The council voted last night to double\\Nthe city's bike lanes by next spring")
    # An ASS script keeps its own styles; only its events are split and raised.
    again = [x for x in place_cues(tmp_path / "cues.ass", tmp_path / "again.ass", cues).read_text("utf-8").splitlines()
             if x.startswith("Dialogue:")]
    assert again == events
