"""Filter graphs built from parts (newsroom.media.graph): values reach ffmpeg exactly as written, the wiring
is checked as the graph is built. Every escaping case is proved by running the real ffmpeg."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsroom.media import probe, run_ffmpeg
from newsroom.media.graph import Filter, FilterGraph, chain, escape_value
from newsroom.media.inputs import concat_listing
from newsroom.video.upscale import concat_chunks

TEST_PATTERN = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=1"]  # 5 frames

# File names that each break a hand-built filter string somewhere: the graph parser's , ; [ ], the option
# parser's : =, quotes, backslashes, and whitespace at the end of a value (ffmpeg trims it unless escaped).
HOSTILE_NAMES = [
    "it's [1], a;b: c=d \\ e.txt",
    "ends with a space ",
    "  ",
    "%{pts} 'q' \"dq\" $HOME\ttab.txt",
    "line\nbreak",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_a_hostile_path_reaches_the_filter_as_written(name, tmp_path):
    target = tmp_path / name
    graph = FilterGraph()
    graph.chain("0:v", [Filter("setpts", "PTS-STARTPTS"), Filter("metadata", mode="print", file=target)], "v")
    mapped = graph.output("v")
    run_ffmpeg([*TEST_PATTERN, "-filter_complex", graph.text(), "-map", mapped, "-f", "null", "-"],
               what="writing frame metadata")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # the file ffmpeg wrote has exactly this name


def test_leading_whitespace_survives_in_a_plain_filter_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_ffmpeg([*TEST_PATTERN, "-vf", chain([Filter("metadata", mode="print", file=" leading.txt")]),
                "-f", "null", "-"], what="writing frame metadata")
    assert [p.name for p in tmp_path.iterdir()] == [" leading.txt"]


def test_an_expression_keeps_its_commas(tmp_path):
    out = tmp_path / "frames.crc"
    run_ffmpeg([*TEST_PATTERN, "-vf", chain([Filter("select", "eq(n,0)+eq(n,3)")]), "-f", "framecrc", str(out)],
               what="selecting frames")
    assert len([ln for ln in out.read_text().splitlines() if not ln.startswith("#")]) == 2


def test_filters_render_as_ffmpeg_writes_them():
    assert Filter("hqdn3d", 4, 3, 6, 4.5) == "hqdn3d=4:3:6:4.5"
    assert Filter("deband", **{"1thr": 0.02, "range": 16}) == "deband=1thr=0.02:range=16"
    assert Filter("drawtext", box=True, enable="between(t,1.000,2.000)") == "drawtext=box=1:enable=between(t\\,1.000\\,2.000)"
    assert Filter("null") == "null" and Filter("scale", 1280, -2).name == "scale"
    assert escape_value("a'b:c") == "a\\\\\\'b\\\\:c"  # option level, then graph level
    assert chain([]) == "null" and chain([], audio=True) == "anull"


def test_the_graph_reads_as_labelled_chains():
    graph = FilterGraph()
    graph.chain("0:v", Filter("split", 2), ["a", "b"])
    graph.chain("a", Filter("hflip"), "a2")
    graph.chain(["a2", "b"], [Filter("hstack"), Filter("setsar", 1)], "v")
    assert graph.output("v") == "[v]"
    assert graph.text() == "[0:v]split=2[a][b];[a]hflip[a2];[a2][b]hstack,setsar=1[v]"


def test_wiring_mistakes_are_refused_while_building():
    graph = FilterGraph()
    graph.chain("0:v", Filter("split", 2), ["a", "b"])
    graph.chain("a", Filter("null"), "x")
    with pytest.raises(ValueError, match=r"\[a\] is used twice"):
        graph.chain("a", Filter("null"), "y")
    with pytest.raises(ValueError, match=r"\[nope\] is not made"):
        graph.output("nope")
    with pytest.raises(ValueError, match=r"\[x\] is made twice"):
        graph.chain("b", Filter("null"), "x")
    graph.output("x")
    with pytest.raises(ValueError, match=r"\[b\] go nowhere"):
        graph.text()  # ffmpeg would send [b] to the first output file
    with pytest.raises(TypeError, match="not a Filter"):
        graph.chain("b", "hflip", "y")  # hand-built text cannot enter a graph
    with pytest.raises(ValueError, match="cannot label"):
        graph.chain("b", Filter("null"), "0:v")
    with pytest.raises(ValueError, match="filter name"):
        Filter("scale,hflip")
    with pytest.raises(ValueError, match="option name"):
        Filter("scale", **{"w=1:h": 2})
    with pytest.raises(TypeError, match="not list"):
        Filter("scale", [1, 2])


def test_a_concat_listing_quotes_any_path(media_dir, tmp_path):
    folder = tmp_path / "it's [a], b"
    folder.mkdir()
    parts = [shutil.copy(media_dir / "av.mp4", folder / f"part {i}'s.mp4") for i in range(2)]
    joined = concat_chunks(parts, tmp_path / "joined.mp4")
    assert probe(joined).duration_s == pytest.approx(2 * probe(media_dir / "av.mp4").duration_s, abs=0.1)
    with pytest.raises(ValueError, match="line break"):
        concat_listing([Path("/tmp/a\nb.mp4")])
