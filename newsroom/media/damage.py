"""Damaged-but-usable media: how much of a source could not be decoded, and whether that is acceptable.

Real camera and phone files often carry a few broken frames (a dropped card write, a glitch at the end of
a recording). ffmpeg conceals them; refusing the whole file for one bad frame would lose the story. So
decode errors are counted (`DecodeReport`), the output's length is compared with what the file declares
(a cut-off file), and the damaged time is judged against a tolerance:

    allowed = max(max_damaged_fraction x duration, min(max_damaged_s, 10% of the duration))

i.e. up to 2 s (at most a tenth of a short clip), or 1% of a long recording (settings
`NEWSROOM_MAX_DAMAGED_S`, `NEWSROOM_MAX_DAMAGED_FRACTION`). Within it the ingest goes on and the
manifest records a warning with the times; beyond it `DamagedMediaError` says what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from newsroom.config import Settings, get_settings
from newsroom.errors import DamagedMediaError
from newsroom.media import process
from newsroom.media.ffmpeg import DecodeReport
from newsroom.media.inputs import input_args
from newsroom.types import MediaInfo, StreamInfo

SHORT_CLIP_SHARE = 0.1
TRUNCATION_SLACK_S = 0.5  # container vs stream length differences that are not damage
MAX_TIMES_KEPT = 50
_PACKET_RE = re.compile(r"^demuxer\+ffmpeg -> ist_index:(\d+) .*?pkt_pts_time:(-?[\d.]+)")
_ERROR_RE = re.compile(r"Error while decoding stream #\d+:(\d+)|\] (concealing \d+ DC|error while decoding MB)")
AUDIO_FRAME_SAMPLES = {"aac": 1024, "mp3": 1152, "mp2": 1152, "ac3": 1536, "eac3": 1536, "opus": 960}


@dataclass(frozen=True, slots=True)
class Damage:
    """The damaged share of one decoded stream."""

    kind: str  # "audio" | "video"
    damaged_frames: int
    damaged_s: float  # concealed or dropped frames
    missing_s: float  # declared length the decode never reached (a cut-off file)
    times_s: tuple[float, ...]  # where damage was seen (output time, ~0.5 s resolution)

    @property
    def total_s(self) -> float:
        return self.damaged_s + self.missing_s

    @property
    def any(self) -> bool:
        return self.damaged_frames > 0 or self.missing_s > 0

    def describe(self) -> str:
        parts = []
        if self.damaged_frames:
            where = ", ".join(_clock(t) for t in self.times_s[:5]) or "unknown times"
            more = " ..." if len(self.times_s) > 5 else ""
            parts.append(f"{self.damaged_frames} damaged {self.kind} frame(s) ({self.damaged_s:.2f} s) near {where}{more}")
        if self.missing_s:
            parts.append(f"the {self.kind} ends {self.missing_s:.1f} s before the length the file declares")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "damaged_frames": self.damaged_frames, "damaged_s": round(self.damaged_s, 3),
                "missing_s": round(self.missing_s, 3), "times_s": [round(t, 2) for t in self.times_s],
                "note": self.describe()}


def _clock(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


def _frame_s(stream: StreamInfo | None, kind: str) -> float:
    if stream is None:
        return 0.04
    if kind == "video":
        rate = stream.avg_fps or stream.fps or 25.0
        return 1.0 / rate
    samples = AUDIO_FRAME_SAMPLES.get(stream.codec, 1024)
    return samples / (stream.sample_rate_hz or 48_000)


def assess(kind: str, info: MediaInfo, report: DecodeReport) -> Damage:
    """The damage `report` shows in the first `kind` stream of `info` (the stream that was decoded)."""
    stream = info.video if kind == "video" else info.audio
    index = stream.index if stream is not None else None

    def ours(issue_stream: int | None) -> bool:
        # Stream-less issues are a video decoder's concealment messages.
        return issue_stream == index or (issue_stream is None and kind == "video")

    counted = sum(1 for i in report.issues if ours(i.stream))
    # Issues past the kept ones are attributed in the same proportion.
    if report.issues and report.issue_count > len(report.issues):
        counted = round(report.issue_count * counted / len(report.issues))
    times = tuple(sorted({round(i.time_s, 1) for i in report.issues if ours(i.stream) and i.time_s is not None}))
    declared = (stream.duration_s if stream is not None else None) or None
    missing = 0.0
    if declared and report.out_time_s is not None:
        missing = max(0.0, declared - report.out_time_s - TRUNCATION_SLACK_S)
    return Damage(kind, counted, counted * _frame_s(stream, kind), round(missing, 3), times)


def locate(src: str | Path, kind: str, info: MediaInfo) -> tuple[float, ...]:
    """The media times of the damaged `kind` frames in `src`: a second decode of that one stream with
    ffmpeg's packet timestamps (run only when the first pass found damage)."""
    stream = info.video if kind == "video" else info.audio
    if stream is None:
        return ()
    times: list[float] = []
    last = [0.0]

    def on_line(line: str) -> None:
        packet = _PACKET_RE.match(line)
        if packet:
            if int(packet.group(1)) == stream.index:
                last[0] = float(packet.group(2))
        elif _ERROR_RE.search(line) and len(times) < MAX_TIMES_KEPT and (not times or abs(times[-1] - last[0]) > 0.05):
            times.append(last[0])

    cmd = [process.binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "info", "-debug_ts", *input_args(src),
           "-map", f"0:{stream.index}", "-f", "null", "-"]
    process.run(cmd, what=f"locating damage in {Path(src).name}", on_line=on_line, merge_stderr=True,
                timeout_s=process.deadline_for(info.duration_s))
    return tuple(round(t, 2) for t in times)


def with_times(damage: Damage, src: str | Path, info: MediaInfo) -> Damage:
    """`damage` with the exact times of its damaged frames (when it has any)."""
    if not damage.damaged_frames:
        return damage
    times = locate(src, damage.kind, info)
    return replace(damage, times_s=times) if times else damage


def allowed_damage_s(duration_s: float, settings: Settings | None = None) -> float:
    s = settings or get_settings()
    return max(s.max_damaged_fraction * duration_s, min(s.max_damaged_s, SHORT_CLIP_SHARE * duration_s))


def judge(damage: Damage, info: MediaInfo, *, name: str, settings: Settings | None = None) -> Damage:
    """Raise DamagedMediaError when `damage` is beyond the tolerance; else return it (to be recorded)."""
    if not damage.any:
        return damage
    allowed = allowed_damage_s(info.duration_s, settings)
    if damage.total_s > allowed:
        raise DamagedMediaError(
            f"{name} is damaged or cut off: {damage.describe()}, more than the {allowed:.1f} s newsroom accepts "
            "(NEWSROOM_MAX_DAMAGED_S, NEWSROOM_MAX_DAMAGED_FRACTION): re-export or re-upload the file, "
            "or copy it again from the card"
        )
    return damage
