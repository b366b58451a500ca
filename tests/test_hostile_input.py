"""Hostile input, table-driven: files a user or an attacker with inbox/CMS access could hand newsroom.

Every case is generated here (ffmpeg, small byte edits, text files) and goes through
- the CLI, as a user runs it (`newsroom ingest` / `probe` / `cover` / `anchor`, real subprocesses): the exit
  status, one readable error line (no traceback), the wall time and the peak memory of the whole process
  tree (wait4), and that nothing was stored;
- the inbox flow (one real scan over all of them at once under the Prefect harness): refused objects are in
  failed/ with their reason, accepted ones archived (NFC name, original name in metadata) with a run.

Set NEWSROOM_HOSTILE_REPORT=path.md to get the measured table (time and memory per case).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, ffmpeg

NEWSROOM = [sys.executable, "-m", "newsroom.cli"]
MIB = 1024 * 1024
GATE_WALL_S = 30.0  # a refusal at the gate: Python start-up and imports, then a probe
GATE_RSS_MIB = 700  # the CLI process (Python, Prefect imported) and its ffprobe
# ffprobe decodes one 256-megapixel frame before we can see its size (~0.8-1.9 GiB seen); it can never pass
# its address-space cap (NEWSROOM_PROBE_MEMORY_LIMIT_BYTES, 2 GiB).
BIG_FRAME_RSS_MIB = 2048 + 64
INGEST_WALL_S = 420.0  # a file that is accepted: a whole ingest (Prefect server start, Whisper) on 2 cores


# ------------------------------------------------------------------------------------------ the files

def _text(d: Path, name: str, text: str) -> Path:
    path = d / name
    path.write_text(text, "utf-8")
    return path


def _clip(d: Path) -> Path:
    """A real 6 s clip (H.264 + AAC, faststart): the 'other file on the worker's disk' and a good source."""
    path = d / "real-clip.mp4"
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
               "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-movflags", "+faststart", str(path))
    return path


def hls_local_file(d: Path) -> Path:
    return _text(d, "hls-local-file.mp4", f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:6,\n{_clip(d)}\n"
                                          "#EXT-X-ENDLIST\n")


def hls_self_loop(d: Path) -> Path:
    path = d / "hls-self-loop.mp4"
    return _text(d, path.name, f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n{path}\n")


def hls_live(d: Path) -> Path:
    return _text(d, "hls-live.mp4", f"#EXTM3U\n#EXT-X-TARGETDURATION:3600\n#EXT-X-MEDIA-SEQUENCE:0\n"
                                    f"#EXTINF:3600,\n{_clip(d)}\n")


def hls_network(d: Path) -> Path:
    return _text(d, "hls-network.ts", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n"
                                      "http://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n")


def ffconcat_absolute(d: Path) -> Path:
    return _text(d, "ffconcat-absolute.mp4", f"ffconcat version 1.0\nfile '{_clip(d)}'\n")


def ffconcat_self(d: Path) -> Path:
    path = d / "ffconcat-self.mov"
    return _text(d, path.name, f"ffconcat version 1.0\nfile '{path}'\nfile '{path}'\n")


def sdp_stream(d: Path) -> Path:
    return _text(d, "network-stream.mp4", "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
                                          "m=audio 5004 RTP/AVP 0\n")


def image_sequence(d: Path) -> Path:
    """A file literally named like an image2 pattern, with real frames beside it that the pattern matches."""
    for i in (1, 2, 3):
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x48", "-frames:v", "1", str(d / f"shot{i:03d}.png"))
    path = d / "shot%03d.png"
    path.write_bytes((d / "shot001.png").read_bytes())
    return path


def gif_as_video(d: Path) -> Path:
    path = d / "animation.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "1", "-f", "gif", str(path))
    return path


def subtitles_as_video(d: Path) -> Path:
    return _text(d, "subtitles.mkv", "1\n00:00:00,000 --> 00:00:02,000\nHello\n")


def ten_hours_declared(d: Path) -> Path:
    """A 1 s, few-KB Matroska file whose header declares 10 hours."""
    small = d / "one-second.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(small))
    data = bytearray(small.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Segment Info > Duration, an 8-byte float in milliseconds
    assert at > 0, "no Matroska duration element to patch"
    data[at + 3:at + 11] = struct.pack(">d", 10 * 3600 * 1000.0)
    path = d / "ten-hours.mkv"
    path.write_bytes(bytes(data))
    return path


def frame_16k(d: Path) -> Path:
    path = d / "frame-16000x16000.mkv"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=16000x16000:d=0.04", "-frames:v", "1", "-c:v", "png", str(path))
    return path


def audio_64_streams(d: Path) -> Path:
    path = d / "audio-64-streams.mkv"
    args: list[str] = []
    for _ in range(64):
        args += ["-f", "lavfi", "-t", "0.5", "-i", "anullsrc=r=8000:cl=mono"]
    for i in range(64):
        args += ["-map", str(i)]
    ffmpeg(*args, "-c:a", "pcm_s16le", str(path))
    return path


def fps_1000(d: Path) -> Path:
    path = d / "fps-1000.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1000", "-t", "0.2", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", str(path))
    return path


def truncated_with_index(d: Path) -> Path:
    """The index (faststart moov) is intact, two thirds of the data are missing: it probes fine."""
    data = _clip(d).read_bytes()
    path = d / "truncated-copy.mp4"
    path.write_bytes(data[: len(data) // 3])
    return path


def truncated_without_index(d: Path) -> Path:
    full = d / "moov-at-end.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(full))
    data = full.read_bytes()
    full.unlink()
    path = d / "truncated-no-index.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


def zero_bytes(d: Path) -> Path:
    path = d / "zero-bytes.mp4"
    path.write_bytes(b"")
    return path


def text_as_video(d: Path) -> Path:
    return _text(d, "notes.mp4", "Meeting notes: this is text, renamed .mp4 by mistake.\n" * 40)


def lying_wav_header(d: Path) -> Path:
    """A WAV whose header claims 4 GB of samples over 1 s of data: measured, not believed (accepted)."""
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000,
              192000, 4, 16) + b"data" + struct.pack("<I", 0xFFFFFFE0))
    path = d / "lying-header.wav"
    path.write_bytes(header + b"\0" * 192000)
    return path


def damaged_audio_frame(d: Path) -> Path:
    """A real camera-style file with one corrupt AAC frame near its end: accepted, with a warning."""
    clip = _clip(d)
    packets = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                         "packet=pos,size", "-of", "json", str(clip)],
                                        capture_output=True, text=True, check=True).stdout)["packets"]
    pos, size = int(packets[-10]["pos"]), int(packets[-10]["size"])
    data = bytearray(clip.read_bytes())
    for i in range(pos, pos + size):
        data[i] ^= 0xFF
    path = d / "damaged-audio-frame.mp4"
    path.write_bytes(bytes(data))
    return path


def named(name: str) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        path = d / name
        path.write_bytes(_clip(d).read_bytes())
        return path
    build.__name__ = f"named {name!r}"
    return build


def png_bomb(d: Path) -> Path:
    """A 1x1 PNG whose header declares 30000x30000 (CRC fixed): refused from the header, nothing decoded."""
    from PIL import Image

    path = d / "portrait-bomb.png"
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


# ------------------------------------------------------------------------------------------ the table

@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    refused: str | None  # regex of the one error line; None: accepted
    cli: str = "ingest"  # "ingest" | "probe" | "anchor" | "" (inbox only)
    inbox: bool = True
    wall_s: float = GATE_WALL_S
    rss_mib: int = GATE_RSS_MIB
    extra: tuple[str, ...] = field(default=())


NAMES = ["Mayor's speech.mp4", "clip #2.mp4", "50%.mp4", "non\u00a0breaking space.mp4",
         unicodedata.normalize("NFD", "café crème.mp4"), "市长讲话 (完整版).mp4", "report [v2] & notes!.mov"]

CASES = [
    Case("hls playlist naming a local file", hls_local_file, r"HLS playlist"),
    Case("hls playlist naming itself", hls_self_loop, r"HLS playlist"),
    Case("live hls playlist", hls_live, r"HLS playlist"),
    Case("hls playlist naming a URL", hls_network, r"HLS playlist"),
    Case("ffconcat naming a local file", ffconcat_absolute, r"ffconcat list"),
    Case("ffconcat naming itself", ffconcat_self, r"ffconcat list"),
    Case("sdp network stream", sdp_stream, r"network stream"),
    Case("image sequence pattern", image_sequence, r"still image|image sequence"),
    Case("animated gif named .mp4", gif_as_video, r"animated image"),
    Case("subtitles named .mkv", subtitles_as_video, r"subtitle file"),
    Case("10 hours declared in 7 KB", ten_hours_declared, r"declares 10\.0 h.*NEWSROOM_MAX_DURATION_S"),
    Case("one 16000x16000 frame", frame_16k, r"16000x16000.*NEWSROOM_MAX_VIDEO_PIXELS", rss_mib=BIG_FRAME_RSS_MIB),
    Case("64 audio streams", audio_64_streams, r"64 streams.*NEWSROOM_MAX_STREAMS"),
    Case("1000 fps", fps_1000, r"1000 frames per second.*NEWSROOM_MAX_FPS"),
    Case("truncated, index intact", truncated_with_index, r"cut off"),
    Case("truncated, no index", truncated_without_index, r"not readable media"),
    Case("zero bytes", zero_bytes, r"empty \(0 bytes\)"),
    Case("text named .mp4", text_as_video, r"not readable media"),
    Case("wav header claiming 4 GB", lying_wav_header, None, cli="probe"),
    Case("one damaged audio frame", damaged_audio_frame, None, wall_s=INGEST_WALL_S, rss_mib=2500),
    *[Case(f"name {n!r}", named(n), None, cli="probe") for n in NAMES],
    Case("portrait declaring 900 megapixels", png_bomb, r"megapixel.*NEWSROOM_MAX_IMAGE_PIXELS", cli="anchor",
         inbox=False),
]
assert len(CASES) >= 25


# ------------------------------------------------------------------------------------------ running

@dataclass
class Measured:
    case: str
    how: str
    outcome: str
    wall_s: float
    rss_mib: float


RESULTS: list[Measured] = []


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def built(hostile_dir) -> dict[str, Path]:
    return {case.name: case.build(hostile_dir) for case in CASES}


def _cli_args(case: Case, path: Path, out: Path) -> list[str]:
    if case.cli == "probe":
        return ["probe", str(path), "--json"]
    if case.cli == "anchor":
        return ["anchor", "--script", "Good evening.", "--language", "en", "--portrait", str(path),
                "--out", str(out / "anchor.mp4")]
    return ["ingest", str(path), "--model", "tiny.en" if case.refused is None else "base", "--language", "en"]


def _measure_in_fresh_process(args: list[str], env: dict[str, str], cwd: Path, timeout_s: float
                              ) -> tuple[int, str, str, float, float]:
    """Run the CLI under a small Python parent whose own children's rusage is exactly this case's peak."""
    runner = ("import json,os,resource,subprocess,sys,time;"
              "t=time.monotonic();p=subprocess.run(json.loads(sys.argv[1]),capture_output=True,text=True);"
              "print(json.dumps({'rc':p.returncode,'out':p.stdout,'err':p.stderr,'wall':time.monotonic()-t,"
              "'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))")
    done = subprocess.run([sys.executable, "-c", runner, json.dumps([*NEWSROOM, *args])], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout_s)
    result = json.loads(done.stdout)
    return result["rc"], result["out"], result["err"], result["wall"], result["rss"]


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=lambda c: c.name)
def test_cli_refuses_clearly_or_accepts(case, built, tmp_path):
    store_root = tmp_path / "store"
    env = {**os.environ, "NEWSROOM_LOCAL_ROOT": str(store_root), "NEWSROOM_STORAGE_BACKEND": "local"}
    code, out, err, wall, rss = _measure_in_fresh_process(_cli_args(case, built[case.name], tmp_path), env, tmp_path,
                                                          timeout_s=case.wall_s + 120)
    RESULTS.append(Measured(case.name, f"cli {case.cli}", "refused" if code else "accepted", wall, rss))
    assert "Traceback" not in err, err
    if case.refused is not None:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 1, (code, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert re.search(case.refused, lines[0]), lines[0]
        stored = [p for p in store_root.rglob("*") if p.is_file()] if store_root.exists() else []
        assert stored == [], f"a refused file left objects behind: {stored}"
    else:
        assert code == 0, err
        if case.cli == "ingest":  # accepted with a warning that says where the damage is
            manifest = json.loads(next(store_root.glob("stories/*/manifest.json")).read_text())
            warnings = manifest["stages"]["source"]["warnings"]
            assert len(warnings) == 1 and "damaged audio frame" in warnings[0] and "0:05." in warnings[0], warnings
            damage = manifest["stages"]["source"]["damage"][0]
            assert damage["kind"] == "audio" and damage["damaged_frames"] == 1 and 5.0 < damage["times_s"][0] < 6.0
        else:
            assert json.loads(out)["duration_s"] > 0
    assert wall < case.wall_s, f"{case.name}: {wall:.1f} s"
    assert rss < case.rss_mib, f"{case.name}: {rss:.0f} MiB"


def test_hostile_headlines_are_drawn_or_refused(tmp_path):
    """Covers with markup and expansion syntax in the headline render; an over-long headline is refused."""
    env = {**os.environ, "NEWSROOM_LOCAL_ROOT": str(tmp_path / "store")}
    code, _, err, wall, rss = _measure_in_fresh_process(
        ["cover", str(SAMPLE), "--headline", "Prices up 5% in May: %{pts} <b>{\\an8}</b> \\N 'quoted' 市长",
         "--out", str(tmp_path / "covers")], env, tmp_path, timeout_s=300)
    RESULTS.append(Measured("headline with % and markup", "cli cover", "accepted" if code == 0 else "refused",
                            wall, rss))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "covers").iterdir()) == ["cover-16x9.png", "cover-1x1.png",
                                                                     "cover-9x16.png"]
    code, _, err, wall, rss = _measure_in_fresh_process(["cover", str(SAMPLE), "--headline", "x" * 201, "--out",
                                                         str(tmp_path / "c2")], env, tmp_path, timeout_s=120)
    RESULTS.append(Measured("201-character headline", "cli cover", "refused" if code else "accepted", wall, rss))
    assert code == 1 and "Traceback" not in err and "200" in err, err
    assert not (tmp_path / "c2").exists() or not any((tmp_path / "c2").iterdir())


def test_inbox_takes_every_case_in_one_scan(local_env, package_deployment, built):
    """All the files dropped at once: refused ones end in failed/ with the reason, accepted ones are archived
    under their NFC name with a run; the scan finishes, however hostile the batch."""
    from flows.inbox import scan_inbox
    from newsroom.media import process
    from newsroom.storage import open_store

    store = open_store()
    cases = [c for c in CASES if c.inbox]
    for case in cases:
        store.put_file(f"inbox/{built[case.name].name}", built[case.name])
    store.put_bytes("inbox/!!!.???", b"not even a name")  # nothing usable in the name
    started = time.monotonic()
    with process.measure_children() as children:
        results = {r.key: r for r in scan_inbox(settle_s=0)}
    scan_s = time.monotonic() - started
    assert children.children >= len(cases), "the scan's own probes are measured"
    peak_mib = children.peak_rss_kib / 1024  # the largest ffmpeg/ffprobe the scan ran
    assert list(store.list("inbox/")) == [], "every object was handled"
    for case in cases:
        key = f"inbox/{built[case.name].name}"
        result = results[key]
        RESULTS.append(Measured(case.name, "inbox", result.outcome, result.elapsed_s, float("nan")))
        assert result.elapsed_s < GATE_WALL_S, (case.name, result.elapsed_s)
        if case.refused is not None:
            assert result.outcome == "failed", (case.name, result)
            record = json.loads(store.get_bytes(result.moved_to + ".error.json"))
            assert re.search(case.refused, record["error"]), (case.name, record["error"])
            assert record["source_key"] == key
        else:
            assert result.outcome in ("started", "duplicate"), (case.name, result)
            assert result.moved_to.startswith("archive/") and unicodedata.is_normalized("NFC", result.moved_to)
            assert store.stat(result.moved_to).metadata["filename"] == built[case.name].name
    unusable = results["inbox/!!!.???"]
    assert unusable.outcome == "failed" and "unusable file name" in unusable.detail
    assert unusable.moved_to.startswith("failed/") and unusable.moved_to.endswith("/unnamed")
    # The named copies and the damaged file are the same clip bytes (or not): one run per distinct content.
    assert sum(r.outcome == "started" for r in results.values()) >= 2
    RESULTS.append(Measured(f"inbox scan of {len(results)} objects", "inbox", "done", scan_s, peak_mib))
    assert peak_mib < BIG_FRAME_RSS_MIB


def test_names_survive_an_s3_inbox(minio_env, package_deployment, built):
    """The same real-world names on the S3 protocol (keys with %, #, ', NFD): archived, never stuck."""
    from flows.inbox import scan_inbox
    from newsroom.storage import open_store

    store = open_store()
    for name in NAMES:
        store.put_file(f"inbox/{name}", built[f"name {name!r}"])
    store.put_file("inbox/notes 50%.mp4", built["text named .mp4"])
    results = {r.key: r for r in scan_inbox(settle_s=0)}
    assert list(store.list("inbox/")) == []
    for name in NAMES:
        result = results[f"inbox/{name}"]
        assert result.outcome in ("started", "duplicate"), result
        assert store.stat(result.moved_to).metadata["filename"] == name
    failed = results["inbox/notes 50%.mp4"]
    assert failed.outcome == "failed" and store.exists(failed.moved_to + ".error.json")


def teardown_module(module) -> None:
    target = os.environ.get("NEWSROOM_HOSTILE_REPORT")
    if not target or not RESULTS:
        return
    rows = "\n".join(f"| {r.case} | {r.how} | {r.outcome} | {r.wall_s:.2f} | "
                     f"{'-' if r.rss_mib != r.rss_mib else f'{r.rss_mib:.0f}'} |" for r in RESULTS)
    Path(target).write_text("| case | through | outcome | wall s | peak MiB |\n|---|---|---|---|---|\n" + rows + "\n")
